"""A librdkafka consumer in a group for the fault harness: subscribes to TOPIC as a member of GROUP, reads from
the earliest offset where the group has none, commits automatically every second, until SIGTERM (then it
closes: a last commit, and it leaves the group).

usage: consumer.py BOOTSTRAP TOPIC GROUP NAME

One line on stdout per event, flushed at once:
  R <partition> <offset> <value>     a record handed to the application
  C <partition> <offset>             an offset the coordinator acknowledged as committed
  E <error>                          an error reported by librdkafka (it retries by itself)
"""
import signal
import sys

from confluent_kafka import Consumer, KafkaError

bootstrap, topic, group, name = sys.argv[1:5]

running = True


def stop(_sig, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def on_commit(err, partitions):
    if err is not None:
        out("E commit %s" % str(err).replace("\n", " "))
        return
    for tp in partitions:
        if tp.error is None and tp.offset >= 0:
            out("C %d %d" % (tp.partition, tp.offset))


c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "client.id": name,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 1000,
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
    "on_commit": on_commit,
})
c.subscribe([topic])
while running:
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        if m.error().code() != KafkaError._PARTITION_EOF:
            out("E %s" % str(m.error()).replace("\n", " "))
        continue
    out("R %d %d %s" % (m.partition(), m.offset(), m.value().decode()))
c.close()
