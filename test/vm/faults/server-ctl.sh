#!/usr/bin/env bash
# Controls one scenario's burrow server from outside the scenario shell,
# for hooks such as the durability helper's -restart-cmd.
# Usage: server-ctl.sh kill-restart NAME EXPORT
#
# kill-restart sends SIGKILL to the server of NAME, waits for it to exit
# and starts it again with the same state file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
case ${1:-} in
kill-restart)
	(($# == 3)) || fail "usage: server-ctl.sh kill-restart NAME EXPORT"
	stop_burrow "$2" KILL
	start_burrow "$2" "$3"
	;;
*) fail "usage: server-ctl.sh kill-restart NAME EXPORT" ;;
esac
