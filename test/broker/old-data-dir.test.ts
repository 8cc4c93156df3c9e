/**
 * A data dir written by an earlier kstream, whose single node kept `topics/<name>` = `{id, partitions,
 * configs, internal?}` in .metadata/store.json (and no partition states, no high-watermark checkpoint), starts
 * with this one (a single node is now a one-node cluster over the same file) and serves every record, every
 * committed offset and every topic config it had; the file is rewritten in the new layout and the node
 * restarts on it again. The data dir is made by a real `kstream serve` and its metadata file then written
 * back in the earlier layout (the partition logs' format did not change).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';

const run = promisify(execFile);
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function broker(dataDir: string): Promise<BrokerProcess> {
  const b = await startBroker({ dataDir });
  cleanup.push(() => b.kill());
  return b;
}

function kafka(b: BrokerProcess) {
  return new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

/** Every record of a topic, read with kcat: "partition offset value". */
async function records(b: BrokerProcess, topic: string): Promise<string[]> {
  const { stdout } = await run(
    'kcat',
    ['-C', '-b', b.bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\n'],
    {
      timeout: 60_000,
    },
  );
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

test("an earlier kstream's data dir starts and serves every record, committed offset and topic config", async () => {
  const dataDir = tempDir();
  cleanup.push(() => removeDir(dataDir));
  const b = await broker(dataDir);
  const admin = kafka(b).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '86400000' }] },
      { topic: 'audit' },
    ],
  });
  const producer = kafka(b).producer();
  await producer.connect();
  for (let p = 0; p < 3; p++) {
    await producer.send({
      topic: 'orders',
      acks: -1,
      messages: Array.from({ length: 5 }, (_, i) => ({ partition: p, value: `o${p}-${i}` })),
    });
  }
  await producer.send({ topic: 'audit', acks: -1, messages: [{ value: 'a0' }, { value: 'a1' }] });
  await producer.disconnect();
  await admin.setOffsets({ groupId: 'billing', topic: 'orders', partitions: [{ partition: 1, offset: '3' }] });
  const before = { orders: await records(b, 'orders'), audit: await records(b, 'audit') };
  assert.equal(before.orders.length, 15);
  await admin.disconnect();
  assert.equal(await b.stop(), 0);

  // The metadata as an earlier kstream wrote it: each topic's id, partition count and configs.
  const file = join(dataDir, '.metadata', 'store.json');
  const now = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { id: string; replicas: number[][] }>;
  const old: Record<string, unknown> = {};
  for (const [key, t] of Object.entries(now)) {
    if (!key.startsWith('topics/')) continue;
    const name = key.slice('topics/'.length);
    old[key] = {
      id: t.id,
      partitions: t.replicas.length,
      configs: (t as unknown as { configs: Record<string, string> }).configs,
      ...(name === '__consumer_offsets' ? { internal: true } : {}),
    };
  }
  assert.deepEqual(Object.keys(old).sort(), ['topics/__consumer_offsets', 'topics/audit', 'topics/orders']);
  writeFileSync(file, JSON.stringify(old));
  rmSync(join(dataDir, 'replication-offset-checkpoint'), { force: true });

  for (const round of ['migrated', 'restarted']) {
    const b2 = await broker(dataDir);
    assert.deepEqual(await records(b2, 'orders'), before.orders, `${round}: every record of orders`);
    assert.deepEqual(await records(b2, 'audit'), before.audit, `${round}: every record of audit`);
    const admin2 = kafka(b2).admin();
    await admin2.connect();
    const offsets = await admin2.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
    assert.equal(offsets[0]?.partitions.find((p) => p.partition === 1)?.offset, '3', `${round}: the committed offset`);
    const cfg = await admin2.describeConfigs({
      resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    assert.equal(cfg.resources[0]?.configEntries[0]?.configValue, '86400000', `${round}: the topic config`);
    const md = await admin2.fetchTopicMetadata({ topics: ['orders'] });
    assert.deepEqual(md.topics[0]?.partitions.map((p) => [p.partitionId, p.leader, p.isr]).sort(), [
      [0, 1, [1]],
      [1, 1, [1]],
      [2, 1, [1]],
    ]);
    // New records go on after the old ones.
    const producer2 = kafka(b2).producer();
    await producer2.connect();
    await producer2.send({ topic: 'audit', acks: -1, messages: [{ value: `after-${round}` }] });
    await producer2.disconnect();
    before.audit = await records(b2, 'audit');
    await admin2.disconnect();
    assert.equal(await b2.stop(), 0);
    if (round === 'migrated') assert.match(b2.logs(), /read the metadata of an earlier kstream as a one-node cluster/);
    const layout = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(layout['partitions/orders/2'] !== undefined, true, `${round}: the file is in the new layout`);
    assert.deepEqual((layout['topics/orders'] as { replicas: number[][] }).replicas, [[1], [1], [1]]);
  }
  assert.deepEqual(
    before.audit.map((l) => l.split(' ')[2]),
    ['a0', 'a1', 'after-migrated', 'after-restarted'],
  );
});
