#!/usr/bin/env bash
# Copies inputs that `go test -fuzz` found interesting (kept in the Go build
# cache) into each package's testdata/fuzz/<Target>/, so they are committed
# and replayed by every plain `go test` run. At most MAX (default 40) inputs
# per target are copied, smallest first, to keep the repository small.
set -euo pipefail
cd "$(dirname "$0")/.."
max=${MAX:-40}
module=$(go list -m)
cache="$(go env GOCACHE)/fuzz"
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	src="$cache/$pkg"
	[ -d "$src" ] || continue
	for target_dir in "$src"/*/; do
		target=$(basename "$target_dir")
		dst="$dir/testdata/fuzz/$target"
		mkdir -p "$dst"
		# ls -S sorts by size, largest first; tail keeps the smallest.
		ls -S "$target_dir" | tail -n "$max" | while read -r f; do
			cp "$target_dir/$f" "$dst/$f"
		done
		echo "saved $(ls "$dst" | wc -l) inputs for ${pkg#"$module"/} $target"
	done
done
