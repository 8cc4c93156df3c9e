/**
 * kafkajs 2.2.4 consumer groups against a real `kstream serve`: three consumers share a 6-partition topic
 * (each partition owned by exactly one member, 100,000 records, none missing); a second group reads every
 * record too; a member that leaves hands its partitions to the others; a member in a child process killed
 * with SIGKILL (no LeaveGroup) is evicted after its session timeout.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { ROOT } from '../helpers/broker.js';
import { type GroupBroker, startGroupBroker, waitFor } from './groups-helpers.js';

const TOPIC = 'grp-orders';
const N = 100_000;
const SESSION_MS = 6000;
let gb: GroupBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

interface Tracked {
  consumer: Consumer;
  name: string;
  /** partition → values seen */
  seen: Map<number, Set<string>>;
  /** latest assignment from GROUP_JOIN */
  assigned: number[];
}

const consumers: Tracked[] = [];

async function startConsumer(groupId: string, name: string): Promise<Tracked> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: SESSION_MS,
    heartbeatInterval: 500,
    rebalanceTimeout: 10_000,
    // kafkajs heartbeats between fetches: a shorter long-poll lets members notice a rebalance sooner.
    maxWaitTimeInMs: 1000,
    retry: { retries: 10 },
  });
  const t: Tracked = { consumer, name, seen: new Map(), assigned: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    t.assigned = [...(e.payload.memberAssignment[TOPIC] ?? [])].sort((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      let s = t.seen.get(batch.partition);
      if (!s) {
        s = new Set();
        t.seen.set(batch.partition, s);
      }
      for (const m of batch.messages) s.add(m.value?.toString() ?? '');
    },
  });
  consumers.push(t);
  return t;
}

function total(ts: Tracked[]): number {
  const all = new Set<string>();
  for (const t of ts) for (const s of t.seen.values()) for (const v of s) all.add(v);
  return all.size;
}

async function describe1(groupId: string) {
  const d = await admin.describeGroups([groupId]);
  return d.groups[0]!;
}

async function produce(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 5000) {
    const messages = [];
    for (let j = i; j < Math.min(to, i + 5000); j++) messages.push({ key: `k${j}`, value: `v${j}` });
    await producer.send({ topic: TOPIC, messages });
  }
}

describe('kafkajs 2.2.4 consumer groups against kstream serve', () => {
  before(async () => {
    gb = await startGroupBroker();
    kafka = new Kafka({ clientId: 'groups-test', brokers: [gb.broker.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6 }] });
    producer = kafka.producer();
    await producer.connect();
  });

  after(async () => {
    for (const c of consumers) await c.consumer.disconnect().catch(() => {});
    await producer?.disconnect();
    await admin?.disconnect();
    await gb?.cleanup();
  });

  test('3 members share 6 partitions, each owned by one member; 100,000 records, none missing', async () => {
    const group = [
      await startConsumer('js-g1', 'a'),
      await startConsumer('js-g1', 'b'),
      await startConsumer('js-g1', 'c'),
    ];
    await waitFor('a stable group of 3', 30_000, async () => {
      const d = await describe1('js-g1');
      return d.state === 'Stable' && d.members.length === 3 && group.every((t) => t.assigned.length === 2);
    });
    const owned = group.flatMap((t) => t.assigned).sort((a, b) => a - b);
    assert.deepEqual(owned, [0, 1, 2, 3, 4, 5], 'every partition assigned exactly once');
    await produce(0, N);
    await waitFor('all records consumed', 60_000, () => total(group) === N, 200);
    for (const t of group) {
      for (const p of t.seen.keys()) assert.ok(t.assigned.includes(p), `${t.name} read partition ${p} it does not own`);
    }
    const d = await describe1('js-g1');
    assert.equal(d.protocolType, 'consumer');
    assert.equal(d.members.length, 3);
    // Committed offsets reach the log end of every partition.
    const ends = await admin.fetchTopicOffsets(TOPIC);
    await waitFor('offsets committed to the end', 20_000, async () => {
      const committed = await admin.fetchOffsets({ groupId: 'js-g1', topics: [TOPIC] });
      const parts = committed[0]?.partitions ?? [];
      return parts.length === 6 && parts.every((p) => p.offset === ends.find((e) => e.partition === p.partition)?.high);
    });
    const listed = await admin.listGroups();
    assert.ok(listed.groups.some((g) => g.groupId === 'js-g1' && g.protocolType === 'consumer'));
  });

  test('a second group on the same topic receives every record as well', async () => {
    const other = await startConsumer('js-g2', 'solo');
    await waitFor('the second group reads everything', 60_000, () => total([other]) === N, 200);
    assert.equal(other.assigned.length, 6);
  });

  test('a member that disconnects (LeaveGroup) hands its partitions to the others within the session timeout', async () => {
    const group = consumers.filter((c) => ['a', 'b', 'c'].includes(c.name));
    const leaving = group[0]!;
    const rest = group.slice(1);
    const t0 = Date.now();
    await leaving.consumer.disconnect();
    consumers.splice(consumers.indexOf(leaving), 1);
    await waitFor('the two remaining members own all 6 partitions', SESSION_MS + 10_000, async () => {
      const d = await describe1('js-g1');
      const owned = rest.flatMap((t) => t.assigned).sort((a, b) => a - b);
      return d.state === 'Stable' && d.members.length === 2 && owned.join() === '0,1,2,3,4,5';
    });
    const took = Date.now() - t0;
    assert.ok(took < SESSION_MS, `takeover took ${took} ms`);
    const before = total(rest);
    await produce(N, N + 6000);
    await waitFor('new records consumed by the remaining members', 30_000, () => total(rest) >= before + 6000, 200);
  });

  test('a member that crashes (SIGKILL, no LeaveGroup) is evicted after the session timeout', async () => {
    // The crashing member runs kafkajs in a child process.
    const script = `
      import { Kafka, logLevel } from 'kafkajs';
      const kafka = new Kafka({ clientId: 'child', brokers: [process.argv[1]], logLevel: logLevel.NOTHING });
      const c = kafka.consumer({ groupId: 'js-g1', sessionTimeout: ${SESSION_MS}, heartbeatInterval: 500, rebalanceTimeout: 10000, maxWaitTimeInMs: 1000 });
      c.on(c.events.GROUP_JOIN, (e) => console.log('JOINED ' + JSON.stringify(e.payload.memberAssignment)));
      await c.connect();
      await c.subscribe({ topic: '${TOPIC}', fromBeginning: true });
      await c.run({ eachMessage: async () => {} });
    `;
    const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script, gb.broker.bootstrap], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor('the child joined a group of 3', 30_000, async () => {
        const d = await describe1('js-g1');
        return out.includes('JOINED') && d.state === 'Stable' && d.members.length === 3;
      });
      const rest = consumers.filter((c) => ['b', 'c'].includes(c.name));
      await waitFor('the others hold 4 partitions', 20_000, () => rest.flatMap((t) => t.assigned).length === 4);
      const t0 = Date.now();
      child.kill('SIGKILL');
      await exited;
      await waitFor('the crashed member evicted and its partitions reassigned', SESSION_MS + 20_000, async () => {
        const d = await describe1('js-g1');
        const owned = rest.flatMap((t) => t.assigned).sort((a, b) => a - b);
        return d.state === 'Stable' && d.members.length === 2 && owned.join() === '0,1,2,3,4,5';
      });
      const took = Date.now() - t0;
      console.log(`# crashed member evicted and partitions reassigned ${took} ms after SIGKILL`);
      assert.ok(took >= SESSION_MS - 1000, `evicted after ${took} ms, before the session timeout`);
      assert.ok(took < SESSION_MS + 15_000, `evicted after ${took} ms`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});
