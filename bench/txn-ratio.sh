#!/usr/bin/env bash
# Transactions against plain produce (issue 17), an OLD build against this checkout in one run: each round, for
# each build in turn (the order swapped every round), a fresh node of that build, then `bench produce` plain and
# transactional (RECORDS records of 100 B, N producers over N partitions, acks all, transactions of TXN records),
# each into a fresh topic. Prints every pair's records/s and ratio txn / plain, the load, and per build the
# median ratio. The issue's target: the ratio >= 0.50.
#
#   bash bench/txn-ratio.sh OLD_DIR [RECORDS] [N] [TXN]          defaults: 500000 1 1000; ROUNDS=3
#   bash bench/txn-ratio.sh /work/wt/s10 500000 1
#
# OLD_DIR: a checkout with its dist/ built (`OLD_DIR=-` runs this checkout alone). Loopback only, free ports, a
# temp dir removed on exit (also on Ctrl-C or a failure). Needs a built dist/; nothing else may run meanwhile.
set -uo pipefail
OLD=${1:?usage: bash bench/txn-ratio.sh OLD_DIR [RECORDS] [N] [TXN]}
RECORDS=${2:-500000}
N=${3:-1}
TXN=${4:-1000}
ROUNDS=${ROUNDS:-3}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
NAME=txn-ratio
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
builds "$OLD"

# pair BUILD ROUND: one node of BUILD, plain then transactional: PLAIN, TXN_RATE, RATIO (not in a subshell: PIDS)
pair() {
  local build=$1 r=$2 port
  KSTREAM=(node "$build/bin/run.js")
  port=$(free_port)
  serve_node "n$r" "$T/$(label "$build")-$r" "$port" "" --http-port 0
  local common=(bench produce -b "127.0.0.1:$port" -n "$RECORDS" -s 100 -p "$N" --producers "$N" -o json)
  PLAIN=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" "${common[@]}" -t "plain-$r" | json_get recordsPerSec)
  TXN_RATE=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" "${common[@]}" -t "txn-$r" --transactional-id "tb-$r" \
    --txn-size "$TXN" | json_get recordsPerSec)
  stop_node "n$r"
  rm -rf "${T:?}/$(label "$build")-$r"
  RATIO=$(node -e "console.log((${TXN_RATE:-0} / ${PLAIN:-1}).toFixed(3))")
}

log "$(builds_desc); $RECORDS records, $N producer(s), transactions of $TXN, $ROUNDS rounds"
echo "| round | build | plain records/s | txn records/s | txn / plain | load |"
echo "|---|---|---|---|---|---|"
declare -A RATIOS
for r in $(seq "$ROUNDS"); do
  round_order "$r"
  for b in "${ORDER[@]}"; do
    pair "$b" "$r"
    l=$(label "$b")
    echo "| $r | $l | $PLAIN | $TXN_RATE | $RATIO | $(cut -d' ' -f1 /proc/loadavg) |"
    RATIOS[$l]="${RATIOS[$l]:-} $RATIO"
  done
done
for l in new old; do
  # shellcheck disable=SC2086
  [ -n "${RATIOS[$l]:-}" ] && echo "$l: median txn / plain $(median ${RATIOS[$l]})"
done
