#!/usr/bin/env bash
# Side-by-side throughput on THIS machine, in one go, same record size (issue 8): kstream (its own bench and
# kcat as a neutral load generator), kcat and kstream's bench against a broker that drops data (bench/sink.ts:
# the clients' own ceilings), the machine's rate of appending to a new file (dd), server CPU per 1M records
# (kstream's broker and redis-server, from /proc),
# Redis Streams (redis-benchmark, pipelined XADD / XREAD) and NATS JetStream (bench/nats-bench.ts: pipelined
# async publishes to a file-store stream, then an ordered consumer). Prints one markdown table.
#
#   bash bench/peers.sh [RECORDS] [RECORD_SIZE]        defaults: 1000000 100
#
# Loopback only, free ports, a temp dir; every server it starts is stopped and the temp dir removed on exit
# (also on Ctrl-C or a failure). Each step is bounded by `timeout`. It installs nothing: missing tools are
# named with their Debian package and their rows are skipped. Needs a built dist/ (node scripts/build.js).
#
# NATS JetStream: Debian's nats-server has no bench tool (`nats bench` is in natscli, not in Debian), so
# bench/nats-bench.ts (the npm `nats` client, a devDependency) is the load generator.
set -uo pipefail

RECORDS=${1:-1000000}
SIZE=${2:-100}
STEP_TIMEOUT=${STEP_TIMEOUT:-120}
NAME=peers
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
KSTREAM=(node "$ROOT/bin/run.js")
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 |"); }
rate_row() { # system workload records seconds notes
  local rps mbs
  rps=$(node -e "console.log(Math.round($3/$4))")
  mbs=$(node -e "console.log(($3*$SIZE/1e6/$4).toFixed(1))")
  row "$1" "$2" "$rps" "$mbs" "$5"
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
# Appending to a new file costs the kernel fresh page-cache pages; on a VM that hands freed memory back to the
# host (virtio-balloon free page reporting) every fresh page is a host fault. This is the ceiling of any
# broker that writes what it receives, at this record size. Measured first, 5 s after the records file was
# written (pages freed before that have been handed back by then).
sleep 5
MB=$(( (RECORDS * SIZE + 1048575) / 1048576 ))
log "dd: ${MB} MiB into a new file"
s=$(now)
if dd if=/dev/zero of="$T/dd" bs=1M count="$MB" status=none; then
  secs=$(node -e "console.log($(now)-$s)")
  row "the machine" "dd bs=1M into a new file (${MB} MiB, page cache)" "-" "$(node -e "console.log(($MB*1.048576/$secs).toFixed(1))")" \
    "one CPU busy for $(node -e "console.log(($secs*1000/$MB).toFixed(2))") ms per MiB appended"
  # (kept until the end: deleting it would hand the next step freshly freed, already mapped pages)
fi

# ---------------------------------------------------------------- kstream
KP=$(free_port)
"${KSTREAM[@]}" serve --port "$KP" --host 127.0.0.1 --data-dir "$T/kstream" --log-level warn >"$T/kstream.out" 2>"$T/kstream.err" &
KPID=$!
PIDS+=($KPID)
wait_for "$T/kstream.out" 'listening on' || { log "kstream did not start: $(cat "$T/kstream.err")"; exit 1; }
B=127.0.0.1:$KP
bench() { timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench "$@" -b "$B" -o json; }

for acks in 1 all; do
  log "kstream bench produce acks=$acks"
  c0=$(cpu_ms "$KPID")
  if out=$(bench produce -t "bench-$acks" -n "$RECORDS" -s "$SIZE" --acks "$acks"); then
    c1=$(cpu_ms "$KPID")
    row "kstream $(echo "$out" | json_get config.batchSize | awk '{print "(batch "$1/1024" KiB)"}')" \
      "kstream bench produce, acks=$acks" "$(echo "$out" | json_get recordsPerSec)" "$(echo "$out" | json_get mbPerSec)" \
      "latency p50 $(echo "$out" | json_get latencyMs.p50) / p99 $(echo "$out" | json_get latencyMs.p99) ms; broker CPU $(per_m $((c1 - c0)) "$RECORDS") ms per 1M records"
  else row kstream "kstream bench produce, acks=$acks" failed - ""; fi
done

log "kstream bench consume"
if out=$(bench consume -t bench-1 -n "$RECORDS"); then
  row kstream "kstream bench consume (page cache)" "$(echo "$out" | json_get recordsPerSec)" "$(echo "$out" | json_get mbPerSec)" \
    "$(echo "$out" | json_get records) records"
else row kstream "kstream bench consume" failed - ""; fi

log "kstream bench e2e at 100,000 records/s"
# The first 10% of the records (0.5 s) are timed apart as warm-up (a cold process); both are reported.
# (500,000 records at most: 5 s at that rate)
E2E=$(( RECORDS / 2 < 500000 ? RECORDS / 2 : 500000 ))
if out=$(bench e2e -t bench-e2e -n "$E2E" -s "$SIZE" --throughput 100000 --warmup-records "$((E2E / 10))"); then
  row kstream "kstream bench e2e, 100k records/s, acks=1" "$(echo "$out" | json_get recordsPerSec)" "$(echo "$out" | json_get mbPerSec)" \
    "e2e p50 $(echo "$out" | json_get latencyMs.p50) / p99 $(echo "$out" | json_get latencyMs.p99) / p99.9 $(echo "$out" | json_get latencyMs.p999) ms; warm-up ($((E2E / 10)) records) p99 $(echo "$out" | json_get warmupLatencyMs.p99) ms"
else row kstream "kstream bench e2e" failed - ""; fi

if have kcat; then
  for acks in 1 all; do
    log "kcat -P -> kstream acks=$acks"
    s=$(now)
    if timeout "$STEP_TIMEOUT" kcat -P -b "$B" -t "kcat-$acks" -X acks="$acks" <"$T/records.txt"; then
      rate_row kstream "kcat -P, acks=$acks" "$RECORDS" "$(node -e "console.log($(now)-$s)")" "kcat wall time (incl. its start-up)"
    else row kstream "kcat -P, acks=$acks" failed - ""; fi
  done
  SP=$(free_port)
  node --import tsx "$ROOT/bench/sink.ts" --port "$SP" >"$T/sink.out" 2>&1 &
  PIDS+=($!)
  if wait_for "$T/sink.out" 'listening on'; then
    log "kstream bench produce -> sink"
    if out=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$SP" -t sink -n "$RECORDS" -s "$SIZE" -o json); then
      row "sink (drops data)" "kstream bench produce, acks=1" "$(echo "$out" | json_get recordsPerSec)" "$(echo "$out" | json_get mbPerSec)" \
        "the bench client's own ceiling (one producer, one thread)"
    else row "sink" "kstream bench produce" failed - ""; fi
    log "kcat -P -> sink"
    s=$(now)
    if timeout "$STEP_TIMEOUT" kcat -P -b "127.0.0.1:$SP" -t sink -X acks=1 <"$T/records.txt"; then
      rate_row "sink (drops data)" "kcat -P, acks=1" "$RECORDS" "$(node -e "console.log($(now)-$s)")" "kcat's ceiling"
    else row "sink" "kcat -P" failed - ""; fi
  fi
else
  row kcat "kcat -P" skipped - "apt-get install -y kcat"
fi

# ---------------------------------------------------------------- Redis Streams
if have redis-server && have redis-benchmark; then
  RP=$(free_port)
  redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
  RPID=$!
  PIDS+=($RPID)
  for _ in $(seq 100); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
  VALUE=$(head -c "$SIZE" /dev/zero | tr '\0' x)
  log "redis-benchmark XADD -P 64"
  c0=$(cpu_ms "$RPID")
  if out=$(timeout "$STEP_TIMEOUT" redis-benchmark -p "$RP" -P 64 -n "$RECORDS" --csv XADD bench '*' v "$VALUE"); then
    c1=$(cpu_ms "$RPID")
    rps=$(echo "$out" | tail -1 | cut -d, -f2 | tr -d '"')
    row "Redis $(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2) (no persistence)" "redis-benchmark -P 64 XADD" \
      "${rps%.*}" "$(node -e "console.log(($rps*$SIZE/1e6).toFixed(1))")" "50 clients, 1 field of $SIZE B; redis-server CPU $(per_m $((c1 - c0)) "$RECORDS") ms per 1M records"
  fi
  log "redis-benchmark XREAD COUNT 1000 -P 4"
  if out=$(timeout "$STEP_TIMEOUT" redis-benchmark -p "$RP" -P 4 -c 4 -n 2000 --csv XREAD COUNT 1000 STREAMS bench 0); then
    rps=$(echo "$out" | tail -1 | cut -d, -f2 | tr -d '"')
    recs=$(node -e "console.log(Math.round($rps*1000))")
    row "Redis (no persistence)" "redis-benchmark XREAD COUNT 1000" "$recs" "$(node -e "console.log(($recs*$SIZE/1e6).toFixed(1))")" \
      "4 clients; re-reads the first 1000 entries"
  fi
else
  row Redis "XADD / XREAD" skipped - "apt-get install -y redis-server redis-tools"
fi

# ---------------------------------------------------------------- NATS JetStream
if have nats-server && [ -d "$ROOT/node_modules/nats" ]; then
  NP=$(free_port)
  nats-server -js -sd "$T/nats" -a 127.0.0.1 -p "$NP" >"$T/nats.log" 2>&1 &
  PIDS+=($!)
  if wait_for "$T/nats.log" 'Server is ready'; then
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
echo "$RECORDS records of $SIZE B; $(nproc) CPUs, $(node -v), $(date -u +%Y-%m-%d)"
