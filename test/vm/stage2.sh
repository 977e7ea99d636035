#!/bin/bash
# Stage 2 of the guest, PID 1 after switch_root. Sends stdout and stderr to
# the virtio-serial ports that the host streams, runs the control share's
# cmd.sh with the variables from its env file, writes the exit status to
# rc in the control share and powers the guest off.
#
# No set -e here: PID 1 must always get to the power-off, because its exit
# panics the kernel and the host then sees no exit status.

# The whole script is one brace group, so bash parses all of it before it
# runs any of it: editing the file during a run cannot corrupt that run.
{
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

for word in $(</proc/cmdline); do
	case $word in
	vmtest.ctl=*) ctl=${word#*=} ;;
	esac
done

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	# The power-off is asynchronous, and PID 1 must not exit before it lands.
	sleep 60
}

# Print the /dev node of the virtio-serial port with the given name.
find_port() {
	local name_file
	for name_file in /sys/class/virtio-ports/*/name; do
		if [[ $(<"$name_file") == "$1" ]]; then
			local dir=${name_file%/name}
			echo "/dev/${dir##*/}"
			return 0
		fi
	done
	return 1
}

out=$(find_port vmtest.out) && err=$(find_port vmtest.err) || {
	echo "stage2: virtio-serial ports vmtest.out and vmtest.err not found" >/dev/console
	power_off
}
exec >"$out" 2>"$err" </dev/null

read -r uptime _ </proc/uptime
echo "guest: userspace up ${uptime}s after kernel start"

mkdir -p /dev/pts /dev/shm
mount -t devpts -o mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ip link set lo up
hostname vmtest

# The env file consists of export lines written by the host with %q quoting.
source "$ctl/env"

# Shortly before the host kills a hung guest, list the tasks in
# uninterruptible sleep (sysrq w) with their stacks on the kernel console.
if [[ -n ${VMTEST_HANG_DUMP_AT:-} ]]; then
	read -r uptime _ </proc/uptime
	(sleep $((VMTEST_HANG_DUMP_AT - ${uptime%.*})) && echo w >/proc/sysrq-trigger) &
fi
cd "${VMTEST_CWD:-/}" || echo "stage2: cannot enter ${VMTEST_CWD:-/}; staying in $PWD" >&2

bash "$ctl/cmd.sh"
status=$?

echo "$status" >"$ctl/rc.tmp" && mv "$ctl/rc.tmp" "$ctl/rc"
power_off
exit
}
