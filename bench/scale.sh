#!/usr/bin/env bash
# The scale curves of issue 22: how kstream's cost grows with partitions, stored data, connections and group
# members. Each section prints a markdown table and writes an SVG chart of it (bench/svg-chart.ts) into OUT.
# The points of a section run in one invocation, side by side (same machine, minutes apart at most).
#
#   bash bench/scale.sh [partitions|startup|metadata|connections|group|top|all]...     (default: all)
#
#   partitions   kcat -P (random keys, acks=1 and acks=all) into a topic of P partitions, beside kcat into
#                bench/sink.ts advertising P partitions (kcat's own ceiling at that count), and `kstream bench
#                e2e` p99 over P partitions.                                      PARTS="1 10 100 1000 10000"
#                First one untimed kcat run into each (its own topic), so both processes have compiled their
#                hot paths (the first kstream run is printed as "first run": a fresh topic, and for the first P a
#                fresh process); then ROUNDS (default 3) pairs, sink and kstream taking turns going first, into
#                the measured topics; the medians and their ratio are printed, with each pair's ratio.
#   startup      broker start-up time (until "listening on") and RSS, after a clean stop and after a kill -9 that
#                comes right after kcat wrote 100 MB more (SIZE > 0; a kept STARTUP_DIR grows by that much), and
#                the time of a clean stop (SIGTERM → exit), with P partitions holding SIZE bytes in all.
#                                                                       PARTS_STARTUP="1000 10000" SIZES="0 256M"
#                The issue's 10/20 GB points are opt-in: SIZES="0 1G 10G 20G" (the data is written by kcat).
#                STARTUP_DIR=DIR keeps each point's data dir (DIR/P-SIZE) and reuses it when filled before, so a
#                20 GB fill (minutes) can be made once, e.g. FILL_ONLY=1 fills and stops without measuring;
#                a kept dir is always cleanly stopped before the measured clean start.
#   metadata     Metadata (all topics) and ListOffsets (every partition) latency at 10,000 partitions. METADATA_PARTS=10000
#   connections  broker RSS and kcat produce throughput (acks=1, one busy connection) with C connections open,
#                C-1 of them idle after an ApiVersions each (bench/scale-probe.ts idle).   CONNS="10 1000 10000"
#   group        a consumer group of M members (confluent_kafka, classic protocol, cooperative-sticky) over
#                1,000 partitions: rebalance time and consume throughput (bench/scale-group.py). MEMBERS="1 10 100"
#   top          one `kstream top` poll (its data path: fetchRaw + buildSnapshot) and its RSS at 10,000 partitions.
#
# PIN=1 runs kcat on CPU 0 and the broker and bench/sink.ts on the other CPUs (taskset), as a client and a broker
# on their own machines: without it, on a machine with few cores, kcat (two busy threads) and the broker share
# them, and every CPU-second the broker spends is one kcat does not get (docs/benchmarks.md, session 12).
# Env: RECORDS (records of 100 B per produce step, default 1000000), ROUNDS (partitions: pairs, default 3), OUT (chart dir, default ./scale-<time>),
# STEP_TIMEOUT (s, default 600), KSTREAM_ROOT (another built checkout to run instead: old against new).
# Loopback only, free ports, temp dirs; every server started is stopped and the
# temp dir removed on exit (also on Ctrl-C or a failure). Needs a built dist/ (node scripts/build.js), kcat,
# /usr/bin/python3 with confluent_kafka (group).
set -uo pipefail

NAME=scale
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
RECORDS=${RECORDS:-1000000}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
OUT=${OUT:-$PWD/scale-$(date -u +%Y%m%dT%H%M)}
KSTREAM=(node "${KSTREAM_ROOT:-$ROOT}/bin/run.js")
TSX=(node --import tsx)
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"
have kcat || die "kcat is missing: apt-get install -y kcat"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 30000 ] || log "open-file limit $(ulimit -n): the 10,000 points may fail"
mkdir -p "$OUT"
SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(all)
want() { local s; for s in "${SECTIONS[@]}"; do [ "$s" = all ] || [ "$s" = "$1" ] && return 0; done; return 1; }

PIN_CLIENT=() PIN_SERVER=()
if [ -n "${PIN:-}" ]; then
  have taskset || die "PIN=1 needs taskset (util-linux)"
  [ "$(nproc)" -ge 2 ] || die "PIN=1 needs 2 CPUs or more"
  PIN_CLIENT=(taskset -c 0) PIN_SERVER=(taskset -c "1-$(($(nproc) - 1))")
fi

# 10,000 partitions in one topic pass the default per-request and per-node limits (KIP-578's); the bench raises them.
printf 'max.request.partitions=20000\nmax.broker.partitions=30000\n' >"$T/broker.properties"
# group: GROUP_INITIAL_DELAY_MS sets group.initial.rebalance.delay.ms (Kafka's default 3000); HEARTBEAT_MS the members'
# heartbeat.interval.ms (librdkafka's default 3000). Both bound the rebalance time from the client side (docs/benchmarks.md).
[ -n "${GROUP_INITIAL_DELAY_MS:-}" ] && echo "group.initial.rebalance.delay.ms=$GROUP_INITIAL_DELAY_MS" >>"$T/broker.properties"

# ------------------------------------------------------------------ helpers
KPID=
B=
# start_broker DATA_DIR: start kstream serve on a free port; sets KPID, B, and UP (seconds until "listening on").
start_broker() {
  local p t0
  p=$(free_port)
  t0=$(now)
  "${PIN_SERVER[@]}" "${KSTREAM[@]}" serve --port "$p" --host 127.0.0.1 --data-dir "$1" --config "$T/broker.properties" --log-level warn \
    >"$T/serve.out" 2>"$T/serve.err" &
  KPID=$!
  PIDS+=("$KPID")
  for _ in $(seq $((STEP_TIMEOUT * 10))); do
    grep -q 'listening on' "$T/serve.out" 2>/dev/null && break
    kill -0 "$KPID" 2>/dev/null || die "kstream did not start: $(cat "$T/serve.err")"
    sleep 0.1
  done
  grep -q 'listening on' "$T/serve.out" || die "kstream did not start within ${STEP_TIMEOUT}s"
  B=127.0.0.1:$p
  UP=$(node -e "console.log(($(now) - $t0).toFixed(2))")
}
# stop_broker [KILL]: SIGTERM and wait for the clean stop (or SIGKILL with KILL)
stop_broker() {
  [ -n "$KPID" ] || return 0
  kill "-${1:-TERM}" "$KPID" 2>/dev/null
  for _ in $(seq $((STEP_TIMEOUT * 10))); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
  { wait "$KPID"; } 2>/dev/null
  KPID=
}
rss() { awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$1/status"; }
topic_create() { timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" topic create "$1" -p "$2" -b "$B" --timeout "${STEP_TIMEOUT}s" >/dev/null || die "topic create $1 -p $2 failed"; }
topic_delete() { timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" topic delete "$@" -b "$B" --timeout "${STEP_TIMEOUT}s" >/dev/null 2>&1 || log "could not delete $*"; }
# The records kcat sends: RECORDS lines "<random key>\t<100 B value>" (kcat -K '\t': keyed, spread by hash).
records_file() {
  [ -f "$T/records.txt" ] && return 0
  node -e "const fs=require('fs');const fd=fs.openSync('$T/records.txt','w');const v='x'.repeat(100);let s='';
    for(let i=0;i<$RECORDS;i++){s+=Math.random().toString(36).slice(2,10)+'\t'+v+'\n';if(s.length>1<<20){fs.writeSync(fd,s);s=''}}
    fs.writeSync(fd,s);fs.closeSync(fd)"
}
# kcat_rate BROKER TOPIC ACKS [FILE]: kcat -P of the records file; prints records/s (wall time incl. kcat's start-up)
kcat_rate() {
  local s n
  n=$(wc -l <"${4:-$T/records.txt}")
  s=$(now)
  timeout "$STEP_TIMEOUT" "${PIN_CLIENT[@]}" kcat -P -b "$1" -t "$2" -K $'\t' -X acks="$3" -X queue.buffering.max.messages=1000000 \
    <"${4:-$T/records.txt}" || return 1
  node -e "console.log(Math.round($n/($(now)-$s)))"
}
ratio() { node -e "console.log(($1/$2).toFixed(2))"; }
# chart FILE TITLE XLABEL YLABEL 'name:x,y x,y ...' ...: an SVG chart into OUT
chart() {
  local file=$1 title=$2 xl=$3 yl=$4
  shift 4
  node -e '
    const [title, x, y, ...series] = process.argv.slice(1);
    console.log(JSON.stringify({ title, x, y, series: series.map((s) => {
      const i = s.indexOf(":");
      return { name: s.slice(0, i), points: s.slice(i + 1).trim().split(/\s+/).filter(Boolean).map((p) => p.split(",").map(Number)) };
    }) }));' "$title" "$xl" "$yl" "$@" >"$T/chart.json"
  "${TSX[@]}" "$ROOT/bench/svg-chart.ts" "$T/chart.json" "$OUT/$file" && echo "chart: $OUT/$file"
}
header() { echo; echo "### $1 ($(nproc) CPUs${PIN:+, kcat pinned to CPU 0 and the servers to the rest}, $(node -v), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"; echo; }

# ------------------------------------------------------------------ partitions
if want partitions; then
  records_file
  start_broker "$T/p-data"
  header "Produce throughput and e2e p99 against partitions (kcat, $RECORDS records of 100 B, random keys)"
  echo "| partitions | kcat → sink acks=1 | kcat → kstream acks=1 | kstream / sink | each pair | kstream first run | kcat → kstream acks=all | e2e p99 ms (10k rec/s) |"
  echo "|---:|---:|---:|---:|---|---:|---:|---:|"
  S_SINK="" S_K1="" S_KA="" S_E2E=""
  for P in ${PARTS:-1 10 100 1000 10000}; do
    log "partitions $P"
    sp=$(free_port)
    "${PIN_SERVER[@]}" "${TSX[@]}" "$ROOT/bench/sink.ts" --port "$sp" --partitions "$P" >"$T/sink.out" 2>&1 &
    spid=$!
    PIDS+=("$spid")
    wait_for "$T/sink.out" 'listening on' || die "bench/sink.ts did not start"
    topic_create "w-$P" "$P"
    topic_create "a1-$P" "$P"
    topic_create "aall-$P" "$P"
    # Warm-up: one run into each, outside the medians (kstream's is shown as its first run).
    kcat_rate "127.0.0.1:$sp" "w-$P" 1 >/dev/null || log "warm-up into the sink failed"
    first=$(kcat_rate "$B" "w-$P" 1) || first=NaN
    topic_delete "w-$P" # its partitions count against max.broker.partitions
    sinks=() ks=() pairs=""
    for r in $(seq "${ROUNDS:-3}"); do
      if ((r % 2)); then
        s=$(kcat_rate "127.0.0.1:$sp" "s-$P" 1) || s=NaN
        k=$(kcat_rate "$B" "a1-$P" 1) || k=NaN
      else
        k=$(kcat_rate "$B" "a1-$P" 1) || k=NaN
        s=$(kcat_rate "127.0.0.1:$sp" "s-$P" 1) || s=NaN
      fi
      sinks+=("$s") ks+=("$k") pairs+="${pairs:+ }$(ratio "$k" "$s")"
    done
    kill "$spid"
    sink=$(median "${sinks[@]}") k1=$(median "${ks[@]}")
    ka=$(kcat_rate "$B" "aall-$P" all) || ka=NaN
    e2e=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench e2e -t "e2e-$P" -p "$P" -n 100000 --throughput 10000 --timeout 120s \
      -b "$B" -o json | json_get latencyMs.p99) || e2e=NaN
    echo "| $P | $sink | $k1 | $(ratio "$k1" "$sink") | $pairs | $first | $ka | $e2e |"
    S_SINK+=" $P,$sink" S_K1+=" $P,$k1" S_KA+=" $P,$ka" S_E2E+=" $P,$e2e"
    topic_delete "a1-$P" "aall-$P" "e2e-$P"
  done
  stop_broker
  chart partitions-throughput.svg "kcat produce throughput against partitions" partitions records/s \
    "kcat→sink acks=1:$S_SINK" "kstream acks=1:$S_K1" "kstream acks=all:$S_KA"
  chart partitions-e2e.svg "e2e p99 against partitions (10k records/s)" partitions "p99 ms" "kstream bench e2e:$S_E2E"
fi

# ------------------------------------------------------------------ startup
if want startup; then
  header "Broker start-up time and RSS against partitions and stored data"
  echo "| partitions | stored | clean stop → listening s | RSS MiB | kill -9 right after a 100 MB write → listening s | RSS MiB | clean stop s |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  declare -A S_CLEAN=() S_KILL=()
  for P in ${PARTS_STARTUP:-1000 10000}; do
    for SIZE in ${SIZES:-0 256M}; do
      log "start-up: $P partitions, $SIZE stored"
      D="${STARTUP_DIR:+$STARTUP_DIR/$P-$SIZE}"
      D=${D:-$T/s-data}
      filled=
      [ -n "${STARTUP_DIR:-}" ] && [ -f "$D.filled" ] && filled=1
      [ -n "$filled" ] || rm -rf "$D"
      start_broker "$D"
      [ -n "$filled" ] || topic_create st "$P"
      bytes=$(numfmt --from=iec "$SIZE")
      # Lines of 1,000 B with random keys (100 MB): repeated until SIZE is written, and written once more just
      # before the kill -9 below.
      if [ "$bytes" -gt 0 ] && [ ! -f "$T/fill.txt" ]; then
        node -e "const fs=require('fs');const fd=fs.openSync('$T/fill.txt','w');const v='y'.repeat(990);let s='';
          for(let i=0;i<100000;i++){s+=Math.random().toString(36).slice(2,10)+'\t'+v+'\n';if(s.length>1<<20){fs.writeSync(fd,s);s=''}}
          fs.writeSync(fd,s);fs.closeSync(fd)"
      fi
      if [ -z "$filled" ] && [ "$bytes" -gt 0 ]; then
        per=$(stat -c %s "$T/fill.txt")
        for _ in $(seq $(((bytes + per - 1) / per))); do kcat_rate "$B" st 1 "$T/fill.txt" >/dev/null || die "filling failed"; done
      fi
      stop_broker
      [ -n "${STARTUP_DIR:-}" ] && touch "$D.filled"
      if [ -n "${FILL_ONLY:-}" ]; then log "filled $D"; continue; fi
      start_broker "$D"
      tc=$UP rc=$(rss "$KPID")
      # The crash comes right after a write (100 MB more by kcat, acknowledged, so it lies past the recovery
      # points the broker checkpoints periodically): the start after it recovers that part of each partition.
      if [ "$bytes" -gt 0 ]; then kcat_rate "$B" st 1 "$T/fill.txt" >/dev/null || die "the write before the kill -9 failed"; fi
      stop_broker KILL
      start_broker "$D"
      tk=$UP rk=$(rss "$KPID")
      t0=$(now)
      stop_broker
      ts=$(node -e "console.log(($(now) - $t0).toFixed(2))")
      echo "| $P | $SIZE | $tc | $rc | $tk | $rk | $ts |"
      S_CLEAN[$SIZE]+=" $P,$tc"
      S_KILL[$SIZE]+=" $P,$tk"
    done
  done
  rm -rf "$T/s-data" "$T/fill.txt"
  [ -n "${FILL_ONLY:-}" ] && exit 0
  series=()
  for SIZE in ${SIZES:-0 256M}; do series+=("clean, $SIZE:${S_CLEAN[$SIZE]}" "kill -9, $SIZE:${S_KILL[$SIZE]}"); done
  chart startup.svg "broker start-up against partitions" partitions seconds "${series[@]}"
fi

# ------------------------------------------------------------------ metadata / top (one broker, 10,000 partitions)
if want metadata || want top; then
  MP=${METADATA_PARTS:-10000}
  records_file
  start_broker "$T/m-data"
  topic_create m "$MP"
  kcat_rate "$B" m 1 >/dev/null || die "kcat into m failed"
  if want metadata; then
    header "Metadata (all topics) and ListOffsets ($MP partitions) latency, 50 each"
    out=$(timeout "$STEP_TIMEOUT" "${TSX[@]}" "$ROOT/bench/scale-probe.ts" metadata "$B" m 50) || die "probe failed"
    echo "| request | median ms | p99 ms |"
    echo "|---|---:|---:|"
    echo "| Metadata, all topics ($MP partitions) | $(json_get metadataMs.median <<<"$out") | $(json_get metadataMs.p99 <<<"$out") |"
    echo "| ListOffsets, earliest + latest of $MP partitions | $(json_get listOffsetsMs.median <<<"$out") | $(json_get listOffsetsMs.p99 <<<"$out") |"
  fi
  if want top; then
    header "kstream top at $MP partitions: one poll (10 polls) and the poller's RSS"
    out=$(timeout "$STEP_TIMEOUT" "${TSX[@]}" "$ROOT/bench/scale-probe.ts" top "$B" 10) || die "probe failed"
    echo "| poll median ms | poll p99 ms | top's RSS MiB (peak) | broker RSS MiB |"
    echo "|---:|---:|---:|---:|"
    echo "| $(json_get pollMs.median <<<"$out") | $(json_get pollMs.p99 <<<"$out") | $(json_get rssMiB <<<"$out") | $(rss "$KPID") |"
  fi
  stop_broker
  rm -rf "$T/m-data"
fi

# ------------------------------------------------------------------ connections
if want connections; then
  records_file
  header "Broker RSS and produce throughput against open connections (all but one idle)"
  echo "| connections | RSS before MiB | RSS with them open MiB | more than with 10 | kcat → kstream acks=1 rec/s | ratio to 10 |"
  echo "|---:|---:|---:|---:|---:|---:|"
  base_rss="" base_rate="" S_RSS="" S_RATE=""
  for C in ${CONNS:-10 1000 10000}; do
    log "connections $C"
    rm -rf "$T/c-data"
    start_broker "$T/c-data"
    topic_create c 100
    kcat_rate "$B" c 1 >/dev/null # warm: the topic's segments exist before the figures
    r0=$(rss "$KPID")
    mkfifo "$T/idle.in"
    "${TSX[@]}" "$ROOT/bench/scale-probe.ts" idle "${B#*:}" $((C - 1)) <"$T/idle.in" >"$T/idle.out" 2>&1 &
    ipid=$!
    PIDS+=("$ipid")
    exec 7>"$T/idle.in"
    for _ in $(seq $((STEP_TIMEOUT * 10))); do grep -q ready "$T/idle.out" && break; kill -0 "$ipid" 2>/dev/null || break; sleep 0.1; done
    grep -q ready "$T/idle.out" || die "idle connections: $(cat "$T/idle.out")"
    sleep 2
    r1=$(rss "$KPID")
    rate=$(kcat_rate "$B" c 1) || rate=NaN
    exec 7>&-
    wait "$ipid" 2>/dev/null
    rm -f "$T/idle.in"
    stop_broker
    [ -z "$base_rss" ] && base_rss=$r1 base_rate=$rate
    echo "| $C | $r0 | $r1 | $((r1 - base_rss)) | $rate | $(ratio "$rate" "$base_rate") |"
    S_RSS+=" $C,$r1" S_RATE+=" $C,$rate"
  done
  rm -rf "$T/c-data"
  chart connections-rss.svg "broker RSS against open connections" connections MiB "VmRSS:$S_RSS"
  chart connections-throughput.svg "kcat produce throughput, one busy connection among the rest idle" connections records/s "acks=1:$S_RATE"
fi

# ------------------------------------------------------------------ group
if want group; then
  /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || die "group needs /usr/bin/python3 with confluent_kafka (apt-get install -y python3-confluent-kafka)"
  records_file
  start_broker "$T/g-data"
  topic_create g 1000
  kcat_rate "$B" g 1 >/dev/null || die "kcat into g failed"
  header "A consumer group over 1,000 partitions (confluent_kafka, cooperative-sticky, classic protocol), $RECORDS records"
  echo "| members | first rebalance s (all subscribe → every partition owned once) | one member joins: rebalance s | consume rec/s |"
  echo "|---:|---:|---:|---:|"
  S_REB="" S_JOIN="" S_CONS=""
  for M in ${MEMBERS:-1 10 100}; do
    log "group of $M"
    out=$(timeout "$STEP_TIMEOUT" /usr/bin/python3 "$ROOT/bench/scale-group.py" "$B" g 1000 "$M" "$RECORDS") || out='{}'
    reb=$(json_get rebalanceS <<<"$out")
    cons=$(json_get recordsPerSec <<<"$out")
    join=$(json_get joinRebalanceS <<<"$out")
    echo "| $M | $reb | $join | $cons |"
    S_REB+=" $M,$reb" S_JOIN+=" $M,$join" S_CONS+=" $M,$cons"
  done
  stop_broker
  rm -rf "$T/g-data"
  chart group-rebalance.svg "rebalance time, 1,000 partitions, cooperative-sticky" members seconds "first (from empty):$S_REB" "one member joins:$S_JOIN"
  chart group-consume.svg "group consume throughput, 1,000 partitions" members records/s "consume:$S_CONS"
fi
