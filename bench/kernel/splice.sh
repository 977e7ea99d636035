#!/usr/bin/env bash
# Replaces the kernel-client section of a Markdown page (the lines from
# its BEGIN marker to its END marker) with the contents of SECTION. A page
# without the section gets it before the kept-notes marker of
# bench/run.sh, or at the end.
# Usage: splice.sh PAGE SECTION
set -euo pipefail

(($# == 2)) || { echo "usage: splice.sh PAGE SECTION" >&2; exit 2; }
page=$1 section=$2
begin='<!-- BEGIN kernel-client'
end='<!-- END kernel-client -->'
notes='<!-- Notes below this line are kept by bench/run.sh. -->'

if [[ ! -f $page ]]; then
	cp "$section" "$page"
	exit 0
fi
tmp=$(mktemp "$page.XXXXXX")
trap 'rm -f "$tmp"' EXIT
awk -v begin="$begin" -v end="$end" -v notes="$notes" -v section="$section" '
	function insert(    line) {
		while ((getline line <section) > 0) print line
		close(section)
		done = 1
	}
	index($0, begin) == 1 { insert(); skipping = 1; next }
	skipping { if (index($0, end) == 1) skipping = 0; next }
	index($0, notes) == 1 && !done { insert(); print "" }
	{ print }
	END { if (!done) { print ""; insert() } }
' "$page" >"$tmp"
cat "$tmp" >"$page"
rm -f "$tmp"
trap - EXIT
