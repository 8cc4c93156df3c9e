/**
 * A node (re)starting in a 2-node cluster with a real etcd.
 * - Requests wait until it has joined. It listens first, to learn its port; before, requests in that window
 *   were answered as by an empty single node (only itself as broker, or no brokers at all).
 * - Topic ids on disk (partition.metadata, as Kafka's KIP-516): a node that was down while a topic was
 *   deleted, or deleted and recreated under the same name, must not take its old log for the new topic's.
 *   Before, a node that got the new topic's partition (here by a reassignment) reused the old log it had
 *   loaded at start: truncated to the new leader's end, it kept the OLD records below it and, once leader,
 *   served them as the new topic's.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { PARTITION_METADATA_FILE, parsePartitionMetadata } from '../../src/storage/log-manager.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
let cluster: Cluster;
let admin: Admin;

const raw = <T>(id: number, f: (c: RawClient) => Promise<T>): Promise<T> => RawClient.using(cluster.node(id).port, f);

async function partition0(id: number, topic: string) {
  return raw(id, async (c) => {
    const r = await c.request(ApiKey.Metadata, 10, {
      topics: [{ name: topic, topicId: '00000000000000000000000000000000' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = r.topics[0] as {
      errorCode: number;
      topicId: string;
      partitions: { leaderId: number; isrNodes: number[] }[];
    };
    return t.errorCode === 0
      ? { id: t.topicId, ...(t.partitions[0] as { leaderId: number; isrNodes: number[] }) }
      : null;
  });
}

async function produce(id: number, topic: string, values: string[], acks: number): Promise<void> {
  await raw(id, async (c) => {
    const records = await buildBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v) })) });
    const r = await c.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  });
}

/** A topic of one partition on `replicas`, the first the preferred leader. */
async function create(topic: string, replicas: number[]): Promise<void> {
  await admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }] });
  await until(
    `${topic} led by node ${replicas[0]}`,
    async () => (await partition0(1, topic))?.leaderId === replicas[0],
  );
}

const strays = (id: number, topic: string) =>
  readdirSync(cluster.dataDir(id)).filter((d) => d.startsWith(`${topic}-0.`) && d.endsWith('-stray'));

describe('a node (re)starting in a cluster', () => {
  before(async () => {
    cluster = await startCluster({ nodes: 2, clusterId: 'node-start' });
    admin = new Kafka({ brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  });

  test('a topic deleted and recreated while a replica was down: the replica starts afresh, old records never served', async () => {
    await create('reborn', [1, 2]);
    await create('gone', [1, 2]);
    // Old records in batches of 5: a follower truncated to the new leader's end (5) would keep a whole batch.
    const old = Array.from({ length: 50 }, (_, i) => `old-${i}`);
    for (let i = 0; i < old.length; i += 5) {
      await produce(1, 'reborn', old.slice(i, i + 5), -1);
      await produce(1, 'gone', old.slice(i, i + 5), -1);
    }
    const first = await until('both in sync', async () => {
      const p = await partition0(1, 'reborn');
      const q = await partition0(1, 'gone');
      return p?.isrNodes.length === 2 && q?.isrNodes.length === 2 ? p : null;
    });
    const dir2 = join(cluster.dataDir(2), 'reborn-0');
    assert.equal(parsePartitionMetadata(readFileSync(join(dir2, PARTITION_METADATA_FILE), 'utf8')), first.id);

    // Node 2 goes away; 'reborn' is deleted and created again with the same name (on node 1: a replica cannot
    // be assigned to a node that is down), 'gone' only deleted.
    assert.equal(await cluster.stop(2), 0);
    await admin.deleteTopics({ topics: ['reborn', 'gone'] });
    await until(
      'deleted',
      async () => (await partition0(1, 'reborn')) === null && (await partition0(1, 'gone')) === null,
    );
    await create('reborn', [1]);
    const fresh = Array.from({ length: 5 }, (_, i) => `new-${i}`);
    await produce(1, 'reborn', fresh, 1);
    const second = await partition0(1, 'reborn');
    assert.ok(second && second.id !== first.id, 'a new topic id');

    // Node 2 returns: its old logs are set aside at start (renamed *-stray, kept, not served).
    await cluster.start(2);
    await cluster.waitForBrokers([1, 2]);
    assert.equal(strays(2, 'reborn').length, 1, 'the old log of reborn set aside');
    assert.equal(strays(2, 'gone').length, 1, 'the log of the deleted topic set aside');
    assert.ok(!existsSync(join(cluster.dataDir(2), 'gone-0')));
    assert.ok(!existsSync(dir2));

    // The new topic's partition moves onto [1, 2]: node 2 replicates it from the start.
    await raw(1, async (c) => {
      const r = await c.request(ApiKey.AlterPartitionReassignments, 0, {
        timeoutMs: 10_000,
        topics: [{ name: 'reborn', partitions: [{ partitionIndex: 0, replicas: [1, 2] }] }],
      });
      assert.equal(r.responses[0].partitions[0].errorCode, 0);
    });
    await until(
      'node 2 in the ISR of reborn',
      async () => (await partition0(1, 'reborn'))?.isrNodes.includes(2),
      60_000,
    );
    assert.equal(parsePartitionMetadata(readFileSync(join(dir2, PARTITION_METADATA_FILE), 'utf8')), second.id);
    const kept = readFileSync(join(cluster.dataDir(2), strays(2, 'reborn')[0] as string, '00000000000000000000.log'));
    assert.ok(kept.includes('old-49'), 'the stray log still holds its data');

    // Node 1 stops: node 2 leads, and serves exactly the new topic's records.
    assert.equal(await cluster.stop(1), 0);
    await until('node 2 leads reborn', async () => (await partition0(2, 'reborn'))?.leaderId === 2, 60_000);
    const { stdout } = await run(
      'kcat',
      ['-b', cluster.node(2).bootstrap, '-C', '-t', 'reborn', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n'],
      { timeout: 60_000 },
    );
    assert.deepEqual(stdout.trim().split('\n'), fresh);

    // Restarted again, nothing more is set aside (the ids match now).
    assert.equal(await cluster.stop(2), 0);
    await cluster.start(2);
    await until('node 2 leads reborn again', async () => (await partition0(2, 'reborn'))?.leaderId === 2, 60_000);
    assert.equal(strays(2, 'reborn').length, 1);
  });

  test('a node that is starting answers nothing before it has joined: its first Metadata lists every broker and topic', async () => {
    // Node 1 back; then node 2 restarts on its port, and a client connects the moment the port accepts (the
    // node listens before it joins, to learn its port) and asks at once.
    await cluster.start(1);
    await cluster.waitForBrokers([1, 2]);
    const port = cluster.node(2).port;
    assert.equal(await cluster.stop(2), 0);
    const starting = cluster.start(2);
    let c: RawClient | null = null;
    const deadline = Date.now() + 30_000;
    while (!c && Date.now() < deadline) {
      c = await RawClient.connect(port).catch(() => null);
      if (!c) await new Promise((r) => setTimeout(r, 2));
    }
    type Md = { brokers: { nodeId: number }[]; topics: { name: string }[] };
    let md: Md | null = null;
    try {
      if (c) md = (await c.request(ApiKey.Metadata, 1, { topics: null })) as unknown as Md;
    } finally {
      c?.close();
      await starting;
    }
    assert.ok(md, 'node 2 listening again');
    assert.deepEqual(md.brokers.map((b) => b.nodeId).sort(), [1, 2]);
    assert.ok(
      md.topics.some((t) => t.name === 'reborn'),
      'the cluster topics',
    );
  });
});
