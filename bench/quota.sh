#!/usr/bin/env bash
# Client quotas (issue 19): a kcat producer whose client id is limited to producer_byte_rate=1048576 (1 MiB/s)
# and an unlimited kcat producer run side by side against one node (Kafka's window: quota.window.num 11,
# quota.window.size.seconds 1). Each sends 1000-byte records as fast as it may for WARMUP + SPAN seconds; the
# records delivered during the SPAN seconds after WARMUP (end offsets read with kcat) give each one's rate.
# The target: the limited producer delivers 0.9-1.1 MB/s (MiB of record values per second) over each span and
# over all; the unlimited one is not held back (its rate is printed next to it). ROUNDS (3) spans in a row.
#
#   bash bench/quota.sh [SPAN]        default: 10 (seconds measured), WARMUP=${WARMUP:-12}
#
# The warm-up lets the first burst the quota allows (quota.window.num x window = 11 s worth of quota at once) pass.
# Loopback only, free ports, a temp dir removed on exit (also on Ctrl-C or a failure). Needs a built dist/, kcat.
set -uo pipefail
SPAN=${1:-10}
WARMUP=${WARMUP:-12}
NAME=quota
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
KSTREAM=(node "$ROOT/bin/run.js")
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"
have kcat || die "kcat is needed"

P=$(free_port)
B="127.0.0.1:$P"
"${KSTREAM[@]}" serve --port "$P" --host 127.0.0.1 --data-dir "$T/data" --log-level warn >"$T/serve.out" 2>"$T/serve.err" &
PIDS+=($!)
for _ in $(seq 600); do grep -q 'listening on' "$T/serve.out" && break; sleep 0.05; done
grep -q 'listening on' "$T/serve.out" || die "kstream did not start: $(tail -5 "$T/serve.err")"

"${KSTREAM[@]}" topic create -b "$B" limited -p 1 >/dev/null || die "topic create failed"
"${KSTREAM[@]}" topic create -b "$B" free -p 1 >/dev/null || die "topic create failed"
"${KSTREAM[@]}" quota alter -b "$B" --client-id bench-limited --add producer_byte_rate=1048576 >/dev/null ||
  die "quota alter failed"

LINE=$(head -c 999 /dev/zero | tr '\0' x)
# end_offset TOPIC: the offset after the last record (0 when empty)
end_offset() {
  local o
  o=$(kcat -b "$B" -C -t "$1" -o -1 -c 1 -e -q -f '%o\n' 2>/dev/null | tail -1)
  if [ -z "$o" ]; then echo 0; else echo $((o + 1)); fi
}
produce() { # CLIENT TOPIC
  yes "$LINE" | kcat -b "$B" -P -t "$2" -X client.id="$1" -X queue.buffering.max.kbytes=4096 2>>"$T/$1.err" &
  PIDS+=($!)
}
ROUNDS=${ROUNDS:-3}
log "producing: bench-limited (1 MiB/s) and bench-free (no quota); $ROUNDS spans of ${SPAN} s measured after ${WARMUP} s"
produce bench-limited limited
produce bench-free free
sleep "$WARMUP"
l0=$(end_offset limited); f0=$(end_offset free); t0=$(now)
rates=()
lp=$l0; fp=$f0; tp=$t0
for r in $(seq "$ROUNDS"); do
  sleep "$SPAN"
  l=$(end_offset limited); f=$(end_offset free); t=$(now)
  read -r lr fr < <(node -e "const s=$t-$tp;console.log((($l-$lp)*999/s/1048576).toFixed(3), (($f-$fp)*999/s/1048576).toFixed(3))")
  log "span $r: limited $lr MiB/s, unlimited $fr MiB/s"
  rates+=("$lr")
  lp=$l; fp=$f; tp=$t
done
read -r lall fall < <(node -e "const s=$tp-$t0;console.log((($lp-$l0)*999/s/1048576).toFixed(3), (($fp-$f0)*999/s/1048576).toFixed(3))")
throttled=$(grep -c 'throttled request' "$T/bench-limited.err")
free_throttled=$(grep -c 'throttled request' "$T/bench-free.err")
echo "quota: producer limited to 1 MiB/s: ${SPAN} s spans ${rates[*]} MiB/s (median $(median "${rates[@]}")), $lall MiB/s over all $((ROUNDS * SPAN)) s (target 0.9-1.1; $throttled throttle times reported by librdkafka); unlimited producer on the same node $fall MiB/s ($free_throttled throttles) [load: $(uptime | sed 's/.*load average: //')]"
