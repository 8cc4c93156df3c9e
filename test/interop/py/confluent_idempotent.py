"""confluent-kafka-python (librdkafka) with enable.idempotence=true against kstream: produce numbered
records (value = its number, key = number % 13), then read every partition with assign() and check that
every acknowledged record is stored exactly once and in order per partition.
Args: bootstrap topic n [partitions] [idempotence true|false] [create true|false].
Prints one JSON line: produced, consumed, duplicates, missing, out_of_order, errors, unflushed, fatal."""
import json
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
partitions = int(sys.argv[4]) if len(sys.argv) > 4 else 3
idempotence = (sys.argv[5] if len(sys.argv) > 5 else "true") == "true"
create = (sys.argv[6] if len(sys.argv) > 6 else "true") == "true"

if create:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)], operation_timeout=10)
    fs[topic].result(timeout=15)

errors = []
fatal = []


def on_error(err):
    if err.fatal():
        fatal.append(str(err))


producer = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": idempotence,
    "acks": "all",
    "linger.ms": 5,
    "batch.num.messages": 500,
    "error_cb": on_error,
})
acked = set()


def report(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        acked.add(int(msg.value()))


for i in range(n):
    while True:
        try:
            producer.produce(topic, key=str(i % 13).encode(), value=str(i).encode(), on_delivery=report)
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)
left = producer.flush(60)

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "unused-assign-only",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
})
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
seen = {}
last = {}
out_of_order = 0
eof = set()
while len(eof) < partitions:
    msg = consumer.poll(10)
    if msg is None:
        errors.append("poll timed out")
        break
    if msg.error():
        if msg.error().code() == -191:  # _PARTITION_EOF
            eof.add(msg.partition())
            continue
        errors.append(str(msg.error()))
        break
    v = int(msg.value())
    seen[v] = seen.get(v, 0) + 1
    if v <= last.get(msg.partition(), -1):
        out_of_order += 1
    last[msg.partition()] = max(v, last.get(msg.partition(), -1))
consumer.close()

print(json.dumps({
    "produced": len(acked),
    "consumed": sum(seen.values()),
    "duplicates": sum(c - 1 for c in seen.values() if c > 1),
    "missing": len([v for v in acked if v not in seen]),
    "out_of_order": out_of_order,
    "errors": errors[:5],
    "unflushed": left,
    "fatal": fatal[:5],
}))
