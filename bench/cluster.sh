#!/usr/bin/env bash
# acks=all on a 3-node cluster (RF 3) against a single node, same machine, same run (issue 8): Debian's etcd,
# three `kstream serve` nodes pointed at it, and one standalone `kstream serve`. On each, a topic of PARTITIONS
# partitions (RF 3 on the cluster, min.insync.replicas 2) and `kstream bench produce --acks all`, alternating
# cluster / single node ROUNDS times, each run on a clean state (the topic of the run before deleted). Prints
# one markdown table and the ratio of the medians.
#
#   bash bench/cluster.sh [RECORDS] [RECORD_SIZE] [PARTITIONS] [ROUNDS]     defaults: 1000000 100 3 3
#
# Loopback only, free ports, a temp dir; every process it starts is stopped and the temp dir removed on exit
# (also on Ctrl-C or a failure). Each step is bounded by `timeout`. Needs etcd (apt-get install -y
# etcd-server) and a built dist/ (node scripts/build.js).
set -uo pipefail

RECORDS=${1:-1000000}
SIZE=${2:-100}
PARTS=${3:-3}
ROUNDS=${4:-3}
STEP_TIMEOUT=${STEP_TIMEOUT:-120}
NAME=cluster-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
# NODE_ARGS: extra node options for every kstream process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
# shellcheck disable=SC2206
KSTREAM=(node ${NODE_ARGS:-} "$ROOT/bin/run.js")

command -v etcd >/dev/null 2>&1 || die "etcd is missing: apt-get install -y etcd-server"
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"

# ---------------------------------------------------------------- etcd and three nodes
EC=$(free_port)
EP=$(free_port)
etcd --name bench --data-dir "$T/etcd" --listen-client-urls "http://127.0.0.1:$EC" \
  --advertise-client-urls "http://127.0.0.1:$EC" --listen-peer-urls "http://127.0.0.1:$EP" \
  --initial-advertise-peer-urls "http://127.0.0.1:$EP" --initial-cluster "bench=http://127.0.0.1:$EP" \
  >"$T/etcd.log" 2>&1 &
PIDS+=($!)
wait_for "$T/etcd.log" 'ready to serve client requests' || die "etcd did not start: $(tail -c 500 "$T/etcd.log")"

CLUSTER=()
for id in 1 2 3; do
  port=$(free_port)
  "${KSTREAM[@]}" serve --port "$port" --host 127.0.0.1 --data-dir "$T/node$id" --log-level warn \
    --node-id "$id" --etcd "http://127.0.0.1:$EC" --cluster-id bench >"$T/node$id.out" 2>"$T/node$id.err" &
  PIDS+=($!)
  CLUSTER+=("127.0.0.1:$port")
done
for id in 1 2 3; do
  wait_for "$T/node$id.out" 'listening on' || die "node $id did not start: $(tail -c 500 "$T/node$id.err")"
done
CB=$(IFS=,; echo "${CLUSTER[*]}")

SP=$(free_port)
"${KSTREAM[@]}" serve --port "$SP" --host 127.0.0.1 --data-dir "$T/single" --log-level warn >"$T/single.out" 2>"$T/single.err" &
PIDS+=($!)
wait_for "$T/single.out" 'listening on' || die "single node did not start: $(tail -c 500 "$T/single.err")"
SB=127.0.0.1:$SP

# Every node registered: topic creation with RF 3 succeeds only then (retried for up to 20 s).
create() { # brokers topic rf
  for _ in $(seq 40); do
    timeout 30 "${KSTREAM[@]}" topic create "$2" -p "$PARTS" -r "$3" -c min.insync.replicas="$(( $3 > 1 ? 2 : 1 ))" \
      -b "$1" >/dev/null 2>"$T/create.err" && return 0
    sleep 0.5
  done
  die "topic create $2 failed: $(cat "$T/create.err")"
}

C_RATES=()
S_RATES=()
run() { # label brokers topic
  local out
  out=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "$2" -t "$3" -n "$RECORDS" -s "$SIZE" --acks all -o json) ||
    die "bench produce on $1 failed"
  local rps
  rps=$(echo "$out" | json_get recordsPerSec)
  # (run is called in $(...): the row goes to a file, the rate to stdout)
  echo "| $1 | $3 | $rps | $(echo "$out" | json_get mbPerSec) | $(echo "$out" | json_get latencyMs.p50) / $(echo "$out" | json_get latencyMs.p99) |" >>"$T/rows"
  echo "$rps"
}
# Each run starts from the same state: the topic of the run before is deleted, then SETTLE seconds (as in
# bench/peers.sh: kept data would make each later run grow into memory this VM has not used lately, where
# every page is a host fault).
SETTLE=${SETTLE:-3}
drop() { # brokers topic
  timeout 30 "${KSTREAM[@]}" topic delete "$2" -b "$1" >/dev/null || log "could not delete $2"
}
for r in $(seq "$ROUNDS"); do
  [ "$r" -gt 1 ] && drop "$SB" "single-$((r - 1))"
  create "$CB" "rf3-$r" 3
  sleep "$SETTLE"
  log "round $r: cluster"
  C_RATES+=("$(run "3 nodes, RF 3" "$CB" "rf3-$r")")
  drop "$CB" "rf3-$r"
  create "$SB" "single-$r" 1
  sleep "$SETTLE"
  log "round $r: single node"
  S_RATES+=("$(run "1 node" "$SB" "single-$r")")
done

echo "| brokers | topic | records/s | MB/s | ack latency p50 / p99 ms |"
echo "|---|---|---:|---:|---|"
cat "$T/rows"
CM=$(median "${C_RATES[@]}")
SM=$(median "${S_RATES[@]}")
echo
echo "median: 3 nodes RF 3 $CM, single node $SM records/s; ratio $(node -e "console.log(($CM/$SM).toFixed(2))")"
echo "acks=all, $PARTS partitions, $RECORDS records of $SIZE B per run; $(nproc) CPUs, $(node -v), $(date -u +%Y-%m-%dT%H:%MZ)"
