#!/usr/bin/env bash
# The long fault soak (issue 15): a 3-node kstream cluster and etcd, each in its own network namespace on a
# bridge, every fault of test/fault/faults.ts injected RUNS times (default 3), each run on a fresh cluster,
# with librdkafka and kstream producers (acks=all) and consumer groups; after each run the checker reads every
# replica of every partition and writes a JSON report. Needs root (ip netns, nft, tmpfs mounts).
#
#   sudo bash scripts/fault-soak.sh                       # every fault, 3 runs each, reports in ./fault-reports
#   sudo bash scripts/fault-soak.sh --runs 5 --out /tmp/soak --faults kill-leader,partition-leader
#   sudo bash scripts/fault-soak.sh --hold-scale 3 --rate 200 --keep-data
#
# Options (all optional): --runs N, --out DIR, --faults a,b,…, --hold-scale X (fault length × X, default 1.5),
# --warmup-ms, --recovery-ms, --rate (records/s per producer), --keep-data (copy data dirs of every run, not
# only of runs with a problem). Output: DIR/<fault>-run<N>-<time>.json per run, DIR/<fault>-run<N>/logs/,
# DIR/summary.json. Exit status 0 when every run found nothing and healed, 1 otherwise. See docs/operations.md
# ("The fault harness and the soak") for how to read a report.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ "$(id -u)" != 0 ]; then
  echo "fault-soak: needs root (network namespaces, nft, tmpfs mounts); run it with sudo" >&2
  exit 2
fi
node scripts/pretest.js
node scripts/build-if-needed.js
exec node --import tsx test/fault/soak.ts "$@"
