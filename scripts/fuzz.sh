#!/bin/sh
# Runs every Go fuzz target of the module in turn, each for $FUZZTIME
# (default 10s; "1m", or "500x" for a number of inputs). The targets are
# found with `go test -list`, so a FuzzXxx added to any package is run
# without editing this file. A failing input is kept by Go in that
# package's testdata/fuzz/FuzzXxx/, where plain `go test` runs it from
# then on as a regression case: commit it with the fix.
#
# Every target runs even when one fails; the script fails at the end,
# listing the failures. $FUZZMINIMIZETIME (default 1s) bounds how long Go
# spends shrinking each new input, which otherwise takes most of a short
# run on a busy machine.
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" as $FUZZTIME ends, with no failing input, when a
# worker is starved at that moment (go.dev/issue/75804, fixed in Go 1.27).
# Such a run fuzzed for its whole time and found nothing: it is reported
# as ok, saying so. A run that wrote a failing input always fails.
set -eu
cd "$(dirname "$0")/.."
go=${GO:-go}
fuzztime=${FUZZTIME:-10s}
minimize=${FUZZMINIMIZETIME:-1s}

# `go test -list` prints a package's matching names, then "ok  PKG ...".
targets=$($go test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names = names " " $1; next }
	/^ok/ { n = split(names, a, " "); for (i = 1; i <= n; i++) print $2, a[i]; names = "" }
')
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=
start=$(date +%s)
echo "$targets" | {
	while read -r pkg name; do
		t0=$(date +%s)
		if $go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$pkg" >"$log" 2>&1; then
			echo "fuzz: ok   $name ($pkg) $(($(date +%s) - t0))s"
		elif ! grep -q 'Failing input written' "$log" &&
			[ "$(grep -A1 "^--- FAIL: $name " "$log" | tail -n 1 | tr -d ' \t')" = contextdeadlineexceeded ]; then
			echo "fuzz: ok   $name ($pkg) $(($(date +%s) - t0))s (no failing input; Go's end-of-fuzztime race, go.dev/issue/75804)"
		else
			cat "$log"
			echo "fuzz: FAIL $name ($pkg) $(($(date +%s) - t0))s"
			failed="$failed $name"
		fi
	done
	echo "fuzz: $(echo "$targets" | wc -l) targets, $fuzztime each, in $(($(date +%s) - start))s"
	if [ -n "$failed" ]; then
		echo "fuzz: failed:$failed (inputs kept in the packages' testdata/fuzz/)" >&2
		exit 1
	fi
}
