/**
 * Mixed consumer groups: one of our consumers and one librdkafka consumer (confluent-kafka-python) in the same
 * group, with range and with cooperative-sticky, each client being the group leader once. They can only split
 * the topic if each decodes the other's ConsumerProtocol subscription and assignment bytes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { type GroupBroker, startGroupBroker, waitFor } from '../interop/groups-helpers.js';

const MEMBER = `
import json, sys, threading
from confluent_kafka import Consumer
bootstrap, topic, group, strategy = sys.argv[1:5]
owned = set()
def emit(o):
    sys.stdout.write(json.dumps(o) + "\\n"); sys.stdout.flush()
def on_assign(c, parts):
    global owned
    ps = {p.partition for p in parts}
    owned = owned | ps if strategy == "cooperative-sticky" else ps
    emit({"assignment": sorted(owned)})
def on_revoke(c, parts):
    global owned
    owned = owned - {p.partition for p in parts} if strategy == "cooperative-sticky" else set()
    emit({"assignment": sorted(owned)})
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "librdkafka-member",
              "partition.assignment.strategy": strategy, "auto.offset.reset": "earliest",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 300, "log_level": 0})
c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.is_set():
    m = c.poll(0.1)
    if m is not None and not m.error():
        emit({"p": m.partition(), "o": m.offset()})
c.close()
emit({"closed": True})
`;

let gb: GroupBroker;
let admin: Admin;

interface TheirMember {
  child: ChildProcess;
  assignment: number[] | null;
  read: Set<string>;
  closed: Promise<void>;
}

function startTheirs(topic: string, groupId: string, strategy: string): TheirMember {
  const child = spawn('/usr/bin/python3', ['-c', MEMBER, gb.broker.bootstrap, topic, groupId, strategy], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const m: TheirMember = { child, assignment: null, read: new Set(), closed: Promise.resolve() };
  let buf = '';
  child.stdout?.on('data', (d) => {
    buf += d;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = JSON.parse(buf.slice(0, i)) as { assignment?: number[]; p?: number; o?: number };
      buf = buf.slice(i + 1);
      if (line.assignment) m.assignment = line.assignment;
      if (line.p !== undefined) m.read.add(`${line.p}/${line.o}`);
      i = buf.indexOf('\n');
    }
  });
  m.closed = new Promise((resolve) => child.once('exit', () => resolve()));
  return m;
}

async function stopTheirs(m: TheirMember): Promise<void> {
  m.child.stdin?.end();
  const t = setTimeout(() => m.child.kill('SIGKILL'), 10_000);
  await m.closed;
  clearTimeout(t);
}

function startOurs(topic: string, groupId: string, strategy: 'range' | 'cooperative-sticky') {
  const consumer = new Consumer({
    brokers: gb.broker.bootstrap,
    groupId,
    clientId: 'kstream-member',
    assignors: [strategy],
    autoOffsetReset: 'earliest',
    heartbeatIntervalMs: 300,
    sessionTimeoutMs: 6000,
    rebalanceTimeoutMs: 10_000,
    maxWaitMs: 100,
  });
  consumer.subscribe([topic]);
  const read: ConsumerRecord[] = [];
  const done = (async () => {
    for await (const r of consumer.records()) read.push(r);
  })();
  return { consumer, read, done };
}

async function produce(topic: string, perPartition: number): Promise<void> {
  const p = new Producer({ brokers: gb.broker.bootstrap });
  const recs = [];
  for (let part = 0; part < 4; part++)
    for (let i = 0; i < perPartition; i++) recs.push({ topic, partition: part, value: 'v' });
  await p.sendBatch(recs);
  await p.close();
}

describe('mixed groups: our consumer with a librdkafka consumer', () => {
  before(async () => {
    gb = await startGroupBroker({ 'group.initial.rebalance.delay.ms': '0' });
    admin = new Admin({ brokers: gb.broker.bootstrap });
  });

  after(async () => {
    await admin?.close();
    await gb?.cleanup();
  });

  for (const strategy of ['range', 'cooperative-sticky'] as const) {
    for (const first of ['librdkafka', 'kstream'] as const) {
      test(`${strategy}: ${first} joins first (and leads); the two split 4 partitions and read everything`, async () => {
        const topic = `mixed-${strategy}-${first}`;
        const groupId = `g-${topic}`;
        await admin.createTopics([{ topic, numPartitions: 4 }]);
        await produce(topic, 25);
        let theirs: TheirMember | null = null;
        let ours: ReturnType<typeof startOurs> | null = null;
        try {
          if (first === 'librdkafka') {
            theirs = startTheirs(topic, groupId, strategy);
            await waitFor('librdkafka owns 4 partitions', 20_000, () => theirs?.assignment?.length === 4);
            ours = startOurs(topic, groupId, strategy);
          } else {
            ours = startOurs(topic, groupId, strategy);
            await waitFor('kstream owns 4 partitions', 20_000, () => ours?.consumer.assignment().length === 4);
            theirs = startTheirs(topic, groupId, strategy);
          }
          const o = ours;
          const t = theirs;
          await waitFor(
            'a 2/2 split',
            30_000,
            () => t.assignment?.length === 2 && o.consumer.assignment().length === 2,
          );
          const mine = o.consumer.assignment().map((tp) => tp.partition);
          assert.deepEqual([...mine, ...(t.assignment ?? [])].sort(), [0, 1, 2, 3]);
          const [desc] = await admin.describeGroups([groupId]);
          assert.equal(desc?.protocol, strategy);
          assert.equal(desc?.members.length, 2);
          const meta = o.consumer.groupMetadata();
          assert.equal(meta?.protocol, strategy);
          assert.equal(meta?.leaderId === meta?.memberId, first === 'kstream', `${first} leads the group`);
          await produce(topic, 25);
          const union = () => new Set([...t.read, ...o.read.map((r) => `${r.partition}/${r.offset}`)]);
          await waitFor('all 200 records read by the group', 20_000, () => union().size === 200);
          // After the split, new records were read only by their partition's owner.
          const late = o.read.filter((r) => r.offset >= 25n);
          assert.ok(
            late.every((r) => mine.includes(r.partition)),
            'ours read only its partitions',
          );
        } finally {
          if (theirs) await stopTheirs(theirs);
          if (ours) {
            await ours.consumer.close();
            await ours.done;
          }
        }
      });
    }
  }
});
