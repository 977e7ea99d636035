#!/usr/bin/env bash
# Stands in for systemctl in the guest, which runs no systemd. It logs
# every call to $SYSTEMCTL_STUB_LOG and carries out the two calls that
# burrow mount --persist and burrow umount --persist depend on:
#   enable --now UNIT.mount   mounts what the [Mount] section of UNIT describes
#   disable --now UNIT.mount  unmounts the unit's Where=
# daemon-reload does nothing. Any other call fails.
set -euo pipefail
echo "systemctl $*" >>"${SYSTEMCTL_STUB_LOG:-/dev/null}"

unit_value() {
	sed -n "s/^$2=//p" "/etc/systemd/system/$1" | head -n 1
}

case "$*" in
daemon-reload) ;;
"enable --now "*.mount)
	unit=$3
	[[ -f /etc/systemd/system/$unit ]] || { echo "systemctl stub: unit $unit not found" >&2; exit 1; }
	what=$(unit_value "$unit" What) where=$(unit_value "$unit" Where)
	type=$(unit_value "$unit" Type) options=$(unit_value "$unit" Options)
	mkdir -p "$where"
	mount -t "$type" -o "$options" "$what" "$where"
	;;
"disable --now "*.mount)
	unit=$3
	if [[ -f /etc/systemd/system/$unit ]]; then
		where=$(unit_value "$unit" Where)
		! mountpoint -q "$where" || umount "$where"
	fi
	;;
*)
	echo "systemctl stub: unsupported call: systemctl $*" >&2
	exit 1
	;;
esac
