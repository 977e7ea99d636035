#!/usr/bin/env bash
# Runs inside the QEMU guest as root (started by bench/kernel/run.sh
# through test/vm/run-guest.sh). Formats the test disk as ext4 on /export,
# then times the workloads W1-W6 on each target. The target native runs
# them on /export itself. For burrow, knfsd and ganesha, test/vm/server.sh
# serves /export and mounts it at /mnt/e2e, and the workloads run there,
# through the Linux kernel NFS client. The targets run in a rotated order
# in each run.
#
# Every timed step starts cold: the NFS export is unmounted and mounted
# again, and the guest kernel's page, dentry and inode caches are dropped.
# The servers keep running across one target's workloads, so their own
# user-space caches (ganesha's MDCACHE, burrow's handle caches) stay warm.
#
# Writes results.tsv (run, target, workload, value, unit), mounts.tsv
# (target, options from /proc/mounts) and setup.txt to KBENCH_LOG_DIR.
# Reads KBENCH_RUNS, KBENCH_TARGETS, KBENCH_TREE_TAR, KBENCH_TREE_NAME,
# KBENCH_SEQ_MIB, KBENCH_RAND_MIB and KBENCH_RAND_SECONDS, which run.sh
# sets.

# The whole script is one brace group, so bash parses all of it before it
# runs any of it: editing the file during a run cannot corrupt that run.
{
set -euo pipefail

KERNEL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KERNEL_DIR/../.." && pwd)
VM_DIR=$REPO/test/vm
source "$VM_DIR/guest-lib.sh"

EXPORT_DIR=/export
MOUNT_DIR=/mnt/e2e
LOG_DIR=$KBENCH_LOG_DIR
RESULTS=$LOG_DIR/results.tsv
MOUNTS=$LOG_DIR/mounts.tsv
# The tarball is copied to the guest's tmpfs, so reading it costs no disk
# or 9p time during W1.
TREE_TAR=/tmp/kbench-tree.tar
TREE=$KBENCH_TREE_NAME
# The user that runs every workload, as a developer would: uid 1000 owns
# /export and runs burrow in owner mode.
USER_NAME=burrow

# server.sh reads these.
export E2E_REPO=$REPO E2E_LOG_DIR=$LOG_DIR E2E_LOG_LEVEL=warn E2E_EXTRA_MOUNTS=0

log() {
	echo "kbench: $*" >&2
}

as_user() {
	setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups -- \
		env HOME=/home/$USER_NAME GIT_CONFIG_NOSYSTEM=1 "$@"
}

prepare() {
	local disk start=$SECONDS
	disk=$(find_disk) || { log "error: no virtio disk with serial vmtest-disk"; exit 1; }
	# lazy_*_init=0 writes the inode tables and journal now, so no
	# ext4lazyinit thread writes in the background during the runs.
	mkfs.ext4 -q -F -L kbench -E lazy_itable_init=0,lazy_journal_init=0 "$disk"
	mkdir -p "$EXPORT_DIR"
	mount -t ext4 "$disk" "$EXPORT_DIR"
	add_user "$USER_NAME" 1000 /home/$USER_NAME
	chown "$USER_NAME:$USER_NAME" "$EXPORT_DIR"
	chmod 0755 "$EXPORT_DIR"
	cp "$KBENCH_TREE_TAR" "$TREE_TAR"
	chmod 0644 "$TREE_TAR"
	log "formatted $disk as ext4 on $EXPORT_DIR in $((SECONDS - start))s"
	{
		echo "guest kernel: $(uname -r)"
		echo "guest CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
		echo "guest CPUs: $(nproc) CPUs, $(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM"
		echo "export: $(awk -v d="$EXPORT_DIR" '$2 == d { print $1, $3, $4 }' /proc/mounts)"
		echo "tree: files $(tar -tf "$TREE_TAR" | grep -vc '/$'), directories $(tar -tf "$TREE_TAR" | grep -c '/$')"
		echo "nfs-ganesha: $(dpkg-query -W -f '${Version}' nfs-ganesha 2>/dev/null || echo unknown)"
		echo "nfs-utils: $(dpkg-query -W -f '${Version}' nfs-kernel-server 2>/dev/null || echo unknown)"
		echo "tools: $(git --version), $(fio --version), $(tar --version | head -n 1)"
		echo "sizes: W4 file $KBENCH_SEQ_MIB MiB, W5 file $KBENCH_RAND_MIB MiB for $KBENCH_RAND_SECONDS s"
	} >"$LOG_DIR/setup.txt"
}

# Make the next step start cold: mount the export again (the NFS client
# keeps attributes and directory entries per mount) and drop the guest's
# page, dentry and inode caches, which the server side shares.
go_cold() {
	local target=$1
	# server.sh logs every mount, so its output goes to a file.
	if [[ $target != native ]] && ! { "$VM_DIR/server.sh" unmount && "$VM_DIR/server.sh" mount; } >>"$LOG_DIR/remount.log" 2>&1; then
		log "error: mounting the export of $target again failed"
		tail -n 5 "$LOG_DIR/remount.log" >&2
		return 1
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# Print the microseconds since the epoch.
now_us() {
	local t=$EPOCHREALTIME
	echo "${t/./}"
}

record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
	log "run $1 $2 $3: $4 $5"
}

# time_step RUN TARGET WORKLOAD COMMAND...: go cold, run COMMAND as the
# workload user and record its wall time in seconds. A failed command
# records "failed" and the target's remaining workloads still run.
time_step() {
	local run=$1 target=$2 workload=$3 start end
	shift 3
	if ! go_cold "$target"; then
		record "$run" "$target" "$workload" failed s
		return 0
	fi
	start=$(now_us)
	if ! as_user "$@" >"$LOG_DIR/step.out" 2>&1; then
		log "error: $workload on $target failed: $*"
		tail -n 20 "$LOG_DIR/step.out" >&2
		record "$run" "$target" "$workload" failed s
		return 0
	fi
	end=$(now_us)
	record "$run" "$target" "$workload" "$(awk -v us=$((end - start)) 'BEGIN { printf "%.3f", us / 1e6 }')" s
}

# W5: 4 KiB random reads and writes (half each) in one file for a fixed
# time, with an fsync at the end. fio lays the file out first, untimed.
# IOPS counts the completed reads and writes over the wall time of the
# fio command, so the final fsync of the written pages is included.
random_io() {
	local run=$1 target=$2 dir=$3 start end ios
	local args=(--name=w5 --filename="$dir/rand.dat" --size="${KBENCH_RAND_MIB}M" --bs=4k
		--ioengine=psync --direct=0 --rw=randrw --rwmixread=50 --randrepeat=1)
	if ! as_user fio "${args[@]}" --create_only=1 >"$LOG_DIR/step.out" 2>&1; then
		log "error: laying out $dir/rand.dat failed"
		tail -n 20 "$LOG_DIR/step.out" >&2
		record "$run" "$target" W5 failed IOPS
		return 0
	fi
	if ! go_cold "$target"; then
		record "$run" "$target" W5 failed IOPS
		return 0
	fi
	start=$(now_us)
	if ! as_user fio "${args[@]}" --time_based --runtime="$KBENCH_RAND_SECONDS" --end_fsync=1 \
		--output-format=json >"$LOG_DIR/fio.json" 2>"$LOG_DIR/step.out"; then
		log "error: fio on $target failed"
		tail -n 20 "$LOG_DIR/step.out" >&2
		record "$run" "$target" W5 failed IOPS
		return 0
	fi
	end=$(now_us)
	ios=$(jq '.jobs[0].read.total_ios + .jobs[0].write.total_ios' "$LOG_DIR/fio.json")
	record "$run" "$target" W5 "$(awk -v n="$ios" -v us=$((end - start)) 'BEGIN { printf "%.0f", n / (us / 1e6) }')" IOPS
}

run_workloads() {
	local run=$1 target=$2 dir=$3
	as_user mkdir -p "$dir"

	# W1: untar the source tree.
	time_step "$run" "$target" W1 tar -x -f "$TREE_TAR" -C "$dir"
	# W2: find and stat every file and directory. One find process, so
	# fork and exec, which are slow under emulation, do not dominate.
	time_step "$run" "$target" W2 find "$dir/$TREE" -printf '%i %s %m %T@\n'
	# W3: git status of the tree, committed through the same mount first.
	local git=(git -C "$dir/$TREE" -c user.name=kbench -c user.email=kbench@localhost)
	if ! as_user sh -c 'git init -q "$1" && cd "$1" && git add -A && git -c user.name=kbench -c user.email=kbench@localhost commit -q -m tree' \
		sh "$dir/$TREE" >"$LOG_DIR/step.out" 2>&1; then
		log "error: committing the tree on $target failed"
		tail -n 20 "$LOG_DIR/step.out" >&2
	fi
	time_step "$run" "$target" W3 "${git[@]}" status --porcelain
	if [[ -s $LOG_DIR/step.out ]]; then
		log "warning: git status on $target lists changes (first lines follow)"
		head -n 5 "$LOG_DIR/step.out" >&2
	fi
	# W4: sequential write with fsync, then a cold read back.
	time_step "$run" "$target" W4-write dd if=/dev/zero of="$dir/seq.dat" bs=1M count="$KBENCH_SEQ_MIB" conv=fsync
	time_step "$run" "$target" W4-read dd if="$dir/seq.dat" of=/dev/null bs=1M
	random_io "$run" "$target" "$dir"
	# W6: remove the tree, its .git included.
	time_step "$run" "$target" W6 rm -rf "$dir/$TREE"
}

run_target() {
	local run=$1 target=$2 dir=$EXPORT_DIR/kbench
	log "run $run: $target"
	if [[ $target != native ]]; then
		export E2E_SERVER=$target
		"$VM_DIR/server.sh" start
		"$VM_DIR/server.sh" mount
		dir=$MOUNT_DIR/kbench
		if ! grep -q "^$target	" "$MOUNTS" 2>/dev/null; then
			printf '%s\t%s\n' "$target" "$(awk -v d="$MOUNT_DIR" '$2 == d { print $4 }' /proc/mounts)" >>"$MOUNTS"
		fi
	fi
	local status=0
	run_workloads "$run" "$target" "$dir" || status=$?
	if [[ $target != native ]]; then
		"$VM_DIR/server.sh" unmount || log "unmounting $MOUNT_DIR failed"
		"$VM_DIR/server.sh" stop || log "stopping $target failed"
	fi
	# Every target starts from an empty export.
	rm -rf "$EXPORT_DIR/kbench"
	sync
	return "$status"
}

main() {
	prepare
	: >"$RESULTS"
	: >"$MOUNTS"
	local -a targets
	read -r -a targets <<<"$KBENCH_TARGETS"
	local n=${#targets[@]} run i start=$SECONDS
	for run in $(seq 1 "$KBENCH_RUNS"); do
		# Rotate the order each run, so that no target always runs first.
		for i in $(seq 0 $((n - 1))); do
			run_target "$run" "${targets[$(((i + run - 1) % n))]}"
		done
	done
	dmesg >"$LOG_DIR/dmesg.log" || log "dmesg failed"
	log "done in $((SECONDS - start))s"
}

main "$@"
}
