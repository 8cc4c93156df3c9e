#!/usr/bin/env bash
# A change on a hot path against the build before it, side by side in one run on one machine: runs a bench
# script (bench/peers.sh, bench/cluster.sh) of this checkout and of an OLD checkout in turn, ROUNDS times, the
# order swapped every round (new old, old new, …), and prints for every row of their tables the records/s of
# each build per round, the medians and the median of the per-round ratios new/old.
#
#   bash bench/old-new.sh OLD_DIR [SCRIPT] [ARGS...]      SCRIPT: peers (default) or cluster
#   ROUNDS=2 bash bench/old-new.sh /path/to/old peers 1000000 100
#   ROUNDS=3 bash bench/old-new.sh /path/to/old cluster 1000000 100 3 1
#
# OLD_DIR is a checkout of the old commit with its dist/ built (e.g. `git worktree add /tmp/old <commit> &&
# (cd /tmp/old && ln -s "$PWD/node_modules" . && node scripts/build.js)` from this checkout). Each script runs
# from its own checkout (its own bench/*.sh, so the workload is the old build's where the scripts differ) on
# free ports and its own temp dir; nothing else may run on the machine meanwhile. The rows are matched by
# their first two columns; a row's figure is its records/s column (the third in both scripts' tables).
set -uo pipefail
NAME=old-new
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
OLD=${1:?usage: bash bench/old-new.sh OLD_DIR [peers|cluster] [ARGS...]}
SCRIPT=${2:-peers}
shift $(($# >= 2 ? 2 : 1))
ROUNDS=${ROUNDS:-2}
[ -f "$OLD/bench/$SCRIPT.sh" ] || die "$OLD/bench/$SCRIPT.sh is missing"
[ -f "$OLD/dist/commands/index.js" ] || die "$OLD/dist is not built: (cd $OLD && node scripts/build.js)"
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is not built: node scripts/build.js"
log "new: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD)), old: $OLD ($(git -C "$OLD" rev-parse --short HEAD)), $SCRIPT $*, $ROUNDS rounds"

ARGS=("$@")
run() { # run DIR LABEL ROUND: the script's output into $T/LABEL.ROUND
  bash "$1/bench/$SCRIPT.sh" "${ARGS[@]}" >"$T/$2.$3" 2>"$T/$2.$3.err" || log "$2 round $3 failed: $(tail -3 "$T/$2.$3.err")"
}
for r in $(seq "$ROUNDS"); do
  log "round $r (load $(cut -d' ' -f1-3 /proc/loadavg))"
  if ((r % 2)); then run "$ROOT" new "$r"; run "$OLD" old "$r"; else run "$OLD" old "$r"; run "$ROOT" new "$r"; fi
done
log "done (load $(cut -d' ' -f1-3 /proc/loadavg))"

# Every table row: "key<TAB>records/s" per file, then one line per key across rounds.
node - "$T" "$ROUNDS" <<'EOF'
const fs = require('node:fs');
const [dir, rounds] = [process.argv[2], Number(process.argv[3])];
const num = (s) => {
  const m = /^\**([\d,.]+)\**/.exec(s.trim());
  return m ? Number(m[1].replace(/,/g, '')) : null;
};
function rows(file) {
  const out = new Map();
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('|') || /^\|[-:| ]+\|$/.test(line)) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const value = num(cells[2] ?? '');
    if (value !== null) out.set(`${cells[0]} | ${cells[1]}`, value);
  }
  return out;
}
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const runs = { new: [], old: [] };
for (let r = 1; r <= rounds; r++) for (const b of ['new', 'old']) runs[b].push(rows(`${dir}/${b}.${r}`));
const keys = [...new Set(runs.new.flatMap((m) => [...m.keys()]))];
console.log('| row | new per round | old per round | new / old median | new / old per round |');
console.log('|---|---|---|---:|---|');
for (const k of keys) {
  const n = runs.new.map((m) => m.get(k));
  const o = runs.old.map((m) => m.get(k));
  const ratios = n.map((x, i) => (x && o[i] ? x / o[i] : null)).filter((x) => x !== null);
  const fmt = (v) => v.map((x) => (x === undefined ? '-' : x.toLocaleString('en-US'))).join(' / ');
  console.log(
    `| ${k} | ${fmt(n)} | ${fmt(o)} | ${ratios.length ? `**${median(ratios).toFixed(2)}**` : '-'} | ${ratios.map((x) => x.toFixed(2)).join(' ')} |`,
  );
}
EOF
