#!/usr/bin/env bash
# The cost of idempotence (issue 16), two numbers for docs/benchmarks.md:
#  1. produce throughput, idempotent vs not, in the same run: ROUNDS alternating pairs of
#     `kstream bench produce` (RECORDS records of 100 B, 6 partitions, acks all), each into a fresh topic;
#     the median of the per-pair ratios idempotent / not (target >= 0.90).
#  2. start-up of a node holding GB of one partition's batches: one data dir filled by an idempotent
#     producer, one by a non-idempotent one (no producer state), each restarted after a clean stop and after
#     kill -9; the time from spawn to "listening on" (target: idempotent <= 1.5x the other).
#
#   bash bench/idempotence.sh [RECORDS] [GB]          defaults: 2000000 1
#
# Loopback only, free ports, a temp dir removed on exit (also on Ctrl-C or a failure). Needs a built dist/.
set -uo pipefail
RECORDS=${1:-2000000}
GB=${2:-1}
ROUNDS=${ROUNDS:-3}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
NAME=idempotence
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
KSTREAM=(node "$ROOT/bin/run.js")
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"

# serve DIR PORT: start a node in the background (its pid in KPID); returns once it listens (STEP_TIMEOUT).
serve() {
  : >"$T/serve.out"
  "${KSTREAM[@]}" serve --port "$2" --host 127.0.0.1 --data-dir "$1" --log-level warn >"$T/serve.out" 2>>"$T/serve.err" &
  KPID=$!
  PIDS+=($KPID)
  for _ in $(seq $((STEP_TIMEOUT * 20))); do grep -q 'listening on' "$T/serve.out" && return 0; sleep 0.05; done
  die "kstream did not start: $(tail -5 "$T/serve.err")"
}
stop() { kill "$KPID"; wait "$KPID" 2>/dev/null; }
crash() { kill -9 "$KPID"; wait "$KPID" 2>/dev/null; }
# startup DIR PORT: MS = ms from spawn to "listening on"; the node is left running (not in a subshell: KPID).
startup() {
  local t0 t1
  t0=$(now)
  serve "$1" "$2"
  t1=$(now)
  MS=$(node -e "console.log(Math.round(($t1 - $t0) * 1000))")
}

P=$(free_port)
B=127.0.0.1:$P
serve "$T/tp" "$P"
log "throughput: $ROUNDS rounds of $RECORDS records, idempotent and not"
ratios=()
for r in $(seq "$ROUNDS"); do
  on=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "$B" -t "on-$r" -p 6 -n "$RECORDS" -s 100 --idempotence -o json | json_get recordsPerSec) ||
    die "bench produce --idempotence failed"
  off=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "$B" -t "off-$r" -p 6 -n "$RECORDS" -s 100 --no-idempotence -o json | json_get recordsPerSec) ||
    die "bench produce --no-idempotence failed"
  ratio=$(node -e "console.log(($on / $off).toFixed(3))")
  ratios+=("$ratio")
  log "round $r: idempotent $on records/s, not idempotent $off records/s, ratio $ratio"
done
stop
rm -rf "$T/tp"

N=$(node -e "console.log(Math.round($GB * 1024 * 1024 * 1024 / 110))")
declare -A clean crashed
for mode in idempotence no-idempotence; do
  log "start-up: $N records of 100 B ($GB GB) in one partition, --$mode"
  serve "$T/$mode" "$P"
  timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "$B" -t big -p 1 -n "$N" -s 100 "--$mode" -o json >/dev/null ||
    die "filling with --$mode failed"
  stop
  startup "$T/$mode" "$P"
  clean[$mode]=$MS
  crash
  startup "$T/$mode" "$P"
  crashed[$mode]=$MS
  stop
  log "--$mode: start-up after a clean stop ${clean[$mode]} ms, after kill -9 ${crashed[$mode]} ms"
done
echo "| | idempotent | not idempotent | ratio |"
echo "|---|---|---|---|"
echo "| produce throughput, median ratio of $ROUNDS pairs ($RECORDS x 100 B, 6 partitions, acks all) | | | $(median "${ratios[@]}") |"
for k in clean crashed; do
  declare -n m=$k
  echo "| start-up with $GB GB in one partition, after a ${k/crashed/kill -9} stop (ms) | ${m[idempotence]} | ${m[no-idempotence]} | $(node -e "console.log((${m[idempotence]} / ${m[no-idempotence]}).toFixed(2))") |"
done
