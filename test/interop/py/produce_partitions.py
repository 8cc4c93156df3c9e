"""Produce COUNT records to every partition of a topic (explicit partition, acks=all) with confluent-kafka.

usage: produce_partitions.py BOOTSTRAP TOPIC PARTITIONS COUNT

Values are "<partition>-<i>". Prints one JSON line: {"delivered": n, "errors": [first few error strings]}.
"""
import json
import sys

from confluent_kafka import Producer

bootstrap, topic, partitions, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
result = {'delivered': 0, 'errors': []}


def on_delivery(err, msg):
    if err is not None:
        if len(result['errors']) < 5:
            result['errors'].append(str(err))
    else:
        result['delivered'] += 1


p = Producer({'bootstrap.servers': bootstrap, 'acks': 'all', 'linger.ms': 5, 'message.timeout.ms': 60000})
for i in range(count):
    for part in range(partitions):
        while True:
            try:
                p.produce(topic, value=f'{part}-{i}'.encode(), partition=part, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
    p.poll(0)
p.flush(90)
print(json.dumps(result))
