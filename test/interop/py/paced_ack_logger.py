"""Produce sequential values with acks=all at a steady rate, round-robin over partitions 0..N-1, until killed
(SIGTERM flushes first). Prints "partition offset value" for every acknowledged record, flushed at once, and
"ERR partition value error" on stderr for every record that failed, so a test knows exactly what was
acknowledged and when.

usage: paced_ack_logger.py BOOTSTRAP TOPIC PARTITIONS RATE_PER_SECOND"""
import signal
import sys
import time

from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
partitions = int(sys.argv[3])
rate = float(sys.argv[4])

producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "linger.ms": 5,
    "message.timeout.ms": 120000,
    "enable.idempotence": False,
})

running = True


def stop(_sig, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def report(err, msg):
    if err is None:
        sys.stdout.write("%d %d %s\n" % (msg.partition(), msg.offset(), msg.value().decode()))
        sys.stdout.flush()
    else:
        sys.stderr.write("ERR %d %s %s\n" % (msg.partition(), msg.value().decode(), err))
        sys.stderr.flush()


start = time.monotonic()
i = 0
while running:
    due = start + i / rate
    now = time.monotonic()
    if now < due:
        producer.poll(min(due - now, 0.05))
        continue
    try:
        producer.produce(topic, value=("v-%d" % i).encode(), partition=i % partitions, on_delivery=report)
        i += 1
    except BufferError:
        producer.poll(0.05)
    producer.poll(0)
producer.flush(60)
sys.stdout.write("DONE %d\n" % i)
sys.stdout.flush()
