#!/usr/bin/env bash
# Host entry point of make e2e-faults: builds fsx and the fault helpers,
# boots one QEMU guest through test/vm/run-guest.sh with a fresh sparse
# disk and runs guest.sh in it, which runs every fault scenario in turn.
# Logs go to test/vm/logs/DATE-TIME-faults/ (test/vm/logs/latest points to
# the newest run).
#
# Variables: FAULTS_SCENARIOS (space-separated names, default all),
# FAULTS_TIMEOUT (whole guest, default 15m), FAULTS_SCENARIO_TIMEOUT
# (seconds per scenario, default 300), FAULTS_LOG_LEVEL (burrow
# --log-level, default info), and the E2E_MEMORY, E2E_CPUS and E2E_ACCEL
# settings of run-guest.sh.
set -euo pipefail
LOG_PREFIX=e2e-faults
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
FAULTS_DIR=$VM_DIR/faults
cd "$REPO_ROOT"

[[ -x bin/burrow ]] || die "bin/burrow not found; run make build (make e2e-faults builds it first)"
log "building bin/burrow-fsx, bin/burrow-durable and bin/burrow-manyfiles"
CGO_ENABLED=0 go build -o bin/burrow-fsx ./test/fsx || die "building test/fsx failed"
CGO_ENABLED=0 go build -o bin/burrow-durable ./test/vm/faults/durable || die "building test/vm/faults/durable failed"
CGO_ENABLED=0 go build -o bin/burrow-manyfiles ./test/vm/faults/manyfiles || die "building test/vm/faults/manyfiles failed"

log_dir=$VM_DIR/logs/$(date +%Y%m%d-%H%M%S)-faults
mkdir -p "$log_dir"
ln -sfn "${log_dir##*/}" "$VM_DIR/logs/latest"

mkdir -p "$CACHE_DIR"
disk=$(mktemp "$CACHE_DIR/disk.XXXXXX.img")
env_file=$(mktemp "$CACHE_DIR/env.XXXXXX")
trap 'rm -f "$disk" "$env_file"' EXIT
truncate -s 4G "$disk"
{
	printf 'export FAULTS_REPO=%q\n' "$REPO_ROOT"
	printf 'export FAULTS_LOG_DIR=%q\n' "$log_dir"
	for name in FAULTS_SCENARIOS FAULTS_SCENARIO_TIMEOUT FAULTS_LOG_LEVEL; do
		[[ -z ${!name:-} ]] || printf 'export %s=%q\n' "$name" "${!name}"
	done
} >"$env_file"

log "logs in $log_dir"
start=$SECONDS
# run-guest.sh runs in the background so that a SIGTERM or SIGINT sent to
# this script reaches it at once and it can stop qemu.
"$VM_DIR/run-guest.sh" --disk "$disk" --scratch "$log_dir" --env-file "$env_file" \
	--timeout "${FAULTS_TIMEOUT:-15m}" -- "$FAULTS_DIR/guest.sh" &
guest_pid=$!
trap 'kill -TERM "$guest_pid" 2>/dev/null || true' INT TERM
status=0
wait "$guest_pid" || status=$?
while kill -0 "$guest_pid" 2>/dev/null; do
	status=0
	wait "$guest_pid" || status=$?
done
log "finished with exit status $status in $((SECONDS - start))s; logs in $log_dir"
exit "$status"
