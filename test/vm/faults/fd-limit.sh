#!/usr/bin/env bash
# fd-limit: burrow runs with ulimit -n 64 while the client holds 500 files
# open and writes and reads them with O_DIRECT from 32 goroutines. Every call
# must succeed (burrow shrinks its descriptor caches on EMFILE), and the
# server must not log a storm of warnings or errors.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=fd-limit
EXPORT=/export/fd-limit
MNT=/mnt/fd-limit
NOFILE=64
FILES=500
MAX_LOG_PROBLEMS=10

cleanup() {
	unmount_nfs "$MNT" || true
	stop_burrow "$NAME" || true
}
trap cleanup EXIT

make_export "$EXPORT"
start_burrow "$NAME" "$EXPORT" "$NOFILE"
pid=$(server_pid "$NAME")
limit=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
[[ $limit == "$NOFILE" ]] || fail "burrow's open file limit is $limit, want $NOFILE"
log_file=$(server_log "$NAME")
log_start=$(wc -l <"$log_file")
mount_nfs "$EXPORT" "$MNT" hard

"$FAULTS_REPO/bin/burrow-manyfiles" -dir "$MNT" -files "$FILES" -workers 32 ||
	fail "bin/burrow-manyfiles failed against burrow with ulimit -n $NOFILE"
open_fds=$(ls "/proc/$pid/fd" | wc -l)
log "burrow holds $open_fds descriptors of $NOFILE after the run"

problems=$(tail -n "+$((log_start + 1))" "$log_file" | grep -E 'level=(WARN|ERROR)' || true)
count=0
[[ -z $problems ]] || count=$(wc -l <<<"$problems")
log "burrow logged $count warnings and errors during the run"
if ((count > MAX_LOG_PROBLEMS)); then
	head -n 5 <<<"$problems" >&2
	fail "burrow logged $count warnings and errors (more than $MAX_LOG_PROBLEMS) with ulimit -n $NOFILE"
fi
