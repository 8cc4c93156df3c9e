/**
 * Transactions of confluent-kafka-python (librdkafka) against one `kstream serve` (issue 17): a transactional
 * producer commits and aborts, and a read_committed consumer sees only the committed records while a
 * read_uncommitted one sees all; a second instance with the same transactional.id fences the first, whose
 * commit then fails as Kafka answers it; a transaction left open past its timeout is aborted by the
 * coordinator (with an epoch bump) and read_committed consumers move past it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { pyScript } from '../helpers/python.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

let broker: BrokerProcess;

async function createTopic(name: string): Promise<void> {
  const r = await RawClient.using(broker.port, (c) =>
    c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    }),
  );
  assert.equal((r.topics[0] as Struct).errorCode, 0);
}

async function describeTxn(transactionalId: string): Promise<Struct> {
  const r = await RawClient.using(broker.port, (c) =>
    c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] }),
  );
  return (r.transactionStates as Struct[])[0] as Struct;
}

describe('confluent-kafka-python transactions against kstream serve', () => {
  before(async () => {
    broker = await startBroker({
      props: {
        'transaction.state.log.num.partitions': '4',
        'offsets.topic.num.partitions': '4',
        'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
      },
    });
  });
  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('commit and abort: read_committed sees the committed records only, read_uncommitted all', async () => {
    await createTopic('txn-ca');
    const r = await pyScript('confluent_txn.py', [broker.bootstrap, 'txn-ca', 'commit-abort']);
    assert.deepEqual(r, {
      read_committed: 200,
      read_committed_aborted: 0,
      read_committed_distinct: 200,
      read_committed_end: true,
      read_uncommitted: 250,
      read_uncommitted_aborted: 50,
    });
    const d = await describeTxn('txn-ca-txn-ca');
    assert.equal(d.transactionState, 'CompleteCommit');
  });

  test('zombie fencing: a second instance fences the first, whose commit fails; only the new records show', async () => {
    await createTopic('txn-z');
    const r = await pyScript('confluent_txn.py', [broker.bootstrap, 'txn-z', 'zombie']);
    assert.ok(
      ['PRODUCER_FENCED', '_FENCED', 'INVALID_PRODUCER_EPOCH'].includes(r.zombie_commit as string),
      `the zombie's commit: ${JSON.stringify(r)}`,
    );
    assert.deepEqual({ read: r.read_committed, count: r.read_committed_count }, { read: ['new'], count: 10 });
  });

  test('a transaction open past its timeout is aborted by the coordinator; read_committed moves past it', async () => {
    await createTopic('txn-t');
    const r = await pyScript('confluent_txn.py', [broker.bootstrap, 'txn-t', 'timeout']);
    assert.deepEqual(r, { read_committed: ['ok'], count: 5, end: true });
    const d = await until('the stuck transaction aborted', async () => {
      const x = await describeTxn('txn-t-stuck-txn-t');
      return x.transactionState === 'CompleteAbort' ? x : null;
    });
    // Aborted with an epoch bump (KIP-360): the stuck producer's epoch 0 is fenced.
    assert.equal(d.producerEpoch, 1);
  });
});
