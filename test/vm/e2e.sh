#!/usr/bin/env bash
# Runs the end-to-end suite against a real Linux NFS client: boots Debian's
# kernel under QEMU (see run-guest.sh), serves a fresh ext4 disk with the
# server chosen by SERVER and runs bin/burrow-e2e on the NFS mount. README.md
# in this directory lists the variables.

# The whole script is one brace group, so bash parses all of it before it
# runs any of it: editing the file during a run cannot corrupt that run.
{
set -euo pipefail
LOG_PREFIX=e2e
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Without SERVER, the suite runs once for each server in SERVERS, each in
# a guest of its own, one after the other. The status is that of the last
# failed run, or 0.
if [[ -z ${SERVER:-} ]]; then
	read -r -a servers <<<"${SERVERS:-burrow burrow-passthrough}"
	((${#servers[@]} > 0)) || die "SERVERS is empty; name at least one server"
	overall=0
	summary=()
	for server in "${servers[@]}"; do
		# In the background, so that a SIGTERM sent to this script alone
		# reaches the run at once (see below).
		SERVER=$server "${BASH_SOURCE[0]}" &
		run_pid=$!
		trap 'kill -TERM "$run_pid" 2>/dev/null || true' INT TERM
		run_status=0
		wait "$run_pid" || run_status=$?
		while kill -0 "$run_pid" 2>/dev/null; do
			run_status=0
			wait "$run_pid" || run_status=$?
		done
		trap - INT TERM
		summary+=("SERVER=$server: exit status $run_status")
		((run_status == 0)) || overall=$run_status
		# A run stopped by a signal stops the whole list.
		((run_status < 128)) || break
	done
	for line in "${summary[@]}"; do
		log "$line"
	done
	exit "$overall"
fi

case $SERVER in
burrow | burrow-passthrough | knfsd | ganesha | local) ;;
*) die "invalid SERVER '$SERVER': use burrow, burrow-passthrough, knfsd, ganesha or local" ;;
esac
cd "$REPO_ROOT"

if [[ $SERVER == burrow* && ! -x bin/burrow ]]; then
	die "bin/burrow not found; run make build (make e2e builds it first)"
fi
if [[ -z ${E2E_SUITE_CMD:-} ]]; then
	[[ -d test/e2e ]] ||
		die "the suite source test/e2e is missing; add it, or set E2E_SUITE_CMD to run another command in the guest"
	log "building bin/burrow-e2e"
	CGO_ENABLED=0 go build -o bin/burrow-e2e ./test/e2e ||
		die "building the suite (go build ./test/e2e) failed"
fi

log_dir=$VM_DIR/logs/$(date +%Y%m%d-%H%M%S)-$SERVER
mkdir -p "$log_dir"
ln -sfn "${log_dir##*/}" "$VM_DIR/logs/latest"

# A fresh sparse disk per run, which the guest formats. It is deleted at the
# end unless E2E_KEEP_DISK=1.
mkdir -p "$CACHE_DIR"
disk=$(mktemp "$CACHE_DIR/disk.XXXXXX.img")
env_file=$(mktemp "$CACHE_DIR/env.XXXXXX")
remove_run_files() {
	rm -f "$env_file"
	if [[ ${E2E_KEEP_DISK:-} == 1 ]]; then
		log "kept the disk image $disk"
	else
		rm -f "$disk"
	fi
}
trap remove_run_files EXIT
truncate -s "${E2E_DISK_SIZE:-8G}" "$disk"

for name in E2E_SUITE_CMD E2E_LOG_LEVEL E2E_SERVER_WAIT E2E_MOUNT_OPTIONS; do
	printf 'export %s=%q\n' "$name" "${!name:-}"
done >"$env_file"
{
	printf 'export E2E_SERVER=%q\n' "$SERVER"
	printf 'export E2E_CASE=%q\n' "${CASE:-}"
	printf 'export E2E_REPO=%q\n' "$REPO_ROOT"
	printf 'export E2E_LOG_DIR=%q\n' "$log_dir"
} >>"$env_file"

log "SERVER=$SERVER${CASE:+ CASE=$CASE}; logs in $log_dir"
start=$SECONDS
# run-guest.sh runs in the background so that a SIGTERM or SIGINT sent to
# this script alone reaches it at once (bash runs traps only between
# commands) and it can stop qemu.
"$VM_DIR/run-guest.sh" --disk "$disk" --scratch "$log_dir" --env-file "$env_file" \
	--timeout "${E2E_TIMEOUT:-20m}" -- "$VM_DIR/guest-e2e.sh" &
guest_pid=$!
trap 'kill -TERM "$guest_pid" 2>/dev/null || true' INT TERM
status=0
wait "$guest_pid" || status=$?
# A trapped signal interrupts wait, so wait again for run-guest.sh to finish.
while kill -0 "$guest_pid" 2>/dev/null; do
	status=0
	wait "$guest_pid" || status=$?
done

case $status in
0) log "passed in $((SECONDS - start))s (SERVER=$SERVER)" ;;
124) log "failed: the guest hung and was killed after E2E_TIMEOUT=${E2E_TIMEOUT:-20m} (SERVER=$SERVER)" ;;
125) log "failed: the guest ended without an exit status (SERVER=$SERVER)" ;;
*) log "failed with exit status $status after $((SECONDS - start))s (SERVER=$SERVER)" ;;
esac
log "logs: $log_dir"
exit "$status"
}
