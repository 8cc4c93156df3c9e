"""confluent-kafka-python (librdkafka) consumer groups against kstream.

  group_confluent.py BOOTSTRAP TOPIC GROUP STRATEGY consume COUNT
      join GROUP (subscribe), read COUNT records, commit exactly the next offsets of what was read
      (synchronously), leave. Prints JSON: {"read": [[partition, offset], ...], "committed": {p: offset}}.
  group_confluent.py BOOTSTRAP TOPIC GROUP STRATEGY drain TOTAL
      join GROUP and read until nothing new arrives for a while (or TOTAL records). Prints the same JSON.
  group_confluent.py BOOTSTRAP TOPIC GROUP STRATEGY share TOTAL
      two members of GROUP in this process read TOTAL records between them. Prints JSON with each member's
      final assignment and the records each read.

STRATEGY is partition.assignment.strategy: range, roundrobin or cooperative-sticky.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

bootstrap, topic, group, strategy, mode, count = sys.argv[1:7]
count = int(count)


def make(name):
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": name,
        "partition.assignment.strategy": strategy,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })


def committed_of(c):
    assignment = c.assignment()
    out = {}
    for tp in c.committed(assignment, timeout=10):
        if tp.error:
            raise KafkaException(tp.error)
        out[tp.partition] = tp.offset
    return out


if mode in ("consume", "drain"):
    c = make("solo")
    c.subscribe([topic])
    read = []
    last = {}
    idle_since = time.time()
    deadline = time.time() + 90
    while len(read) < count and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            if mode == "drain" and read and time.time() - idle_since > 4:
                break
            continue
        if m.error():
            continue
        idle_since = time.time()
        read.append([m.partition(), m.offset()])
        last[m.partition()] = m.offset()
    if mode == "consume":
        offsets = [TopicPartition(topic, p, o + 1) for p, o in sorted(last.items())]
        c.commit(offsets=offsets, asynchronous=False)
    committed = committed_of(c)
    c.close()
    print(json.dumps({"read": read, "committed": committed}))
elif mode == "share":
    members = [make("m1"), make("m2")]
    for c in members:
        c.subscribe([topic])
    reads = [[], []]
    seen = set()
    deadline = time.time() + 90
    while len(seen) < count and time.time() < deadline:
        for i, c in enumerate(members):
            for m in c.consume(num_messages=500, timeout=0.05):
                if m.error():
                    continue
                reads[i].append([m.partition(), m.offset()])
                seen.add((m.partition(), m.offset()))
    # Let both settle on a final assignment.
    settle = time.time() + 3
    while time.time() < settle:
        for c in members:
            c.consume(num_messages=500, timeout=0.05)
    assignments = [sorted(tp.partition for tp in c.assignment()) for c in members]
    for c in members:
        c.close()
    print(json.dumps({"assignments": assignments, "reads": reads, "distinct": len(seen)}))
else:
    sys.exit("unknown mode " + mode)
