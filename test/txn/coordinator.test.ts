/**
 * The transaction coordinator over the wire (issue 17, KIP-98 / KIP-360 / KIP-664) on one `kstream serve`:
 * FindCoordinator key type 1, InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn,
 * EndTxn, DescribeTransactions and ListTransactions with raw requests; Kafka's error codes for bad input
 * (unknown ids, stale epochs, partitions that do not exist, bad timeouts) with nothing stored changing; a
 * second instance fencing the first; the state surviving a restart (replayed from `__transaction_state`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const PROPS = { 'transaction.state.log.num.partitions': '4', 'offsets.topic.num.partitions': '4' };

let broker: BrokerProcess;
let dataDir: string;

async function client(): Promise<RawClient> {
  return RawClient.connect(broker.port);
}

async function createTopic(c: RawClient, name: string, partitions: number): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 5, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal((r.topics[0] as Struct).errorCode, 0);
}

async function initPid(
  c: RawClient,
  transactionalId: string,
  opts: { version?: number; timeoutMs?: number; producerId?: bigint; producerEpoch?: number } = {},
): Promise<Struct> {
  return c.request(ApiKey.InitProducerId, opts.version ?? 4, {
    transactionalId,
    transactionTimeoutMs: opts.timeoutMs ?? 60_000,
    producerId: opts.producerId ?? -1n,
    producerEpoch: opts.producerEpoch ?? -1,
  });
}

/** InitProducerId until it is not CONCURRENT_TRANSACTIONS / COORDINATOR_LOAD_IN_PROGRESS (as clients retry). */
async function initPidRetried(c: RawClient, transactionalId: string): Promise<{ producerId: bigint; epoch: number }> {
  return until(`InitProducerId ${transactionalId}`, async () => {
    const r = await initPid(c, transactionalId);
    if (r.errorCode !== ErrorCode.NONE) return null;
    return { producerId: r.producerId as bigint, epoch: r.producerEpoch as number };
  });
}

async function addPartitions(
  c: RawClient,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  topics: { name: string; partitions: number[] }[],
  version = 3,
): Promise<Record<string, number>> {
  const r = await c.request(ApiKey.AddPartitionsToTxn, version, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: producerId,
    v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: topics,
  });
  const out: Record<string, number> = {};
  for (const t of r.resultsByTopicV3AndBelow as Struct[]) {
    for (const p of t.resultsByPartition as Struct[]) out[`${t.name}-${p.partitionIndex}`] = p.partitionErrorCode;
  }
  return out;
}

async function endTxn(
  c: RawClient,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  committed: boolean,
  version = 3,
): Promise<number> {
  const r = await c.request(ApiKey.EndTxn, version, { transactionalId, producerId, producerEpoch, committed });
  return r.errorCode as number;
}

async function describeTxn(c: RawClient, transactionalId: string): Promise<Struct> {
  const r = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] });
  return (r.transactionStates as Struct[])[0] as Struct;
}

async function listTxns(
  c: RawClient,
  stateFilters: string[],
  producerIdFilters: bigint[] = [],
  durationFilter = -1n,
): Promise<Struct> {
  return c.request(ApiKey.ListTransactions, 1, { stateFilters, producerIdFilters, durationFilter });
}

function topicsOf(d: Struct): Record<string, number[]> {
  return Object.fromEntries((d.topics as Struct[]).map((t) => [t.topic, t.partitions]));
}

describe('transaction coordinator over the wire (one node)', () => {
  before(async () => {
    dataDir = tempDir();
    broker = await startBroker({ dataDir, props: PROPS });
  });
  after(async () => {
    await broker?.stop();
    removeDir(dataDir);
  });

  test('FindCoordinator key type 1 names this node (v1 and batched v4); an empty id is INVALID_REQUEST', async () => {
    const c = await client();
    try {
      const r = await until('transaction coordinator', async () => {
        const x = await c.request(ApiKey.FindCoordinator, 1, { key: 'tx-find', keyType: 1 });
        return x.errorCode === 0 ? x : null;
      });
      assert.equal(r.nodeId, 1);
      assert.equal(r.port, broker.port);
      const v4 = await c.request(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx-a', ''] });
      const [a, empty] = v4.coordinators as Struct[];
      assert.equal(a?.errorCode, 0);
      assert.equal(a?.port, broker.port);
      assert.equal(empty?.errorCode, ErrorCode.INVALID_REQUEST);
      // The topic is internal and compacted, with the partitions asked for.
      const md = await c.request(ApiKey.Metadata, 9, {
        topics: [{ name: '__transaction_state' }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      const t = (md.topics as Struct[])[0] as Struct;
      assert.equal(t.errorCode, 0);
      assert.equal(t.isInternal, true);
      assert.equal((t.partitions as Struct[]).length, 4);
    } finally {
      c.close();
    }
  });

  test('InitProducerId: epochs bump per instance; bad timeouts are INVALID_TRANSACTION_TIMEOUT', async () => {
    const c = await client();
    try {
      const first = await initPidRetried(c, 'tx-init');
      assert.equal(first.epoch, 0);
      assert.ok(first.producerId >= 0n);
      const second = await initPidRetried(c, 'tx-init');
      assert.deepEqual(second, { producerId: first.producerId, epoch: 1 });
      assert.equal((await initPid(c, 'tx-init', { timeoutMs: 0 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      assert.equal(
        (await initPid(c, 'tx-init', { timeoutMs: 900_001 })).errorCode,
        ErrorCode.INVALID_TRANSACTION_TIMEOUT,
      );
      // KIP-360: naming another producer id is PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v4).
      const other = { producerId: first.producerId + 1000n, producerEpoch: 0 };
      assert.equal((await initPid(c, 'tx-init', other)).errorCode, ErrorCode.PRODUCER_FENCED);
      assert.equal((await initPid(c, 'tx-init', { ...other, version: 3 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
      // Nothing of that changed the id: the next instance gets epoch 2.
      assert.deepEqual(await initPidRetried(c, 'tx-init'), { producerId: first.producerId, epoch: 2 });
    } finally {
      c.close();
    }
  });

  test('bad input: unknown ids, wrong producer ids, stale epochs, partitions that do not exist; nothing changes', async () => {
    const c = await client();
    try {
      await createTopic(c, 'bad-in', 2);
      assert.equal(await endTxn(c, 'tx-never-seen', 5n, 0, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      await initPidRetried(c, 'tx-bad');
      const { producerId, epoch } = await initPidRetried(c, 'tx-bad');
      assert.equal(epoch, 1);
      // EndTxn with no transaction open.
      assert.equal(await endTxn(c, 'tx-bad', producerId, epoch, true), ErrorCode.INVALID_TXN_STATE);
      // Partitions that do not exist: those UNKNOWN_TOPIC_OR_PARTITION, the rest not attempted.
      assert.deepEqual(
        await addPartitions(c, 'tx-bad', producerId, epoch, [
          { name: 'bad-in', partitions: [0, 7] },
          { name: 'no-such-topic', partitions: [0] },
        ]),
        {
          'bad-in-0': ErrorCode.OPERATION_NOT_ATTEMPTED,
          'bad-in-7': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          'no-such-topic-0': ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        },
      );
      let d = await describeTxn(c, 'tx-bad');
      assert.equal(d.transactionState, 'Empty');
      assert.deepEqual(topicsOf(d), {});
      // Wrong producer id, stale epoch (v1: INVALID_PRODUCER_EPOCH; v2+: PRODUCER_FENCED).
      const p0 = [{ name: 'bad-in', partitions: [0] }];
      assert.deepEqual(await addPartitions(c, 'tx-bad', producerId + 1n, epoch, p0), {
        'bad-in-0': ErrorCode.INVALID_PRODUCER_ID_MAPPING,
      });
      assert.deepEqual(await addPartitions(c, 'tx-bad', producerId, epoch - 1, p0), {
        'bad-in-0': ErrorCode.PRODUCER_FENCED,
      });
      assert.deepEqual(await addPartitions(c, 'tx-bad', producerId, epoch - 1, p0, 1), {
        'bad-in-0': ErrorCode.INVALID_PRODUCER_EPOCH,
      });
      assert.deepEqual(await addPartitions(c, 'tx-unknown', producerId, epoch, p0), {
        'bad-in-0': ErrorCode.INVALID_PRODUCER_ID_MAPPING,
      });
      d = await describeTxn(c, 'tx-bad');
      assert.equal(d.transactionState, 'Empty');
      assert.equal(d.producerEpoch, epoch);
      const unknown = await describeTxn(c, 'tx-unknown');
      assert.equal(unknown.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    } finally {
      c.close();
    }
  });

  test('a transaction: AddPartitionsToTxn, AddOffsetsToTxn, Describe/List, EndTxn commit; retries as Kafka answers', async () => {
    const c = await client();
    try {
      await createTopic(c, 'tx-out', 3);
      const { producerId, epoch } = await initPidRetried(c, 'tx-commit');
      assert.deepEqual(
        await addPartitions(c, 'tx-commit', producerId, epoch, [{ name: 'tx-out', partitions: [0, 2] }]),
        { 'tx-out-0': 0, 'tx-out-2': 0 },
      );
      const offsets = await c.request(ApiKey.AddOffsetsToTxn, 3, {
        transactionalId: 'tx-commit',
        producerId,
        producerEpoch: epoch,
        groupId: 'tx-group',
      });
      assert.equal(offsets.errorCode, 0);
      const d = await describeTxn(c, 'tx-commit');
      assert.equal(d.errorCode, 0);
      assert.equal(d.transactionState, 'Ongoing');
      assert.equal(d.producerId, producerId);
      assert.equal(d.transactionTimeoutMs, 60_000);
      assert.ok((d.transactionStartTimeMs as bigint) > 0n);
      const topics = topicsOf(d);
      assert.deepEqual(topics['tx-out'], [0, 2]);
      assert.equal(topics.__consumer_offsets?.length, 1);
      const ongoing = await listTxns(c, ['Ongoing']);
      assert.ok((ongoing.transactionStates as Struct[]).some((t) => t.transactionalId === 'tx-commit'));
      const byPid = await listTxns(c, [], [producerId]);
      assert.deepEqual(
        (byPid.transactionStates as Struct[]).map((t) => t.transactionalId),
        ['tx-commit'],
      );
      // v1 duration filter: running for an hour or more: not this one.
      const longRunning = await listTxns(c, ['Ongoing'], [], 3_600_000n);
      assert.ok(!(longRunning.transactionStates as Struct[]).some((t) => t.transactionalId === 'tx-commit'));
      const unknownState = await listTxns(c, ['Sleeping']);
      assert.deepEqual(unknownState.unknownStateFilters, ['Sleeping']);
      assert.deepEqual(unknownState.transactionStates, []);
      // Aborting a commit in progress, or committing it twice before it completed, as Kafka answers.
      assert.equal(await endTxn(c, 'tx-commit', producerId, epoch, true), 0);
      const again = await endTxn(c, 'tx-commit', producerId, epoch, true);
      assert.ok(again === 0 || again === ErrorCode.CONCURRENT_TRANSACTIONS, `retried commit: ${again}`);
      assert.equal(await endTxn(c, 'tx-commit', producerId, epoch, false), ErrorCode.INVALID_TXN_STATE);
      // The markers are written, then the transaction completes.
      await until(
        'CompleteCommit',
        async () => (await describeTxn(c, 'tx-commit')).transactionState === 'CompleteCommit',
      );
      assert.equal(await endTxn(c, 'tx-commit', producerId, epoch, true), 0);
      assert.deepEqual(topicsOf(await describeTxn(c, 'tx-commit')), {});
    } finally {
      c.close();
    }
  });

  test('AddPartitionsToTxn v4: several transactions per request, verify_only checks membership', async () => {
    const c = await client();
    try {
      await createTopic(c, 'v4-out', 2);
      const a = await initPidRetried(c, 'tx-v4a');
      const b = await initPidRetried(c, 'tx-v4b');
      const req = (verifyOnly: boolean, bEpoch: number) => ({
        transactions: [
          {
            transactionalId: 'tx-v4a',
            producerId: a.producerId,
            producerEpoch: a.epoch,
            verifyOnly,
            topics: [{ name: 'v4-out', partitions: verifyOnly ? [0, 1] : [0] }],
          },
          {
            transactionalId: 'tx-v4b',
            producerId: b.producerId,
            producerEpoch: bEpoch,
            verifyOnly,
            topics: [{ name: 'v4-out', partitions: [1] }],
          },
        ],
      });
      const codes = (r: Struct) =>
        Object.fromEntries(
          (r.resultsByTransaction as Struct[]).flatMap((t) =>
            (t.topicResults as Struct[]).flatMap((tp) =>
              (tp.resultsByPartition as Struct[]).map((p) => [
                `${t.transactionalId}:${tp.name}-${p.partitionIndex}`,
                p.partitionErrorCode,
              ]),
            ),
          ),
        );
      const added = await c.request(ApiKey.AddPartitionsToTxn, 4, req(false, b.epoch + 5));
      assert.equal(added.errorCode, 0);
      assert.deepEqual(codes(added), {
        'tx-v4a:v4-out-0': 0,
        'tx-v4b:v4-out-1': ErrorCode.PRODUCER_FENCED,
      });
      const verified = await c.request(ApiKey.AddPartitionsToTxn, 4, req(true, b.epoch));
      assert.deepEqual(codes(verified), {
        'tx-v4a:v4-out-0': 0,
        'tx-v4a:v4-out-1': ErrorCode.INVALID_TXN_STATE,
        'tx-v4b:v4-out-1': ErrorCode.INVALID_TXN_STATE,
      });
      // verify_only added nothing.
      assert.deepEqual(topicsOf(await describeTxn(c, 'tx-v4a')), { 'v4-out': [0] });
      assert.equal((await describeTxn(c, 'tx-v4b')).transactionState, 'Empty');
    } finally {
      c.close();
    }
  });

  test('zombie fencing: a second instance aborts the open transaction; the first is PRODUCER_FENCED', async () => {
    const c = await client();
    try {
      await createTopic(c, 'fence-out', 1);
      const zombie = await initPidRetried(c, 'tx-fence');
      assert.deepEqual(
        await addPartitions(c, 'tx-fence', zombie.producerId, zombie.epoch, [{ name: 'fence-out', partitions: [0] }]),
        { 'fence-out-0': 0 },
      );
      // The new instance: CONCURRENT_TRANSACTIONS while the open transaction is aborted, then a bumped epoch.
      const first = await initPid(c, 'tx-fence');
      assert.equal(first.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
      const fresh = await initPidRetried(c, 'tx-fence');
      assert.equal(fresh.producerId, zombie.producerId);
      assert.ok(fresh.epoch > zombie.epoch + 1, `epoch ${fresh.epoch} after ${zombie.epoch}`);
      assert.equal((await describeTxn(c, 'tx-fence')).transactionState, 'Empty');
      // The zombie can neither add partitions nor end a transaction.
      assert.equal(await endTxn(c, 'tx-fence', zombie.producerId, zombie.epoch, true), ErrorCode.PRODUCER_FENCED);
      assert.equal(
        await endTxn(c, 'tx-fence', zombie.producerId, zombie.epoch, true, 1),
        ErrorCode.INVALID_PRODUCER_EPOCH,
      );
      assert.deepEqual(
        await addPartitions(c, 'tx-fence', zombie.producerId, zombie.epoch, [{ name: 'fence-out', partitions: [0] }]),
        { 'fence-out-0': ErrorCode.PRODUCER_FENCED },
      );
    } finally {
      c.close();
    }
  });

  test('a partition deleted before the commit is dropped from the markers; the transaction completes', async () => {
    const c = await client();
    try {
      await createTopic(c, 'del-me', 1);
      await createTopic(c, 'keep-me', 1);
      const { producerId, epoch } = await initPidRetried(c, 'tx-deleted');
      assert.deepEqual(
        await addPartitions(c, 'tx-deleted', producerId, epoch, [
          { name: 'del-me', partitions: [0] },
          { name: 'keep-me', partitions: [0] },
        ]),
        { 'del-me-0': 0, 'keep-me-0': 0 },
      );
      const del = await c.request(ApiKey.DeleteTopics, 4, { topicNames: ['del-me'], timeoutMs: 5000 });
      assert.equal((del.responses as Struct[])[0]?.errorCode, 0);
      assert.equal(await endTxn(c, 'tx-deleted', producerId, epoch, true), 0);
      await until('CompleteCommit without the deleted partition', async () => {
        return (await describeTxn(c, 'tx-deleted')).transactionState === 'CompleteCommit';
      });
    } finally {
      c.close();
    }
  });

  test('the state survives a restart: replayed from __transaction_state', async () => {
    let c = await client();
    let was: Struct;
    try {
      const { producerId, epoch } = await initPidRetried(c, 'tx-restart');
      assert.deepEqual(await addPartitions(c, 'tx-restart', producerId, epoch, [{ name: 'tx-out', partitions: [1] }]), {
        'tx-out-1': 0,
      });
      was = await describeTxn(c, 'tx-restart');
      assert.equal(was.transactionState, 'Ongoing');
    } finally {
      c.close();
    }
    await broker.stop();
    broker = await startBroker({ dataDir, props: PROPS });
    c = await client();
    try {
      const now = await until('tx-restart loaded', async () => {
        const d = await describeTxn(c, 'tx-restart');
        return d.errorCode === 0 ? d : null;
      });
      assert.deepEqual(now, was);
      // The committed transaction of the earlier test is still complete, with its producer id and epoch.
      const committed = await describeTxn(c, 'tx-commit');
      assert.equal(committed.transactionState, 'CompleteCommit');
      // And the open one can still be committed by its producer.
      assert.equal(await endTxn(c, 'tx-restart', was.producerId as bigint, was.producerEpoch as number, true), 0);
      await until('CompleteCommit after restart', async () => {
        return (await describeTxn(c, 'tx-restart')).transactionState === 'CompleteCommit';
      });
    } finally {
      c.close();
    }
  });
});
