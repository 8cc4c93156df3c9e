#!/usr/bin/env bash
# What TLS and SASL cost (issue 18), side by side in one run, for docs/benchmarks.md. One broker with three
# listeners, PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-256 and SCRAM-SHA-512; user admin made by
# --bootstrap-user), its certificates made with openssl in the temp dir:
#  1. produce throughput: after a warm-up run, ROUNDS rounds of `kstream bench produce` (RECORDS records of
#     100 B, 6 partitions, acks all) on each listener in turn (the order turning each round), each into a fresh
#     topic; per round the ratios SSL / PLAINTEXT and SASL_SSL / PLAINTEXT, and their medians (target: TLS >= 0.60
#     of plaintext).
#  2. the cost of a SCRAM login: LOGINS connections one after another (bench/scram-login.ts, kstream's client)
#     to the SSL listener (no login: the baseline) and to the SASL_SSL listener with SCRAM-SHA-256 and with
#     SCRAM-SHA-512; the login's cost = median SASL_SSL connect - median SSL connect (target <= 10 ms).
#
#   bash bench/security.sh [RECORDS] [LOGINS]          defaults: 2000000 200
#
# Loopback only, free ports, a temp dir removed on exit (also on Ctrl-C or a failure). Needs a built dist/.
set -uo pipefail
RECORDS=${1:-2000000}
LOGINS=${2:-200}
ROUNDS=${ROUNDS:-3}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
NAME=security
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
KSTREAM=(node "$ROOT/bin/run.js")
[ -f "$ROOT/dist/commands/index.js" ] || die "dist/ is missing: run node scripts/build.js first"
have openssl || die "openssl is needed for the certificates"

# A CA and a server certificate for 127.0.0.1 (PKCS#8 key and certificate in one PEM: ssl.keystore.location).
ossl() { openssl "$@" 2>>"$T/openssl.err" >/dev/null || die "openssl $1 failed: $(tail -3 "$T/openssl.err")"; }
ossl ecparam -name prime256v1 -genkey -noout -out "$T/ca.key"
ossl req -x509 -new -key "$T/ca.key" -sha256 -days 2 -subj "/O=kstream bench/CN=bench-ca" -out "$T/ca.crt"
ossl ecparam -name prime256v1 -genkey -noout -out "$T/broker.key"
ossl pkcs8 -topk8 -nocrypt -in "$T/broker.key" -out "$T/broker.p8"
ossl req -new -key "$T/broker.key" -subj "/O=kstream bench/CN=broker" -out "$T/broker.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$T/broker.ext"
ossl x509 -req -in "$T/broker.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 -sha256 \
  -extfile "$T/broker.ext" -out "$T/broker.crt"
cat "$T/broker.p8" "$T/broker.crt" >"$T/broker.pem"

PW="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export KSTREAM_PASSWORD=$PW
PP=$(free_port)
PS=$(free_port)
PA=$(free_port)
cat >"$T/server.properties" <<PROPS
listeners=PLAINTEXT://127.0.0.1:$PP,SSL://127.0.0.1:$PS,SASL_SSL://127.0.0.1:$PA
inter.broker.listener.name=PLAINTEXT
ssl.keystore.location=$T/broker.pem
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
PROPS
KSTREAM_BOOTSTRAP_PASSWORD=$PW "${KSTREAM[@]}" serve --data-dir "$T/data" --config "$T/server.properties" \
  --bootstrap-user admin --log-level warn >"$T/serve.out" 2>>"$T/serve.err" &
PIDS+=($!)
for _ in $(seq $((STEP_TIMEOUT * 20))); do grep -q 'listening on' "$T/serve.out" && break; sleep 0.05; done
grep -q 'listening on' "$T/serve.out" || die "kstream did not start: $(tail -5 "$T/serve.err")"

declare -A FLAGS=(
  [PLAINTEXT]="-b 127.0.0.1:$PP"
  [SSL]="-b 127.0.0.1:$PS --tls-ca $T/ca.crt"
  [SASL_SSL]="-b 127.0.0.1:$PA --tls-ca $T/ca.crt --sasl-mechanism SCRAM-SHA-512 --user admin"
)
# A warm-up run (not counted): the first bench against a fresh broker also pays its JIT and first segments.
WARM=$((RECORDS < 500000 ? RECORDS : 500000))
log "warm-up: $WARM records on PLAINTEXT"
timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce -b "127.0.0.1:$PP" -t warm-up -p 6 -n "$WARM" -s 100 -o json >/dev/null ||
  die "warm-up bench produce failed"
log "produce: $ROUNDS rounds of $RECORDS records of 100 B on PLAINTEXT, SSL and SASL_SSL (the order turns each round)"
ORDER=(PLAINTEXT SSL SASL_SSL)
ssl_ratios=()
sasl_ratios=()
declare -A RATE
for r in $(seq "$ROUNDS"); do
  o=$(((r - 1) % 3))
  for l in "${ORDER[@]:$o}" "${ORDER[@]:0:$o}"; do
    # shellcheck disable=SC2086 # FLAGS holds words
    RATE[$l]=$(timeout "$STEP_TIMEOUT" "${KSTREAM[@]}" bench produce ${FLAGS[$l]} -t "$l-$r" -p 6 -n "$RECORDS" -s 100 \
      --acks all -o json | json_get recordsPerSec) || die "bench produce over $l failed"
  done
  ssl_ratios+=("$(node -e "console.log((${RATE[SSL]} / ${RATE[PLAINTEXT]}).toFixed(3))")")
  sasl_ratios+=("$(node -e "console.log((${RATE[SASL_SSL]} / ${RATE[PLAINTEXT]}).toFixed(3))")")
  log "round $r: PLAINTEXT ${RATE[PLAINTEXT]} records/s, SSL ${RATE[SSL]}, SASL_SSL ${RATE[SASL_SSL]}"
done

log "logins: $LOGINS connections each (after 20 to warm up)"
login() { timeout "$STEP_TIMEOUT" node --import tsx "$ROOT/bench/scram-login.ts" --port "$1" --ca "$T/ca.crt" --count "$LOGINS" "${@:2}"; }
base=$(login "$PS") || die "connections to the SSL listener failed"
s256=$(login "$PA" --mechanism SCRAM-SHA-256) || die "SCRAM-SHA-256 logins failed"
s512=$(login "$PA" --mechanism SCRAM-SHA-512) || die "SCRAM-SHA-512 logins failed"
bm=$(echo "$base" | json_get medianMs)
m256=$(echo "$s256" | json_get medianMs)
m512=$(echo "$s512" | json_get medianMs)
cost() { node -e "console.log(($1 - $2).toFixed(2))"; }

echo "| produce, $RECORDS x 100 B, 6 partitions, acks all (median of $ROUNDS rounds) | ratio to PLAINTEXT | target |"
echo "|---|---|---|"
echo "| SSL | $(median "${ssl_ratios[@]}") | >= 0.60 |"
echo "| SASL_SSL SCRAM-SHA-512 | $(median "${sasl_ratios[@]}") | >= 0.60 |"
echo
echo "| connect, $LOGINS one after another | median ms | p90 ms | login cost (median - SSL median) | target |"
echo "|---|---|---|---|---|"
echo "| SSL, no login | $bm | $(echo "$base" | json_get p90Ms) | | |"
echo "| SASL_SSL SCRAM-SHA-256 | $m256 | $(echo "$s256" | json_get p90Ms) | $(cost "$m256" "$bm") ms | <= 10 ms |"
echo "| SASL_SSL SCRAM-SHA-512 | $m512 | $(echo "$s512" | json_get p90Ms) | $(cost "$m512" "$bm") ms | <= 10 ms |"
