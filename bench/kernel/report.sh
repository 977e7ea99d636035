#!/usr/bin/env bash
# Prints the kernel-client section of docs/benchmarks.md, in Markdown,
# from the files that bench/kernel/guest.sh wrote to LOG_DIR.
# Usage: report.sh LOG_DIR COMMIT TREE
set -euo pipefail

(($# == 3)) || { echo "usage: report.sh LOG_DIR COMMIT TREE" >&2; exit 2; }
log_dir=$1 commit=$2 tree=$3
results=$log_dir/results.tsv
[[ -s $results ]] || { echo "report.sh: $results is missing or empty" >&2; exit 1; }

setup_value() {
	sed -n "s/^$1: //p" "$log_dir/setup.txt"
}

runs=$(cut -f1 "$results" | sort -un | wc -l)

cat <<EOF
<!-- BEGIN kernel-client: bench/kernel/run.sh rewrites this section -->
## Through the Linux kernel client

\`make bench-kernel\` (bench/kernel/run.sh) writes this section, and
\`make bench-loopback\` keeps it. The workloads run in one QEMU guest of
the test/vm harness, through the guest kernel's NFSv3 client. The four
targets use the same fresh ext4 disk (/export, virtio-blk, qemu
cache=none): native (the workloads run on /export itself), burrow (owner
mode, as uid 1000), the kernel nfsd and nfs-ganesha. Client and server
share the guest kernel and reach each other over loopback.

### Setup

- Date: $(date -u -r "$results" '+%Y-%m-%d %H:%M UTC') (end of the run)
- burrow commit: $commit
- Host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)
- Guest: $(setup_value 'guest CPU'), $(setup_value 'guest CPUs'), kernel $(setup_value 'guest kernel')
- Export: $(setup_value export)
- Tree: $tree ($(setup_value tree))
- Sizes: $(setup_value sizes)
- Runs: $runs of every workload on every target
- Servers: burrow --log-level warn; kernel nfsd with 8 threads, export options rw,sync,no_root_squash,no_subtree_check; nfs-ganesha $(setup_value nfs-ganesha) (FSAL VFS, as root); nfs-utils $(setup_value nfs-utils)
- Tools: $(setup_value tools)
- Mount: \`mount -t nfs -o vers=3,proto=tcp,port=2049,mountport=PORT,mountproto=tcp,nolock\`, where the client and server negotiated:
EOF
while IFS=$'\t' read -r target options; do
	printf '  - %s: `%s`\n' "$target" "$options"
done <"$log_dir/mounts.tsv"

cat <<'EOF'

### Method

All workloads run as uid 1000, which owns /export, in the directory
`kbench` of the target. Before every timed step the NFS export is
unmounted and mounted again and the guest drops its page, dentry and
inode caches (`echo 3 > /proc/sys/vm/drop_caches`), so the client and
the server's kernel start cold. A server keeps running across one
target's workloads, so its own user-space caches stay warm.

- W1: `tar -xf` of the tree from a tarball in the guest's tmpfs.
- W2: `find TREE -printf '%i %s %m %T@\n'`, which stats every file and
  directory in one process.
- W3: `git status --porcelain` of the tree, after `git init`, `git add -A`
  and `git commit` through the same mount (untimed).
- W4: `dd bs=1M conv=fsync` of a new file from /dev/zero (write), then a
  cold `dd` of it to /dev/null (read).
- W5: fio, 4 KiB random reads and writes (50% each, psync, buffered) in
  one file for a fixed time, then fsync. The file is laid out untimed.
  IOPS is the completed reads and writes over the wall time of the fio
  command, so the final fsync counts.
- W6: `rm -rf` of the tree with its .git.

Each run times every target in turn, in an order rotated by one target
per run. The tables give the median of the runs and their range. The
ratios divide the target's time by the kernel nfsd's (/ knfsd) and by
native's (/ native), so below 1 is faster. For W5 they divide the time
per I/O, which is the inverse of the IOPS ratio. TCG emulation makes every
time far longer than on hardware, so only the ratios carry over. The
targets set for burrow are a ratio of at most 1.0 to knfsd and at most 2
to native on every row.

### Results

EOF

# Sorted by target, workload and value, so the values of one target and
# workload arrive in ascending order.
awk -F'\t' '$4 != "failed"' "$results" | sort -t$'\t' -k2,2 -k3,3 -k4,4g |
	awk -F'\t' -v runs="$runs" -v targets="native burrow knfsd ganesha" '
	{
		key = $2 SUBSEP $3
		count[key]++
		value[key, count[key]] = $4
		unit[$3] = $5
		seen_target[$2] = 1
	}
	function median(key,    n) {
		n = count[key]
		if (n % 2) return value[key, (n + 1) / 2]
		return (value[key, n / 2] + value[key, n / 2 + 1]) / 2
	}
	function show(x, u) {
		if (u == "IOPS") return sprintf("%.0f", x)
		if (x < 10) return sprintf("%.2f", x)
		return sprintf("%.1f", x)
	}
	# The ratio of time per unit of work: a time ratio for seconds, the
	# inverse IOPS ratio for IOPS.
	function ratio(key, base, u) {
		if (!(base in count)) return "-"
		if (u == "IOPS") return sprintf("%.2f", median(base) / median(key))
		return sprintf("%.2f", median(key) / median(base))
	}
	END {
		label["W1"] = "W1 untar"
		label["W2"] = "W2 find + stat"
		label["W3"] = "W3 git status"
		label["W4-write"] = "W4 write + fsync"
		label["W4-read"] = "W4 read"
		label["W5"] = "W5 4 KiB random I/O"
		label["W6"] = "W6 rm -rf"
		order = "W1 W2 W3 W4-write W4-read W5 W6"
		nw = split(order, workloads, " ")
		nt = split(targets, names, " ")
		print "| workload | target | runs | median | range | / knfsd | / native |"
		print "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
		for (w = 1; w <= nw; w++) {
			wl = workloads[w]
			u = unit[wl]
			for (t = 1; t <= nt; t++) {
				key = names[t] SUBSEP wl
				if (!(key in count)) {
					if (names[t] in seen_target) printf "| %s | %s | 0 | failed | - | - | - |\n", label[wl], names[t]
					continue
				}
				n = count[key]
				printf "| %s | %s | %d | %s %s | %s-%s | %s | %s |\n", label[wl], names[t], n,
					show(median(key), u), (u == "IOPS" ? "IOPS" : "s"), show(value[key, 1], u), show(value[key, n], u),
					ratio(key, "knfsd" SUBSEP wl, u), ratio(key, "native" SUBSEP wl, u)
			}
		}
	}'

# burrow's ratios against the targets: at most 1.0 to knfsd and at most 2
# to native.
echo
echo "burrow against the targets:"
echo
awk -F'\t' '$4 != "failed"' "$results" | sort -t$'\t' -k2,2 -k3,3 -k4,4g |
	awk -F'\t' '
	{
		key = $2 SUBSEP $3
		count[key]++
		value[key, count[key]] = $4
		unit[$3] = $5
	}
	function median(key,    n) {
		n = count[key]
		if (n % 2) return value[key, (n + 1) / 2]
		return (value[key, n / 2] + value[key, n / 2 + 1]) / 2
	}
	# As in the results table: time per unit of work, so below 1 is faster.
	function ratio(target, base, wl) {
		if (!((target SUBSEP wl) in count) || !((base SUBSEP wl) in count)) return ""
		if (unit[wl] == "IOPS") return median(base SUBSEP wl) / median(target SUBSEP wl)
		return median(target SUBSEP wl) / median(base SUBSEP wl)
	}
	# Judged on the ratio as printed, so "1.00 (missed)" cannot appear.
	function verdict(r, limit) {
		if (r == "") return "-"
		r = sprintf("%.2f", r)
		return sprintf("%s (%s)", r, r + 0 <= limit ? "met" : "missed")
	}
	END {
		split("W1 W2 W3 W4-write W4-read W5 W6", workloads, " ")
		split("W1 untar|W2 find + stat|W3 git status|W4 write + fsync|W4 read|W5 4 KiB random I/O|W6 rm -rf", labels, "|")
		print "| workload | burrow / knfsd, target 1.0 | burrow / native, target 2 |"
		print "| --- | ---: | ---: |"
		for (w = 1; w <= 7; w++) {
			wl = workloads[w]
			printf "| %s | %s | %s |\n", labels[w], verdict(ratio("burrow", "knfsd", wl), 1.0), verdict(ratio("burrow", "native", wl), 2)
		}
	}'

failed=$(awk -F'\t' '$4 == "failed"' "$results" | wc -l)
if ((failed > 0)); then
	echo
	echo "$failed timed steps failed and are left out of the medians; the guest output in the run's log directory says why."
fi
echo
echo "<!-- END kernel-client -->"
