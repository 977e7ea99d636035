#!/usr/bin/env bash
# Boots Debian's kernel under QEMU with the host root as a read-only 9p
# root (tmpfs overlay on top), runs one command in the guest as root and
# exits with that command's exit status. The guest's stdout and stderr
# stream to this terminal while it runs.
#
# Usage: run-guest.sh [--disk IMAGE] [--scratch DIR] [--env-file FILE]
#                     [--timeout DURATION] [--log-dir DIR] -- COMMAND [ARG...]
#
#   --disk IMAGE      raw image attached as virtio-blk /dev/vda (serial vmtest-disk)
#   --scratch DIR     host directory mounted read-write at the same path in the guest
#   --env-file FILE   bash file of export lines sourced before COMMAND runs
#   --timeout DUR     kill the guest after DUR (seconds, or Ns/Nm/Nh; default 20m)
#   --log-dir DIR     where console.log, qemu.log and output.log go (default:
#                     the scratch directory, else a new directory in the cache)
#
# Environment: E2E_MEMORY (qemu -m, default 4G), E2E_CPUS (default 2),
# E2E_ACCEL (auto, kvm or tcg; default auto).
#
# Exit status: the command's, 124 when the guest timed out, 125 when the
# guest ended without an exit status (kernel panic, init died) or qemu failed.

# The whole script is one brace group, so bash parses all of it before it
# runs any of it: editing the file during a run cannot corrupt that run.
{
set -euo pipefail
LOG_PREFIX=vmtest
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly STATUS_TIMEOUT=124 STATUS_NO_EXIT=125

disk= scratch= env_file= timeout=20m log_dir=
while (($#)); do
	case $1 in
	--disk) disk=$2; shift 2 ;;
	--scratch) scratch=$2; shift 2 ;;
	--env-file) env_file=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--log-dir) log_dir=$2; shift 2 ;;
	--) shift; break ;;
	*) die "unknown option '$1'; see the usage at the top of $0" ;;
	esac
done
(($#)) || die "missing command; usage: $0 [options] -- COMMAND [ARG...]"
timeout_seconds=$(duration_seconds "$timeout")

# Paths end up in qemu option lists, which split on commas, and on the
# kernel command line, which splits on whitespace.
check_path() {
	[[ $1 != *[[:space:],]* ]] || die "path '$1' contains a comma or whitespace, which qemu or the kernel command line cannot take"
}

# Set ACCEL_ARGS to the qemu accelerator and CPU options.
choose_accelerator() {
	local wanted=${E2E_ACCEL:-auto} reason=
	case $wanted in
	kvm)
		ACCEL_ARGS=(-accel kvm -cpu host)
		return
		;;
	tcg) reason="E2E_ACCEL=tcg" ;;
	auto)
		if [[ -d /sys/module/kvm_pvm ]]; then
			# PVM only runs paravirtualized guests; an unmodified Debian
			# kernel fails or crawls under it.
			reason="/dev/kvm is kvm_pvm, which cannot run this kernel"
		elif [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
			reason="/dev/kvm is missing or not read-writable"
		elif ! timeout 30 qemu-system-x86_64 -machine q35 -accel kvm -cpu host -nodefaults -no-user-config \
			-display none -monitor stdio -S <<<quit >/dev/null 2>&1; then
			reason="a KVM test start of qemu failed"
		else
			ACCEL_ARGS=(-accel kvm -cpu host)
			return
		fi
		;;
	*) die "invalid E2E_ACCEL '$wanted': use auto, kvm or tcg" ;;
	esac
	log "warning: using TCG emulation because $reason; TCG is slow (boot takes about 10 s, the guest runs many times slower than native)"
	# qemu64 plus these extensions was the fastest TCG CPU model in a
	# measurement on a 2-core AMD EPYC host (untar and rm -rf of 415 files
	# over NFS, Debian 6.1 guest). "max" adds 5-level paging and PKU, which
	# are expensive to emulate. An Intel vendor string turns on KPTI.
	ACCEL_ARGS=(-accel tcg,thread=multi,tb-size=512 -cpu qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt)
}

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found; run make e2e-deps"
artifacts=$("$VM_DIR/artifacts.sh")

mkdir -p "$CACHE_DIR"
RUN_DIR=$(mktemp -d "$CACHE_DIR/run.XXXXXX")
if [[ -z $log_dir ]]; then
	log_dir=${scratch:-$RUN_DIR.logs}
fi
mkdir -p "$log_dir"
log_dir=$(cd "$log_dir" && pwd)
for path in "$RUN_DIR" "$VM_DIR" "$log_dir" ${scratch:+"$scratch"} ${disk:+"$disk"}; do
	check_path "$path"
done
[[ -z $scratch ]] || scratch=$(cd "$scratch" && pwd)
# The guest mounts fresh file systems over these host directories, so it
# would not find its stage-2 script (or the repository's binaries) there.
case $VM_DIR/ in
/tmp/* | /run/* | /dev/* | /proc/* | /sys/*)
	die "the harness is in $VM_DIR, which the guest cannot see; move the repository out of /tmp, /run, /dev, /proc and /sys"
	;;
esac
[[ -z $disk || -f $disk ]] || die "disk image $disk not found"

QEMU_PID= OUT_PID= ERR_PID=
cleanup() {
	local pid
	for pid in $QEMU_PID $OUT_PID $ERR_PID; do
		kill "$pid" 2>/dev/null || true
	done
	rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'log "interrupted; stopping qemu"; exit 130' INT
trap 'log "terminated; stopping qemu"; exit 143' TERM

# The control share carries the command in and the exit status out.
{
	printf 'export VMTEST_CWD=%q\n' "$PWD"
	# At this guest uptime, 20 s before the host kills it, the guest lists
	# its blocked tasks on the console, so a hang shows where it hung.
	if ((timeout_seconds > 60)); then
		printf 'export VMTEST_HANG_DUMP_AT=%d\n' $((timeout_seconds - 20))
	fi
	[[ -z $env_file ]] || cat "$env_file"
} >"$RUN_DIR/env"
printf 'exec' >"$RUN_DIR/cmd.sh"
printf ' %q' "$@" >>"$RUN_DIR/cmd.sh"
echo >>"$RUN_DIR/cmd.sh"

# Guest output travels over virtio-serial into FIFOs that qemu opens read-
# write, so qemu never sees an EOF. A stdio chardev would see EOF on a
# closed stdin, and guest writes to the port would then block forever.
mkfifo "$RUN_DIR/out.in" "$RUN_DIR/out.out" "$RUN_DIR/err.in" "$RUN_DIR/err.out"

choose_accelerator
qemu_args=(
	-machine q35 "${ACCEL_ARGS[@]}" -smp "${E2E_CPUS:-2}" -m "${E2E_MEMORY:-4G}"
	-nodefaults -no-user-config -display none -monitor none -no-reboot -nic none
	-kernel "$artifacts/kernel" -initrd "$artifacts/initramfs.cpio.gz"
	-append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init vmtest.stage2=$VM_DIR/stage2.sh vmtest.ctl=$RUN_DIR${scratch:+ vmtest.scratch=$scratch}"
	-chardev "file,id=console,path=$log_dir/console.log" -serial chardev:console
	# multidevs=remap: / spans several host file systems whose inode
	# numbers would otherwise collide in the guest.
	-fsdev local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot
	-fsdev "local,id=fsctl,path=$RUN_DIR,security_model=none"
	-device virtio-9p-pci,fsdev=fsctl,mount_tag=vmctl
	-device virtio-serial-pci
	-chardev "pipe,id=vmout,path=$RUN_DIR/out" -device virtserialport,chardev=vmout,name=vmtest.out
	-chardev "pipe,id=vmerr,path=$RUN_DIR/err" -device virtserialport,chardev=vmerr,name=vmtest.err
)
if [[ -n $scratch ]]; then
	qemu_args+=(-fsdev "local,id=fsscratch,path=$scratch,security_model=none"
		-device virtio-9p-pci,fsdev=fsscratch,mount_tag=vmscratch)
fi
if [[ -n $disk ]]; then
	# cache=none keeps the host page cache out of guest I/O, but tmpfs has
	# no O_DIRECT. E2E_DISK_CACHE selects another qemu cache mode.
	disk_cache=cache=none,aio=native
	[[ $(stat -f -c %T "$disk") != tmpfs ]] || disk_cache=cache=writeback,aio=threads
	case ${E2E_DISK_CACHE:-} in
	'') ;;
	none | writeback | writethrough | directsync | unsafe)
		disk_cache=cache=$E2E_DISK_CACHE,aio=threads
		;;
	*) die "invalid E2E_DISK_CACHE '$E2E_DISK_CACHE': use none, writeback, writethrough, directsync or unsafe" ;;
	esac
	qemu_args+=(-drive "file=$disk,if=none,id=vd0,format=raw,$disk_cache"
		-device virtio-blk-pci,drive=vd0,serial=vmtest-disk)
fi

start=$SECONDS
qemu-system-x86_64 "${qemu_args[@]}" >"$log_dir/qemu.log" 2>&1 &
QEMU_PID=$!
tee -a "$log_dir/output.log" <"$RUN_DIR/out.out" &
OUT_PID=$!
tee -a "$log_dir/output.log" <"$RUN_DIR/err.out" >&2 &
ERR_PID=$!
log "guest started (qemu pid $QEMU_PID); logs in $log_dir"

timed_out=
while kill -0 "$QEMU_PID" 2>/dev/null; do
	if ((SECONDS - start >= timeout_seconds)); then
		timed_out=1
		kill -TERM "$QEMU_PID" 2>/dev/null || true
		break
	fi
	sleep 1
done
qemu_status=0
wait "$QEMU_PID" || qemu_status=$?
QEMU_PID=

# qemu's exit closes the FIFOs and ends both readers. A reader still
# blocked in open() means qemu never opened its FIFO, so stop it.
for pid in $OUT_PID $ERR_PID; do
	for _ in 1 2 3 4 5; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
OUT_PID= ERR_PID=
elapsed=$((SECONDS - start))

show_console_tail() {
	if [[ -s $log_dir/console.log ]]; then
		log "last lines of $log_dir/console.log:"
		tail -n 40 "$log_dir/console.log" >&2
	else
		log "the kernel console log $log_dir/console.log is empty (loglevel=4 shows warnings and worse)"
	fi
	if [[ -s $log_dir/output.log ]]; then
		log "last lines of the guest output ($log_dir/output.log):"
		tail -n 10 "$log_dir/output.log" >&2
	fi
	if [[ -s $log_dir/qemu.log ]]; then
		log "qemu output ($log_dir/qemu.log):"
		tail -n 20 "$log_dir/qemu.log" >&2
	fi
}

if [[ -n $timed_out ]]; then
	log "error: guest hung: no exit status after ${timeout_seconds}s; killed qemu"
	show_console_tail
	exit "$STATUS_TIMEOUT"
fi
if [[ ! -f $RUN_DIR/rc ]]; then
	log "error: guest ended after ${elapsed}s without an exit status (kernel panic, init died or qemu failed; qemu exit status $qemu_status)"
	show_console_tail
	exit "$STATUS_NO_EXIT"
fi
status=$(<"$RUN_DIR/rc")
log "guest finished in ${elapsed}s; command exit status $status"
exit "$status"
}
