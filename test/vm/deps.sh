#!/usr/bin/env bash
# Installs the Debian or Ubuntu packages that the QEMU end-to-end harness
# needs. When all of them are installed already it only queries dpkg and
# exits, so running it again is cheap.
set -euo pipefail

kernel_package=linux-image-amd64
if [[ -r /etc/os-release ]]; then
	# shellcheck source=/dev/null
	os_id=$(. /etc/os-release && echo "${ID:-} ${ID_LIKE:-}")
	# Ubuntu has no linux-image-amd64; its generic kernel has the same
	# modules (virtio, 9p, overlay, ext4, nfs, nfsd).
	[[ " $os_id " != *" ubuntu "* ]] || kernel_package=linux-image-generic
fi

packages=(
	qemu-system-x86 busybox-static "$kernel_package" cpio kmod e2fsprogs
	xz-utils binutils nfs-kernel-server rpcbind nfs-common git fio libnfs-utils
)

missing=()
for package in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null) || status=
	[[ $status == "install ok installed" ]] || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
	echo "deps: all ${#packages[@]} packages are installed"
	exit 0
fi

command -v apt-get >/dev/null || {
	echo "deps: error: apt-get not found; install these packages by hand: ${missing[*]}" >&2
	exit 1
}
sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || {
		echo "deps: error: not root and sudo not found; as root, install: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi

echo "deps: installing ${missing[*]}"
# Another apt-get or dpkg may hold the lock, for example unattended
# upgrades; wait up to 10 minutes for it instead of failing.
apt_options=(-o DPkg::Lock::Timeout=600 -q)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" install -y \
	--no-install-recommends "${missing[@]}"
