/**
 * TxnOffsetCommit (issue 17, KIP-98 / KIP-447) over the wire: offsets a transactional producer commits for a
 * group are invisible (OffsetFetch answers the previous commit; with require_stable UNSTABLE_OFFSET_COMMIT) until
 * the producer's COMMIT marker reaches the group's `__consumer_offsets` partition, and are dropped by an ABORT
 * marker — also when the marker comes after a restart or kill -9 (the coordinator's replay holds them pending
 * and honours markers). Fencing: an unknown member id, a wrong generation and a stale producer epoch get
 * Kafka's codes and change nothing.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';
import { createTopic, initProducerId, type Pid, writeMarkers } from './partition-helpers.js';

const GROUP = 'txn-group';
const OFFSETS = { topic: '__consumer_offsets', partition: 0 };

async function txnCommit(
  c: RawClient,
  pid: Pid,
  offset: bigint,
  opts: { memberId?: string; generationId?: number } = {},
): Promise<number> {
  const r = await c.request(ApiKey.TxnOffsetCommit, 3, {
    transactionalId: 'tx',
    groupId: GROUP,
    producerId: pid.producerId,
    producerEpoch: pid.producerEpoch,
    generationId: opts.generationId ?? -1,
    memberId: opts.memberId ?? '',
    groupInstanceId: null,
    topics: [
      {
        name: 'input',
        partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'm' }],
      },
    ],
  });
  return (r.topics[0].partitions[0] as Struct).errorCode as number;
}

/** OffsetFetch v7 of input/0: [offset, error code]. */
async function committed(c: RawClient, requireStable: boolean): Promise<[bigint, number]> {
  const r = await c.request(ApiKey.OffsetFetch, 7, {
    groupId: GROUP,
    topics: [{ name: 'input', partitionIndexes: [0] }],
    requireStable,
  });
  assert.equal(r.errorCode, 0);
  const p = r.topics[0].partitions[0] as Struct;
  return [p.committedOffset as bigint, p.errorCode as number];
}

describe('TxnOffsetCommit: offsets visible only after the COMMIT marker', () => {
  const dirs: string[] = [];
  const brokers: BrokerProcess[] = [];
  after(async () => {
    for (const b of brokers) await b.kill();
    for (const d of dirs) removeDir(d);
  });
  async function start(dir: string): Promise<BrokerProcess> {
    const b = await startBroker({ dataDir: dir, props: { 'offsets.topic.num.partitions': '1' } });
    brokers.push(b);
    return b;
  }
  /** Wait until the group coordinator answers (its __consumer_offsets partition loaded). */
  async function coordinatorReady(c: RawClient): Promise<void> {
    await until('the group coordinator', async () => {
      const r = await c.request(ApiKey.FindCoordinator, 2, { key: GROUP, keyType: 0 });
      if (r.errorCode !== 0) return null;
      const [, code] = await committed(c, false);
      return code === 0;
    });
  }

  test('commit, abort, restart and kill -9 in between, fencing', async () => {
    const dir = tempDir();
    dirs.push(dir);
    let b = await start(dir);
    let pid: Pid = { producerId: -1n, producerEpoch: 0 };
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'input');
      await coordinatorReady(c);
      pid = await initProducerId(c);

      assert.equal(await txnCommit(c, pid, 42n), 0);
      assert.deepEqual(await committed(c, false), [-1n, 0], 'not visible before the marker');
      assert.deepEqual(await committed(c, true), [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]);
      assert.deepEqual(await writeMarkers(c, pid, true, [OFFSETS]), [0]);
      assert.deepEqual(await committed(c, true), [42n, 0], 'visible after COMMIT');

      assert.equal(await txnCommit(c, pid, 50n), 0);
      assert.deepEqual(await committed(c, true), [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]);
      assert.deepEqual(await writeMarkers(c, pid, false, [OFFSETS]), [0]);
      assert.deepEqual(await committed(c, true), [42n, 0], 'ABORT drops it');

      // Pending across a clean restart, then committed.
      assert.equal(await txnCommit(c, pid, 60n), 0);
    });
    assert.equal(await b.stop(), 0);
    b = await start(dir);
    await RawClient.using(b.port, async (c) => {
      await coordinatorReady(c);
      assert.deepEqual(await committed(c, false), [42n, 0]);
      assert.deepEqual(await committed(c, true), [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]);
      assert.deepEqual(await writeMarkers(c, pid, true, [OFFSETS]), [0]);
      assert.deepEqual(await committed(c, true), [60n, 0]);
      // Pending across kill -9, then aborted.
      assert.equal(await txnCommit(c, pid, 70n), 0);
    });
    await b.kill();
    b = await start(dir);
    await RawClient.using(b.port, async (c) => {
      await coordinatorReady(c);
      assert.deepEqual(await committed(c, true), [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT]);
      assert.deepEqual(await writeMarkers(c, pid, false, [OFFSETS]), [0]);
      assert.deepEqual(await committed(c, true), [60n, 0]);

      // Fencing (KIP-447): nothing of these is stored.
      assert.equal(await txnCommit(c, pid, 80n, { memberId: 'nobody' }), ErrorCode.UNKNOWN_MEMBER_ID);
      assert.equal(await txnCommit(c, pid, 80n, { generationId: 7 }), ErrorCode.ILLEGAL_GENERATION);
      // The producer's epoch moved on (a marker of epoch 2): its old epoch is fenced.
      assert.deepEqual(await writeMarkers(c, { ...pid, producerEpoch: 2 }, false, [OFFSETS]), [0]);
      assert.equal(await txnCommit(c, pid, 80n), ErrorCode.INVALID_PRODUCER_EPOCH);
      assert.deepEqual(await committed(c, true), [60n, 0]);
    });
    // Replay honours every marker: the same answer after one more restart.
    assert.equal(await b.stop(), 0);
    b = await start(dir);
    await RawClient.using(b.port, async (c) => {
      await coordinatorReady(c);
      assert.deepEqual(await committed(c, true), [60n, 0]);
    });
  });
});
