#!/usr/bin/env bash
# Times file system workloads through the Linux kernel NFS client in the
# QEMU guest of test/vm: the same fresh ext4 disk used natively and served
# by burrow, the kernel nfsd and nfs-ganesha in turn. Writes the
# kernel-client section of docs/benchmarks.md (make bench-kernel). Needs
# the packages of make e2e-deps, nfs-ganesha and jq, which it installs when
# missing (as root or with sudo), and bin/burrow (make build).
#
# Environment (all optional):
#   RUNS=3                 runs of every workload on every target; the
#                          report takes the median
#   QUICK=1                development mode: RUNS=1, a small tree
#                          (cmd/go/internal/modload), 8 MiB files, 5 s of
#                          random I/O. Its steps last about a second, too
#                          short for the ratios to mean much.
#   KBENCH_TREE=$(go env GOROOT)/src/cmd/go   source tree for W1-W3 and W6
#   KBENCH_SEQ_MIB=128     size of the W4 file
#   KBENCH_RAND_MIB=64     size of the W5 file
#   KBENCH_RAND_SECONDS=20 duration of W5
#   KBENCH_TARGETS="native burrow knfsd ganesha"
#   KBENCH_TIMEOUT=60m     the guest is killed after this
#   BENCH_REV=             build burrow from this git revision (such as
#                          HEAD) instead of using bin/burrow, which make
#                          builds from the working tree
#   OUT=docs/benchmarks.md page whose kernel-client section is rewritten;
#                          empty prints the section only
#   SKIP_INSTALL=1         do not install missing packages
# and E2E_MEMORY, E2E_CPUS and E2E_ACCEL of test/vm/run-guest.sh.

# The whole script is one brace group, so bash parses all of it before it
# runs any of it: editing the file during a run cannot corrupt that run.
{
set -euo pipefail
LOG_PREFIX=bench-kernel
source "$(dirname "${BASH_SOURCE[0]}")/../../test/vm/lib.sh"
KERNEL_DIR=$REPO_ROOT/bench/kernel
cd "$REPO_ROOT"

if [[ ${QUICK:-} == 1 ]]; then
	RUNS=${RUNS:-1}
	KBENCH_TREE=${KBENCH_TREE:-$(go env GOROOT)/src/cmd/go/internal/modload}
	KBENCH_SEQ_MIB=${KBENCH_SEQ_MIB:-8}
	KBENCH_RAND_MIB=${KBENCH_RAND_MIB:-8}
	KBENCH_RAND_SECONDS=${KBENCH_RAND_SECONDS:-5}
fi
RUNS=${RUNS:-3}
KBENCH_TREE=${KBENCH_TREE:-$(go env GOROOT)/src/cmd/go}
KBENCH_SEQ_MIB=${KBENCH_SEQ_MIB:-128}
KBENCH_RAND_MIB=${KBENCH_RAND_MIB:-64}
KBENCH_RAND_SECONDS=${KBENCH_RAND_SECONDS:-20}
KBENCH_TARGETS=${KBENCH_TARGETS:-native burrow knfsd ganesha}
OUT=${OUT-docs/benchmarks.md}

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "invalid RUNS '$RUNS': use a positive integer"
for name in KBENCH_SEQ_MIB KBENCH_RAND_MIB KBENCH_RAND_SECONDS; do
	[[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "invalid $name '${!name}': use a positive integer"
done
[[ -d $KBENCH_TREE ]] || die "KBENCH_TREE $KBENCH_TREE is not a directory"
for target in $KBENCH_TARGETS; do
	case $target in
	native | burrow | knfsd | ganesha) ;;
	*) die "invalid target '$target' in KBENCH_TARGETS: use native, burrow, knfsd or ganesha" ;;
	esac
done

# The packages of make e2e-deps, then nfs-ganesha and jq (which reads fio's
# JSON output in the guest).
install_peers() {
	"$VM_DIR/deps.sh"
	local package missing=()
	for package in nfs-ganesha nfs-ganesha-vfs jq; do
		dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
	done
	((${#missing[@]} > 0)) || return 0
	local sudo=()
	((EUID == 0)) || sudo=(sudo)
	log "installing ${missing[*]}"
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

if [[ -z ${SKIP_INSTALL:-} ]]; then
	install_peers
fi

log_dir=$VM_DIR/logs/$(date +%Y%m%d-%H%M%S)-bench-kernel
mkdir -p "$log_dir"
ln -sfn "${log_dir##*/}" "$VM_DIR/logs/latest"

if [[ -n ${BENCH_REV:-} ]]; then
	commit=$(git rev-parse --short "$BENCH_REV") || die "BENCH_REV '$BENCH_REV' is not a git revision"
	log "building burrow from $BENCH_REV ($commit)"
	mkdir -p "$log_dir/src"
	git archive "$BENCH_REV" | tar -x -C "$log_dir/src"
	(cd "$log_dir/src" && go build -ldflags "-X main.version=$commit" -o "$log_dir/burrow" ./cmd/burrow) ||
		die "building burrow from $BENCH_REV failed"
	rm -rf "$log_dir/src"
	burrow_bin=$log_dir/burrow
else
	[[ -x bin/burrow ]] || die "bin/burrow not found; run make build (make bench-kernel builds it first)"
	commit=$(git rev-parse --short HEAD)
	[[ -z $(git status --porcelain -- cmd internal go.mod go.sum) ]] ||
		commit+=" with uncommitted changes in cmd, internal or go.mod"
	burrow_bin=$REPO_ROOT/bin/burrow
fi

# The tree goes into the guest as one tarball on the scratch share, which
# the guest copies to its tmpfs before it times anything.
tree_name=$(basename "$KBENCH_TREE")
tar -C "$(dirname "$KBENCH_TREE")" -cf "$log_dir/tree.tar" "$tree_name"

mkdir -p "$CACHE_DIR"
disk=$(mktemp "$CACHE_DIR/disk.XXXXXX.img")
env_file=$(mktemp "$CACHE_DIR/env.XXXXXX")
trap 'rm -f "$disk" "$env_file" "$log_dir/tree.tar"' EXIT
truncate -s 8G "$disk"
{
	printf 'export KBENCH_LOG_DIR=%q\n' "$log_dir"
	printf 'export KBENCH_TREE_TAR=%q\n' "$log_dir/tree.tar"
	printf 'export KBENCH_TREE_NAME=%q\n' "$tree_name"
	printf 'export E2E_BURROW_BIN=%q\n' "$burrow_bin"
	for name in RUNS KBENCH_SEQ_MIB KBENCH_RAND_MIB KBENCH_RAND_SECONDS KBENCH_TARGETS; do
		printf 'export %s=%q\n' "${name/#RUNS/KBENCH_RUNS}" "${!name}"
	done
} >"$env_file"

log "RUNS=$RUNS tree=$KBENCH_TREE seq=${KBENCH_SEQ_MIB}MiB rand=${KBENCH_RAND_MIB}MiB/${KBENCH_RAND_SECONDS}s; logs in $log_dir"
start=$SECONDS
"$VM_DIR/run-guest.sh" --disk "$disk" --scratch "$log_dir" --env-file "$env_file" \
	--timeout "${KBENCH_TIMEOUT:-60m}" -- "$KERNEL_DIR/guest.sh" &
guest_pid=$!
trap 'kill -TERM "$guest_pid" 2>/dev/null || true' INT TERM
status=0
wait "$guest_pid" || status=$?
while kill -0 "$guest_pid" 2>/dev/null; do
	status=0
	wait "$guest_pid" || status=$?
done
trap - INT TERM
((status == 0)) || die "the guest failed with exit status $status after $((SECONDS - start))s; logs in $log_dir"
log "guest finished in $((SECONDS - start))s"

"$KERNEL_DIR/report.sh" "$log_dir" "$commit" "$KBENCH_TREE" >"$log_dir/section.md"
if [[ -n $OUT ]]; then
	"$KERNEL_DIR/splice.sh" "$OUT" "$log_dir/section.md"
	log "wrote the kernel-client section of $OUT"
else
	cat "$log_dir/section.md"
fi
exit
}
