/**
 * kafkajs' transactional producer against one `kstream serve` (issue 17): a transaction that sends records
 * and the offsets of a consumer group (sendOffsets: AddOffsetsToTxn, then TxnOffsetCommit) and commits; the
 * group's offsets show only after the commit; an aborted transaction's records and offsets never show.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/until.js';

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;

async function groupOffset(group: string, topic: string): Promise<string | undefined> {
  const r = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return r[0]?.partitions.find((p) => p.partition === 0)?.offset;
}

describe('kafkajs transactional producer against kstream serve', () => {
  before(async () => {
    broker = await startBroker({
      props: { 'transaction.state.log.num.partitions': '4', 'offsets.topic.num.partitions': '4' },
    });
    kafka = new Kafka({ clientId: 'txn-js', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin?.disconnect().catch(() => {});
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('send records and offsets in a transaction; commit shows both, abort neither', async () => {
    await admin.createTopics({
      topics: [
        { topic: 'js-in', numPartitions: 1 },
        { topic: 'js-out', numPartitions: 1 },
      ],
    });
    const producer = kafka.producer({ transactionalId: 'txn-js-1', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    try {
      const t1 = await producer.transaction();
      await t1.send({ topic: 'js-out', messages: [{ value: 'one' }, { value: 'two' }] });
      await t1.sendOffsets({
        consumerGroupId: 'js-group',
        topics: [{ topic: 'js-in', partitions: [{ partition: 0, offset: '5' }] }],
      });
      await t1.commit();
      await until('offsets committed by the transaction', async () => (await groupOffset('js-group', 'js-in')) === '5');

      const t2 = await producer.transaction();
      await t2.send({ topic: 'js-out', messages: [{ value: 'aborted' }] });
      await t2.sendOffsets({
        consumerGroupId: 'js-group',
        topics: [{ topic: 'js-in', partitions: [{ partition: 0, offset: '9' }] }],
      });
      await t2.abort();
    } finally {
      await producer.disconnect();
    }
    assert.equal(await groupOffset('js-group', 'js-in'), '5');

    const consumer = kafka.consumer({ groupId: 'js-reader', readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'js-out', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value));
        },
      });
      await until('committed records read', async () => seen.length >= 2);
      // A committed transaction after the aborted one: the reader gets past the aborted records to it.
      const p2 = kafka.producer({ transactionalId: 'txn-js-2', maxInFlightRequests: 1, idempotent: true });
      await p2.connect();
      const t3 = await p2.transaction();
      await t3.send({ topic: 'js-out', messages: [{ value: 'three' }] });
      await t3.commit();
      await p2.disconnect();
      await until('the later committed record read', async () => seen.includes('three'));
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen, ['one', 'two', 'three']);
  });
});
