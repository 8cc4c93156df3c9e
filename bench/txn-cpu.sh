#!/usr/bin/env bash
# CPU per transaction (issue 17): the CPU time the broker and the bench client spend on RECORDS records, plain and
# in transactions of TXN, an OLD build against this checkout (interleaved, the order swapped every round). Each
# round and build: a fresh node, `bench produce` plain then transactional (as bench/txn-ratio.sh), each into a
# fresh topic; the broker's CPU from /proc per phase (its main thread apart from its other threads: V8's
# compiler and GC, libuv's pool doing the fsyncs), the client's from /usr/bin/time. Prints ms per 1,000
# records, so the transactional column is the CPU of one transaction; records/s for reference (noisy under load).
#
#   bash bench/txn-cpu.sh OLD_DIR [RECORDS] [N] [TXN]          defaults: 1000000 8 1000; ROUNDS=2
#   bash bench/txn-cpu.sh /work/wt/s11 1000000 8
#
# OLD_DIR: a checkout with its dist/ built (`-`: this checkout alone). CPU time is less sensitive to other load
# than records/s, but not immune (caches, frequency): compare builds only within one run.
set -uo pipefail
OLD=${1:?usage: bash bench/txn-cpu.sh OLD_DIR [RECORDS] [N] [TXN]}
RECORDS=${2:-1000000}
N=${3:-8}
TXN=${4:-1000}
ROUNDS=${ROUNDS:-2}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
NAME=txn-cpu
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (apt-get install time)"
builds "$OLD"
# threads PID: "MAIN OTHER" CPU ms of the process's main thread and of all its other threads
threads() {
  local tck main=0 other=0 t v
  tck=$(getconf CLK_TCK)
  for t in /proc/"$1"/task/*; do
    v=$(awk -v k="$tck" '{sub(/^.*\) /, ""); split($0, f, " "); print int((f[12] + f[13]) * 1000 / k)}' "$t/stat" 2>/dev/null || echo 0)
    if [ "${t##*/}" = "$1" ]; then main=$v; else other=$((other + v)); fi
  done
  echo "$main $other"
}
per_k() { node -e "console.log(($1 * 1000 / $RECORDS).toFixed(2))"; }

# phase BUILD PORT TOPIC [ARGS...]: one bench produce; prints the table's cells for it
phase() {
  local build=$1 port=$2 topic=$3 pid b0 b1 c rate
  shift 3
  pid=$(eval "echo \$PID_n")
  read -r -a b0 <<<"$(threads "$pid")"
  /usr/bin/time -f '%U %S' -o "$T/time" timeout "$STEP_TIMEOUT" node "$build/bin/run.js" bench produce \
    -b "127.0.0.1:$port" -n "$RECORDS" -s 100 -p "$N" --producers "$N" -o json -t "$topic" "$@" >"$T/out.json"
  read -r -a b1 <<<"$(threads "$pid")"
  c=$(awk '{print int(($1 + $2) * 1000)}' "$T/time")
  rate=$(json_get recordsPerSec <"$T/out.json")
  echo "$(per_k $((b1[0] - b0[0]))) | $(per_k $((b1[1] - b0[1]))) | $(per_k "$c") | $(per_k $((b1[0] - b0[0] + b1[1] - b0[1] + c))) | $rate"
}

log "$(builds_desc); $RECORDS records, $N producer(s), transactions of $TXN, $ROUNDS rounds"
echo "CPU ms per 1,000 records (in transactions: per transaction of $TXN)"
echo "| round | build | phase | broker main | broker other threads | client | total | records/s | load |"
echo "|---|---|---|---:|---:|---:|---:|---:|---|"
for r in $(seq "$ROUNDS"); do
  round_order "$r"
  for b in "${ORDER[@]}"; do
    KSTREAM=(node "$b/bin/run.js")
    l=$(label "$b")
    port=$(free_port)
    serve_node n "$T/$l-$r" "$port" "" --http-port 0
    echo "| $r | $l | plain | $(phase "$b" "$port" "plain-$r") | $(cut -d' ' -f1 /proc/loadavg) |"
    echo "| $r | $l | txn | $(phase "$b" "$port" "txn-$r" --transactional-id "tc-$r" --txn-size "$TXN") | $(cut -d' ' -f1 /proc/loadavg) |"
    stop_node n
    rm -rf "${T:?}/$l-$r"
  done
done
