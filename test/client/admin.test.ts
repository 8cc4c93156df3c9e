/**
 * The admin client against kstream serve: topic create/list/describe/delete with per-item results, configs,
 * watermarks and offsets by time batched into one ListOffsets per broker, the cluster. APIs the broker may not
 * serve yet (CreatePartitions, DeleteRecords, AlterConfigs, IncrementalAlterConfigs) are exercised when it
 * advertises them and otherwise must fail per item with a clear UNSUPPORTED_VERSION.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Producer } from '../../src/client/producer.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';

let broker: BrokerProcess;
let admin: Admin;

async function supports(apiKey: number): Promise<boolean> {
  const conn = await admin.cluster.anyConnection();
  return conn.supports(apiKey);
}

describe('admin client against kstream serve', () => {
  before(async () => {
    broker = await startBroker();
    admin = new Admin({ brokers: broker.bootstrap });
  });

  after(async () => {
    await admin?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('createTopics: per-topic results, configs, validateOnly', async () => {
    const res = await admin.createTopics([
      { topic: 'a1', numPartitions: 3, configs: { 'retention.ms': '3600000', 'cleanup.policy': 'compact' } },
      { topic: 'a2' },
      { topic: 'bad', numPartitions: 0 },
    ]);
    assert.deepEqual(
      res.map((r) => [r.topic, r.error?.code ?? 0]),
      [
        ['a1', 0],
        ['a2', 0],
        ['bad', ErrorCode.INVALID_PARTITIONS],
      ],
    );
    assert.equal(res[0]?.numPartitions, 3);
    const again = await admin.createTopics([{ topic: 'a1', numPartitions: 3 }]);
    assert.equal(again[0]?.error?.code, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.match(again[0]?.error?.message ?? '', /^TOPIC_ALREADY_EXISTS: a1: /);
    const dry = await admin.createTopics([{ topic: 'dry', numPartitions: 2 }], { validateOnly: true });
    assert.equal(dry[0]?.error, null);
    assert.ok(!(await admin.listTopics()).includes('dry'), 'validateOnly creates nothing');
  });

  test('listTopics / describeTopics from metadata', async () => {
    const topics = await admin.listTopics();
    assert.ok(topics.includes('a1') && topics.includes('a2'));
    assert.ok(!topics.includes('__consumer_offsets'));
    assert.deepEqual([...topics].sort(), topics, 'sorted');
    const [a1, missing] = await admin.describeTopics(['a1', 'missing']);
    assert.equal(a1?.error, null);
    assert.equal(a1?.partitions.length, 3);
    for (const p of a1?.partitions ?? []) {
      assert.equal(p.leader, 1);
      assert.deepEqual(p.replicas, [1]);
      assert.deepEqual(p.isr, [1]);
      assert.deepEqual(p.offlineReplicas, []);
    }
    assert.equal(missing?.error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const all = await admin.describeTopics();
    assert.ok(all.some((t) => t.topic === 'a1'));
  });

  test('describeConfigs: topic overrides with their source, broker configs, synonyms', async () => {
    const [topic, brokerCfg, unknown] = await admin.describeConfigs(
      [
        { type: 'topic', name: 'a1' },
        { type: 'broker', name: '1', keys: ['num.partitions', 'message.max.bytes'] },
        { type: 'topic', name: 'nope' },
      ],
      { includeSynonyms: true, includeDocumentation: true },
    );
    assert.equal(topic?.error, null);
    const retention = topic?.configs.find((c) => c.name === 'retention.ms');
    assert.equal(retention?.value, '3600000');
    assert.equal(retention?.source, 'dynamic-topic');
    assert.equal(retention?.isDefault, false);
    assert.ok((retention?.synonyms.length ?? 0) >= 1);
    assert.equal(retention?.type, 'long');
    const segment = topic?.configs.find((c) => c.name === 'segment.bytes');
    assert.equal(segment?.isDefault, true);
    assert.equal(brokerCfg?.error, null);
    assert.deepEqual(brokerCfg?.configs.map((c) => c.name).sort(), ['message.max.bytes', 'num.partitions']);
    assert.equal(unknown?.error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('listOffsets / fetchTopicOffsets: one ListOffsets per broker for all partitions', async () => {
    await admin.createTopics([{ topic: 'wide', numPartitions: 100 }]);
    const producer = new Producer({ brokers: broker.bootstrap, lingerMs: 0 });
    const base = 1_700_000_000_000;
    for (let i = 0; i < 5; i++) {
      await producer.sendBatch(
        Array.from({ length: 100 }, (_, p) => ({
          topic: 'wide',
          partition: p,
          value: 'v',
          timestamp: base + i * 1000,
        })),
      );
    }
    await producer.close();
    let listOffsetsRequests = 0;
    const request = admin.cluster.request.bind(admin.cluster);
    admin.cluster.request = (node, api, body, opts) => {
      if (api.key === ApiKey.ListOffsets) listOffsetsRequests++;
      return request(node, api, body, opts);
    };
    try {
      const offsets = await admin.fetchTopicOffsets(['wide', 'missing']);
      assert.equal(listOffsetsRequests, 2, 'earliest and latest: one request each for 100 partitions');
      const wide = offsets.filter((o) => o.topic === 'wide');
      assert.equal(wide.length, 100);
      assert.ok(wide.every((o) => o.low === 0n && o.high === 5n && o.error === null));
      assert.equal(offsets.find((o) => o.topic === 'missing')?.error?.code, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

      listOffsetsRequests = 0;
      const byTime = await admin.listOffsets([
        ...Array.from({ length: 100 }, (_, p) => ({ topic: 'wide', partition: p, spec: { timestamp: base + 2500 } })),
        { topic: 'wide', partition: 0, spec: 'earliest' as const },
        { topic: 'wide', partition: 0, spec: { timestamp: base + 99_000 } },
      ]);
      assert.equal(listOffsetsRequests, 3, 'partition 0 asked three times: three requests, not 102');
      assert.ok(byTime.slice(0, 100).every((r) => r.offset === 3n && r.timestamp === BigInt(base + 3000)));
      assert.equal(byTime[100]?.offset, 0n);
      assert.equal(byTime[101]?.offset, -1n, 'no record at or after the time');
    } finally {
      admin.cluster.request = request;
    }
  });

  test('describeCluster', async () => {
    const c = await admin.describeCluster();
    assert.equal(c.controllerId, 1);
    assert.ok(c.clusterId);
    assert.deepEqual(c.brokers, [{ nodeId: 1, host: '127.0.0.1', port: broker.port, rack: null }]);
  });

  test('createPartitions, deleteRecords, alterConfigs, incrementalAlterConfigs (or a clear UNSUPPORTED_VERSION)', async () => {
    const unsupported = (e: { error: Error | null } | undefined, api: string) => {
      assert.equal((e?.error as { code?: number } | null)?.code, ErrorCode.UNSUPPORTED_VERSION);
      assert.match(e?.error?.message ?? '', new RegExp(`does not support ${api}`));
    };
    const [cp] = await admin.createPartitions([{ topic: 'a2', count: 4 }]);
    if (await supports(ApiKey.CreatePartitions)) {
      assert.equal(cp?.error, null);
      assert.equal((await admin.describeTopics(['a2']))[0]?.partitions.length, 4);
    } else unsupported(cp, 'CreatePartitions');

    const [dr] = await admin.deleteRecords([{ topic: 'wide', partition: 0, offset: 2 }]);
    if (await supports(ApiKey.DeleteRecords)) {
      assert.equal(dr?.error, null);
      assert.equal(dr?.lowWatermark, 2n);
    } else unsupported(dr, 'DeleteRecords');

    const [ac] = await admin.alterConfigs([{ type: 'topic', name: 'a2', configs: { 'retention.ms': '1000' } }]);
    const [iac] = await admin.incrementalAlterConfigs([
      { type: 'topic', name: 'a2', configs: [{ name: 'retention.ms', op: 'set', value: '2000' }] },
    ]);
    if (await supports(ApiKey.AlterConfigs)) assert.equal(ac?.error, null);
    else unsupported(ac, 'AlterConfigs');
    if (await supports(ApiKey.IncrementalAlterConfigs)) {
      assert.equal(iac?.error, null);
      const [d] = await admin.describeConfigs([{ type: 'topic', name: 'a2', keys: ['retention.ms'] }]);
      assert.equal(d?.configs[0]?.value, '2000');
    } else unsupported(iac, 'IncrementalAlterConfigs');
  });

  test('deleteTopics: per-topic results', async () => {
    const res = await admin.deleteTopics(['a2', 'never-there']);
    assert.deepEqual(
      res.map((r) => [r.topic, r.error?.code ?? 0]),
      [
        ['a2', 0],
        ['never-there', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.ok(!(await admin.listTopics()).includes('a2'));
  });
});
