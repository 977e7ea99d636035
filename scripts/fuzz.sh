#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each
# (default 10s). go test -fuzz takes one target at a time, so this lists
# the targets of each package and runs them one by one.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# fuzz_once PKG TARGET runs one target, its output also kept in $log.
fuzz_once() {
	go test -run='^$' -fuzz="^${2}\$" -fuzztime="$fuzztime" "$1" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

# deadline_flake reports whether the run in $log failed only with the Go
# 1.26 fuzz coordinator's race at the end of a duration -fuzztime
# (go.dev/issue/75804, fixed in Go 1.27): "context deadline exceeded"
# and no input written. A real finding always writes its input.
deadline_flake() {
	grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"
}

for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' || true)
	for target in $targets; do
		echo "fuzz: $pkg $target for $fuzztime"
		if fuzz_once "$pkg" "$target"; then
			continue
		fi
		if deadline_flake; then
			echo "fuzz: $pkg $target stopped with the fuzz deadline race of Go 1.26 (go.dev/issue/75804), no input found; running it again"
			if fuzz_once "$pkg" "$target"; then
				continue
			fi
		fi
		echo "fuzz: $pkg $target FAILED"
		failed=1
	done
done
exit $failed
