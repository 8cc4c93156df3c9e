"""Produce sequential values with acks=all until killed; print "partition offset value" for every
acknowledged record, flushed at once, so a test knows exactly what was acknowledged."""
import sys

from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
limit = int(sys.argv[4]) if len(sys.argv) > 4 else 10**9

producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "linger.ms": 2,
    "message.timeout.ms": 300000,
    "enable.idempotence": False,
    "retries": 0,
})


def report(err, msg):
    if err is None:
        sys.stdout.write("%d %d %s\n" % (msg.partition(), msg.offset(), msg.value().decode()))
        sys.stdout.flush()


i = start
while i < start + limit:
    try:
        producer.produce(topic, value=("v-%d" % i).encode(), partition=0, on_delivery=report)
        i += 1
    except BufferError:
        producer.poll(0.05)
    producer.poll(0)
    if i % 200 == 0:
        producer.poll(0.002)
producer.flush(30)
