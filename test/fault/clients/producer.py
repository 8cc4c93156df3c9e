"""A librdkafka producer for the fault harness: acks=all, no idempotence, values "<NAME>-<i>" round-robin over
partitions 0..N-1 at a steady rate, until SIGTERM; then it flushes for at most FLUSH seconds and exits.

usage: producer.py BOOTSTRAP TOPIC PARTITIONS RATE NAME FLUSH

One line on stdout per event, flushed at once (the harness timestamps them):
  S <partition> <value>              handed to the producer
  A <partition> <offset> <value>     acknowledged (acks=all)
  F <partition> <value> <error>      failed (a timeout is not a no: it may be stored)
  DONE <sent>
"""
import signal
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, partitions, rate, name, flush_s = sys.argv[1:7]
partitions = int(partitions)
rate = float(rate)

producer = Producer({
    "bootstrap.servers": bootstrap,
    "client.id": name,
    "acks": "all",
    "enable.idempotence": False,
    "linger.ms": 5,
    "message.timeout.ms": 30000,
    "request.timeout.ms": 10000,
    "retry.backoff.ms": 200,
})

running = True


def stop(_sig, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def report(err, msg):
    value = msg.value().decode()
    if err is None:
        out("A %d %d %s" % (msg.partition(), msg.offset(), value))
    else:
        out("F %d %s %s" % (msg.partition(), value, str(err).replace("\n", " ")))


start = time.monotonic()
i = 0
while running:
    due = start + i / rate
    now = time.monotonic()
    if now < due:
        producer.poll(min(due - now, 0.05))
        continue
    p = i % partitions
    value = "%s-%d" % (name, i)
    try:
        producer.produce(topic, value=value.encode(), partition=p, on_delivery=report)
        out("S %d %s" % (p, value))
        i += 1
    except BufferError:
        producer.poll(0.05)
    producer.poll(0)
producer.flush(float(flush_s))
out("DONE %d" % i)
