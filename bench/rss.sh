#!/usr/bin/env bash
# Broker memory with many partitions and idle connections (issue 8's memory target: RSS <= 250 MB with 1,000
# partitions and 100 idle client connections): one `kstream serve`, a topic of PARTITIONS partitions, RECORDS
# records of 100 B produced over all of them and consumed back (every partition has a segment, an index and
# a fetch behind it), then CONNECTIONS TCP connections opened and left idle for 2 s. Prints the broker's
# VmRSS and VmHWM (peak) from /proc as one markdown table.
#
#   bash bench/rss.sh [PARTITIONS] [CONNECTIONS] [RECORDS]     defaults: 1000 100 1000000
#
# Loopback only, a free port, a temp dir; the broker is stopped and the temp dir removed on exit (also on
# Ctrl-C or a failure). Each step is bounded by `timeout`. Needs a built dist/ (node scripts/build.js).
set -uo pipefail

PARTS=${1:-1000}
CONNS=${2:-100}
RECORDS=${3:-1000000}
STEP_TIMEOUT=${STEP_TIMEOUT:-120}
NAME=rss
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
KSTREAM=(node "$ROOT/bin/run.js")
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"

P=$(free_port)
"${KSTREAM[@]}" serve --port "$P" --host 127.0.0.1 --data-dir "$T/data" --log-level warn >"$T/serve.out" 2>"$T/serve.err" &
KPID=$!
PIDS+=($KPID)
wait_for "$T/serve.out" 'listening on' || die "kstream did not start: $(cat "$T/serve.err")"
B=127.0.0.1:$P
kv() { grep -E "^$1:" "/proc/$KPID/status" | awk '{print int($2 / 1024)}'; }

log "topic of $PARTS partitions"
timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" topic create rss -p "$PARTS" -b "$B" >/dev/null || die "topic create failed"
IDLE=$(kv VmRSS)
log "produce and consume $RECORDS records"
produced=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -t rss -n "$RECORDS" -s 100 -b "$B" -o json | json_get recordsPerSec) ||
  die "bench produce failed"
consumed=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench consume -t rss -n "$RECORDS" -b "$B" -o json | json_get records) ||
  die "bench consume failed"
[ "$consumed" = "$RECORDS" ] || die "consumed $consumed of $RECORDS records"
log "$CONNS idle connections"
# Opens the connections, waits 2 s with them idle, prints the broker's memory, then closes them.
RSS=$(timeout "$STEP_TIMEOUT" node -e '
  const net = require("net"), fs = require("fs");
  const [port, n, pid] = process.argv.slice(1).map(Number);
  const socks = [];
  let open = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, "127.0.0.1", () => {
      if (++open === n) setTimeout(() => {
        const st = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const kb = (k) => Math.round(Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(st)[1]) / 1024);
        console.log(kb("VmRSS"), kb("VmHWM"));
        for (const x of socks) x.destroy();
      }, 2000);
    });
    s.on("error", (e) => { console.error(e.message); process.exit(1); });
    socks.push(s);
  }' "$P" "$CONNS" "$KPID") || die "could not open $CONNS connections"
read -r rss hwm <<<"$RSS"

echo "| broker | MiB |"
echo "|---|---:|"
echo "| VmRSS, topic of $PARTS partitions created, nothing stored | $IDLE |"
echo "| VmRSS, after $RECORDS records produced ($produced records/s) and consumed, $CONNS idle connections | **$rss** |"
echo "| VmHWM (peak RSS over the run) | $hwm |"
echo
echo "target: VmRSS <= 250 MB (238 MiB) with 1,000 partitions and 100 idle connections; $(nproc) CPUs, $(node -v), $(date -u +%Y-%m-%d)"
