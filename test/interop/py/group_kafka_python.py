"""kafka-python 2.0.2 consumer groups against kstream.

  group_kafka_python.py BOOTSTRAP TOPIC GROUP consume COUNT
      join GROUP (subscribe), read COUNT records, commit exactly the next offsets of what was read, leave.
  group_kafka_python.py BOOTSTRAP TOPIC GROUP drain TOTAL
      join GROUP and read until nothing new arrives for a while (or TOTAL records).
Prints JSON: {"read": [[partition, offset], ...], "committed": {partition: offset}}.
"""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

bootstrap, topic, group, mode, count = sys.argv[1:6]
count = int(count)

c = KafkaConsumer(
    bootstrap_servers=bootstrap,
    group_id=group,
    client_id="kafka-python-group",
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    session_timeout_ms=6000,
    heartbeat_interval_ms=500,
)
c.subscribe([topic])
read = []
last = {}
idle_since = time.time()
deadline = time.time() + 90
while len(read) < count and time.time() < deadline:
    batch = c.poll(timeout_ms=200, max_records=count - len(read))
    if not batch:
        if mode == "drain" and read and time.time() - idle_since > 4:
            break
        continue
    idle_since = time.time()
    for tp, msgs in batch.items():
        for m in msgs:
            read.append([m.partition, m.offset])
            last[m.partition] = m.offset
if mode == "consume":
    c.commit({TopicPartition(topic, p): OffsetAndMetadata(o + 1, "kp") for p, o in last.items()})
committed = {}
for p in sorted(c.partitions_for_topic(topic) or []):
    off = c.committed(TopicPartition(topic, p))
    if off is not None:
        committed[p] = off
c.close()
print(json.dumps({"read": read, "committed": committed}))
