"""kafka-python 2.0.2 against kstream: produce with acks=all and the given codec to an auto-created topic,
consume with assign() from the beginning, check every record. Prints one JSON line."""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, codec, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

producer = KafkaProducer(
    bootstrap_servers=bootstrap,
    acks="all",
    compression_type=None if codec == "none" else codec,
    linger_ms=5,
)
futures = []
for i in range(n):
    key = None if i % 10 == 0 else ("key-%d" % (i % 101)).encode()
    value = ("value-%d-" % i).encode() + bytes(range(i % 50))
    headers = [("h", ("%d" % i).encode())] if i % 3 == 0 else []
    futures.append((key, value, headers, producer.send(topic, key=key, value=value, headers=headers)))
producer.flush(60)
sent = {}
errors = []
for key, value, headers, f in futures:
    try:
        md = f.get(timeout=30)
        sent[(md.partition, md.offset)] = (key, value, headers)
    except Exception as e:  # noqa: BLE001
        errors.append(repr(e))
producer.close()

partitions = sorted({p for (p, _) in sent})
consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
tps = [TopicPartition(topic, p) for p in partitions]
consumer.assign(tps)
consumer.seek_to_beginning(*tps)
got = {}
for msg in consumer:
    got[(msg.partition, msg.offset)] = (msg.key, msg.value, [(k, v) for k, v in msg.headers])
    if len(got) >= len(sent):
        break
consumer.close()
mismatches = []
for k, v in sent.items():
    if got.get(k) != v:
        mismatches.append("record %s differs: %r vs %r" % (k, got.get(k), v))
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
    "mismatches": mismatches[:5],
    "contiguous": contiguous,
}))
