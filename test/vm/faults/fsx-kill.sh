#!/usr/bin/env bash
# fsx-kill: fsx runs on a hard NFS mount while burrow is killed with
# SIGKILL and restarted with the same state file several times. fsx must
# finish without a miscompare or a failed call, and the kernel must log no
# stale file handle. "not responding" and "OK" lines are expected.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=fsx-kill
EXPORT=/export/fsx-kill
MNT=/mnt/fsx-kill
KILLS=${FAULTS_FSX_KILLS:-4}
KILL_INTERVAL=${FAULTS_FSX_KILL_INTERVAL:-4}
SEED=${FAULTS_FSX_SEED:-20261204}

FSX_PID=
cleanup() {
	[[ -z $FSX_PID ]] || kill "$FSX_PID" 2>/dev/null || true
	unmount_nfs "$MNT" || true
	stop_burrow "$NAME" || true
}
trap cleanup EXIT

make_export "$EXPORT"
start_burrow "$NAME" "$EXPORT"
# timeo=10 (1 s) makes the client retransmit soon after the server is
# back, instead of after the 60 s default for TCP.
mount_nfs "$EXPORT" "$MNT" hard,timeo=10
kmsg_start=$(kernel_log_lines)

fsx_log=$FAULTS_LOG_DIR/fsx-kill-fsx.log
"$FAULTS_REPO/bin/burrow-fsx" -seed "$SEED" -ops 1000000 -duration 240s -max-size 262144 -max-io 32768 \
	-progress 200 -tail 30 "$MNT/fsx.data" >"$fsx_log" 2>&1 &
FSX_PID=$!

for ((kill = 1; kill <= KILLS; kill++)); do
	sleep "$KILL_INTERVAL"
	process_running "$FSX_PID" || break
	ops=$(grep -c 'operations, size' "$fsx_log" || true)
	log "kill $kill of $KILLS (fsx progress lines so far: $ops)"
	stop_burrow "$NAME" KILL
	sleep 1
	start_burrow "$NAME" "$EXPORT"
done
if ! process_running "$FSX_PID"; then
	status=0
	wait "$FSX_PID" || status=$?
	FSX_PID=
	tail -n 40 "$fsx_log" >&2
	fail "fsx ended (status $status) before the server was killed $KILLS times; see $fsx_log"
fi

# Let fsx run on after the last restart, then stop it: SIGTERM ends the run
# after the current operation and fsx verifies the whole file.
sleep "$KILL_INTERVAL"
kill -TERM "$FSX_PID"
status=0
wait "$FSX_PID" || status=$?
FSX_PID=
tail -n 3 "$fsx_log" >&2
if ((status != 0)); then
	tail -n 40 "$fsx_log" >&2
	fail "fsx failed with status $status: $(grep -m1 'FAILED' "$fsx_log" || echo "see $fsx_log")"
fi

kmsg=$(kernel_log_since "$kmsg_start")
log "kernel NFS messages during the run: $(grep -ci 'not responding' <<<"$kmsg" || true) not responding, $(grep -ci 'nfs: server .* OK' <<<"$kmsg" || true) OK"
if stale=$(grep -i stale <<<"$kmsg"); then
	fail "the kernel logged stale file handles: $(head -n 3 <<<"$stale" | tr '\n' ' ')"
fi
