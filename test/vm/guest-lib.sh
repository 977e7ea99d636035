# Guest-side helpers shared by guest-e2e.sh and bench/kernel/guest.sh:
# find the test disk and add users to the overlay's account files. Sourced,
# never executed. The caller defines log.

# Print the block device whose virtio serial is the one run-guest.sh sets.
find_disk() {
	local serial_file
	for serial_file in /sys/block/vd*/serial; do
		if [[ -r $serial_file && $(<"$serial_file") == vmtest-disk ]]; then
			local dir=${serial_file%/serial}
			echo "/dev/${dir##*/}"
			return 0
		fi
	done
	return 1
}

# Print the lines of an /etc/passwd-style file whose name (field 1) and id
# (field 3) differ from the arguments. Pure bash, because every exec costs
# a 9p lookup under emulation.
without_account() {
	local file=$1 name=$2 id=$3 line
	local -a fields
	while IFS= read -r line; do
		IFS=: read -r -a fields <<<"$line"
		[[ ${fields[0]:-} == "$name" || (-n $id && ${fields[2]:-} == "$id") ]] || printf '%s\n' "$line"
	done <"$file"
}

# Replace any account with the given name or id in the overlay's copy of
# /etc/passwd, /etc/group and /etc/shadow. The host's files stay untouched.
add_user() {
	local name=$1 id=$2 home=$3 kept
	kept=$(without_account /etc/passwd "$name" "$id")
	printf '%s\n%s\n' "$kept" "$name:x:$id:$id:burrow e2e $name:$home:/bin/bash" >/etc/passwd
	kept=$(without_account /etc/group "$name" "$id")
	printf '%s\n%s\n' "$kept" "$name:x:$id:" >/etc/group
	# Shadow lines have no id field, so the name alone selects them. When
	# the harness runs as an ordinary user, qemu cannot read the host's
	# /etc/shadow. setpriv needs no shadow entry, so the users go without.
	if [[ -f /etc/shadow ]] && kept=$(without_account /etc/shadow "$name" "" 2>/dev/null); then
		printf '%s\n%s\n' "$kept" "$name:*:19000:0:99999:7:::" >/etc/shadow
	else
		log "cannot read /etc/shadow; $name gets no shadow entry"
	fi
	mkdir -p "$home"
	chown "$id:$id" "$home"
}
