#!/usr/bin/env bash
# Runs every fuzz target in the module for a fixed time each, records the
# executions each one ran, and keeps the corpus it grew.
#
#   scripts/fuzz.sh [FUZZTIME]          e.g. scripts/fuzz.sh 60s
#
# Environment:
#   FUZZ_RESULTS   file the per-target results are written to, tab separated
#                  (default bin/fuzz-results.tsv): package, target, fuzztime,
#                  execs, new interesting inputs, result
#   FUZZ_KEEP=0    do not copy the grown corpus into testdata/fuzz/<Target>/
#   FUZZ_PKGS      packages to search for targets (default ./...)
#
# go test -fuzz keeps the inputs it finds interesting in the build cache;
# copying them into the package's testdata/fuzz/<Target>/ makes them seeds
# that plain `go test` replays on every run, so a regression on an input
# the fuzzer once reached fails CI without fuzzing. Exit status is non-zero
# when any target failed (its crasher is written to testdata/fuzz/ by go).
set -uo pipefail
fuzztime=${1:-30s}
cd "$(dirname "$0")/.."
results=${FUZZ_RESULTS:-bin/fuzz-results.tsv}
mkdir -p "$(dirname "$results")"
printf 'package\ttarget\tfuzztime\texecs\tnew_interesting\tresult\n' >"$results"
cache=$(go env GOCACHE)/fuzz
failed=0
for pkg in $(go list ${FUZZ_PKGS:-./...}); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== $pkg $target ($fuzztime)"
		log=$(mktemp)
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
			result=ok
		else
			result=FAIL
			failed=1
			cat "$log"
		fi
		# The last progress line carries the totals:
		# "fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), new interesting: 12 (total: 40)"
		last=$(grep 'fuzz: elapsed' "$log" | tail -n 1)
		execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
		newin=$(sed -n 's/.*new interesting: \([0-9]*\).*/\1/p' <<<"$last")
		echo "   ${last:-no progress line} -> $result"
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$pkg" "$target" "$fuzztime" "${execs:-0}" "${newin:-0}" "$result" >>"$results"
		rm -f "$log"
		if [ "${FUZZ_KEEP:-1}" != 0 ] && [ -d "$cache/$pkg/$target" ]; then
			mkdir -p "$dir/testdata/fuzz/$target"
			cp -n "$cache/$pkg/$target"/* "$dir/testdata/fuzz/$target/" 2>/dev/null || true
		fi
	done
done
echo "results: $results"
column -t -s $'\t' "$results" 2>/dev/null || cat "$results"
exit $failed
