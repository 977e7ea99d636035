#!/usr/bin/env bash
# host-mount: the Linux path of burrow mount and burrow umount for real:
# mount 127.0.0.1:2049 on /mnt/hm, see files created in the export, unmount.
# Then burrow mount --persist writes a systemd mount unit, which a
# systemctl stand-in (systemctl-stub.sh, because the guest runs no
# systemd) starts by mounting what the unit describes, and burrow umount
# --persist stops and removes it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=host-mount
EXPORT=/export/host-mount
MNT=/mnt/hm
PERSIST_MNT=/mnt/hmp
UNIT=/etc/systemd/system/mnt-hmp.mount
BURROW=$FAULTS_REPO/bin/burrow

RPCBIND_PID= STATD_PID=
cleanup() {
	unmount_nfs "$MNT" || true
	unmount_nfs "$PERSIST_MNT" || true
	rm -f "$UNIT"
	stop_burrow "$NAME" || true
	local pid
	for pid in $STATD_PID $RPCBIND_PID; do
		kill "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT

make_export "$EXPORT"
start_burrow "$NAME" "$EXPORT"

# mount.nfs from nfs-utils requires a running rpc.statd for any mount
# without nolock, local_lock=all included. A Linux host with nfs-common
# starts rpcbind and rpc.statd through systemd, which the guest lacks, so
# start both here as such a host runs them.
mkdir -p /run/rpcbind /var/lib/nfs/statd
rpcbind -w -f &
RPCBIND_PID=$!
sleep 0.5
rpc.statd --foreground --no-notify &
STATD_PID=$!
for _ in $(seq 50); do
	rpcinfo -p 127.0.0.1 2>/dev/null | grep -q status && break
	sleep 0.2
done
rpcinfo -p 127.0.0.1 2>/dev/null | grep -q status || fail "rpc.statd did not register with rpcbind within 10 s"

# The mount point must not exist yet, so burrow mount creates it.
rm -rf "$MNT"
out=$("$BURROW" mount 127.0.0.1:2049 "$MNT" 2>&1) || fail "burrow mount 127.0.0.1:2049 $MNT failed: $out"
log "burrow mount: $out"
mountpoint -q "$MNT" || fail "$MNT is not a mount point after burrow mount"
options=$(awk -v d="$MNT" '$2 == d { print $3 " " $4 }' /proc/mounts)
log "mounted: $options"
for want in nfs vers=3 local_lock=all soft; do
	[[ $options == *"$want"* ]] || fail "mount of $MNT lacks $want: $options"
done

setpriv --reuid=burrow --regid=burrow --init-groups -- sh -c "echo from-export >$EXPORT/created-in-export"
[[ $(cat "$MNT/created-in-export" 2>&1) == from-export ]] ||
	fail "a file created in the export does not read back through $MNT"
echo from-mount >"$MNT/created-in-mount" || fail "creating a file through $MNT failed"
[[ $(cat "$EXPORT/created-in-mount" 2>&1) == from-mount ]] ||
	fail "a file created through $MNT does not appear in the export"

out=$("$BURROW" umount "$MNT" 2>&1) || fail "burrow umount $MNT failed: $out"
! mountpoint -q "$MNT" || fail "$MNT is still mounted after burrow umount"

# --persist: a systemctl stand-in, first on PATH, records and performs the
# calls.
stub_dir=$FAULTS_STATE_DIR/stub-bin
mkdir -p "$stub_dir"
ln -sf "$FAULTS_DIR/systemctl-stub.sh" "$stub_dir/systemctl"
export SYSTEMCTL_STUB_LOG=$FAULTS_LOG_DIR/host-mount-systemctl.log
: >"$SYSTEMCTL_STUB_LOG"
out=$(PATH=$stub_dir:$PATH "$BURROW" mount --persist 127.0.0.1:2049 "$PERSIST_MNT" 2>&1) ||
	fail "burrow mount --persist failed: $out"
log "burrow mount --persist: $out"
[[ -f $UNIT ]] || fail "burrow mount --persist wrote no unit at $UNIT; /etc/systemd/system has: $(ls /etc/systemd/system | grep -i hm || true)"
for key in "What=127.0.0.1:$EXPORT" "Where=$PERSIST_MNT" "Type=nfs" "Options=vers=3"; do
	grep -q "^$key" "$UNIT" || fail "unit $UNIT has no line starting with $key: $(tr '\n' ' ' <"$UNIT")"
done
grep -qx 'systemctl enable --now mnt-hmp.mount' "$SYSTEMCTL_STUB_LOG" ||
	fail "burrow mount --persist did not run systemctl enable --now on the unit: $(tr '\n' ';' <"$SYSTEMCTL_STUB_LOG")"
mountpoint -q "$PERSIST_MNT" || fail "starting the unit did not mount $PERSIST_MNT"
[[ $(cat "$PERSIST_MNT/created-in-export" 2>&1) == from-export ]] ||
	fail "the export's file does not read back through the unit's mount $PERSIST_MNT"

out=$(PATH=$stub_dir:$PATH "$BURROW" umount --persist "$PERSIST_MNT" 2>&1) ||
	fail "burrow umount --persist failed: $out"
[[ ! -e $UNIT ]] || fail "burrow umount --persist left $UNIT"
grep -qx 'systemctl disable --now mnt-hmp.mount' "$SYSTEMCTL_STUB_LOG" ||
	fail "burrow umount --persist did not run systemctl disable --now on the unit: $(tr '\n' ';' <"$SYSTEMCTL_STUB_LOG")"
! mountpoint -q "$PERSIST_MNT" || fail "$PERSIST_MNT is still mounted after burrow umount --persist"
log "systemctl calls: $(tr '\n' ';' <"$SYSTEMCTL_STUB_LOG")"
