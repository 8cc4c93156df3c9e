#!/usr/bin/env bash
# Side-by-side throughput on THIS machine, in one go, same record size (issue 8): kstream (its own bench and
# kcat as a neutral load generator), kcat and kstream's bench against a broker that drops data (bench/sink.ts:
# the clients' own ceilings), the machine's rate of appending to a new file (dd), server CPU per 1M records
# (kstream's broker and redis-server, from /proc),
# Redis Streams (redis-benchmark, pipelined XADD / XREAD) and NATS JetStream (bench/nats-bench.ts: pipelined
# async publishes to a file-store stream, then an ordered consumer). Prints one markdown table.
#
#   bash bench/peers.sh [RECORDS] [RECORD_SIZE]        defaults: 5000000 100
#   ROUNDS=3 SETTLE=3 bash bench/peers.sh ...           (the defaults)
#   WARM=1 bash bench/peers.sh ...                      (every step on warm memory, see below)
#
# The two ratios the issue sets (kstream bench produce / Redis XADD, kcat -> kstream / kcat -> sink) are
# measured in ROUNDS alternating rounds, the pair's order swapped every round, and reported per round and as
# the median: the machine's speed drifts by tens of percent over a minute, so a pair run side by side is
# compared, not two runs a minute apart.
# Every timed step starts from the same state: what earlier steps stored (kstream's topics, the Redis stream)
# is deleted, then the script waits SETTLE seconds. On this kind of VM (free page reporting to the host) the
# guest's memory beyond what it has recently used costs a host fault per fresh page, ~10x the cost of a page
# it has used before (the dd row shows which state the run starts in). Kept data would make each later step
# grow into that memory (measured: 512 MiB appended in 0.1 s, in 1.25 s with 3 GB more held, 0.1 s again once
# those were deleted), so a step's figure would depend on how much every step before it had stored.
# With WARM=1, after the pause a throwaway process touches 1.5x the step's data and is killed right before the
# step starts, so the step runs on memory the host has mapped even when the run starts cold (a diagnostic:
# it changes the machine under the benchmark).
#
# Loopback only, free ports, a temp dir; every server it starts is stopped and the temp dir removed on exit
# (also on Ctrl-C or a failure). Each step is bounded by `timeout`. It installs nothing: missing tools are
# named with their Debian package and their rows are skipped. Needs a built dist/ (node scripts/build.js).
#
# NATS JetStream: Debian's nats-server has no bench tool (`nats bench` is in natscli, not in Debian), so
# bench/nats-bench.ts (the npm `nats` client, a devDependency) is the load generator.
set -uo pipefail

RECORDS=${1:-5000000}
SIZE=${2:-100}
STEP_TIMEOUT=${STEP_TIMEOUT:-120}
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-3}
NAME=peers
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
KSTREAM=(node "$ROOT/bin/run.js")
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 |"); }
# kstream topics written by earlier steps; reset deletes them and the Redis stream.
STORED=()
reset() {
  if [ ${#STORED[@]} -gt 0 ]; then
    "${KSTREAM[@]}" topic delete "${STORED[@]}" -b "$B" >/dev/null || log "could not delete ${STORED[*]}"
    STORED=()
  fi
  [ -n "${RP:-}" ] && redis-cli -p "$RP" DEL bench >/dev/null
  return 0
}
# settle [keep]: reset (unless keep: the step reads what the one before wrote), then the pause.
settle() {
  [ "${1:-}" = keep ] || reset
  sleep "$SETTLE"
  [ "${WARM:-0}" = 1 ] || return 0
  # Touch the memory, then free it (kill -9: at once) right before the step starts.
  node -e "Buffer.allocUnsafeSlow(Math.ceil($RECORDS*$SIZE*1.5)).fill(1);console.log('touched');setInterval(()=>{},1e6)" >"$T/warm.out" &
  local wp=$!
  wait_for "$T/warm.out" touched
  kill -9 "$wp"
  wait "$wp" 2>/dev/null
  return 0
}
# ratios A B: "a1/b1 ..." per round (2 decimals) from two space-separated lists
ratios() { node -e 'const a=process.argv[1].split(" ").map(Number),b=process.argv[2].split(" ").map(Number);console.log(a.map((x,i)=>(x/b[i]).toFixed(2)).join(" "))' "$1" "$2"; }
# kcat_rate BROKER TOPIC ACKS: kcat -P of the records file; prints records/s (wall time incl. kcat's start-up)
kcat_rate() {
  local s
  s=$(now)
  timeout "$STEP_TIMEOUT" kcat -P -b "$1" -t "$2" -X acks="$3" <"$T/records.txt" || return 1
  node -e "console.log(Math.round($RECORDS/($(now)-$s)))"
}

missing=()
have kcat || missing+=(kcat)
have redis-server || missing+=(redis-server)
have redis-benchmark || missing+=(redis-tools)
have nats-server || missing+=(nats-server)
[ ${#missing[@]} -gt 0 ] && log "missing (their rows are skipped): apt-get install -y ${missing[*]}"
[ -f "$ROOT/dist/commands/index.js" ] || { log "dist/ is missing: run node scripts/build.js first"; exit 1; }

# The records kcat sends: RECORDS lines of SIZE bytes.
node -e "const fs=require('fs');const line='x'.repeat($SIZE)+'\n';const chunk=line.repeat(10000);const fd=fs.openSync('$T/records.txt','w');for(let i=0;i<$RECORDS/10000;i++)fs.writeSync(fd,chunk);fs.closeSync(fd)"

# ---------------------------------------------------------------- the machine
# Appending to a new file costs the kernel page-cache pages; on a VM that hands free memory back to the host
# (virtio-balloon free page reporting) a page the guest has not used lately is a host fault. This is the
# ceiling of any broker that writes what it receives, at this record size, and shows the memory state the
# run starts in (~0.2 ms per MiB warm, ~2.5 cold).
sleep 5
MB=$(( (RECORDS * SIZE + 1048575) / 1048576 ))
log "dd: ${MB} MiB into a new file"
s=$(now)
if dd if=/dev/zero of="$T/dd" bs=1M count="$MB" status=none; then
  secs=$(node -e "console.log($(now)-$s)")
  row "the machine" "dd bs=1M into a new file (${MB} MiB, page cache)" "-" "$(node -e "console.log(($MB*1.048576/$secs).toFixed(1))")" \
    "one CPU busy for $(node -e "console.log(($secs*1000/$MB).toFixed(2))") ms per MiB appended"
fi
rm -f "$T/dd"

# ---------------------------------------------------------------- servers
KP=$(free_port)
"${KSTREAM[@]}" serve --port "$KP" --host 127.0.0.1 --data-dir "$T/kstream" --log-level warn >"$T/kstream.out" 2>"$T/kstream.err" &
KPID=$!
PIDS+=($KPID)
wait_for "$T/kstream.out" 'listening on' || { log "kstream did not start: $(cat "$T/kstream.err")"; exit 1; }
B=127.0.0.1:$KP
bench() { timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench "$@" -b "$B" -o json; }

# The sink: a broker that drops data (the clients' ceilings). KCAT: the kcat steps run (kcat and the sink).
SINK=
SP=$(free_port)
node --import tsx "$ROOT/bench/sink.ts" --port "$SP" >"$T/sink.out" 2>&1 &
PIDS+=($!)
if wait_for "$T/sink.out" 'listening on'; then SINK=127.0.0.1:$SP; else log "bench/sink.ts did not start: $(cat "$T/sink.out")"; fi
KCAT=
have kcat && [ -n "$SINK" ] && KCAT=1
# A receiver's first kcat run is slower (its warm-up: the sink's first run was 1.6-1.9 M against 2.7 M after;
# the first kcat -> kstream round ran at 0.73-0.80 of the sink, the later ones at 0.98-1.13): 100k records
# through each first, untimed.
if [ -n "$KCAT" ]; then
  head -n 100000 "$T/records.txt" | timeout "$STEP_TIMEOUT" kcat -P -b "$SINK" -t sink -X acks=1
  head -n 100000 "$T/records.txt" | timeout "$STEP_TIMEOUT" kcat -P -b "$B" -t kcat-warmup -X acks=1
  STORED+=(kcat-warmup)
fi

RP=
if have redis-server && have redis-benchmark; then
  RP=$(free_port)
  redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
  RPID=$!
  PIDS+=($RPID)
  for _ in $(seq 100); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
  VALUE=$(head -c "$SIZE" /dev/zero | tr '\0' x)
fi

# ---------------------------------------------------------------- the two ratios, in alternating rounds
# Each step appends its figure (0 when it failed) to its list.
KB=() KBCPU=() RX=() RXCPU=() KK=() KS=() LAT=() BATCH=
step_bench() {
  settle
  log "round $1: kstream bench produce acks=1"
  local c0 out
  c0=$(cpu_ms "$KPID")
  STORED+=("bench-1-r$1")
  if out=$(bench produce -t "bench-1-r$1" -n "$RECORDS" -s "$SIZE" --acks 1); then
    KBCPU+=("$(per_m $(($(cpu_ms "$KPID") - c0)) "$RECORDS")")
    KB+=("$(echo "$out" | json_get recordsPerSec)")
    LAT+=("$(echo "$out" | json_get latencyMs.p99)")
    BATCH=$(echo "$out" | json_get config.batchSize)
  else KB+=(0) KBCPU+=(0) LAT+=(0); fi
}
step_redis() {
  settle
  log "round $1: redis-benchmark XADD -P 64"
  local c0 out rps
  c0=$(cpu_ms "$RPID")
  if out=$(timeout "$STEP_TIMEOUT" redis-benchmark -p "$RP" -P 64 -n "$RECORDS" --csv XADD bench '*' v "$VALUE"); then
    RXCPU+=("$(per_m $(($(cpu_ms "$RPID") - c0)) "$RECORDS")")
    rps=$(echo "$out" | tail -1 | cut -d, -f2 | tr -d '"')
    RX+=("${rps%.*}")
  else RX+=(0) RXCPU+=(0); fi
}
step_kcat() { # round broker topic list-name
  settle
  log "round $1: kcat -P -> $3"
  local rps
  rps=$(kcat_rate "$2" "$3" 1) || rps=0
  if [ "$3" = sink ]; then KS+=("$rps"); else KK+=("$rps") STORED+=("$3"); fi
}
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then
    [ -n "$RP" ] && step_redis "$r"
    step_bench "$r"
    [ -n "$KCAT" ] && step_kcat "$r" "$SINK" sink && step_kcat "$r" "$B" "kcat-1-r$r"
  else
    step_bench "$r"
    [ -n "$RP" ] && step_redis "$r"
    [ -n "$KCAT" ] && step_kcat "$r" "$B" "kcat-1-r$r" && step_kcat "$r" "$SINK" sink
  fi
done
# per_round V...: "a / b / c"
per_round() { local IFS=/; echo "$*" | sed 's|/| / |g'; }
mb() { node -e "console.log(($1*$SIZE/1e6).toFixed(1))"; }
KBM=$(median "${KB[@]}")
row "kstream (batch $((${BATCH:-0} / 1024)) KiB)" "kstream bench produce, acks=1" "$KBM" "$(mb "$KBM")" \
  "rounds: $(per_round "${KB[@]}"); p99 $(per_round "${LAT[@]}") ms; broker CPU per 1M records $(per_round "${KBCPU[@]}") ms"
if [ -n "$RP" ]; then
  RXM=$(median "${RX[@]}")
  row "Redis $(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2) (no persistence)" "redis-benchmark -P 64 XADD" "$RXM" "$(mb "$RXM")" \
    "rounds: $(per_round "${RX[@]}"); 50 clients, 1 field of $SIZE B; redis-server CPU per 1M records $(per_round "${RXCPU[@]}") ms"
  RR=$(ratios "${KB[*]}" "${RX[*]}")
  # shellcheck disable=SC2086
  row "**ratio**" "**kstream bench produce / Redis XADD** (target >= 3)" "**$(median $RR)**" - "rounds: $(per_round $RR)"
else
  row Redis "XADD / XREAD" skipped - "apt-get install -y redis-server redis-tools"
fi
if [ -n "$KCAT" ]; then
  KKM=$(median "${KK[@]}") KSM=$(median "${KS[@]}")
  row kstream "kcat -P, acks=1" "$KKM" "$(mb "$KKM")" "rounds: $(per_round "${KK[@]}") (kcat wall time incl. its start-up)"
  row "sink (drops data)" "kcat -P, acks=1" "$KSM" "$(mb "$KSM")" "rounds: $(per_round "${KS[@]}"); kcat's ceiling"
  KR=$(ratios "${KK[*]}" "${KS[*]}")
  # shellcheck disable=SC2086
  row "**ratio**" "**kcat -> kstream / kcat -> sink** (target >= 0.8)" "**$(median $KR)**" - "rounds: $(per_round $KR)"
else
  row kcat "kcat -P" skipped - "needs kcat (apt-get install -y kcat) and bench/sink.ts"
fi

# ---------------------------------------------------------------- kstream, the other targets
settle
log "kstream bench produce acks=all"
STORED+=(bench-all)
c0=$(cpu_ms "$KPID")
if out=$(bench produce -t bench-all -n "$RECORDS" -s "$SIZE" --acks all); then
  rps=$(echo "$out" | json_get recordsPerSec)
  row kstream "kstream bench produce, acks=all (fsync group commit)" "$rps" "$(echo "$out" | json_get mbPerSec)" \
    "$(node -e "console.log(Math.round(100*$rps/$KBM))") % of the acks=1 median; p99 $(echo "$out" | json_get latencyMs.p99) ms; broker CPU $(per_m $(($(cpu_ms "$KPID") - c0)) "$RECORDS") ms per 1M records"
else row kstream "kstream bench produce, acks=all" failed - ""; fi

settle keep
log "kstream bench consume"
if out=$(bench consume -t bench-all -n "$RECORDS"); then
  row kstream "kstream bench consume (page cache)" "$(echo "$out" | json_get recordsPerSec)" "$(echo "$out" | json_get mbPerSec)" \
    "$(echo "$out" | json_get records) records"
else row kstream "kstream bench consume" failed - ""; fi

settle
log "kstream bench e2e at 100,000 records/s"
# The first 10% of the records (0.5 s) are timed apart as warm-up (a cold process); both are reported.
# (500,000 records at most: 5 s at that rate)
E2E=$(( RECORDS / 2 < 500000 ? RECORDS / 2 : 500000 ))
STORED+=(bench-e2e)
if out=$(bench e2e -t bench-e2e -n "$E2E" -s "$SIZE" --throughput 100000 --warmup-records "$((E2E / 10))"); then
  row kstream "kstream bench e2e, 100k records/s, acks=1" "$(echo "$out" | json_get recordsPerSec)" "$(echo "$out" | json_get mbPerSec)" \
    "e2e p50 $(echo "$out" | json_get latencyMs.p50) / p99 $(echo "$out" | json_get latencyMs.p99) / p99.9 $(echo "$out" | json_get latencyMs.p999) ms; warm-up ($((E2E / 10)) records) p99 $(echo "$out" | json_get warmupLatencyMs.p99) ms"
else row kstream "kstream bench e2e" failed - ""; fi

if [ -n "$KCAT" ]; then
  settle
  log "kcat -P -> kstream acks=all"
  STORED+=(kcat-all)
  if rps=$(kcat_rate "$B" kcat-all all); then
    row kstream "kcat -P, acks=all" "$rps" "$(mb "$rps")" "kcat wall time (incl. its start-up)"
  else row kstream "kcat -P, acks=all" failed - ""; fi
fi
if [ -n "$SINK" ]; then
  settle
  log "kstream bench produce -> sink"
  if out=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "$SINK" -t sink -n "$RECORDS" -s "$SIZE" -o json); then
    row "sink (drops data)" "kstream bench produce, acks=1" "$(echo "$out" | json_get recordsPerSec)" "$(echo "$out" | json_get mbPerSec)" \
      "the bench client's own ceiling (one producer, one thread)"
  else row "sink" "kstream bench produce" failed - ""; fi
fi

if [ -n "$RP" ]; then
  settle
  log "redis-benchmark XREAD COUNT 1000 -P 4"
  # (the stream was reset: 100k entries to read from, untimed)
  redis-benchmark -p "$RP" -P 64 -n 100000 XADD bench '*' v "$VALUE" >/dev/null
  if out=$(timeout "$STEP_TIMEOUT" redis-benchmark -p "$RP" -P 4 -c 4 -n 2000 --csv XREAD COUNT 1000 STREAMS bench 0); then
    rps=$(echo "$out" | tail -1 | cut -d, -f2 | tr -d '"')
    recs=$(node -e "console.log(Math.round($rps*1000))")
    row "Redis (no persistence)" "redis-benchmark XREAD COUNT 1000" "$recs" "$(mb "$recs")" "4 clients; re-reads the first 1000 entries"
  fi
fi

# ---------------------------------------------------------------- NATS JetStream
if have nats-server && [ -d "$ROOT/node_modules/nats" ]; then
  NP=$(free_port)
  nats-server -js -sd "$T/nats" -a 127.0.0.1 -p "$NP" >"$T/nats.log" 2>&1 &
  PIDS+=($!)
  if wait_for "$T/nats.log" 'Server is ready'; then
    settle
    log "NATS JetStream publish / consume"
    # At most 1,000,000: its client publishes ~70,000/s (acknowledged), so more would only take longer.
    NREC=$(( RECORDS < 1000000 ? RECORDS : 1000000 ))
    if out=$(timeout "$STEP_TIMEOUT" node --import tsx "$ROOT/bench/nats-bench.ts" --server "127.0.0.1:$NP" --records "$NREC" --size "$SIZE"); then
      ver=$(nats-server --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')
      row "NATS $ver JetStream (file store)" "bench/nats-bench.ts: JetStream publish, 2,000 in flight" \
        "$(echo "$out" | json_get publish.recordsPerSec)" "$(echo "$out" | json_get publish.mbPerSec)" "each acknowledged (PubAck, like acks=1); no fsync per message; nats.js client-bound; $NREC records"
      row "NATS $ver JetStream (file store)" "bench/nats-bench.ts: plain publish until stored" \
        "$(echo "$out" | json_get ingest.recordsPerSec)" "$(echo "$out" | json_get ingest.mbPerSec)" "no PubAck (like acks=0); timed until the stream holds all"
      row "NATS $ver JetStream (file store)" "bench/nats-bench.ts: consume (ordered consumer)" \
        "$(echo "$out" | json_get consume.recordsPerSec)" "$(echo "$out" | json_get consume.mbPerSec)" "from the start of the stream"
    else row "NATS JetStream" "bench/nats-bench.ts" failed - "$(tail -c 200 "$T/nats.log")"; fi
  else row "NATS JetStream" "nats-server -js" failed - "did not start"; fi
else
  row "NATS JetStream" "publish / consume" skipped - "needs nats-server (apt-get install -y nats-server) and npm install (nats)"
fi

echo "| system | workload | records/s | MB/s | notes |"
echo "|---|---|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "$RECORDS records of $SIZE B, $ROUNDS rounds for the ratios; before each step earlier steps' data deleted, then ${SETTLE} s settle$([ "${WARM:-0}" = 1 ] && echo ' then warm memory'); $(nproc) CPUs, $(node -v), $(date -u +%Y-%m-%d)"
