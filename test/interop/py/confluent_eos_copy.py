"""Exactly-once consume-transform-produce with confluent-kafka-python (librdkafka), as Kafka's EOS examples do it.
Args: bootstrap mode ...
  fill  src n partitions     write values 0..n-1 to src (idempotent, acks=all), round robin over partitions
  copy  src dst n group txn [deadline_s [pauses]]
                             read src with read_committed in group `group`, write each value to dst in
                             transactions that also commit the consumed offsets (send_offsets_to_transaction);
                             an abortable error aborts and rewinds to the committed offsets; prints
                             "progress <copied>" after each commit and a last line {"copied": .., "aborts": ..}
                             once the group's committed offsets cover all n records (or the deadline passes).
                             pauses: comma-separated counts; the first transaction begun after `copied` reaches
                             one stops with its records sent but not committed, prints "paused <copied>" and
                             waits for a line on stdin (the caller kills a broker meanwhile).
  read  topic partitions [n] read topic with read_committed to its end (and at least n records, if given):
                             {"values": [...], "complete": ..} (as numbers)
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

bootstrap, mode = sys.argv[1], sys.argv[2]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


if mode == "fill":
    src, n, parts = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 10})
    for i in range(n):
        while True:
            try:
                p.produce(src, value=str(i).encode(), partition=i % parts)
                break
            except BufferError:
                p.poll(0.1)
    left = p.flush(60)
    print(json.dumps({"filled": n, "unflushed": left}))

elif mode == "copy":
    src, dst, n, group, txn = sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7]
    deadline = time.time() + float(sys.argv[8] if len(sys.argv) > 8 else 150)
    pauses = [int(x) for x in sys.argv[9].split(",")] if len(sys.argv) > 9 and sys.argv[9] else []
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "session.timeout.ms": 10000,
    })
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn,
        "linger.ms": 5,
        "transaction.timeout.ms": 30000,
    })
    consumer.subscribe([src])
    producer.init_transactions(60)
    aborts = 0
    copied = 0

    def committed_total():
        assignment = consumer.assignment()
        if not assignment:
            return -1
        cs = consumer.committed(assignment, timeout=10)
        return sum(max(tp.offset, 0) for tp in cs)

    def rewind():
        assignment = consumer.assignment()
        if not assignment:
            return
        for tp in consumer.committed(assignment, timeout=30):
            consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))

    while time.time() < deadline:
        msgs = consumer.consume(500, 1.0)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            try:
                total = committed_total()
            except KafkaException:
                continue
            if total >= n:
                break
            continue
        try:
            producer.begin_transaction()
            for m in msgs:
                while True:
                    try:
                        producer.produce(dst, value=m.value(), partition=m.partition())
                        break
                    except BufferError:
                        producer.poll(0.1)
            if pauses and copied >= pauses[0]:
                pauses.pop(0)
                producer.flush(30)
                print(f"paused {copied}", flush=True)
                sys.stdin.readline()
                deadline += 60
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 60)
            while True:
                try:
                    producer.commit_transaction(60)
                    break
                except KafkaException as e:
                    if e.args[0].retriable():
                        continue
                    raise
            copied += len(msgs)
            print(f"progress {copied}", flush=True)
        except KafkaException as e:
            err = e.args[0]
            log("transaction failed:", err)
            if err.fatal():
                raise
            aborts += 1
            while True:
                try:
                    producer.abort_transaction(60)
                    break
                except KafkaException as e2:
                    if e2.args[0].retriable():
                        continue
                    raise
            rewind()
    total = committed_total()
    consumer.close()
    print(json.dumps({"copied": copied, "aborts": aborts, "committed": total}), flush=True)

elif mode == "read":
    topic, parts = sys.argv[3], int(sys.argv[4])
    expect = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"eos-read-{time.time()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
    })
    c.assign([TopicPartition(topic, p, 0) for p in range(parts)])
    values = []
    eof = set()
    deadline = time.time() + 120
    while (len(eof) < parts or len(values) < expect) and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            continue
        eof.discard(m.partition())
        values.append(int(m.value()))
    c.close()
    print(json.dumps({"values": values, "complete": len(eof) == parts}))
else:
    raise SystemExit(f"unknown mode {mode}")
