"""Produce numbered records 0..n-1 (value = the number) to partition 0 of a topic with acks=all, retrying
through leader failures, idempotent or not. Prints "offset value" for every acknowledged record (flushed at
once, so a test knows what was acknowledged and when), then one line "DONE <json>" with the errors.
Args: bootstrap topic n idempotence(true|false) [records per second, default 5000]."""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, n, idempotence = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "true"
rate = int(sys.argv[5]) if len(sys.argv) > 5 else 5000
errors = []
fatal = []


def on_error(err):
    if err.fatal():
        fatal.append(str(err))


producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "enable.idempotence": idempotence,
    "linger.ms": 5,
    "batch.num.messages": 200,
    "message.timeout.ms": 120000,
    "retry.backoff.ms": 200,
    "error_cb": on_error,
})


def report(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        sys.stdout.write("%d %s\n" % (msg.offset(), msg.value().decode()))
        sys.stdout.flush()


i = 0
started = time.monotonic()
while i < n:
    ahead = i / rate - (time.monotonic() - started)
    if ahead > 0:
        producer.poll(ahead)
    try:
        producer.produce(topic, value=str(i).encode(), partition=0, on_delivery=report)
        i += 1
    except BufferError:
        producer.poll(0.05)
    producer.poll(0)
    if i % 200 == 0:
        producer.poll(0.002)
left = producer.flush(180)
sys.stdout.write("DONE %s\n" % json.dumps({"errors": errors[:5], "fatal": fatal[:5], "unflushed": left}))
sys.stdout.flush()
