#!/bin/sh
# /init of the guest initramfs (busybox sh). Loads the modules listed in
# /modules.load, mounts the host root read-only over 9p under a tmpfs
# overlay, mounts the control and scratch shares at their host paths and
# hands over to the stage-2 script named on the kernel command line.
# Kernel parameters: vmtest.stage2=PATH vmtest.ctl=PATH vmtest.scratch=PATH.

export PATH=/bin

fail() {
	echo "init: $*" >/dev/console
	# PID 1 exiting panics the kernel. With panic=-1 and qemu -no-reboot
	# that ends qemu, and the host reports a missing exit code.
	exit 1
}

mount -t proc proc /proc || fail "mounting /proc failed"
mount -t sysfs sysfs /sys || fail "mounting /sys failed"
mount -t devtmpfs devtmpfs /dev || fail "mounting /dev failed"

while read -r module; do
	insmod "/lib/modules/$module" || fail "insmod $module failed"
done </modules.load

stage2= ctl= scratch=
for word in $(cat /proc/cmdline); do
	case $word in
	vmtest.stage2=*) stage2=${word#*=} ;;
	vmtest.ctl=*) ctl=${word#*=} ;;
	vmtest.scratch=*) scratch=${word#*=} ;;
	esac
done
[ -n "$stage2" ] && [ -n "$ctl" ] || fail "vmtest.stage2= and vmtest.ctl= are required on the kernel command line"

p9="trans=virtio,version=9p2000.L,msize=262144"
mount -t 9p -o "$p9,ro,cache=loose" hostroot /lower || fail "mounting the host root over 9p failed"
mount -t tmpfs -o mode=0755,size=75% tmpfs /upper || fail "mounting the overlay tmpfs failed"
mkdir /upper/upper /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/upper,workdir=/upper/work overlay /newroot ||
	fail "mounting the root overlay failed"

# Fresh /tmp and /run: the host's copies would show its pid files and
# sockets to the guest's daemons. They come before the shares, which may
# live under /tmp on the host.
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail "mounting /tmp failed"
mount -t tmpfs -o mode=0755 tmpfs /newroot/run || fail "mounting /run failed"

# The writable shares use cache=none so that every write reaches the host.
mkdir -p "/newroot$ctl" || fail "creating $ctl failed"
mount -t 9p -o "$p9,cache=none" vmctl "/newroot$ctl" || fail "mounting the control share failed"
if [ -n "$scratch" ]; then
	mkdir -p "/newroot$scratch" || fail "creating $scratch failed"
	mount -t 9p -o "$p9,cache=none" vmscratch "/newroot$scratch" || fail "mounting the scratch share failed"
fi

for dir in proc sys dev; do
	mount --move "/$dir" "/newroot/$dir" || fail "moving /$dir failed"
done

exec switch_root /newroot /bin/bash "$stage2"
