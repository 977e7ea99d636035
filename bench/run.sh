#!/usr/bin/env bash
# Measures burrow against nfs-ganesha and go-nfs with bench/loadgen and
# writes docs/benchmarks.md. Run as root (ganesha needs it) with
# `make bench-loopback` (`make bench` runs it too). The servers and the load
# generator run in a private network namespace whose only interface is lo,
# so no traffic leaves loopback. The page's kernel-client section, which
# bench/kernel/run.sh writes, is kept as it is.
#
# Environment (all optional):
#   RUNS=5            runs of each workload on each server; the report
#                     takes the median
#   DURATION=5s       time limit of each measured phase
#   MAX_CALLS=2000000 call limit of each measured phase
#   CONNS=4           TCP connections per run
#   INFLIGHT=16       calls in flight per connection (meta, smallfile,
#                     randread)
#   SEQ_INFLIGHT=2    calls in flight per connection for 1 MiB READ/WRITE
#   SEQ_MIB=256       size of the file of the sequential workload
#   BENCH_DIR=/var/tmp/burrow-bench   work directory: export, state, logs
#   BENCH_REV=        build burrow from this git revision (such as HEAD)
#                     instead of the working tree
#   PROFILE_DIR=      also write CPU and allocation profiles of burrow
#                     serving in-process inside loadgen, per workload
#   OUT=docs/benchmarks.md   report to write; empty prints only
#   SKIP_INSTALL=1    do not apt-get install missing peers
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source test/vm/ganesha-conf.sh

RUNS=${RUNS:-5}
DURATION=${DURATION:-5s}
MAX_CALLS=${MAX_CALLS:-2000000}
CONNS=${CONNS:-4}
INFLIGHT=${INFLIGHT:-16}
SEQ_INFLIGHT=${SEQ_INFLIGHT:-2}
SEQ_MIB=${SEQ_MIB:-256}
BENCH_DIR=${BENCH_DIR:-/var/tmp/burrow-bench}
OUT=${OUT-docs/benchmarks.md}
BIN=$BENCH_DIR/bin
EXPORT=$BENCH_DIR/export
LOGS=$BENCH_DIR/logs

# Ports inside the private network namespace.
BURROW_ADDR=127.0.0.1:20590
GANESHA_NFS_PORT=20490
GANESHA_MNT_PORT=20491
GONFS_ADDR=127.0.0.1:20690

log() { printf 'bench: %s\n' "$*" >&2; }

# Everything that needs the network or the module cache runs first, in the
# host's namespace: package installs and builds.
prepare() {
	if [ "$(id -u)" -ne 0 ]; then
		log "run as root: nfs-ganesha needs root, and the benchmark makes its own network namespace"
		exit 1
	fi
	for tool in unshare ip go; do
		command -v "$tool" >/dev/null || { log "missing $tool: install it and retry"; exit 1; }
	done
	if ! command -v ganesha.nfsd >/dev/null || ! dpkg -s nfs-ganesha-vfs >/dev/null 2>&1 || ! command -v rpcbind >/dev/null; then
		if [ -n "${SKIP_INSTALL:-}" ]; then
			log "nfs-ganesha, nfs-ganesha-vfs or rpcbind is missing and SKIP_INSTALL is set"
			exit 1
		fi
		log "installing nfs-ganesha, nfs-ganesha-vfs and rpcbind"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nfs-ganesha nfs-ganesha-vfs rpcbind >/dev/null
	fi

	mkdir -p "$BIN" "$LOGS"
	if [ -n "${BENCH_REV:-}" ]; then
		local src=$BENCH_DIR/src
		rm -rf "$src"
		mkdir -p "$src"
		git archive "$BENCH_REV" | tar -x -C "$src"
		log "building burrow and loadgen from $BENCH_REV"
		(cd "$src" && go build -o "$BIN/burrow" ./cmd/burrow && go build -o "$BIN/loadgen" ./bench/loadgen)
	else
		log "building burrow and loadgen from the working tree"
		make build >/dev/null
		cp bin/burrow "$BIN/burrow"
		go build -o "$BIN/loadgen" ./bench/loadgen
	fi
	rm -f "$BIN/gonfs"
	if ! (cd bench/gonfs && go build -o "$BIN/gonfs" .) 2>"$LOGS/gonfs-build.log"; then
		log "building the go-nfs server failed, so go-nfs is left out (see $LOGS/gonfs-build.log)"
	fi

	mkdir -p "$EXPORT"
	local goroot stamp
	goroot=$(go env GOROOT)
	stamp="$(go version) $goroot"
	if [ ! -d "$EXPORT/gosrc" ] || [ "$(cat "$BENCH_DIR/gosrc.stamp" 2>/dev/null)" != "$stamp" ]; then
		log "copying $goroot/src to $EXPORT/gosrc"
		rm -rf "$EXPORT/gosrc"
		cp -a "$goroot/src" "$EXPORT/gosrc"
		printf '%s\n' "$stamp" >"$BENCH_DIR/gosrc.stamp"
	fi
	if [ "$(stat -c %s "$EXPORT/rand.dat" 2>/dev/null)" != $((64 << 20)) ]; then
		log "writing the 64 MiB file for random reads"
		head -c $((64 << 20)) /dev/urandom >"$EXPORT/rand.dat"
	fi
	# Scratch directories of an interrupted run.
	rm -rf "$EXPORT"/loadgen-*
}

STARTED_PIDS=()

stop_started() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${STARTED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	STARTED_PIDS=()
}

# wait_port waits up to 30 seconds for a TCP listener on 127.0.0.1:$1.
wait_port() {
	local i
	for i in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "nothing listens on 127.0.0.1:$1 after 30 s"
	return 1
}

write_ganesha_conf() {
	print_ganesha_config "$EXPORT" "$GANESHA_NFS_PORT" "$GANESHA_MNT_PORT" 20492 20493 >"$BENCH_DIR/ganesha.conf"
}

# start_servers starts every server and sets SERVERS to those that run.
start_servers() {
	ip link set lo up
	SERVERS=()

	"$BIN/burrow" serve --listen "$BURROW_ADDR" --state "$BENCH_DIR/burrow-state.db" --log-level warn "$EXPORT" 2>"$LOGS/burrow.log" &
	BURROW_PID=$!
	STARTED_PIDS+=("$BURROW_PID")
	wait_port "${BURROW_ADDR##*:}"
	SERVERS+=(burrow)

	# ganesha registers with rpcbind and exits without it. Start one only
	# if none runs: ganesha reaches a running one through its Unix socket.
	if ! pgrep -x rpcbind >/dev/null; then
		rpcbind -f -w &
		STARTED_PIDS+=("$!")
		sleep 0.5
	fi
	write_ganesha_conf
	ganesha.nfsd -F -f "$BENCH_DIR/ganesha.conf" -L "$LOGS/ganesha.log" -p "$BENCH_DIR/ganesha.pid" -N NIV_EVENT &
	GANESHA_PID=$!
	STARTED_PIDS+=("$GANESHA_PID")
	if wait_port "$GANESHA_NFS_PORT" && wait_port "$GANESHA_MNT_PORT"; then
		SERVERS+=(ganesha)
	else
		log "ganesha did not start, so it is left out (see $LOGS/ganesha.log)"
	fi

	if [ -x "$BIN/gonfs" ]; then
		"$BIN/gonfs" -listen "$GONFS_ADDR" "$EXPORT" 2>"$LOGS/gonfs.log" &
		GONFS_PID=$!
		STARTED_PIDS+=("$GONFS_PID")
		if wait_port "${GONFS_ADDR##*:}"; then
			SERVERS+=(go-nfs)
		fi
	fi
	log "servers: ${SERVERS[*]}"
}

# run_one RUN SERVER WORKLOAD measures one workload once.
run_one() {
	local run=$1 server=$2 workload=$3
	local args=(-server "$server" -workload "$workload" -run "$run" -duration "$DURATION" -max-calls "$MAX_CALLS"
		-conns "$CONNS" -seq-mib "$SEQ_MIB" -out "$RESULTS")
	if [ "$workload" = seq ]; then
		args+=(-inflight "$SEQ_INFLIGHT")
	else
		args+=(-inflight "$INFLIGHT")
	fi
	case $server in
	burrow) args+=(-addr "$BURROW_ADDR" -export "$EXPORT" -pid "$BURROW_PID") ;;
	ganesha) args+=(-addr "127.0.0.1:$GANESHA_NFS_PORT" -mount-addr "127.0.0.1:$GANESHA_MNT_PORT" -export "$EXPORT" -pid "$GANESHA_PID") ;;
	go-nfs) args+=(-addr "$GONFS_ADDR" -export / -pid "$GONFS_PID") ;;
	esac
	if ! "$BIN/loadgen" run "${args[@]}" >/dev/null; then
		log "loadgen failed on $server $workload run $run"
	fi
}

measure_all() {
	local run i server workload n=${#SERVERS[@]}
	for run in $(seq 1 "$RUNS"); do
		for workload in meta smallfile seq randread; do
			# Rotate the order each run, so that no server always runs
			# right after the same neighbor.
			for i in $(seq 0 $((n - 1))); do
				server=${SERVERS[$(((i + run) % n))]}
				run_one "$run" "$server" "$workload"
			done
		done
	done
}

profile_burrow() {
	[ -n "${PROFILE_DIR:-}" ] || return 0
	mkdir -p "$PROFILE_DIR"
	local workload
	for workload in meta smallfile seq randread; do
		local inflight=$INFLIGHT
		[ "$workload" = seq ] && inflight=$SEQ_INFLIGHT
		"$BIN/loadgen" run -server burrow-in-process -in-process "$EXPORT" -workload "$workload" \
			-duration "$DURATION" -max-calls "$MAX_CALLS" -conns "$CONNS" -inflight "$inflight" -seq-mib "$SEQ_MIB" \
			-cpuprofile "$PROFILE_DIR/$workload.cpu.pprof" -memprofile "$PROFILE_DIR/$workload.allocs.pprof" >/dev/null
		go tool pprof -top -nodecount=40 "$BIN/loadgen" "$PROFILE_DIR/$workload.cpu.pprof" >"$PROFILE_DIR/$workload.cpu.top.txt" 2>/dev/null || true
	done
	log "profiles in $PROFILE_DIR (they include loadgen's own client, which runs in the same process)"
}

write_header() {
	local commit dirty="" cpu gonfs_version
	commit=$(git rev-parse --short HEAD)
	if [ -n "${BENCH_REV:-}" ]; then
		commit=$(git rev-parse --short "$BENCH_REV")
	elif [ -n "$(git status --porcelain -- cmd internal go.mod go.sum)" ]; then
		dirty=" with uncommitted changes in the working tree"
	fi
	cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	gonfs_version=$(grep -m1 'github.com/willscott/go-nfs ' bench/gonfs/go.mod | awk '{print $2}')
	cat <<EOF
# Benchmarks

burrow measured against the NFSv3 servers a user could run instead, all
exporting the same directory on the same disk. The first part reaches them
over loopback TCP with a load generator in one run. \`make bench-loopback\`
(bench/run.sh) writes it and keeps the other parts. The second part times
file system workloads through the Linux kernel NFS client in a QEMU guest
(\`make bench-kernel\`). \`make bench\` runs both. The notes at the end
are kept from one run to the next.

## Run

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- burrow commit: $commit$dirty
- Machine: $(nproc) cores, $cpu, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, Linux $(uname -r)
- Disk: the export is $EXPORT on $(df --output=source "$EXPORT" | tail -1) ($(df --output=fstype "$EXPORT" | tail -1 | tr -d ' '))
- burrow: $("$BIN/burrow" version 2>/dev/null | head -1), built with $(go version | awk '{print $3}')
- nfs-ganesha: $(dpkg-query -W -f '${Version}' nfs-ganesha 2>/dev/null) (Debian package, FSAL VFS, run as root)
- go-nfs: github.com/willscott/go-nfs $gonfs_version with go-billy osfs, served by bench/gonfs
- Load: $CONNS connections, $INFLIGHT calls in flight per connection ($SEQ_INFLIGHT for 1 MiB READ and WRITE), $DURATION or $MAX_CALLS calls per phase, median of $RUNS runs

## What is measured

bench/loadgen speaks NFSv3 itself (internal/nfsclient) over $CONNS TCP
connections, each with many calls in flight, and times every call:

- meta: a walk of a copy of the Go source tree ($(find "$EXPORT/gosrc" | wc -l) names):
  READDIRPLUS (dircount 8192, maxcount 32768) of each directory, LOOKUP and
  GETATTR of each entry, ACCESS of each directory. A finished walk starts
  again, so after the first pass the servers' caches are warm.
- smallfile: per file CREATE (GUARDED), WRITE of 4 KiB (UNSTABLE), COMMIT
  as a close would send it, REMOVE.
- write1m: a $SEQ_MIB MiB file written with 1 MiB UNSTABLE WRITEs at
  sequential offsets, then one COMMIT.
- read1m: the same file read back with 1 MiB READs. It is still in the
  page cache from write1m.
- randread: 4 KiB READs at random aligned offsets of a 64 MiB file.

calls/s counts completed calls over the phase's wall time; p50 and p99
are per-call latencies as the client sees them. Server CPU µs/call is the
server process's utime+stime (/proc/PID/stat) over the phase divided by
its calls, and peak RSS is its VmHWM. The load generator shares the two
cores with the server, so a server that needs less CPU per call leaves
more for the client.

## Results

EOF
}

# Notes after this marker in the previous report are kept.
NOTES_MARKER='<!-- Notes below this line are kept by bench/run.sh. -->'

# The kernel-client section that bench/kernel/run.sh writes, from its
# BEGIN marker to its END marker.
KERNEL_BEGIN='<!-- BEGIN kernel-client'
KERNEL_END='<!-- END kernel-client -->'

write_footer() {
	if [ -n "$OUT" ] && [ -f "$OUT" ] && grep -qF "$KERNEL_BEGIN" "$OUT"; then
		awk -v begin="$KERNEL_BEGIN" -v end="$KERNEL_END" '
			index($0, begin) == 1 { copying = 1 }
			copying { print }
			index($0, end) == 1 { copying = 0 }' "$OUT"
		echo
	fi
	echo "$NOTES_MARKER"
	if [ -n "$OUT" ] && [ -f "$OUT" ] && grep -qF "$NOTES_MARKER" "$OUT"; then
		awk -v marker="$NOTES_MARKER" 'found { print } index($0, marker) == 1 { found = 1 }' "$OUT"
	fi
}

main_in_namespace() {
	RESULTS=$BENCH_DIR/results-$(date +%Y%m%d-%H%M%S).jsonl
	: >"$RESULTS"
	trap stop_started EXIT
	start_servers
	measure_all
	stop_started
	trap - EXIT
	profile_burrow

	write_header >"$BENCH_DIR/header.md"
	write_footer >"$BENCH_DIR/footer.md"
	local report_args=(-in "$RESULTS")
	if [ -n "$OUT" ]; then
		report_args+=(-header "$BENCH_DIR/header.md" -footer "$BENCH_DIR/footer.md" -md "$OUT")
	fi
	"$BIN/loadgen" report "${report_args[@]}"
	log "results in $RESULTS${OUT:+, report in $OUT}"
}

if [ "${1:-}" = --in-namespace ]; then
	main_in_namespace
else
	prepare
	exec unshare --net "$0" --in-namespace
fi
