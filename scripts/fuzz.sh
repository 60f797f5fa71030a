#!/usr/bin/env bash
# Runs every fuzz target in the module for a fixed time each and prints the
# executions each one ran. Corpora live under each package's testdata/fuzz/.
set -euo pipefail
fuzztime=${1:-30s}
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "== $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | grep -E 'fuzz: elapsed|PASS|FAIL|ok ' | tail -n 2
	done
done
