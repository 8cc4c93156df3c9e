#!/usr/bin/env bash
# Start-up time of the CLI: `kstream --help` as a whole process, N runs after a warm-up, median wall time.
# Usage: bash bench/startup.sh [N] [BIN] [OLD_BIN]
#   BIN defaults to dist/kstream (the single executable, `npm run build:binary`), else `node bin/run.js`.
#   With OLD_BIN the two run in turn (A B A B …) and the median ratio BIN/OLD_BIN is printed, so a change is
#   compared side by side in one run on one machine. A BIN of the form "node DIR/bin/run.js" is allowed (quote it).
set -euo pipefail
NAME=startup
source "$(dirname "$0")/lib.sh"
N=${1:-15}
if [ -n "${2:-}" ]; then BIN=$2; elif [ -x "$ROOT/dist/kstream" ]; then BIN="$ROOT/dist/kstream"; else BIN="node $ROOT/bin/run.js"; fi
OLD=${3:-}
wall() { local t0 t1; t0=$(now); $1 --help >/dev/null; t1=$(now); node -e "console.log((($t1 - $t0) * 1000).toFixed(1))"; }
wall "$BIN" >/dev/null
[ -n "$OLD" ] && wall "$OLD" >/dev/null
a=(); b=(); r=()
for _ in $(seq "$N"); do
  x=$(wall "$BIN"); a+=("$x")
  if [ -n "$OLD" ]; then y=$(wall "$OLD"); b+=("$y"); r+=("$(node -e "console.log(($x / $y).toFixed(3))")"); fi
done
echo "kstream --help, $N runs: $BIN median $(median "${a[@]}") ms"
if [ -n "$OLD" ]; then
  echo "                         $OLD median $(median "${b[@]}") ms"
  echo "ratio new/old (median of pairs): $(median "${r[@]}")"
fi
