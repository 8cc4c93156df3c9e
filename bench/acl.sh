#!/usr/bin/env bash
# The cost of the authorizer (issue 19): produce throughput against a node whose authorizer holds 10,000 ACLs
# vs a node with no authorizer, side by side: ROUNDS alternating pairs of `kstream bench produce` (RECORDS
# records of 100 B, 6 partitions, acks all, idempotent), each into a fresh topic; the median of the per-pair
# ratios authorizer / none (target >= 0.90).
#
#   bash bench/acl.sh [RECORDS]          default: 2000000
#
# The ACLs: 50 principals x 75 topics x READ, WRITE (literal) and 50 principals x 25 prefixes x READ, WRITE
# (prefixed), none of them the client's, plus the client's own: ALLOW WRITE, CREATE on the prefix `acl-` and
# IDEMPOTENT_WRITE on the cluster; so each of its requests is decided against a full index. They are made
# through CreateAcls while the client is a super user, then the node restarts without super users.
# Loopback only, free ports, a temp dir removed on exit (also on Ctrl-C or a failure). Needs a built dist/.
set -uo pipefail
RECORDS=${1:-2000000}
ROUNDS=${ROUNDS:-3}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
NAME=acl
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
KSTREAM=(node "$ROOT/bin/run.js")
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"


AUTH="authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PA=$(free_port)
serve_node acl "$T/acl" "$PA" "$AUTH;super.users=User:ANONYMOUS"
log "creating 10,000 ACLs"
principals=()
for i in $(seq 50); do principals+=(--allow-principal "User:p$i"); done
topics=()
for i in $(seq 75); do topics+=(--topic "t-$i"); done
prefixes=()
for i in $(seq 25); do prefixes+=(--topic "acl-$i-"); done
acl() { timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" acl create -b "127.0.0.1:$PA" --timeout 5m -o json "$@" >/dev/null || die "acl create failed"; }
acl "${principals[@]}" "${topics[@]}" --operation read,write
acl "${principals[@]}" "${prefixes[@]}" --operation read,write --resource-pattern-type prefixed
acl --allow-principal User:ANONYMOUS --topic acl- --resource-pattern-type prefixed --operation write,create
acl --allow-principal User:ANONYMOUS --cluster --operation idempotent-write
n=$("${KSTREAM[@]}" acl list -b "127.0.0.1:$PA" -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')
log "$n ACLs stored; restarting the node without super users"
stop_node acl
serve_node acl "$T/acl" "$PA" "$AUTH"
PN=$(free_port)
serve_node none "$T/none" "$PN"

ratios=()
for r in $(seq "$ROUNDS"); do
  on=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$PA" -t "acl-r$r" -p 6 -n "$RECORDS" -s 100 -o json | json_get recordsPerSec) ||
    die "bench produce against the authorizer failed"
  off=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$PN" -t "acl-r$r" -p 6 -n "$RECORDS" -s 100 -o json | json_get recordsPerSec) ||
    die "bench produce without an authorizer failed"
  ratio=$(node -e "console.log(($on / $off).toFixed(3))")
  ratios+=("$ratio")
  log "round $r: authorizer with $n ACLs $on records/s, no authorizer $off records/s, ratio $ratio"
done
echo "acl: produce with $n ACLs / without an authorizer, median of $ROUNDS rounds: $(median "${ratios[@]}") (target >= 0.90)"
