#!/usr/bin/env bash
# Controls the NFS server under test inside the guest and the client mounts.
# Usage: server.sh start|stop|restart|mount|unmount
#
# E2E_SERVER selects the server: burrow (bin/burrow as user burrow),
# burrow-passthrough (bin/burrow as root in passthrough identity mode),
# knfsd (the Linux kernel nfsd), ganesha (nfs-ganesha with FSAL VFS, as
# root) or local (no server and no mount).
# Also reads E2E_REPO, E2E_LOG_DIR, E2E_LOG_LEVEL, E2E_SERVER_WAIT and
# E2E_MOUNT_OPTIONS, which guest-e2e.sh sets, E2E_EXTRA_MOUNTS (0 mounts
# only MOUNT_DIR) and E2E_BURROW_BIN (the burrow binary to run, by default
# $E2E_REPO/bin/burrow).

# The whole script is one brace group, so bash parses all of it before it
# runs any of it: editing the file during a run cannot corrupt that run.
{
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ganesha-conf.sh"

SERVER=${E2E_SERVER:-burrow}
EXPORT_DIR=/export
MOUNT_DIR=/mnt/e2e
# More mounts of the same export, "DIR:OPTIONS" each, through which the
# listing cases run too. rsize=1024 is the Linux client's minimum, and the
# client caps the size of its READDIR requests at rsize
# (nfs_server_set_fsinfo in fs/nfs/client.c). nordirplus makes it send
# READDIR instead of READDIRPLUS. guest-e2e.sh passes the directories to
# the suite as -extra-dirs.
EXTRA_MOUNTS=(/mnt/e2e-small:rsize=1024,wsize=1024 /mnt/e2e-nordirplus:nordirplus)
[[ ${E2E_EXTRA_MOUNTS:-1} != 0 ]] || EXTRA_MOUNTS=()
STATE_DIR=/run/burrow-e2e
NFS_PORT=2049
# burrow serves MOUNT on its NFS port, but rpc.mountd and ganesha need a
# port of their own.
KNFSD_MOUNT_PORT=20048
GANESHA_MOUNT_PORT=20048
SERVER_WAIT=${E2E_SERVER_WAIT:-60}
STOP_WAIT=30

log() {
	echo "server.sh: $*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# Succeed while the process exists and is not a zombie. A server that was
# started by another shell and has exited stays a zombie until its parent
# reaps it, so kill -0 alone would still see it.
process_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

show_burrow_log() {
	log "last lines of $E2E_LOG_DIR/burrow.log:"
	tail -n 30 "$E2E_LOG_DIR/burrow.log" >&2 || true
}

# Send an ONC RPC NULL call for NFS version 3 over TCP and succeed when
# the reply is MSG_ACCEPTED with accept_stat SUCCESS. rpcinfo -n cannot do
# this: rpcinfo 1.2.6 queries rpcbind whether the program is registered
# before it calls the port, and burrow does not register with rpcbind.
nfs_null_answers() {
	local call='\x80\x00\x00\x28'  # record mark: last fragment, 40 bytes
	call+='\x62\x75\x72\x77'      # xid
	call+='\x00\x00\x00\x00'      # msg_type CALL
	call+='\x00\x00\x00\x02'      # RPC version 2
	call+='\x00\x01\x86\xa3'      # program 100003 (NFS)
	call+='\x00\x00\x00\x03'      # version 3
	call+='\x00\x00\x00\x00'      # procedure 0 (NULL)
	call+='\x00\x00\x00\x00\x00\x00\x00\x00' # credential AUTH_NONE, empty
	call+='\x00\x00\x00\x00\x00\x00\x00\x00' # verifier AUTH_NONE, empty
	# Record mark (24 bytes), xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier,
	# SUCCESS.
	local expected=80000018627572770000000100000000000000000000000000000000
	local reply
	reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "$2" >&3 && head -c 28 <&3 | od -An -tx1' \
		nfs-null "$NFS_PORT" "$call" 2>/dev/null) || return 1
	[[ ${reply//[[:space:]]/} == "$expected" ]]
}

# Wait until the NFS program answers a NULL call on its port. PID, when
# given, must stay alive meanwhile.
wait_until_answering() {
	local pid=${1:-} deadline=$((SECONDS + SERVER_WAIT))
	until nfs_null_answers; do
		if [[ -n $pid ]] && ! process_running "$pid"; then
			[[ $SERVER != burrow* ]] || show_burrow_log
			die "$SERVER (pid $pid) exited before answering on 127.0.0.1:$NFS_PORT"
		fi
		if ((SECONDS >= deadline)); then
			[[ $SERVER != burrow* ]] || show_burrow_log
			die "$SERVER did not answer NFSv3 NULL on 127.0.0.1:$NFS_PORT within ${SERVER_WAIT}s"
		fi
		sleep 0.5
	done
}

# Stop the process in the pid file with SIGTERM and wait for it to exit.
stop_pid_file() {
	local pid_file=$1 name=$2 pid deadline
	[[ -f $pid_file ]] || return 0
	pid=$(<"$pid_file")
	rm -f "$pid_file"
	process_running "$pid" || return 0
	kill -TERM "$pid"
	deadline=$((SECONDS + STOP_WAIT))
	while process_running "$pid"; do
		if ((SECONDS >= deadline)); then
			kill -KILL "$pid" 2>/dev/null || true
			die "$name (pid $pid) did not exit within ${STOP_WAIT}s of SIGTERM; killed it"
		fi
		sleep 0.2
	done
}

start_burrow() {
	local binary=$STATE_DIR/burrow
	mkdir -p "$STATE_DIR"
	# Every start, restarts included, runs one copy made at the first start,
	# because a make build on the host during the run replaces bin/burrow
	# under the guest's 9p mount.
	if [[ ! -x $binary ]]; then
		local source=${E2E_BURROW_BIN:-$E2E_REPO/bin/burrow}
		[[ -x $source ]] || die "$source not found; run make build"
		cp "$source" "$binary"
	fi
	echo "=== $(date -u +%FT%TZ) starting burrow" >>"$E2E_LOG_DIR/burrow.log"
	# The log goes straight to the scratch share, so it survives a guest
	# that hangs. setpriv execs burrow, so $! is burrow's pid. setpriv keeps
	# the environment, and burrow keeps its state under $HOME, so HOME must
	# be the burrow user's.
	local serve=("$binary" serve --listen "127.0.0.1:$NFS_PORT" --log-level "${E2E_LOG_LEVEL:-info}")
	if [[ $SERVER == burrow-passthrough ]]; then
		# Passthrough mode switches each call to the caller's uid and gids,
		# which needs root. Root callers stay root, as on knfsd with
		# no_root_squash.
		(cd / && export HOME=/root USER=root LOGNAME=root && unset XDG_STATE_HOME XDG_CONFIG_HOME &&
			exec "${serve[@]}" --identity passthrough --no-root-squash "$EXPORT_DIR" \
			</dev/null >>"$E2E_LOG_DIR/burrow.log" 2>&1) &
	else
		(cd / && export HOME=/home/burrow USER=burrow LOGNAME=burrow && unset XDG_STATE_HOME XDG_CONFIG_HOME &&
			exec setpriv --reuid=burrow --regid=burrow --init-groups -- "${serve[@]}" "$EXPORT_DIR" \
			</dev/null >>"$E2E_LOG_DIR/burrow.log" 2>&1) &
	fi
	local pid=$!
	echo "$pid" >"$STATE_DIR/burrow.pid"
	wait_until_answering "$pid"
	log "$SERVER running as uid $(stat -c %u "/proc/$pid") (pid $pid)"
}

# The kernel nfsd, rpc.mountd and nfs-ganesha register with rpcbind and
# fail without it. -f keeps rpcbind in the foreground so that its pid is
# known.
start_rpcbind() {
	mkdir -p "$STATE_DIR" /run/rpcbind /run/rpc_pipefs
	[[ ! -f $STATE_DIR/rpcbind.pid ]] || return 0
	rpcbind -w -f &
	echo $! >"$STATE_DIR/rpcbind.pid"
	mountpoint -q /run/rpc_pipefs || mount -t rpc_pipefs rpc_pipefs /run/rpc_pipefs
	sleep 0.5
}

start_knfsd() {
	if [[ ! -f $STATE_DIR/mountd.pid ]]; then
		start_rpcbind
		mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
		echo "$EXPORT_DIR 127.0.0.1(rw,sync,no_root_squash,no_subtree_check,insecure,fsid=1)" >/etc/exports
		exportfs -ra
		rpc.mountd --foreground --port "$KNFSD_MOUNT_PORT" --no-nfs-version 4 \
			</dev/null >>"$E2E_LOG_DIR/rpc.mountd.log" 2>&1 &
		echo $! >"$STATE_DIR/mountd.pid"
	fi
	rpc.nfsd --port "$NFS_PORT" --no-nfs-version 4 --host 127.0.0.1 8
	wait_until_answering
	log "kernel nfsd running"
}

stop_knfsd() {
	rpc.nfsd 0 || log "rpc.nfsd 0 failed"
}

stop_knfsd_helpers() {
	stop_pid_file "$STATE_DIR/mountd.pid" rpc.mountd
	exportfs -ua || log "exportfs -ua failed"
	stop_pid_file "$STATE_DIR/rpcbind.pid" rpcbind
}

write_ganesha_config() {
	# NLM and RQUOTA are off, so their ports only need to be free.
	print_ganesha_config "$EXPORT_DIR" "$NFS_PORT" "$GANESHA_MOUNT_PORT" 20049 20050 >"$STATE_DIR/ganesha.conf"
}

# ganesha exits at start when it cannot register with rpcbind, even with
# fixed ports. -F keeps it in the foreground, so $! is its pid.
start_ganesha() {
	command -v ganesha.nfsd >/dev/null || die "ganesha.nfsd not found; install nfs-ganesha and nfs-ganesha-vfs"
	start_rpcbind
	write_ganesha_config
	echo "=== $(date -u +%FT%TZ) starting ganesha" >>"$E2E_LOG_DIR/ganesha.log"
	ganesha.nfsd -F -f "$STATE_DIR/ganesha.conf" -L "$E2E_LOG_DIR/ganesha.log" \
		-p "$STATE_DIR/ganesha.nfsd.pid" -N NIV_EVENT </dev/null >>"$E2E_LOG_DIR/ganesha.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$STATE_DIR/ganesha.pid"
	wait_until_answering "$pid"
	log "nfs-ganesha running (pid $pid)"
}

stop_ganesha() {
	stop_pid_file "$STATE_DIR/ganesha.pid" ganesha
	stop_pid_file "$STATE_DIR/rpcbind.pid" rpcbind
}

mount_port() {
	case $SERVER in
	burrow | burrow-passthrough) echo "$NFS_PORT" ;;
	knfsd) echo "$KNFSD_MOUNT_PORT" ;;
	ganesha) echo "$GANESHA_MOUNT_PORT" ;;
	esac
}

# With both port= and mountport= set, mount.nfs does not ask rpcbind, and
# nolock keeps rpc.statd out.
mount_export() {
	[[ $SERVER != local ]] || return 0
	mkdir -p "$MOUNT_DIR"
	local options="vers=3,proto=tcp,port=$NFS_PORT,mountport=$(mount_port),mountproto=tcp,nolock"
	options+=${E2E_MOUNT_OPTIONS:+,$E2E_MOUNT_OPTIONS}
	mount_one "$MOUNT_DIR" "$options"
	local extra
	for extra in "${EXTRA_MOUNTS[@]}"; do
		mount_one "${extra%%:*}" "$options,${extra#*:}"
	done
}

mount_one() {
	local dir=$1 options=$2
	mkdir -p "$dir"
	mount -t nfs -o "$options" "127.0.0.1:$EXPORT_DIR" "$dir"
	log "mounted 127.0.0.1:$EXPORT_DIR on $dir ($(awk -v d="$dir" '$2 == d { print $4 }' /proc/mounts))"
}

# A hard NFS mount of a dead server can block umount. -f aborts pending
# requests, and -l detaches the mount as a last resort.
unmount_export() {
	[[ $SERVER != local ]] || return 0
	local extra
	for extra in "${EXTRA_MOUNTS[@]}"; do
		unmount_one "${extra%%:*}"
	done
	unmount_one "$MOUNT_DIR"
}

unmount_one() {
	local dir=$1
	mountpoint -q "$dir" || return 0
	timeout 60 umount "$dir" && return 0
	log "umount $dir failed; retrying with -f, then -l"
	timeout 60 umount -f "$dir" || umount -l "$dir"
}

case ${1:-} in
start)
	case $SERVER in
	burrow | burrow-passthrough) start_burrow ;;
	knfsd) start_knfsd ;;
	ganesha) start_ganesha ;;
	local) ;;
	*) die "unknown server '$SERVER': use burrow, burrow-passthrough, knfsd, ganesha or local" ;;
	esac
	;;
stop)
	case $SERVER in
	burrow | burrow-passthrough) stop_pid_file "$STATE_DIR/burrow.pid" burrow ;;
	knfsd) stop_knfsd && stop_knfsd_helpers ;;
	ganesha) stop_ganesha ;;
	esac
	;;
restart)
	case $SERVER in
	burrow | burrow-passthrough)
		stop_pid_file "$STATE_DIR/burrow.pid" burrow
		start_burrow
		;;
	knfsd)
		stop_knfsd
		start_knfsd
		;;
	ganesha)
		stop_pid_file "$STATE_DIR/ganesha.pid" ganesha
		start_ganesha
		;;
	local) log "SERVER=local has no server; restart does nothing" ;;
	esac
	;;
mount) mount_export ;;
unmount) unmount_export ;;
*) die "usage: server.sh start|stop|restart|mount|unmount" ;;
esac
exit
}
