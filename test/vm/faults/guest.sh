#!/usr/bin/env bash
# Runs inside the guest as root (started by run.sh through
# test/vm/run-guest.sh). Formats the test disk as ext4 on /export, adds
# the burrow user (uid 1000), then runs each fault scenario script in
# turn and prints "PASS name" or "FAIL name: reason" for each and a final
# "N passed, M failed" line. Exits 1 when a scenario failed.
#
# FAULTS_SCENARIOS, when set, is a space-separated list of scenario names
# to run instead of all of them.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../guest-lib.sh"
FAULTS_SCENARIO=faults-guest

ALL_SCENARIOS="fsx-kill durability disk-full fd-limit host-mount"
SCENARIO_TIMEOUT=${FAULTS_SCENARIO_TIMEOUT:-300}

prepare() {
	local disk start=$SECONDS
	mkdir -p "$FAULTS_STATE_DIR"
	disk=$(find_disk) || fail "no virtio disk with serial vmtest-disk"
	mkfs.ext4 -q -F -L faults-export -E lazy_itable_init=0,lazy_journal_init=0 "$disk" || fail "mkfs.ext4 $disk failed"
	mkdir -p /export
	mount -t ext4 "$disk" /export || fail "mounting $disk on /export failed"
	add_user burrow 1000 /home/burrow
	chmod 0755 /export
	log "formatted $disk as ext4 on /export and added the burrow user in $((SECONDS - start))s"
}

prepare
passed=0 failed=0
for name in ${FAULTS_SCENARIOS:-$ALL_SCENARIOS}; do
	script=$FAULTS_DIR/$name.sh
	export FAULT_REASON_FILE=$FAULTS_STATE_DIR/$name.reason
	rm -f "$FAULT_REASON_FILE"
	echo "=== RUN $name"
	start=$SECONDS
	status=0
	if [[ ! -x $script ]]; then
		echo "no scenario script $script" >"$FAULT_REASON_FILE"
		status=1
	else
		FAULTS_SCENARIO=$name timeout -k 10 "$SCENARIO_TIMEOUT" "$script" || status=$?
	fi
	elapsed=$((SECONDS - start))
	if ((status == 0)); then
		echo "PASS $name (${elapsed}s)"
		passed=$((passed + 1))
	else
		reason="exit status $status"
		((status != 124)) || reason="timed out after ${SCENARIO_TIMEOUT}s"
		[[ ! -s $FAULT_REASON_FILE ]] || reason=$(<"$FAULT_REASON_FILE")
		echo "FAIL $name: $reason (${elapsed}s)"
		failed=$((failed + 1))
	fi
done
dmesg >"$FAULTS_LOG_DIR/dmesg.log" 2>/dev/null || true
echo "$passed passed, $failed failed"
((failed == 0))
