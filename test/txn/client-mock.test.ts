/**
 * Issue 17: kstream's transactional producer against a Kafka-compatible cluster we did not write, librdkafka's
 * mock cluster (3 brokers in a /usr/bin/python3 confluent_kafka process): initTransactions finds the
 * transaction coordinator (FindCoordinator key type 1) and gets a producer id, each transaction adds its
 * partitions before their first batch (AddPartitionsToTxn), commits and aborts end with EndTxn, and every
 * record sent is in the log (read_uncommitted). The mock answers every EndTxn and InitProducerId without
 * fencing (librdkafka 2.0.2): fencing is tested against kstream (client-kstream.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { hasMockCluster, type MockCluster, startMockCluster } from '../helpers/mock-cluster.js';

let mock: MockCluster;
/** The mock writes ListOffsets v4+ answers wrongly (see test/client/mock-cluster.test.ts). */
const maxVersions = { [ApiKey.ListOffsets]: 3 };
const producers: Producer[] = [];

function txProducer(transactionalId: string): Producer {
  const p = new Producer({ brokers: mock.brokers, maxVersions, transactionalId, lingerMs: 1, maxBlockMs: 30_000 });
  producers.push(p);
  return p;
}

describe("kstream's transactional producer against librdkafka's mock cluster", { skip: !hasMockCluster }, () => {
  before(async () => {
    mock = await startMockCluster();
  });
  after(async () => {
    for (const p of producers) await p.close().catch(() => {});
    await mock?.close();
  });

  test('init, commit, abort, commit: every record stored; the producer ready again after each', async () => {
    const tx = txProducer('mock-tx-1');
    await tx.initTransactions();
    assert.equal(tx.transactionState, 'ready');
    const send = (prefix: string, n: number) =>
      tx.sendBatch(Array.from({ length: n }, (_, i) => ({ topic: 'mock-txn', key: `k${i}`, value: `${prefix}-${i}` })));
    tx.beginTransaction();
    await send('a', 10);
    await tx.commitTransaction();
    assert.equal(tx.transactionState, 'ready');
    tx.beginTransaction();
    await send('b', 5);
    await tx.abortTransaction();
    assert.equal(tx.transactionState, 'ready');
    tx.beginTransaction();
    await send('c', 3);
    await tx.commitTransaction();
    // An empty transaction: nothing to tell the coordinator.
    tx.beginTransaction();
    await tx.commitTransaction();

    const meta = await tx.cluster.metadataFor(['mock-txn']);
    const partitions = meta.get('mock-txn')!.partitions.length;
    const c = new Consumer({ brokers: mock.brokers, maxVersions, maxWaitMs: 100 });
    const seen: string[] = [];
    try {
      c.assign(
        Array.from({ length: partitions }, (_, p) => ({
          topic: 'mock-txn',
          partition: p,
          offset: 'earliest' as const,
        })),
      );
      for await (const r of c.records({ untilEnd: true })) seen.push(r.value!.toString());
    } finally {
      await c.close();
    }
    assert.equal(seen.length, 18, `every record sent is stored (read_uncommitted): ${seen.join(',')}`);
  });
});
