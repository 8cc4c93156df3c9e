"""confluent-kafka-python (librdkafka) against kstream: create a topic with AdminClient, produce with
acks=all and the given codec, consume with assign() from the beginning, and check every record.
Prints one JSON line with the results; exits non-zero on any mismatch."""
import json
import os
import sys

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, codec, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

admin = AdminClient({"bootstrap.servers": bootstrap})
fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)], operation_timeout=10)
fs[topic].result(timeout=15)

producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "compression.type": codec,
    "linger.ms": 5,
    "enable.idempotence": False,
})
sent = {}
errors = []


def reporter(key, value, headers):
    # Delivery reports do not carry headers: remember what was sent for this message.
    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            sent[(msg.partition(), msg.offset())] = (key, value, headers)
    return report


for i in range(n):
    key = None if i % 10 == 0 else ("key-%d" % (i % 101)).encode()
    value = os.urandom(i % 40) + ("value-%d" % i).encode() if i % 7 else b""
    headers = [("h", ("%d" % i).encode()), ("bin", bytes([i % 256]))] if i % 3 == 0 else None
    while True:
        try:
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=reporter(key, value, headers))
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
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
got = {}
eof = set()
mismatches = []
while len(eof) < 3:
    msg = consumer.poll(10)
    if msg is None:
        mismatches.append("poll timed out")
        break
    if msg.error():
        if msg.error().code() == -191:  # _PARTITION_EOF
            eof.add(msg.partition())
            continue
        mismatches.append(str(msg.error()))
        break
    got[(msg.partition(), msg.offset())] = (msg.key(), msg.value(), msg.headers())
consumer.close()

for k, v in sent.items():
    if got.get(k) != v:
        mismatches.append("record %s differs" % (k,))
        if len(mismatches) > 5:
            break
per_partition = {}
for (p, o) in got:
    per_partition.setdefault(p, []).append(o)
contiguous = all(sorted(offs) == list(range(len(offs))) for offs in per_partition.values())
print(json.dumps({
    "produced": len(sent),
    "consumed": len(got),
    "errors": errors[:5],
    "unflushed": left,
    "mismatches": mismatches[:5],
    "contiguous": contiguous,
    "partitions": len(per_partition),
}))
