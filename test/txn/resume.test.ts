/**
 * A new transaction coordinator resumes a commit in flight (issue 17): on 3 nodes, the leader L of the only
 * partition of a transaction is paused (SIGSTOP) so the coordinator C cannot write its marker; EndTxn(commit)
 * is answered once PrepareCommit is durable, and C is SIGKILLed while the transaction waits in PrepareCommit.
 * L resumes; the node that takes over C's `__transaction_state` partition replays it, finds the transaction in
 * PrepareCommit, writes the marker and completes it (CompleteCommit).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

let cluster: Cluster;
const TID = 'tx-resume';

async function coordinatorOf(via: number): Promise<number> {
  return until(
    'transaction coordinator',
    async () => {
      const r = await RawClient.using(cluster.node(via).port, (c) =>
        c.request(ApiKey.FindCoordinator, 1, { key: TID, keyType: 1 }),
      );
      return r.errorCode === 0 ? (r.nodeId as number) : null;
    },
    60_000,
  );
}

async function describeAt(node: number): Promise<Struct> {
  const r = await RawClient.using(cluster.node(node).port, (c) =>
    c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [TID] }),
  );
  return (r.transactionStates as Struct[])[0] as Struct;
}

describe('a new coordinator resumes a transaction left in PrepareCommit (3 nodes)', () => {
  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      props: {
        'replica.lag.time.max.ms': '3000',
        // A paused node stays registered (and the leader of its partitions) long enough to hold the marker back.
        'broker.session.timeout.ms': '20000',
        'transaction.state.log.num.partitions': '1',
      },
    });
  });
  after(async () => {
    await cluster?.close();
  });

  test('PrepareCommit survives the coordinator SIGKILL and is completed by the next one', async () => {
    const c = await coordinatorOf(1);
    const [l, x] = cluster.ids.filter((id) => id !== c) as [number, number];
    // The transaction's partition is led by L (first replica), with copies on the others.
    const created = await RawClient.using(cluster.node(c).port, (r) =>
      r.request(ApiKey.CreateTopics, 5, {
        topics: [
          {
            name: 'resume-out',
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [{ partitionIndex: 0, brokerIds: [l, x, c] }],
            configs: [],
          },
        ],
        timeoutMs: 10_000,
        validateOnly: false,
      }),
    );
    assert.equal((created.topics as Struct[])[0]?.errorCode, 0);
    await until('resume-out led by L', async () => {
      const md = await RawClient.using(cluster.node(c).port, (r) =>
        r.request(ApiKey.Metadata, 1, { topics: [{ name: 'resume-out' }] }),
      );
      return (((md.topics as Struct[])[0]?.partitions as Struct[] | undefined) ?? [])[0]?.leaderId === l;
    });
    const port = cluster.node(c).port;
    const init = await until('InitProducerId', async () => {
      const r = await RawClient.using(port, (r2) =>
        r2.request(ApiKey.InitProducerId, 4, {
          transactionalId: TID,
          transactionTimeoutMs: 120_000,
          producerId: -1n,
          producerEpoch: -1,
        }),
      );
      return r.errorCode === 0 ? r : null;
    });
    const { producerId, producerEpoch } = init as { producerId: bigint; producerEpoch: number };
    const added = await RawClient.using(port, (r) =>
      r.request(ApiKey.AddPartitionsToTxn, 3, {
        v3AndBelowTransactionalId: TID,
        v3AndBelowProducerId: producerId,
        v3AndBelowProducerEpoch: producerEpoch,
        v3AndBelowTopics: [{ name: 'resume-out', partitions: [0] }],
      }),
    );
    assert.equal((added.resultsByTopicV3AndBelow as Struct[])[0]?.resultsByPartition[0].partitionErrorCode, 0);

    cluster.pause(l);
    try {
      const ended = await RawClient.using(port, (r) =>
        r.request(ApiKey.EndTxn, 3, { transactionalId: TID, producerId, producerEpoch, committed: true }),
      );
      assert.equal(ended.errorCode, 0);
      assert.equal((await describeAt(c)).transactionState, 'PrepareCommit');
      await cluster.kill(c);
    } finally {
      cluster.resume(l);
    }
    const next = await until(
      'a new coordinator',
      async () => {
        const n = await coordinatorOf(x);
        return n !== c ? n : null;
      },
      90_000,
    );
    const done = await until(
      'CompleteCommit at the new coordinator',
      async () => {
        const d = await describeAt(next);
        return d.transactionState === 'CompleteCommit' ? d : null;
      },
      90_000,
    );
    assert.deepEqual([done.producerId, done.producerEpoch], [producerId, producerEpoch]);
  });
});
