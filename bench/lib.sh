# Shared by bench/*.sh (sourced after NAME is set): a temp dir T removed on exit, PIDS stopped on exit (also on
# Ctrl-C or a failure: TERM, up to 5 s, then KILL), and small helpers. Loopback only.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/kstream-$NAME.XXXXXX")
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$NAME: $*" >&2; }
die() { log "$*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# wait_for FILE REGEX: until a line of FILE matches (10 s)
wait_for() { for _ in $(seq 100); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
now() { date +%s.%N; }
# json_get PATH: a field (a.b.c) of the JSON on stdin
json_get() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(process.argv[1].split(".").reduce((a,k)=>a?.[k],o))})' "$1"; }
# cpu_ms PID: CPU time (user + system) the process has used so far, in ms (from /proc; 0 where there is none)
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / t)}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# per_m MS RECORDS: CPU ms per million records
per_m() { node -e "console.log(Math.round($1 / ($2 / 1e6)))"; }
# median V...: the median of numbers (2 decimals at most)
median() { node -e 'const v=process.argv.slice(1).map(Number).sort((a,b)=>a-b);const m=v.length>>1;console.log(+(v.length%2?v[m]:(v[m-1]+v[m])/2).toFixed(2))' "$@"; }

# builds OLD: BUILDS=(this checkout, OLD), each with its dist/ built (OLD "-": this checkout alone), for the
# scripts that compare an old build with this one. label BUILD: new or old. builds_desc: both with their commits.
# round_order R: ORDER=BUILDS, the two swapped on even rounds (old and new take turns going first).
builds() {
  [ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"
  BUILDS=("$ROOT")
  if [ "$1" != - ]; then
    [ -f "$1/dist/commands/index.js" ] || die "$1/dist is not built: (cd $1 && node scripts/build.js)"
    BUILDS+=("$1")
  fi
}
label() { if [ "$1" = "$ROOT" ]; then echo new; else echo old; fi; }
builds_desc() {
  local b=${BUILDS[1]:-}
  echo "new: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD))${b:+, old: $b ($(git -C "$b" rev-parse --short HEAD))}"
}
round_order() {
  ORDER=("${BUILDS[@]}")
  if (($1 % 2 == 0)) && ((${#BUILDS[@]} == 2)); then ORDER=("${BUILDS[1]}" "${BUILDS[0]}"); fi
}

# serve_node NAME DIR PORT [PROPS [SERVE_ARGS...]]: start `${KSTREAM[@]} serve` on 127.0.0.1:PORT in the
# background (pid in PID_<NAME>, output in $T/NAME.out and .err) and return once it listens. PROPS: broker
# configs separated by ';' (written to a properties file), "" for none. stop_node NAME: SIGTERM and wait.
serve_node() {
  local name=$1 dir=$2 port=$3 out="$T/$1.out" props=()
  if [ -n "${4:-}" ]; then
    printf '%s\n' "$4" | tr ';' '\n' >"$T/$name.properties"
    props=(--config "$T/$name.properties")
  fi
  shift 4 2>/dev/null || shift $#
  : >"$out"
  "${KSTREAM[@]}" serve --port "$port" --host 127.0.0.1 --data-dir "$dir" --log-level warn "${props[@]}" "$@" \
    >"$out" 2>>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  eval "PID_$name=$pid"
  for _ in $(seq $((${STEP_TIMEOUT:-600} * 20))); do grep -q 'listening on' "$out" && return 0; sleep 0.05; done
  die "kstream ($name) did not start: $(tail -5 "$T/$name.err")"
}
stop_node() {
  local pid
  eval "pid=\$PID_$1"
  kill "$pid"
  wait "$pid" 2>/dev/null
}
