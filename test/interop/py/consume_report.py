"""Consume every partition of a topic from the beginning with assign() and report, per partition, how many
records arrived, the last offset, and the errors the client reported for it.

usage: consume_report.py BOOTSTRAP TOPIC PARTITIONS TIMEOUT_S [confluent|kafka-python]

A partition is done at its end (EOF) or after an error; the script stops when all are done or at the
timeout. Prints one JSON line: {"partitions": {"0": {"count": n, "last": o, "errors": [...]}, ...}}.
"""
import json
import sys
import time

bootstrap, topic, partitions, timeout_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
client = sys.argv[5] if len(sys.argv) > 5 else 'confluent'
report = {str(p): {'count': 0, 'last': -1, 'errors': []} for p in range(partitions)}
done = set()
deadline = time.time() + timeout_s

if client == 'confluent':
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'consume-report',
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'fetch.error.backoff.ms': 100,
    })
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    while len(done) < partitions and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        p = m.partition()
        if m.error():
            e = m.error()
            if e.code() == KafkaError._PARTITION_EOF:
                done.add(p)
                continue
            if p is None or p < 0:
                continue
            r = report[str(p)]
            if len(r['errors']) < 3:
                r['errors'].append({'code': e.code(), 'name': e.name()})
            done.add(p)
            continue
        r = report[str(p)]
        r['count'] += 1
        r['last'] = m.offset()
    c.close()
else:
    from kafka import KafkaConsumer, TopicPartition

    # max_poll_records=1: kafka-python 2.0.2 raises a partition's fetch error from poll() and drops the records
    # of other partitions it had already taken in that same poll (the Java client returns them and raises on
    # the next poll); one record per poll never has any taken when it raises.
    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        api_version_auto_timeout_ms=10000,
        max_poll_records=1,
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    ends = c.end_offsets(tps)
    # kafka-python raises a partition's fetch error from poll() without naming the partition: keep polling
    # (the other partitions go on) until every partition is at its end or nothing moved for 3 s after an error.
    raised = []
    last_progress = time.time()
    while time.time() < deadline:
        batch = {}
        try:
            batch = c.poll(timeout_ms=200)
        except Exception as e:
            if len(raised) < 3:
                raised.append({'code': getattr(e, 'errno', -1), 'name': type(e).__name__})
        for tp, msgs in batch.items():
            r = report[str(tp.partition)]
            for m in msgs:
                r['count'] += 1
                r['last'] = m.offset
            if msgs:
                last_progress = time.time()
        if all(report[str(tp.partition)]['last'] + 1 >= ends[tp] for tp in tps):
            break
        if raised and time.time() - last_progress > 3:
            break
    for tp in tps:
        if report[str(tp.partition)]['last'] + 1 < ends[tp]:
            report[str(tp.partition)]['errors'] = raised
    c.close()

print(json.dumps({'partitions': report}))
