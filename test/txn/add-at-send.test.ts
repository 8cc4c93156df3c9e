/**
 * Issue 17, transaction throughput: kstream's transactional producer adds a partition to its transaction
 * (AddPartitionsToTxn) as soon as it starts a batch for it, as the Java client adds at send(), so that round
 * trip overlaps the batch's linger and the caller's further sends instead of coming after them. Seen from a
 * real `kstream serve`: with a linger far longer than the test, the coordinator lists the partition in the
 * Ongoing transaction while the record has not been written yet; the commit then writes and commits it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/until.js';

let broker: BrokerProcess;
let admin: Admin;
const closers: (() => Promise<unknown>)[] = [];

describe('transactional producer: AddPartitionsToTxn at send (issue 17)', { timeout: 180_000 }, () => {
  before(async () => {
    broker = await startBroker();
    admin = new Admin({ brokers: broker.bootstrap });
    const created = await admin.createTopics([{ topic: 'txadd', numPartitions: 2 }]);
    for (const c of created) assert.equal(c.error, null, c.error?.message);
  });

  after(async () => {
    for (const c of closers) await c().catch(() => {});
    await admin?.close().catch(() => {});
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('the partition is in the transaction before its batch is ready; the commit writes it', async () => {
    // Linger longer than every wait below: the batch is ready only once commitTransaction() flushes it.
    const p = new Producer({ brokers: broker.bootstrap, transactionalId: 'txadd-1', lingerMs: 600_000 });
    closers.push(() => p.close());
    await p.initTransactions();
    p.beginTransaction();
    const sent = p.sendBatch([
      { topic: 'txadd', partition: 1, value: 'a' },
      { topic: 'txadd', partition: 1, value: 'b' },
    ]);
    sent.catch(() => {});

    const d = await until(
      'the coordinator to list txadd-1 in the transaction',
      async () => {
        const [t] = await admin.describeTransactions(['txadd-1']);
        return t?.state === 'Ongoing' && t.partitions.length > 0 ? t : null;
      },
      60_000,
    );
    assert.deepEqual(d.partitions, [{ topic: 'txadd', partition: 1 }]);
    // Still lingering in the producer: nothing written to the partition yet.
    const [end] = await admin.listOffsets([{ topic: 'txadd', partition: 1, spec: 'latest' }]);
    assert.equal(end?.error, null);
    assert.equal(end?.offset, 0n);

    await p.commitTransaction();
    const reports = await sent;
    assert.deepEqual(
      reports.map((r) => r.offset),
      [0n, 1n],
    );
    const c = new Consumer({ brokers: broker.bootstrap, isolation: 'read_committed' });
    closers.push(() => c.close());
    c.assign([{ topic: 'txadd', partition: 1, offset: 'earliest' }]);
    const seen: string[] = [];
    for await (const r of c.records({ untilEnd: true })) seen.push(r.value?.toString() ?? '');
    assert.deepEqual(seen, ['a', 'b']);
    const [t] = await admin.describeTransactions(['txadd-1']);
    assert.notEqual(t?.state, 'Ongoing');
  });
});
