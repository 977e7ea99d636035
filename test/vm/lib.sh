# Shared helpers for the QEMU end-to-end harness. Sourced by the host-side
# scripts (artifacts.sh, run-guest.sh, e2e.sh), never executed directly.

# Absolute path of the repository root, whatever the caller's directory.
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$VM_DIR/../.." && pwd)

# Artifacts (vmlinux, initramfs) and per-run control directories live here.
CACHE_DIR=${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/burrow-vmtest}

log() {
	printf '%s: %s\n' "${LOG_PREFIX:-vmtest}" "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# Print the version of the newest kernel image in /boot (by version sort).
newest_kernel_version() {
	local images=(/boot/vmlinuz-*)
	[[ -e ${images[0]} ]] || die "no /boot/vmlinuz-* found; install linux-image-amd64 (make e2e-deps)"
	printf '%s\n' "${images[@]#/boot/vmlinuz-}" | sort -V | tail -n 1
}

# Convert a duration (plain seconds, or a number with an s, m or h suffix)
# to seconds.
duration_seconds() {
	local value=$1
	[[ $value =~ ^([0-9]+)([smh]?)$ ]] ||
		die "invalid duration '$value': use seconds, or a number followed by s, m or h"
	local number=${BASH_REMATCH[1]}
	case ${BASH_REMATCH[2]} in
	m) echo $((10#$number * 60)) ;;
	h) echo $((10#$number * 3600)) ;;
	*) echo $((10#$number)) ;;
	esac
}
