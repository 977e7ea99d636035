#!/usr/bin/env bash
# Builds the guest boot artifacts into the cache directory and prints that
# directory: an uncompressed vmlinux from the newest /boot/vmlinuz-* and an
# initramfs with busybox, /init and the kernel modules needed to mount the
# 9p root. Artifacts are rebuilt when the kernel version or the files that
# produce them change.
set -euo pipefail
LOG_PREFIX=artifacts
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Modules that /init loads, in this order, before it mounts the root: the
# virtio devices, 9p, overlayfs, ext4 for the test disk and the NFS client
# and server. Dependencies are added from modules.dep. A trailing "?" marks
# a module that is skipped when the kernel lacks it. The crc32c drivers are
# a softdep of ext4 and jbd2, which modules.dep does not list, so they come
# before ext4 explicitly.
MODULES=(virtio_pci virtio_blk virtio_console 9pnet_virtio 9p overlay
	crc32c_generic? crc32c_intel? ext4 nfsv3 nfsd)

KERNEL_VERSION=${E2E_KERNEL_VERSION:-$(newest_kernel_version)}
KERNEL_IMAGE=/boot/vmlinuz-$KERNEL_VERSION
MODULE_DIR=/lib/modules/$KERNEL_VERSION
OUT_DIR=$CACHE_DIR/$KERNEL_VERSION

# Print the normalized module name of a modules.dep path:
# kernel/arch/x86/crypto/crc32c-intel.ko.xz -> crc32c_intel.
module_name() {
	local name=${1##*/}
	name=${name%%.ko*}
	echo "${name//-/_}"
}

# Copy one module into the initramfs as a plain .ko, decompressing it if
# the distribution ships compressed modules.
copy_module() {
	local source=$MODULE_DIR/$1 target=$2/lib/modules/$(module_name "$1").ko
	case $source in
	*.ko) cp "$source" "$target" ;;
	*.ko.xz) xz -dc "$source" >"$target" ;;
	*.ko.gz) gzip -dc "$source" >"$target" ;;
	*.ko.zst)
		command -v zstd >/dev/null || die "$source is zstd-compressed; install zstd"
		zstd -qdc "$source" >"$target"
		;;
	*) die "unknown module file type: $source" ;;
	esac
}

declare -A MODULE_PATH MODULE_DEPS BUILTIN LOADED
LOAD_ORDER=()

read_module_index() {
	local path deps
	while IFS=: read -r path deps; do
		MODULE_PATH[$(module_name "$path")]=$path
		MODULE_DEPS[$(module_name "$path")]=$deps
	done <"$MODULE_DIR/modules.dep"
	if [[ -r $MODULE_DIR/modules.builtin ]]; then
		while read -r path; do
			BUILTIN[$(module_name "$path")]=1
		done <"$MODULE_DIR/modules.builtin"
	fi
}

# Append a module and, before it, its dependencies to LOAD_ORDER. The
# dependency list in modules.dep is loaded from its last entry to its first.
# The loop variables must stay local because the function recurses.
add_module() {
	local name=$1 required=$2
	[[ -n ${LOADED[$name]:-} || -n ${BUILTIN[$name]:-} ]] && return 0
	if [[ -z ${MODULE_PATH[$name]:-} ]]; then
		[[ $required == required ]] && die "module $name is neither in $MODULE_DIR/modules.dep nor built in"
		log "optional module $name not found; skipping it"
		return 0
	fi
	local deps i
	read -r -a deps <<<"${MODULE_DEPS[$name]}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		add_module "$(module_name "${deps[i]}")" required
	done
	LOADED[$name]=1
	LOAD_ORDER+=("$name")
}

# Write an uncompressed ELF vmlinux to $2. Booting it through its PVH entry
# skips the real-mode setup and decompression, which are slow under TCG.
# Return non-zero when the image has no embedded kernel that we can unpack
# or the result has no PVH entry note.
extract_vmlinux() {
	local image=$1 target=$2 magic pattern offset notes
	local -a unpack
	for magic in 'xz' 'zstd' 'gzip'; do
		case $magic in
		xz) pattern='\xfd7zXZ\x00' unpack=(xz -dc --single-stream) ;;
		zstd) pattern='\x28\xb5\x2f\xfd' unpack=(zstd -qdc) ;;
		gzip) pattern='\x1f\x8b\x08\x00' unpack=(gzip -dc) ;;
		esac
		command -v "${unpack[0]}" >/dev/null || continue
		# grep prints every match, and the first one is the payload. Reading it
		# through process substitution keeps SIGPIPE out of pipefail.
		offset=
		read -r offset < <(LC_ALL=C grep -obUaP "$pattern" "$image" | cut -d: -f1) || true
		[[ -n $offset ]] || continue
		# The decompressor stops at the end of the payload and ignores the
		# trailing setup data, so its exit status is not checked here. The
		# readelf check below decides whether the result is usable.
		"${unpack[@]}" < <(tail -c "+$((offset + 1))" "$image") >"$target" 2>/dev/null || true
		notes=$(readelf -n "$target" 2>/dev/null) || continue
		# Xen ELF note type 0x12 is XEN_ELFNOTE_PHYS32_ENTRY, the PVH entry.
		if [[ $notes == *"Xen"*"(0x00000012)"* || $notes == *PHYS32_ENTRY* ]]; then
			return 0
		fi
	done
	rm -f "$target"
	return 1
}

build_initramfs() {
	local root=$1 target=$2 busybox name
	busybox=$(command -v busybox) || die "busybox not found; install busybox-static (make e2e-deps)"
	local headers
	headers=$(readelf -l "$busybox" 2>/dev/null) || die "$busybox is not an ELF binary"
	[[ $headers != *"program interpreter"* ]] ||
		die "$busybox is dynamically linked; install busybox-static (make e2e-deps)"

	mkdir -p "$root"/{bin,dev,proc,sys,lower,upper,newroot,lib/modules}
	cp "$busybox" "$root/bin/busybox"
	for name in $("$busybox" --list); do
		[[ $name == busybox ]] || ln -s busybox "$root/bin/$name"
	done
	cp "$VM_DIR/init.sh" "$root/init"
	chmod 0755 "$root/init"

	read_module_index
	for name in "${MODULES[@]}"; do
		if [[ $name == *\? ]]; then
			add_module "${name%\?}" optional
		else
			add_module "$name" required
		fi
	done
	for name in "${LOAD_ORDER[@]}"; do
		copy_module "${MODULE_PATH[$name]}" "$root"
		echo "$name.ko" >>"$root/modules.load"
	done

	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -1 >"$target"
}

main() {
	[[ -r $KERNEL_IMAGE ]] ||
		die "cannot read $KERNEL_IMAGE (Ubuntu installs it mode 0600); run as root or make it readable"
	[[ -r $MODULE_DIR/modules.dep ]] || die "$MODULE_DIR/modules.dep not found; install the modules of $KERNEL_VERSION"

	# The stamp is the kernel version and a hash of every input, so any
	# change to them triggers a rebuild.
	local stamp
	stamp=$(cat "$KERNEL_IMAGE" "$MODULE_DIR/modules.dep" "$VM_DIR/init.sh" "${BASH_SOURCE[0]}" | sha256sum)
	stamp="$KERNEL_VERSION ${stamp%% *}"

	mkdir -p "$CACHE_DIR"
	exec 9>"$CACHE_DIR/.lock"
	flock 9
	if [[ -r $OUT_DIR/stamp && $(<"$OUT_DIR/stamp") == "$stamp" ]]; then
		echo "$OUT_DIR"
		return
	fi

	log "building kernel and initramfs for $KERNEL_VERSION in $OUT_DIR"
	BUILD_DIR=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
	trap 'rm -rf "$BUILD_DIR"' EXIT
	local work=$BUILD_DIR

	if extract_vmlinux "$KERNEL_IMAGE" "$work/kernel"; then
		log "extracted vmlinux with a PVH entry"
	else
		log "warning: no PVH vmlinux found inside $KERNEL_IMAGE; booting the compressed image (slower)"
		cp "$KERNEL_IMAGE" "$work/kernel"
	fi
	build_initramfs "$work/root" "$work/initramfs.cpio.gz"
	echo "$stamp" >"$work/stamp"

	rm -rf "$OUT_DIR"
	mkdir -p "$OUT_DIR"
	mv "$work/kernel" "$work/initramfs.cpio.gz" "$work/stamp" "$OUT_DIR/"
	echo "$OUT_DIR"
}

main "$@"
