/**
 * Transaction coordinator failover on 3 nodes (issue 17): `__transaction_state` is replicated like any topic,
 * so when the coordinator's broker is SIGKILLed the new leader of the id's partition replays it and serves the
 * same transactional ids: an open transaction keeps its producer id, epoch and partitions, and its producer can
 * commit it at the new coordinator; markers reach the partitions' leaders on other nodes (WriteTxnMarkers between
 * brokers) and the transaction completes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

let cluster: Cluster;

function anyLivePort(except?: number): number {
  const id = cluster.ids.find((i) => cluster.isUp(i) && i !== except) as number;
  return cluster.node(id).port;
}

async function coordinatorOf(transactionalId: string, except?: number): Promise<number> {
  return until(
    `coordinator of ${transactionalId}`,
    async () => {
      const r = await RawClient.using(anyLivePort(except), (c) =>
        c.request(ApiKey.FindCoordinator, 1, { key: transactionalId, keyType: 1 }),
      );
      return r.errorCode === 0 && r.nodeId !== except ? (r.nodeId as number) : null;
    },
    60_000,
  );
}

/** A request to the coordinator of the id, retried while it is moving or loading (as clients do). */
async function atCoordinator(transactionalId: string, f: (c: RawClient) => Promise<Struct>): Promise<Struct> {
  const retriable: number[] = [
    ErrorCode.NOT_COORDINATOR,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.CONCURRENT_TRANSACTIONS,
  ];
  return until(
    `request to the coordinator of ${transactionalId}`,
    async () => {
      const id = await coordinatorOf(transactionalId);
      const r = await RawClient.using(cluster.node(id).port, f);
      return retriable.includes(r.errorCode as number) ? null : r;
    },
    60_000,
  );
}

describe('transaction coordinator failover (3 nodes)', () => {
  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      props: { 'replica.lag.time.max.ms': '3000', 'transaction.state.log.num.partitions': '3' },
    });
  });
  after(async () => {
    await cluster?.close();
  });

  test('an open transaction survives the coordinator SIGKILL and is committed at the new coordinator', async () => {
    const tid = 'tx-failover';
    // The output topic on all 3 nodes, so its partitions' leaders are spread over the cluster.
    const created = await RawClient.using(anyLivePort(), (c) =>
      c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'fo-out', numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] }],
        timeoutMs: 10_000,
        validateOnly: false,
      }),
    );
    assert.equal((created.topics as Struct[])[0]?.errorCode, 0);
    const init = await atCoordinator(tid, (c) =>
      c.request(ApiKey.InitProducerId, 4, {
        transactionalId: tid,
        transactionTimeoutMs: 120_000,
        producerId: -1n,
        producerEpoch: -1,
      }),
    );
    assert.equal(init.errorCode, 0);
    const { producerId, producerEpoch } = init as { producerId: bigint; producerEpoch: number };
    const added = await atCoordinator(tid, (c) =>
      c
        .request(ApiKey.AddPartitionsToTxn, 3, {
          v3AndBelowTransactionalId: tid,
          v3AndBelowProducerId: producerId,
          v3AndBelowProducerEpoch: producerEpoch,
          v3AndBelowTopics: [{ name: 'fo-out', partitions: [0, 1, 2] }],
        })
        .then((r) => ({
          errorCode: (r.resultsByTopicV3AndBelow as Struct[])[0]?.resultsByPartition[0].partitionErrorCode,
          r,
        })),
    );
    assert.equal(added.errorCode, 0);
    const describe = (c: RawClient) => c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [tid] });
    const was = ((await atCoordinator(tid, describe)).transactionStates as Struct[])[0] as Struct;
    assert.equal(was.transactionState, 'Ongoing');

    const old = await coordinatorOf(tid);
    await cluster.kill(old);
    const next = await coordinatorOf(tid, old);
    assert.notEqual(next, old);
    const now = await until(
      'the transaction at the new coordinator',
      async () => {
        const r = await RawClient.using(cluster.node(next).port, describe);
        const st = (r.transactionStates as Struct[])[0] as Struct;
        return st.errorCode === 0 ? st : null;
      },
      60_000,
    );
    assert.deepEqual(now, was);

    const ended = await atCoordinator(tid, (c) =>
      c.request(ApiKey.EndTxn, 3, { transactionalId: tid, producerId, producerEpoch, committed: true }),
    );
    assert.equal(ended.errorCode, 0);
    await until(
      'CompleteCommit',
      async () => {
        const r = await RawClient.using(cluster.node(next).port, describe);
        return ((r.transactionStates as Struct[])[0] as Struct).transactionState === 'CompleteCommit';
      },
      60_000,
    );
    await cluster.start(old);
  });
});
