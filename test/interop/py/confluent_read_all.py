"""confluent-kafka-python (librdkafka) reads a whole topic: assign() every partition from the beginning and read
to the end of each. Prints one JSON line per record, in partition then offset order:
{"partition", "offset", "timestamp", "key", "value", "headers": [[key, value], ...]} with key, value and header
values as base64 (null stays null). Exits non-zero on a consumer error."""
import base64
import ctypes
import json
import sys

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])


def headers_of(msg):
    """msg.headers(), compensating confluent-kafka-python < 1.8.2's missing Py_INCREF of None for a null header
    value (Debian ships 1.7.0; confluentinc/confluent-kafka-python#1191): without it the interpreter aborts with
    "deallocating None" once enough null header values were read."""
    hs = msg.headers() or []
    for (_, v) in hs:
        if v is None:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return hs


def b64(v):
    return None if v is None else base64.b64encode(v).decode()


consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "unused-assign-only",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
})
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
records = []
eof = set()
while len(eof) < partitions:
    msg = consumer.poll(15)
    if msg is None:
        sys.exit("poll timed out")
    if msg.error():
        if msg.error().code() == -191:  # _PARTITION_EOF
            eof.add(msg.partition())
            continue
        sys.exit(str(msg.error()))
    records.append({
        "partition": msg.partition(),
        "offset": msg.offset(),
        "timestamp": msg.timestamp()[1],
        "key": b64(msg.key()),
        "value": b64(msg.value()),
        "headers": [[k, b64(v)] for (k, v) in headers_of(msg)],
    })
consumer.close()
for r in sorted(records, key=lambda r: (r["partition"], r["offset"])):
    print(json.dumps(r))
