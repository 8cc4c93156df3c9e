"""A consumer group of N members (confluent_kafka / librdkafka, classic protocol, cooperative-sticky) over a
topic, all in this process, for bench/scale.sh (a bench tool, not product code).

    /usr/bin/python3 bench/scale-group.py BROKER TOPIC PARTITIONS MEMBERS RECORDS

Every member subscribes at once; the first rebalance time is from the first subscribe until the members together
own every partition exactly once and each owns at least one (it includes the coordinator's initial rebalance
delay). Then consume throughput: RECORDS records (already in the topic) read from the beginning by the whole
group, from the end of that rebalance until all are read. Then one more member joins the stable group: the
time until it owns partitions and every partition is owned once again. Prints one JSON line.
"""

import json
import os
import sys
import time

from confluent_kafka import Consumer

broker, topic, partitions, members, records = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
# HEARTBEAT_MS: librdkafka heartbeat.interval.ms (default 3000): members learn of a rebalance at their next heartbeat.
hb = {"heartbeat.interval.ms": int(os.environ["HEARTBEAT_MS"])} if os.environ.get("HEARTBEAT_MS") else {}
group = f"scale-{members}-{int(time.time() * 1000)}"
owned = [set() for _ in range(members)]


def callbacks(i):
    def on_assign(c, parts):
        owned[i].update(p.partition for p in parts)

    def on_revoke(c, parts):
        owned[i].difference_update(p.partition for p in parts)

    return on_assign, on_revoke


consumers = []
for i in range(members):
    consumers.append(
        Consumer(
            {
                "bootstrap.servers": broker,
                "group.id": group,
                "partition.assignment.strategy": "cooperative-sticky",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 45000,
                "fetch.wait.max.ms": 100,
                **hb,
            }
        )
    )

t0 = time.monotonic()
for i, c in enumerate(consumers):
    a, r = callbacks(i)
    c.subscribe([topic], on_assign=a, on_revoke=r)

consumed = 0
balanced_at = None
deadline = t0 + 600
while time.monotonic() < deadline:
    for c in consumers:
        for m in c.consume(num_messages=10000, timeout=0):
            if m.error() is None:
                consumed += 1
    if balanced_at is None:
        total = sum(len(o) for o in owned)
        union = set().union(*owned)
        if total == partitions and len(union) == partitions and all(len(o) > 0 for o in owned[: min(members, partitions)]):
            balanced_at = time.monotonic()
            consumed_at_balance = consumed
    elif consumed >= records:
        break
    time.sleep(0.001)
t1 = time.monotonic()

# One more member joins the stable group: the time until it owns partitions and every partition is owned once
# (the rebalance a running group goes through; the first one above includes the coordinator's
# group.initial.rebalance.delay.ms, 3 s and extended by every member joining meanwhile, as Kafka does).
owned.append(set())
joined = None
if balanced_at is not None and members < partitions:
    extra = Consumer({
        "bootstrap.servers": broker,
        "group.id": group,
        "partition.assignment.strategy": "cooperative-sticky",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 45000,
        **hb,
    })
    a, r = callbacks(members)
    t2 = time.monotonic()
    extra.subscribe([topic], on_assign=a, on_revoke=r)
    consumers.append(extra)
    while time.monotonic() < t2 + 300:
        for c in consumers:
            c.consume(num_messages=10000, timeout=0)
        if len(owned[members]) > 0 and sum(len(o) for o in owned) == partitions and len(set().union(*owned)) == partitions:
            joined = time.monotonic() - t2
            break
        time.sleep(0.001)
for c in consumers:
    c.close()
out = {
    "members": members,
    "joinRebalanceS": round(joined, 2) if joined is not None else None,
    "rebalanceS": round(balanced_at - t0, 2) if balanced_at else None,
    "consumed": consumed,
    "recordsPerSec": round((consumed - consumed_at_balance) / (t1 - balanced_at)) if balanced_at and t1 > balanced_at else None,
}
print(json.dumps(out))
