/**
 * Issue 17, must show: kafkajs 2.2.4's transactional producer with sendOffsets against a real `kstream serve`.
 * A committed transaction's records and group offsets are visible (to `kstream consume --isolation
 * read_committed`, kcat with isolation.level=read_committed, and kafkajs' admin fetchOffsets); an aborted one's
 * are not (its records only to read_uncommitted readers, its offsets never); kafkajs' own consumer, which reads
 * read_committed by default, sees the committed records only.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
const hasKcat = spawnSync('kcat', ['-V']).status === 0;

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

async function consumeValues(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const r = await kstream(
    ['consume', topic, '--from-beginning', '-e', '--isolation', isolation, '-f', '%v\\n', '-b', broker.bootstrap],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('kafkajs 2.2.4 transactional producer with sendOffsets against kstream serve (issue 17)', {
  timeout: 240_000,
}, () => {
  before(async () => {
    broker = await startBroker();
    kafka = new Kafka({
      clientId: 'kstream-txn-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8 },
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'kjs-in', numPartitions: 2 },
        { topic: 'kjs-out', numPartitions: 3 },
      ],
    });
    producer = kafka.producer({ transactionalId: 'kjs-copier', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('commit: records and offsets visible; abort: records skipped by read_committed, offsets never committed', async () => {
    const committed = await producer.transaction();
    await committed.send({
      topic: 'kjs-out',
      messages: values('kept', 12).map((value, i) => ({ key: `k${i}`, value })),
    });
    await committed.sendOffsets({
      consumerGroupId: 'kjs-group',
      topics: [
        {
          topic: 'kjs-in',
          partitions: [
            { partition: 0, offset: '5' },
            { partition: 1, offset: '7' },
          ],
        },
      ],
    });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({
      topic: 'kjs-out',
      messages: values('dropped', 12).map((value, i) => ({ key: `k${i}`, value })),
    });
    await aborted.sendOffsets({
      consumerGroupId: 'kjs-group',
      topics: [{ topic: 'kjs-in', partitions: [{ partition: 0, offset: '9' }] }],
    });
    await aborted.abort();

    const offsets = await until('the committed offsets of kjs-group', async () => {
      const [t] = await admin.fetchOffsets({ groupId: 'kjs-group', topics: ['kjs-in'] });
      const byPartition = Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
      return byPartition[0] === '5' ? byPartition : null;
    });
    assert.deepEqual(offsets, { 0: '5', 1: '7' }, "the aborted transaction's offset 9 was not committed");

    const kept = values('kept', 12).sort();
    assert.deepEqual(await consumeValues('kjs-out', 'read_committed'), kept);
    assert.deepEqual(await consumeValues('kjs-out', 'read_uncommitted'), [...kept, ...values('dropped', 12)].sort());
    if (hasKcat) {
      const { stdout } = await run(
        'kcat',
        [
          '-b',
          broker.bootstrap,
          '-C',
          '-t',
          'kjs-out',
          '-e',
          '-q',
          '-X',
          'isolation.level=read_committed',
          '-f',
          '%s\n',
        ],
        { timeout: 60_000 },
      );
      assert.deepEqual(
        stdout
          .split('\n')
          .filter((l) => l)
          .sort(),
        kept,
      );
    }

    // kafkajs' consumer reads read_committed unless told otherwise (readUncommitted: false).
    const consumer = kafka.consumer({ groupId: 'kjs-reader', readUncommitted: false });
    const seen: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'kjs-out', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
        },
      });
      await until('kafkajs to read the committed records', async () => seen.length >= kept.length, 90_000);
      // A little longer: nothing of the aborted transaction comes after them.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await consumer.disconnect().catch(() => {});
    }
    assert.deepEqual(seen.sort(), kept);
  });
});
