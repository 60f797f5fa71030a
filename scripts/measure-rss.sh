#!/usr/bin/env bash
# measure-rss.sh: peak and steady RSS and CPU of `tokenhealth run` with a
# simulated fleet (default 10,000 tenants), reproducibly.
#
#   scripts/measure-rss.sh [TENANTS] [SECONDS]
#
# 1. builds bin/tokenhealth and the fleet fixture (scripts/fleet);
# 2. the fixture generates TENANTS tenants, serves them from the simulator
#    on 127.0.0.1:18443 (50 ms on every token request) and enrolls each one
#    through the agent's own enrollment code into a fresh state file;
# 3. runs `tokenhealth run` under /usr/bin/time -v for SECONDS (default 600)
#    with TOKENHEALTH_CONNECT_TO pointing at the simulator, sampling
#    /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile) and /proc/PID/stat (utime+stime)
#    every 5 s into $OUT/samples.tsv;
# 4. stops it with SIGTERM and prints: peak RSS (VmHWM and time's maximum
#    resident set size), steady RSS (median VmRSS of the last third of the
#    run), and CPU seconds per minute over the first and the last third.
#
# The first probe cycle starts within a minute (start spread) and takes
# about TENANTS x 50 ms / 32 seconds; the policy passes (4 workers, about
# 1.1 s per tenant under Graph's CA limit) run for TENANTS / 4 seconds, so
# "idle" at 10,000 tenants includes the policy pass unless SECONDS is longer
# than ~45 minutes. Output goes to $OUT (default a new temp directory).
# AGENT_ENV="GOMEMLIMIT=100MiB" passes environment to the agent only.
set -euo pipefail

TENANTS=${1:-10000}
SECONDS_TO_RUN=${2:-600}
OUT=${OUT:-$(mktemp -d /tmp/tokenhealth-rss.XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p "$OUT"
echo "output: $OUT"

go build -o "$OUT/tokenhealth" ./cmd/agent
go build -o "$OUT/fleet" ./scripts/fleet

"$OUT/fleet" -tenants "$TENANTS" -dir "$OUT" >"$OUT/fleet.log" 2>&1 &
FLEET=$!
cleanup() {
	[ -n "${AGENT:-}" ] && kill "$AGENT" 2>/dev/null || true
	kill "$FLEET" 2>/dev/null || true
}
trap cleanup EXIT
while [ ! -f "$OUT/ready" ]; do
	if ! kill -0 "$FLEET" 2>/dev/null; then
		cat "$OUT/fleet.log"
		echo "fleet fixture failed" >&2
		exit 1
	fi
	sleep 2
done
cat "$OUT/fleet.log"
ADDR=$(cat "$OUT/ready")

# AGENT_ENV adds environment for the agent only, e.g. AGENT_ENV=GOMEMLIMIT=100MiB.
env ${AGENT_ENV:-} TOKENHEALTH_CONNECT_TO="$ADDR" /usr/bin/time -v -o "$OUT/time.txt" \
	"$OUT/tokenhealth" run --config "$OUT/config.yaml" >"$OUT/agent.log" 2>&1 &
TIMEPID=$!
sleep 1
AGENT=$(pgrep -P "$TIMEPID" -f "tokenhealth run" | head -1)
TICKS=$(getconf CLK_TCK)
printf 'elapsed_s\trss_kb\thwm_kb\tcpu_s\tanon_kb\tfile_kb\n' >"$OUT/samples.tsv"
start=$(date +%s)
while :; do
	now=$(date +%s)
	elapsed=$((now - start))
	[ "$elapsed" -ge "$SECONDS_TO_RUN" ] && break
	kill -0 "$AGENT" 2>/dev/null || { echo "agent exited early:" >&2; tail -20 "$OUT/agent.log" >&2; exit 1; }
	rss=$(awk '/^VmRSS:/{print $2}' "/proc/$AGENT/status")
	hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$AGENT/status")
	# Anonymous (Go heap and runtime) and file-backed (binary, state file
	# mmap) shares of the resident set.
	anon=$(awk '/^RssAnon:/{print $2}' "/proc/$AGENT/status")
	file=$(awk '/^RssFile:/{print $2}' "/proc/$AGENT/status")
	# Fields 14 and 15 of /proc/PID/stat (after the parenthesised name).
	cpu=$(sed 's/^.*) //' "/proc/$AGENT/stat" | awk -v t="$TICKS" '{printf "%.2f", ($12+$13)/t}')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$elapsed" "$rss" "$hwm" "$cpu" "$anon" "$file" >>"$OUT/samples.tsv"
	sleep 5
done
kill -TERM "$AGENT"
wait "$TIMEPID" || true
AGENT=

# Summary (plain POSIX awk and sort, no gawk extensions).
N=$(($(wc -l <"$OUT/samples.tsv") - 1))
THIRD=$((N / 3)); [ "$THIRD" -ge 1 ] || THIRD=1
STEADY_KB=$(tail -n "$THIRD" "$OUT/samples.tsv" | cut -f2 | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
awk -F'\t' -v third="$THIRD" -v steady="$STEADY_KB" 'NR>1 {n++; t[n]=$1; rss[n]=$2; hwm[n]=$3; cpu[n]=$4; anon[n]=$5; file[n]=$6
	if ($2 > rss[peak]) peak = n }
END {
	first = (cpu[third] - cpu[1]) / ((t[third] - t[1]) / 60.0)
	last = (cpu[n] - cpu[n-third+1]) / ((t[n] - t[n-third+1]) / 60.0)
	printf "peak RSS (VmHWM):                %.1f MB\n", hwm[n]/1024
	printf "steady RSS (median, last third): %.1f MB\n", steady/1024
	printf "at the highest sample (%d s):    %.1f MB anonymous, %.1f MB file-backed\n", t[peak], anon[peak]/1024, file[peak]/1024
	printf "at the end (%d s):               %.1f MB anonymous, %.1f MB file-backed\n", t[n], anon[n]/1024, file[n]/1024
	printf "CPU, first third:                %.2f s per minute\n", first
	printf "CPU, last third:                 %.2f s per minute\n", last
	printf "CPU total:                       %.1f s in %d s\n", cpu[n], t[n]
}' "$OUT/samples.tsv"
grep -E "Maximum resident set size|User time|System time|Elapsed" "$OUT/time.txt" || true
grep -c "tenant probe state changed" "$OUT/agent.log" | sed 's/^/state changes logged: /' || true
ls -l "$OUT"/state/* 2>/dev/null | awk '{printf "state file: %s %.1f MB\n", $NF, $5/1048576}'
