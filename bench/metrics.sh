#!/usr/bin/env bash
# The cost of the metrics (issue 20), two parts:
#
# 1. Produce throughput with metrics on vs off, side by side: node ON has its admin listener (--http-port) and
#    is scraped every second (curl, as Prometheus would); node OFF runs with --http-port 0 (no listener, no
#    per-request timing). ROUNDS alternating pairs of `kstream bench produce` (RECORDS records of 100 B,
#    6 partitions, acks all), each into a fresh topic; the median of the per-pair ratios on / off (target
#    >= 0.97).
# 2. The /metrics answer time of a node with 1,000 partitions (10 topics x 100, some records in each) and 100
#    consumer groups (each with offsets committed on the 100 partitions of one topic: 10,000 group partitions
#    with lag): the median of SCRAPES GETs (curl's time_total), with metrics.partition.level at its default
#    (auto: off above 1,000 partitions) and =true (target <= 50 ms).
#
#   bash bench/metrics.sh [RECORDS]          default: 2000000 (PARTS=2: the /metrics timing only)
#
# Loopback only, free ports, a temp dir removed on exit (also on Ctrl-C or a failure). Needs a built dist/.
set -uo pipefail
RECORDS=${1:-2000000}
ROUNDS=${ROUNDS:-3}
SCRAPES=${SCRAPES:-20}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
NAME=metrics
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
KSTREAM=(node "$ROOT/bin/run.js")
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"
have curl || die "curl is needed"


# ---- 1. produce throughput, metrics on vs off (PARTS=2 skips it) ----
if [ "${PARTS:-12}" != 2 ]; then
PON=$(free_port)
HON=$(free_port)
POFF=$(free_port)
serve_node on "$T/on" "$PON" "" --http-port "$HON"
serve_node off "$T/off" "$POFF" "" --http-port 0
(while :; do curl -s -o /dev/null "http://127.0.0.1:$HON/metrics"; sleep 1; done) &
PIDS+=("$!")
# Warm-up (JIT, page cache, first topic creation), not counted.
for p in "$PON" "$POFF"; do
  timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$p" -t m-warm -p 6 -n 200000 -s 100 -o json >/dev/null ||
    die "warm-up bench produce failed"
done
ratios=()
for r in $(seq "$ROUNDS"); do
  on=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$PON" -t "m-r$r" -p 6 -n "$RECORDS" -s 100 -o json | json_get recordsPerSec) ||
    die "bench produce with metrics on failed"
  off=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$POFF" -t "m-r$r" -p 6 -n "$RECORDS" -s 100 -o json | json_get recordsPerSec) ||
    die "bench produce with metrics off failed"
  ratio=$(node -e "console.log(($on / $off).toFixed(3))")
  ratios+=("$ratio")
  log "round $r: metrics on (scraped every 1 s) $on records/s, off $off records/s, ratio $ratio ($(uptime | sed 's/.*load/load/'))"
done
echo "metrics: produce with metrics on / off, median of $ROUNDS rounds: $(median "${ratios[@]}") (target >= 0.97)"
stop_node on
stop_node off
fi

# ---- 2. /metrics answer time, 1,000 partitions and 100 groups ----
# scrape_ms PORT: the median time_total of SCRAPES GET /metrics, in ms
scrape_ms() {
  local times=()
  curl -s -o /dev/null "http://127.0.0.1:$1/metrics" # the first one warms up
  for _ in $(seq "$SCRAPES"); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$1/metrics" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log((Number(s)*1000).toFixed(1)))')")
  done
  median "${times[@]}"
}
for level in auto true; do
  P=$(free_port)
  H=$(free_port)
  serve_node "big_$level" "$T/big-$level" "$P" "metrics.partition.level=$level" --http-port "$H"
  for i in $(seq 0 9); do
    timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" topic create "big-$i" -p 100 -b "127.0.0.1:$P" >/dev/null || die "topic create big-$i failed"
    timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$P" -t "big-$i" -n 20000 -s 100 -o json >/dev/null ||
      die "bench produce into big-$i failed"
  done
  log "level $level: 1,000 partitions made; committing offsets of 100 groups"
  for g in $(seq 0 99); do
    timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" group seek "g-$g" --to earliest -t "big-$((g % 10))" -b "127.0.0.1:$P" >/dev/null ||
      die "group seek g-$g failed"
  done
  size=$(curl -s "http://127.0.0.1:$H/metrics" | wc -c)
  series=$(curl -s "http://127.0.0.1:$H/metrics" | grep -vc '^#')
  ms=$(scrape_ms "$H")
  echo "metrics: GET /metrics with 1,000 partitions and 100 groups (metrics.partition.level=$level): median $ms ms of $SCRAPES, $series series, $size bytes (target <= 50 ms; $(uptime | sed 's/.*load/load/'))"
  stop_node "big_$level"
done
