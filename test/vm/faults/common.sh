# Guest-side helpers of the fault scenarios, sourced by guest.sh, the
# scenario scripts and server-ctl.sh. They start burrow the way
# test/vm/server.sh does (as the burrow user through setpriv), but on any
# export, with a pid file per scenario, an optional descriptor limit and
# SIGKILL in place of SIGTERM.
#
# Needs FAULTS_REPO (the repository root) and FAULTS_LOG_DIR (the scratch
# directory shared with the host), which guest.sh exports.

FAULTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAULTS_STATE_DIR=/run/burrow-faults
NFS_PORT=2049
SERVER_WAIT=${FAULTS_SERVER_WAIT:-60}

# A scenario that guest.sh's timeout stops with SIGTERM still runs its EXIT
# trap, which unmounts and stops its server.
trap 'exit 143' TERM

log() {
	echo "${FAULTS_SCENARIO:-faults}: $*" >&2
}

# Record why the scenario failed and exit. guest.sh prints the reason in
# the FAIL line.
fail() {
	log "error: $*"
	[[ -z ${FAULT_REASON_FILE:-} ]] || printf '%s\n' "$*" >"$FAULT_REASON_FILE"
	exit 1
}

# Succeed while the process exists and is not a zombie.
process_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# Send an ONC RPC NULL call for NFS version 3 to 127.0.0.1:NFS_PORT and
# succeed when the reply is MSG_ACCEPTED with accept_stat SUCCESS. The
# bytes are the same as in test/vm/server.sh.
nfs_null_answers() {
	local call='\x80\x00\x00\x28\x62\x75\x72\x77\x00\x00\x00\x00\x00\x00\x00\x02'
	call+='\x00\x01\x86\xa3\x00\x00\x00\x03\x00\x00\x00\x00'
	call+='\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
	local expected=80000018627572770000000100000000000000000000000000000000
	local reply
	reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "$2" >&3 && head -c 28 <&3 | od -An -tx1' \
		nfs-null "$NFS_PORT" "$call" 2>/dev/null) || return 1
	[[ ${reply//[[:space:]]/} == "$expected" ]]
}

server_log() {
	echo "$FAULTS_LOG_DIR/$1-burrow.log"
}

# start_burrow NAME EXPORT [NOFILE]: start bin/burrow as the burrow user
# on EXPORT with the state file and pid file of NAME, and wait until it
# replies to a NULL call. NOFILE sets both the soft and the hard descriptor
# limit, because the Go runtime raises the soft limit to the hard one.
start_burrow() {
	local name=$1 export_dir=$2 nofile=${3:-} log_file
	log_file=$(server_log "$name")
	# burrow opens its state file as the burrow user.
	mkdir -p "$FAULTS_STATE_DIR/server"
	chown burrow:burrow "$FAULTS_STATE_DIR/server"
	echo "=== $(date -u +%FT%TZ) starting burrow${nofile:+ with ulimit -n $nofile}" >>"$log_file"
	(cd / && export HOME=/home/burrow USER=burrow LOGNAME=burrow && unset XDG_STATE_HOME XDG_CONFIG_HOME &&
		if [[ -n $nofile ]]; then ulimit -n "$nofile"; fi &&
		exec setpriv --reuid=burrow --regid=burrow --init-groups -- \
		"$FAULTS_REPO/bin/burrow" serve --listen "127.0.0.1:$NFS_PORT" --log-level "${FAULTS_LOG_LEVEL:-info}" \
		--state "$FAULTS_STATE_DIR/server/$name.state" "$export_dir" \
		</dev/null >>"$log_file" 2>&1) &
	local pid=$!
	# Without the job, bash prints no "Killed" notice when SIGKILL ends it.
	disown "$pid"
	echo "$pid" >"$FAULTS_STATE_DIR/$name.pid"
	local deadline=$((SECONDS + SERVER_WAIT))
	until nfs_null_answers; do
		if ! process_running "$pid"; then
			tail -n 20 "$log_file" >&2
			fail "burrow (pid $pid) exited before answering on 127.0.0.1:$NFS_PORT"
		fi
		((SECONDS < deadline)) || fail "burrow did not answer NFSv3 NULL within ${SERVER_WAIT}s"
		sleep 0.2
	done
	log "burrow running (pid $pid, uid $(stat -c %u "/proc/$pid"))"
}

server_pid() {
	cat "$FAULTS_STATE_DIR/$1.pid" 2>/dev/null
}

# stop_burrow NAME [SIGNAL]: send SIGNAL (default TERM) to the server of
# NAME and wait up to 30 s for it to exit.
stop_burrow() {
	local name=$1 signal=${2:-TERM} pid deadline
	pid=$(server_pid "$name") || return 0
	rm -f "$FAULTS_STATE_DIR/$name.pid"
	process_running "$pid" || return 0
	kill "-$signal" "$pid"
	deadline=$((SECONDS + 30))
	while process_running "$pid"; do
		((SECONDS < deadline)) || fail "burrow (pid $pid) still runs 30s after SIG$signal"
		sleep 0.1
	done
}

# mount_nfs EXPORT MOUNTPOINT [OPTIONS]: mount burrow's EXPORT with the
# kernel client, as test/vm/server.sh does, plus OPTIONS.
mount_nfs() {
	mkdir -p "$2"
	mount -t nfs -o "vers=3,proto=tcp,port=$NFS_PORT,mountport=$NFS_PORT,mountproto=tcp,nolock${3:+,$3}" \
		"127.0.0.1:$1" "$2" || fail "mounting 127.0.0.1:$1 on $2 failed"
}

# A hard mount of a dead server can block umount, so -f and then -l
# follow a failed plain umount.
unmount_nfs() {
	mountpoint -q "$1" || return 0
	timeout 60 umount "$1" && return 0
	log "umount $1 failed; retrying with -f, then -l"
	timeout 60 umount -f "$1" || umount -l "$1"
}

# Create a directory owned by the burrow user to export.
make_export() {
	mkdir -p "$1"
	chown burrow:burrow "$1"
}

# Print the kernel log lines added since the count in $1 (from
# kernel_log_lines).
kernel_log_lines() {
	dmesg | wc -l
}
kernel_log_since() {
	dmesg | tail -n "+$(($1 + 1))"
}
