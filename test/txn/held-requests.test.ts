/**
 * Requests for a transactional id that arrive while its previous write or completion is under way (issue 17):
 * EndTxn answers once PrepareCommit/PrepareAbort is durable, as Kafka's coordinator does, and the markers and
 * the Complete state follow. A request meanwhile — the commit retried on another connection, the next
 * transaction's AddPartitionsToTxn, a new instance's InitProducerId — is held until the completion settles and
 * answered as the state then is, where Kafka answers CONCURRENT_TRANSACTIONS and its clients sleep their retry
 * backoff (librdkafka: 100 ms). Raw requests against one `kstream serve`; what read_committed sees is waited
 * for (the last stable offset), as after a commit in Kafka.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';
import { batch, createTopic, fetch, latest, type Pid, produce } from './partition-helpers.js';

const PROPS = { 'transaction.state.log.num.partitions': '1', 'offsets.topic.num.partitions': '1' };

let broker: BrokerProcess;
let dataDir: string;

async function initTxnPid(c: RawClient, transactionalId: string): Promise<Struct> {
  return c.request(ApiKey.InitProducerId, 4, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
}

async function addPartition(c: RawClient, transactionalId: string, pid: Pid, topic: string): Promise<number> {
  const r = await c.request(ApiKey.AddPartitionsToTxn, 3, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: pid.producerId,
    v3AndBelowProducerEpoch: pid.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions: [0] }],
  });
  return ((r.resultsByTopicV3AndBelow as Struct[])[0]!.resultsByPartition as Struct[])[0]!.partitionErrorCode as number;
}

async function endTxn(c: RawClient, transactionalId: string, pid: Pid, committed: boolean): Promise<number> {
  const r = await c.request(ApiKey.EndTxn, 3, {
    transactionalId,
    producerId: pid.producerId,
    producerEpoch: pid.producerEpoch,
    committed,
  });
  return r.errorCode as number;
}

describe('requests held while a transaction completes (one node)', () => {
  before(async () => {
    dataDir = tempDir();
    broker = await startBroker({ dataDir, props: PROPS });
  });
  after(async () => {
    await broker?.stop();
    removeDir(dataDir);
  });

  test('a retried EndTxn, the next AddPartitionsToTxn and a new InitProducerId are answered, not CONCURRENT_TRANSACTIONS', async () => {
    const c1 = await RawClient.connect(broker.port);
    const c2 = await RawClient.connect(broker.port);
    try {
      const topic = 'held-out';
      const id = 'tx-held';
      await createTopic(c1, topic);
      // The coordinator may still be loading its partition: as clients, retry until it answers.
      const first = await until('InitProducerId', async () => {
        const r = await initTxnPid(c1, id);
        return r.errorCode === ErrorCode.NONE ? r : null;
      });
      const pid: Pid = { producerId: first.producerId as bigint, producerEpoch: first.producerEpoch as number };
      const rounds = 12;
      const committed: string[] = [];
      for (let i = 0; i < rounds; i++) {
        // Right after the previous EndTxn answered: its markers may still be on their way.
        assert.equal(await addPartition(c1, id, pid, topic), ErrorCode.NONE, `AddPartitionsToTxn, round ${i}`);
        const value = `v${i}`;
        const p = await produce(c1, topic, await batch(pid, i, [value]), id);
        assert.equal(p.errorCode, ErrorCode.NONE, `produce, round ${i}`);
        const commit = i % 3 !== 2;
        if (commit) committed.push(value);
        // The same EndTxn on two connections at once, as a client retrying after a lost answer: the second
        // arrives while the first's Prepare record is written or its markers are sent.
        const answers = await Promise.all([endTxn(c1, id, pid, commit), endTxn(c2, id, pid, commit)]);
        assert.deepEqual(answers, [ErrorCode.NONE, ErrorCode.NONE], `EndTxn commit=${commit}, round ${i}`);
      }
      // A new instance right after a commit: its InitProducerId waits for the completion instead of being refused.
      assert.equal(await addPartition(c1, id, pid, topic), ErrorCode.NONE);
      const p = await produce(c1, topic, await batch(pid, rounds, ['last']), id);
      assert.equal(p.errorCode, ErrorCode.NONE);
      committed.push('last');
      assert.equal(await endTxn(c1, id, pid, true), ErrorCode.NONE);
      const again = await initTxnPid(c2, id);
      assert.equal(again.errorCode, ErrorCode.NONE, 'InitProducerId right after the commit');
      assert.equal(again.producerId, pid.producerId);
      assert.equal(again.producerEpoch, pid.producerEpoch + 1);
      // read_committed sees exactly the committed records once the last stable offset passed them.
      const end0 = await latest(c1, topic, 0);
      await until('the last stable offset at the log end', async () => (await latest(c1, topic, 1)) === end0);
      const got = await fetch(c1, topic, 0n, 1);
      assert.equal(got.errorCode, 0);
      const aborted = new Set((got.aborted ?? []).map((a) => a.firstOffset));
      const visible = got.values.filter((_, k) => {
        // Kafka's read_committed filter: the records of an aborted transaction are dropped by the consumer.
        const off = got.offsets[k]!;
        return ![...aborted].some((first) => first === off);
      });
      assert.deepEqual(visible, committed);
    } finally {
      c1.close();
      c2.close();
    }
  });

  test('SIGKILL right after a commit (its Complete record not yet durable): the restart completes it, nothing lost', async () => {
    const dir = tempDir();
    let b = await startBroker({ dataDir: dir, props: PROPS });
    try {
      const topic = 'held-crash';
      const id = 'tx-crash';
      let c = await RawClient.connect(b.port);
      await createTopic(c, topic);
      const init = await until('InitProducerId', async () => {
        const r = await initTxnPid(c, id);
        return r.errorCode === ErrorCode.NONE ? r : null;
      });
      const pid: Pid = { producerId: init.producerId as bigint, producerEpoch: init.producerEpoch as number };
      const values: string[] = [];
      for (let i = 0; i < 5; i++) {
        assert.equal(await addPartition(c, id, pid, topic), ErrorCode.NONE);
        values.push(`c${i}`);
        assert.equal((await produce(c, topic, await batch(pid, i, [`c${i}`]), id)).errorCode, ErrorCode.NONE);
        assert.equal(await endTxn(c, id, pid, true), ErrorCode.NONE);
      }
      // The last Complete record is appended at most (acks=1), its markers maybe not even written.
      c.close();
      await b.kill();
      b = await startBroker({ dataDir: dir, props: PROPS });
      c = await RawClient.connect(b.port);
      // The replay finds PrepareCommit (or CompleteCommit) and completes it; the producer goes on.
      const desc = await until('CompleteCommit after the restart', async () => {
        const r = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] });
        const d = (r.transactionStates as Struct[])[0]!;
        return d.errorCode === ErrorCode.NONE && d.transactionState === 'CompleteCommit' ? d : null;
      });
      assert.equal(desc.producerEpoch, pid.producerEpoch);
      assert.equal(
        await until('AddPartitionsToTxn after the restart', async () => {
          const e = await addPartition(c, id, pid, topic);
          return e === ErrorCode.NONE ? 'ok' : null;
        }),
        'ok',
      );
      assert.equal((await produce(c, topic, await batch(pid, 5, ['after']), id)).errorCode, ErrorCode.NONE);
      assert.equal(await endTxn(c, id, pid, true), ErrorCode.NONE);
      values.push('after');
      const end = await latest(c, topic, 0);
      await until('the last stable offset at the log end', async () => (await latest(c, topic, 1)) === end);
      const got = await fetch(c, topic, 0n, 1);
      assert.deepEqual(got.values, values);
      assert.deepEqual(got.aborted ?? [], []);
      c.close();
    } finally {
      await b.stop();
      removeDir(dir);
    }
  });
});
