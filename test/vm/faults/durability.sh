#!/usr/bin/env bash
# durability: write data with FILE_SYNC and with UNSTABLE+COMMIT through
# internal/nfsclient, SIGKILL and restart burrow, then check that every
# acknowledged byte reads back through the pre-crash handles and that the
# write verifier changed (see test/vm/faults/durable).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=durability
EXPORT=/export/durability

trap 'stop_burrow "$NAME" || true' EXIT
make_export "$EXPORT"
start_burrow "$NAME" "$EXPORT"
restart_cmd=$(printf '%q kill-restart %q %q' "$FAULTS_DIR/server-ctl.sh" "$NAME" "$EXPORT")
"$FAULTS_REPO/bin/burrow-durable" -addr "127.0.0.1:$NFS_PORT" -export "$EXPORT" -restart-cmd "$restart_cmd" ||
	fail "bin/burrow-durable failed; its output is above"
