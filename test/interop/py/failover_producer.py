"""Produce with acks=all and librdkafka's defaults otherwise (message.timeout.ms, retries, backoffs), at a
steady rate, round-robin over partitions 0..N-1, until SIGTERM (then flushes). For every record it prints,
flushed at once, one line with wall-clock times in ms:

  A <partition> <offset> <sent_ms> <acked_ms>     acknowledged
  E <partition> <sent_ms> <failed_ms> <error>     failed (a delivery error)

so a test knows when each partition stopped and resumed acknowledging.

usage: failover_producer.py BOOTSTRAP TOPIC PARTITIONS RATE_PER_SECOND"""
import signal
import sys
import time

from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
partitions = int(sys.argv[3])
rate = float(sys.argv[4])

producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})

running = True


def stop(_sig, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)


def now_ms():
    return int(time.time() * 1000)


def report(err, msg):
    sent = int(msg.value().decode().split("-")[1])
    if err is None:
        sys.stdout.write("A %d %d %d %d\n" % (msg.partition(), msg.offset(), sent, now_ms()))
    else:
        sys.stdout.write("E %d %d %d %s\n" % (msg.partition(), sent, now_ms(), str(err).replace("\n", " ")))
    sys.stdout.flush()


start = time.monotonic()
i = 0
while running:
    due = start + i / rate
    now = time.monotonic()
    if now < due:
        producer.poll(min(due - now, 0.02))
        continue
    try:
        producer.produce(topic, value=("%d-%d" % (i, now_ms())).encode(), partition=i % partitions, on_delivery=report)
        i += 1
    except BufferError:
        producer.poll(0.05)
    producer.poll(0)
producer.flush(120)
sys.stdout.write("DONE %d\n" % i)
sys.stdout.flush()
