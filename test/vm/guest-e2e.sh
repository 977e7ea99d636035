#!/usr/bin/env bash
# Runs inside the guest as root (started by e2e.sh through run-guest.sh).
# Formats the test disk and mounts it at /export. Adds the users burrow
# (uid 1000, runs the server), dev and dev2 (uid 1001 and 1002, for
# client-side tests) and the group e2e-shared (gid 1100, both dev users).
# Starts the server chosen by E2E_SERVER and mounts it at /mnt/e2e, then
# runs the suite and exits with the suite's exit status.

# The whole script is one brace group, so bash parses all of it before it
# runs any of it: editing the file during a run cannot corrupt that run.
{
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# find_disk and add_user, shared with bench/kernel/guest.sh.
source "$VM_DIR/guest-lib.sh"
SERVER=${E2E_SERVER:-burrow}
EXPORT_DIR=/export
MOUNT_DIR=/mnt/e2e
# The mounts with other options that server.sh adds (see EXTRA_MOUNTS there).
EXTRA_DIRS=/mnt/e2e-small,/mnt/e2e-nordirplus
STATE_DIR=/run/burrow-e2e
RESTART_HOOK=$STATE_DIR/restart-server

log() {
	echo "e2e-guest: $*" >&2
}

prepare_export() {
	local disk
	disk=$(find_disk) || { log "error: no virtio disk with serial vmtest-disk"; exit 1; }
	local start=$SECONDS
	# lazy_*_init=0 writes the inode tables and journal now, so no
	# ext4lazyinit thread writes in the background during the tests.
	mkfs.ext4 -q -F -L e2e-export -E lazy_itable_init=0,lazy_journal_init=0 "$disk"
	mkdir -p "$EXPORT_DIR"
	mount -t ext4 "$disk" "$EXPORT_DIR"
	log "formatted $disk as ext4 and mounted it on $EXPORT_DIR in $((SECONDS - start))s"

	add_user burrow 1000 /home/burrow
	add_user dev 1001 /home/dev
	add_user dev2 1002 /home/dev2
	# The permission cases run as uid 1001 and 1002 with the supplementary
	# group 1100. The host's /etc/nfs.conf, which the guest reads, may set
	# manage-gids=y (as on a Debian 12 host with nfs-common), and then
	# rpc.mountd replaces the groups that a call carries with those listed
	# here.
	local kept
	kept=$(without_account /etc/group e2e-shared 1100)
	printf '%s\n%s\n' "$kept" "e2e-shared:x:1100:dev,dev2" >/etc/group
	chown burrow:burrow "$EXPORT_DIR"
	chmod 0755 "$EXPORT_DIR"
}

write_restart_hook() {
	mkdir -p "$STATE_DIR"
	{
		echo '#!/bin/bash'
		echo '# Restarts the NFS server under test; written by guest-e2e.sh.'
		local name
		for name in E2E_SERVER E2E_REPO E2E_LOG_DIR E2E_LOG_LEVEL E2E_SERVER_WAIT; do
			printf 'export %s=%q\n' "$name" "${!name:-}"
		done
		printf 'exec %q restart\n' "$VM_DIR/server.sh"
	} >"$RESTART_HOOK"
	chmod 0755 "$RESTART_HOOK"
}

run_suite() {
	local dir=$MOUNT_DIR
	[[ $SERVER != local ]] || dir=$EXPORT_DIR
	export E2E_DIR=$dir E2E_EXPORT=$EXPORT_DIR E2E_RESTART_CMD=$RESTART_HOOK
	if [[ -n ${E2E_SUITE_CMD:-} ]]; then
		log "running E2E_SUITE_CMD instead of the suite: $E2E_SUITE_CMD"
		bash -c "$E2E_SUITE_CMD"
		return
	fi
	local args=(-dir "$dir" -export "$EXPORT_DIR" -server "$SERVER" -restart-cmd "$RESTART_HOOK")
	# Protocol-level cases talk to the server's ports directly. burrow
	# serves MOUNT on its NFS port, and rpc.mountd and ganesha listen on 20048.
	case $SERVER in
	local) ;;
	knfsd | ganesha) args+=(-nfs-addr 127.0.0.1:2049 -mount-addr 127.0.0.1:20048) ;;
	*) args+=(-nfs-addr 127.0.0.1:2049) ;;
	esac
	[[ $SERVER == local ]] || args+=(-extra-dirs "$EXTRA_DIRS")
	[[ -z ${E2E_CASE:-} ]] || args+=(-run "$E2E_CASE")
	# A copy, because cases run the binary again as other users, and a
	# build on the host during the run would replace bin/burrow-e2e.
	mkdir -p "$STATE_DIR"
	cp "$E2E_REPO/bin/burrow-e2e" "$STATE_DIR/burrow-e2e"
	log "running bin/burrow-e2e ${args[*]}"
	"$STATE_DIR/burrow-e2e" "${args[@]}"
}

# Save the kernel log and show the lines that point to NFS trouble. Runs
# once, from main or from the EXIT trap when setup fails.
LOGS_COLLECTED=
collect_logs() {
	[[ -z $LOGS_COLLECTED ]] || return 0
	LOGS_COLLECTED=1
	dmesg >"$E2E_LOG_DIR/dmesg.log" || log "dmesg failed"
	log "kernel messages mentioning nfs, stale or fileid:"
	# The command line lines match too when a log path contains "nfs".
	grep -iE 'nfs|stale|fileid' "$E2E_LOG_DIR/dmesg.log" | grep -iv 'command line' >&2 || log "(none)"
}

main() {
	export E2E_SERVER=$SERVER
	trap collect_logs EXIT
	local start=$SECONDS
	prepare_export
	"$VM_DIR/server.sh" start
	"$VM_DIR/server.sh" mount
	write_restart_hook
	log "setup done in $((SECONDS - start))s"

	local suite_start=$SECONDS status=0
	run_suite || status=$?
	log "suite exited with status $status after $((SECONDS - suite_start))s"

	collect_logs
	# A failure here is reported but does not replace the suite's status.
	"$VM_DIR/server.sh" unmount || log "unmounting $MOUNT_DIR failed"
	"$VM_DIR/server.sh" stop || log "stopping $SERVER failed"
	exit "$status"
}

main "$@"
}
