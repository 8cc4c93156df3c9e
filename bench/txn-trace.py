"""Where one serialized transaction's time goes (issue 17): reads the latency traces that a broker and
bench/txn-steps.ts write with bench/txn-trace.patch applied (a bench tool, not product code).

    git apply bench/txn-trace.patch && node scripts/build.js          (in a scratch checkout)
    mkdir -p /tmp/lat && rm -f /tmp/lat/lat-*.txt
    KSTREAM_LAT=/tmp/lat node bin/run.js serve --port P --host 127.0.0.1 --data-dir D --log-level warn --http-port 0 &
    node bin/run.js topic create phase -p 1 -b 127.0.0.1:P
    KSTREAM_LAT=/tmp/lat node --import tsx bench/txn-steps.ts 127.0.0.1:P
    kill -USR2 <serve pid>; sleep 1; /usr/bin/python3 bench/txn-trace.py /tmp/lat

Both processes stamp wall-clock times (performance.timeOrigin + now(), same host). The events are merged and cut
into transactions at each `cli begin` (the first 20 and the last are left out: warm-up, end). Prints (1) each step
(a pair of consecutive events) in its usual order, with the median and p90 of the time between the two, (2) per transaction
the time by kind (fsync in flight on the critical path, request/answer transfer, held behind the previous
transaction's markers, client and server work) and (3) the fsync time with overlapping fsyncs counted once.
"""

import collections
import glob
import os
import statistics
import sys


def load(directory):
    events = []
    for path in glob.glob(os.path.join(directory, "lat-*.txt")):
        for line in open(path):
            parts = line.split(None, 2)
            if len(parts) == 3:
                events.append((float(parts[0]), parts[2].strip()))
    events.sort()
    txns, cur = [], None
    for t, label in events:
        if label == "cli begin":
            cur = []
            txns.append(cur)
        if cur is not None:
            cur.append((t, label))
    return txns[20:-1]


def kind(a, b):
    if a.startswith("fsync start") and b.startswith("fsync done"):
        return "fsync"
    if a == "settled start":
        return "held (previous transaction's markers, Complete)"
    if a.startswith("cli") and b.startswith("srv"):
        return "request transfer (client write to server read)"
    if a.startswith("srv") and b.startswith("cli"):
        return "answer transfer (server write to client read)"
    if a.startswith("cli") and b.startswith("cli"):
        return "client: " + a + " -> " + b
    return "server: after " + " ".join(a.split()[:2])


def fsync_union(tx):
    spans, open_ = [], {}
    for t, label in tx:
        words = label.split()
        if label.startswith("fsync start"):
            open_[words[-1]] = t
        elif label.startswith("fsync done"):
            spans.append((open_.pop(words[-1], tx[0][0]), t))
    spans += [(s, tx[-1][0]) for s in open_.values()]
    spans.sort()
    total, start, end = 0.0, None, None
    for s, e in spans:
        if end is None or s > end:
            if start is not None:
                total += end - start
            start, end = s, e
        else:
            end = max(end, e)
    return total + (end - start if start is not None else 0.0)


def main():
    txns = load(sys.argv[1] if len(sys.argv) > 1 else ".")
    if not txns:
        sys.exit("no transactions in the traces")
    med = lambda v: statistics.median(v)
    p90 = lambda v: sorted(v)[int(len(v) * 0.9)]
    print(f"{len(txns)} transactions; per transaction median {med([tx[-1][0] - tx[0][0] for tx in txns]):.3f} ms")
    steps, where = collections.defaultdict(list), collections.defaultdict(list)
    for tx in txns:
        for i in range(1, len(tx)):
            steps[(tx[i - 1][1], tx[i][1])].append(tx[i][0] - tx[i - 1][0])
            where[(tx[i - 1][1], tx[i][1])].append(i)
    print("\nsteps (in at least a third of the transactions), in their usual order: median, p90 ms, count")
    for (a, b), v in sorted(steps.items(), key=lambda kv: statistics.mean(where[kv[0]])):
        if len(v) >= len(txns) / 3:
            print(f"{med(v):7.3f} {p90(v):7.3f} {len(v):5}  {a} -> {b}")
    kinds = collections.defaultdict(list)
    for tx in txns:
        per = collections.Counter()
        for i in range(1, len(tx)):
            per[kind(tx[i - 1][1], tx[i][1])] += tx[i][0] - tx[i - 1][0]
        for k in set(per) | set(kinds):
            kinds[k].append(per.get(k, 0.0))
    print("\nper transaction by kind: median, mean ms")
    for k, v in sorted(kinds.items(), key=lambda kv: -statistics.mean(kv[1])):
        print(f"{med(v):7.3f} {statistics.mean(v):7.3f}  {k}")
    u = [fsync_union(tx) for tx in txns]
    print(f"\nfsync in flight (overlaps once): median {med(u):.3f}, mean {statistics.mean(u):.3f} ms")


main()
