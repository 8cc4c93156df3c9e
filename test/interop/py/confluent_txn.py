"""Transactions with confluent-kafka-python (librdkafka) against a broker. Prints one JSON line.
Args: bootstrap topic mode
  commit-abort  commit 100 records, abort 50, commit 100 more (transactional.id txn-ca-<topic>); then read the
                topic with read_committed and read_uncommitted and count what each sees.
  zombie        producer A begins a transaction and produces; producer B with the same transactional.id
                initializes (fencing A); A's commit fails: its error name. B then commits 10 records.
  timeout       a producer (transaction.timeout.ms 2000) produces 10 records and never commits; another commits
                5; read_committed reads the topic to its end: the records it saw and whether it reached the end.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, topic, mode = sys.argv[1], sys.argv[2], sys.argv[3]


def producer(txn_id, **extra):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5}
    conf.update(extra)
    return Producer(conf)


def send(p, prefix, n):
    for i in range(n):
        p.produce(topic, value=f"{prefix}-{i}".encode(), partition=i % 2)
    p.flush(30)


def read_all(isolation, expect_at_least=0, seconds=20):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"read-{isolation}-{time.time()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": isolation,
    })
    parts = [TopicPartition(topic, p, 0) for p in range(2)]
    c.assign(parts)
    values = []
    deadline = time.time() + seconds
    ended = set()
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            # At the end of every partition (read_committed: the LSO) once enough was read.
            ended = set()
            for tp in c.position(parts):
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, tp.partition), cached=False)
                if tp.offset >= hi or (tp.offset < 0 and hi == 0):
                    ended.add(tp.partition)
            if len(values) >= expect_at_least and len(ended) == 2:
                break
            continue
        if m.error():
            continue
        values.append(m.value().decode())
    c.close()
    return values, len(ended) == 2


def err_name(e):
    err = e.args[0]
    return err.name() if hasattr(err, "name") else str(err)


if mode == "commit-abort":
    p = producer(f"txn-ca-{topic}")
    p.init_transactions(30)
    p.begin_transaction()
    send(p, "c1", 100)
    p.commit_transaction(30)
    p.begin_transaction()
    send(p, "ab", 50)
    p.abort_transaction(30)
    p.begin_transaction()
    send(p, "c2", 100)
    p.commit_transaction(30)
    rc, rc_end = read_all("read_committed", 200)
    ru, _ = read_all("read_uncommitted", 250)
    print(json.dumps({
        "read_committed": len(rc),
        "read_committed_aborted": sum(1 for v in rc if v.startswith("ab")),
        "read_committed_distinct": len(set(rc)),
        "read_committed_end": rc_end,
        "read_uncommitted": len(ru),
        "read_uncommitted_aborted": sum(1 for v in ru if v.startswith("ab")),
    }))
elif mode == "zombie":
    a = producer(f"txn-z-{topic}")
    a.init_transactions(30)
    a.begin_transaction()
    send(a, "zombie", 10)
    b = producer(f"txn-z-{topic}")
    b.init_transactions(60)
    result = {}
    try:
        a.commit_transaction(30)
        result["zombie_commit"] = "NONE"
    except KafkaException as e:
        result["zombie_commit"] = err_name(e)
        result["zombie_fatal"] = e.args[0].fatal()
    b.begin_transaction()
    send(b, "new", 10)
    b.commit_transaction(30)
    rc, _ = read_all("read_committed", 10)
    result["read_committed"] = sorted(set(v.split("-")[0] for v in rc))
    result["read_committed_count"] = len(rc)
    print(json.dumps(result))
elif mode == "timeout":
    stuck = producer(f"txn-t-stuck-{topic}", **{"transaction.timeout.ms": 2000})
    stuck.init_transactions(30)
    stuck.begin_transaction()
    send(stuck, "stuck", 10)
    ok = producer(f"txn-t-ok-{topic}")
    ok.init_transactions(30)
    ok.begin_transaction()
    send(ok, "ok", 5)
    ok.commit_transaction(30)
    rc, rc_end = read_all("read_committed", 5, 40)
    print(json.dumps({"read_committed": sorted(set(v.split("-")[0] for v in rc)), "count": len(rc), "end": rc_end}))
    # The stuck producer is not closed cleanly on purpose (no commit or abort).
else:
    raise SystemExit(f"unknown mode {mode}")
