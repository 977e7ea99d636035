#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each
# (default 10s). go test -fuzz takes one target at a time, so this lists
# the targets of each package and runs them one by one.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
failed=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' || true)
	for target in $targets; do
		echo "fuzz: $pkg $target for $fuzztime"
		if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"; then
			echo "fuzz: $pkg $target FAILED"
			failed=1
		fi
	done
done
exit $failed
