/**
 * kafkajs 2.2.4 against a real `kstream serve`: admin (CreateTopics, Metadata, ListOffsets, DescribeConfigs,
 * DescribeCluster, DeleteTopics) and produce with acks -1, 1 and 0, read back with kcat.
 * kafkajs's consumer only works through consumer groups: that part belongs to the consumer-groups issue.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';

const run = promisify(execFile);
let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

async function kcatRead(topic: string): Promise<string[]> {
  const { stdout } = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%p %o %k=%s\n'], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter((l) => l);
}

describe('kafkajs 2.2.4 against kstream serve', () => {
  before(async () => {
    broker = await startBroker();
    kafka = new Kafka({
      clientId: 'kstream-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('admin creates, describes and lists topics', async () => {
    const created = await admin.createTopics({
      topics: [{ topic: 'js-orders', numPartitions: 4, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    });
    assert.equal(created, true);
    assert.equal(
      await admin.createTopics({ topics: [{ topic: 'js-orders', numPartitions: 4 }] }),
      false,
      'already exists',
    );
    await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] }), (e: unknown) => {
      const errors = (e as { errors?: { type: string }[] }).errors ?? [];
      assert.equal(errors[0]?.type, 'INVALID_TOPIC_EXCEPTION');
      return true;
    });
    const topics = await admin.listTopics();
    assert.ok(topics.includes('js-orders'));
    const md = await admin.fetchTopicMetadata({ topics: ['js-orders'] });
    assert.equal(md.topics[0]?.partitions.length, 4);
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    assert.equal(cluster.brokers[0]?.port, broker.port);
    const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: 'js-orders' }], includeSynonyms: false });
    const entries = cfg.resources[0]?.configEntries ?? [];
    assert.equal(entries.find((e) => e.configName === 'retention.ms')?.configValue, '3600000');
    assert.equal(entries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'delete');
  });

  for (const acks of [-1, 1, 0]) {
    test(`produce with acks=${acks} (gzip and none) is stored and read back`, async () => {
      const topic = `js-acks${acks === -1 ? 'all' : acks}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${i % 13}`, value: `value-${i}` }));
      const res = await producer.send({ topic, acks, messages: messages.slice(0, 250) });
      await producer.send({ topic, acks, compression: CompressionTypes.GZIP, messages: messages.slice(250) });
      if (acks !== 0) assert.ok(res.every((r) => r.errorCode === 0));
      let lines: string[] = [];
      for (let i = 0; i < 50 && lines.length < 500; i++) {
        lines = await kcatRead(topic);
        if (lines.length < 500) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(lines.length, 500);
      const values = new Set(lines.map((l) => l.split(' ')[2]));
      for (const m of messages) assert.ok(values.has(`${m.key}=${m.value}`));
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
      assert.equal(total, 500);
    });
  }

  test('ListOffsets by timestamp finds the first record at or after the time', async () => {
    const topic = 'js-times';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const t0 = Date.now() - 100_000;
    await producer.send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `t${i}`, timestamp: String(t0 + i * 1000) })),
    });
    const at = await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 4500);
    assert.deepEqual(at, [{ partition: 0, offset: '5' }]);
    const late = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 100_000);
    assert.equal(late[0]?.offset, '10', 'kafkajs maps "none" to the end offset');
  });

  test('admin deletes topics', async () => {
    await admin.deleteTopics({ topics: ['js-orders'] });
    const topics = await admin.listTopics();
    assert.ok(!topics.includes('js-orders'));
    await assert.rejects(admin.deleteTopics({ topics: ['js-orders'] }));
  });
});
