#!/usr/bin/env bash
# disk-full: burrow exports a 64 MiB ext4 image. Writes through a hard NFS
# mount go on until the file system is full, and the client must see
# ENOSPC (or EDQUOT), not EIO or a hang. The server must keep serving, and
# after the files are deleted, writes must succeed again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NAME=disk-full
IMAGE=/run/burrow-faults/full.img
EXPORT=/srv/faults-full
MNT=/mnt/disk-full
FILE_MIB=4
MAX_FILES=40 # 160 MiB, well past the image's size

cleanup() {
	unmount_nfs "$MNT" || true
	stop_burrow "$NAME" || true
	! mountpoint -q "$EXPORT" || umount "$EXPORT" || true
	rm -f "$IMAGE"
}
trap cleanup EXIT

mkdir -p "${IMAGE%/*}" "$EXPORT"
truncate -s 64M "$IMAGE"
mkfs.ext4 -q -F -L faults-full "$IMAGE"
modprobe loop 2>/dev/null || true
mount -o loop "$IMAGE" "$EXPORT" || fail "mount -o loop $IMAGE failed"
chown burrow:burrow "$EXPORT"
start_burrow "$NAME" "$EXPORT"
mount_nfs "$EXPORT" "$MNT" hard

# Each file is written with dd conv=fsync, so a write error surfaces at
# write() or at fsync() instead of being lost in the page cache.
full_error=
for ((i = 1; i <= MAX_FILES; i++)); do
	status=0
	timeout 120 dd if=/dev/zero of="$MNT/fill$i" bs=1M count="$FILE_MIB" conv=fsync status=none 2>"$FAULTS_STATE_DIR/dd.err" || status=$?
	if ((status == 124)); then
		fail "dd of fill$i hung for 120 s instead of failing with ENOSPC"
	fi
	if ((status != 0)); then
		full_error=$(<"$FAULTS_STATE_DIR/dd.err")
		break
	fi
done
[[ -n $full_error ]] || fail "wrote $MAX_FILES files of $FILE_MIB MiB to a 64 MiB file system without an error"
log "file $i failed with: $full_error"
case $full_error in
*"No space left on device"* | *"Disk quota exceeded"*) ;;
*) fail "a write on the full file system failed with '$full_error', want ENOSPC or EDQUOT" ;;
esac
df -h "$EXPORT" >&2

# The server must still reply to a NULL call and list the directory.
pid=$(server_pid "$NAME")
process_running "$pid" || fail "burrow exited after the disk filled up"
nfs_null_answers || fail "burrow does not answer NULL after the disk filled up"
count=$(ls "$MNT" | wc -l) || fail "listing $MNT failed after the disk filled up"
log "server still serving: $count files listed"

rm -f "$MNT"/fill* || fail "deleting the files on the full file system failed"
head -c $((8 << 20)) /dev/urandom >"$FAULTS_STATE_DIR/after.bin"
timeout 120 dd if="$FAULTS_STATE_DIR/after.bin" of="$MNT/after-delete" bs=1M conv=fsync status=none ||
	fail "writing 8 MiB after deleting the files failed"
# Drop the client's page cache so that the comparison reads from burrow.
echo 3 >/proc/sys/vm/drop_caches
cmp "$FAULTS_STATE_DIR/after.bin" "$MNT/after-delete" || fail "the file written after deleting differs from its source"
rm -f "$FAULTS_STATE_DIR/after.bin" "$FAULTS_STATE_DIR/dd.err"
