/**
 * Exactly once across leader kills (issue 16): 3 nodes, RF 3, min.insync.replicas=2. An idempotent
 * librdkafka producer sends 100,000 numbered records to one partition while its leader is SIGKILLed (and
 * restarted) twice: every acknowledged record is stored exactly once and in order, because the followers
 * built the same producer state from what they replicated and the new leader recognizes the retries of
 * batches the old one stored. The same run without idempotence prints the duplicates it stored (TAP
 * diagnostics: both counts). Also confluent-kafka-python and kafkajs idempotent producers against the cluster.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ROOT } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
const N = 100_000;
let cluster: Cluster;
let admin: Admin;
const children: ChildProcess[] = [];

async function leaderOf(topic: string): Promise<number | undefined> {
  const k = new Kafka({ brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const a = k.admin();
  await a.connect();
  try {
    const md = await a.fetchTopicMetadata({ topics: [topic] });
    const p = md.topics[0]?.partitions[0];
    return p && p.leader >= 0 && p.isr.length >= 2 ? p.leader : undefined;
  } finally {
    await a.disconnect();
  }
}

/** Until every node's Metadata names the same live leader for each partition of `topic`. */
async function leadersSettled(topic: string, partitions: number): Promise<void> {
  await until(`${topic} leaders known to every node`, async () => {
    const views: string[] = [];
    for (const id of cluster.ids) {
      const md = await RawClient.using(cluster.node(id).port, (c) =>
        c.request(ApiKey.Metadata, 1, { topics: [{ name: topic }] }),
      );
      const parts = ((md.topics as Struct[])[0]?.partitions ?? []) as Struct[];
      if (parts.length !== partitions || parts.some((p) => (p.leaderId as number) < 0)) return false;
      views.push(
        parts
          .map((p) => `${p.partitionIndex}:${p.leaderId}`)
          .sort()
          .join(','),
      );
    }
    return views.every((v) => v === views[0]);
  });
}

interface Outcome {
  acked: number;
  stored: number;
  duplicates: number;
  missing: number;
  outOfOrder: number;
  done: { errors: string[]; fatal: string[]; unflushed: number };
}

/** Produce N records to `topic` (idempotent or not), SIGKILLing (and restarting) its leader twice meanwhile. */
async function runWithKills(topic: string, idempotence: boolean): Promise<Outcome> {
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
    ],
  });
  await until(`${topic} leader`, () => leaderOf(topic));
  const producer = spawn(
    '/usr/bin/python3',
    [join(ROOT, 'test/interop/py/eos_producer.py'), cluster.bootstrap(), topic, String(N), String(idempotence)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(producer);
  const acked = new Set<string>();
  let done: Outcome['done'] | null = null;
  let partial = '';
  producer.stdout?.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() as string;
    for (const l of lines) {
      if (l.startsWith('DONE ')) done = JSON.parse(l.slice(5)) as Outcome['done'];
      else acked.add(l.split(' ')[1] as string);
    }
  });
  const exited = new Promise((r) => producer.once('exit', r));
  for (const at of [N * 0.3, N * 0.65]) {
    await until(`${at} acks`, async () => acked.size >= at, 120_000);
    const leader = (await until(`${topic} leader`, () => leaderOf(topic), 60_000)) as number;
    await cluster.kill(leader);
    await until('acks from the new leader', async () => acked.size >= at + 1000, 90_000);
    await cluster.start(leader);
  }
  await exited;
  assert.ok(done, 'the producer finished');
  const { stdout } = await run(
    'kcat',
    ['-b', cluster.bootstrap(), '-C', '-t', topic, '-p', '0', '-e', '-q', '-f', '%s\n'],
    {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    },
  );
  const values = stdout.split('\n').filter((l) => l);
  const counts = new Map<string, number>();
  let outOfOrder = 0;
  let last = -1;
  for (const v of values) {
    counts.set(v, (counts.get(v) ?? 0) + 1);
    if (Number(v) <= last) outOfOrder++;
    last = Math.max(last, Number(v));
  }
  let duplicates = 0;
  for (const c of counts.values()) duplicates += c - 1;
  let missing = 0;
  for (const a of acked) if (!counts.has(a)) missing++;
  return { acked: acked.size, stored: values.length, duplicates, missing, outOfOrder, done: done as Outcome['done'] };
}

describe('idempotent producers on a 3-node cluster', () => {
  before(async () => {
    cluster = await startCluster({ nodes: 3, props: { 'replica.lag.time.max.ms': '3000' } });
    admin = new Kafka({ brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  });

  test('exactly once across two leader SIGKILLs with an idempotent librdkafka producer; duplicates without', async () => {
    const idem = await runWithKills('eos-idempotent', true);
    process.stderr.write(
      `# idempotent: ${idem.acked} acknowledged, ${idem.stored} stored, ${idem.duplicates} duplicates, ` +
        `${idem.missing} missing, ${idem.outOfOrder} out of order\n`,
    );
    const plain = await runWithKills('eos-plain', false);
    process.stderr.write(
      `# not idempotent: ${plain.acked} acknowledged, ${plain.stored} stored, ${plain.duplicates} duplicates, ` +
        `${plain.missing} missing, ${plain.outOfOrder} out of order\n`,
    );
    assert.deepEqual(idem.done, { errors: [], fatal: [], unflushed: 0 });
    assert.equal(idem.acked, N, 'every record acknowledged');
    assert.equal(idem.missing, 0, 'nothing acknowledged lost');
    assert.equal(idem.duplicates, 0, 'no duplicates');
    assert.equal(idem.outOfOrder, 0, 'in order');
    assert.equal(idem.stored, N);
    assert.equal(plain.missing, 0, 'nothing acknowledged lost without idempotence either');
  });

  test('confluent-kafka-python and kafkajs idempotent producers against the cluster', async () => {
    const { stdout } = await run(
      '/usr/bin/python3',
      [join(ROOT, 'test/interop/py/confluent_idempotent.py'), cluster.bootstrap(), 'idem-ck3', '5000', '3'],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop() as string), {
      produced: 5000,
      consumed: 5000,
      duplicates: 0,
      missing: 0,
      out_of_order: 0,
      errors: [],
      unflushed: 0,
      fatal: [],
    });
    const kafka = new Kafka({
      clientId: 'idem-js3',
      brokers: cluster.bootstrap().split(','),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await admin.createTopics({ topics: [{ topic: 'idem-js3', numPartitions: 3, replicationFactor: 3 }] });
    // kafkajs 2.2.4 (whose idempotence its docs call experimental) re-sends a batch with a NEW sequence when a
    // request it shared with another partition failed with NOT_LEADER_OR_FOLLOWER, so a broker stores it twice,
    // as Kafka's would: produce once every node knows the new topic's leaders.
    await leadersSettled('idem-js3', 3);
    try {
      await producer.connect();
      for (let s = 0; s < 1000; s += 100) {
        await producer.send({
          topic: 'idem-js3',
          acks: -1,
          messages: Array.from({ length: 100 }, (_, i) => ({ key: String((s + i) % 11), value: String(s + i) })),
        });
      }
    } finally {
      await producer.disconnect().catch(() => {});
    }
    const read = await run('kcat', ['-b', cluster.bootstrap(), '-C', '-t', 'idem-js3', '-e', '-q', '-f', '%s\n'], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const values = read.stdout.split('\n').filter((l) => l);
    assert.equal(values.length, 1000);
    assert.equal(new Set(values).size, 1000);
  });
});
