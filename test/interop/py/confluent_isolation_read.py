"""confluent-kafka-python (librdkafka) reads partition 0 of a topic from the beginning to its end with the given
isolation.level (read_committed stops at the last stable offset and skips aborted transactions' records;
read_uncommitted reads them all). Prints one JSON line: {"values": [...], "offsets": [...]} (values as UTF-8).
Args: bootstrap topic isolation_level. Exits non-zero on a consumer error."""
import json
import sys

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

bootstrap, topic, isolation = sys.argv[1], sys.argv[2], sys.argv[3]

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "unused-assign-only",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
    "isolation.level": isolation,
})
consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
values = []
offsets = []
while True:
    msg = consumer.poll(15)
    if msg is None:
        sys.exit("poll timed out")
    if msg.error():
        if msg.error().code() == -191:  # _PARTITION_EOF
            break
        sys.exit(str(msg.error()))
    values.append(msg.value().decode())
    offsets.append(msg.offset())
consumer.close()
print(json.dumps({"values": values, "offsets": offsets}))
