/**
 * ListOffsets by timestamp under read_committed (issue 17, KIP-98): a consumer's lookup by time answers only an
 * offset below the last stable offset (read_committed) or the high watermark (read_uncommitted), else no offset
 * (-1, timestamp -1), as Kafka's broker does: a record of a still open transaction is never named to a
 * read_committed consumer. Over the raw wire against a real `kstream serve`, with an open transaction.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ATTR_TRANSACTIONAL } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetch, initProducerId, produce, writeMarkers } from './partition-helpers.js';

/** ListOffsets v7 of partition 0 for `timestamp` with isolation level 0 or 1: [offset, timestamp]. */
async function byTime(
  c: RawClient,
  topic: string,
  timestamp: bigint,
  isolationLevel: 0 | 1,
): Promise<[bigint, bigint]> {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
  });
  const p = r.topics[0].partitions[0] as Struct;
  assert.equal(p.errorCode, 0);
  return [p.offset as bigint, p.timestamp as bigint];
}

describe('ListOffsets by timestamp stops at the last stable offset (read_committed)', () => {
  const dirs: string[] = [];
  const brokers: BrokerProcess[] = [];
  after(async () => {
    for (const b of brokers) await b.kill();
    for (const d of dirs) removeDir(d);
  });

  test('an open transaction is never named; after its COMMIT it is', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const b = await startBroker({ dataDir: dir });
    brokers.push(b);
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'lo-txn');
      const t0 = BigInt(Date.now()) - 60_000n;
      const pid = await initProducerId(c);
      // Offset 0: a plain record at t0; offsets 1-2: an open transaction at t0+10s and t0+20s.
      const plain = await buildBatch({ records: [{ value: 'plain-0', timestamp: t0 }] });
      assert.equal((await produce(c, 'lo-txn', plain, null)).errorCode, 0);
      const txn = await buildBatch({
        records: [
          { value: 't-1', timestamp: t0 + 10_000n },
          { value: 't-2', timestamp: t0 + 20_000n },
        ],
        producerId: pid.producerId,
        producerEpoch: pid.producerEpoch,
        baseSequence: 0,
        attributesExtra: ATTR_TRANSACTIONAL,
      });
      assert.equal((await produce(c, 'lo-txn', txn)).errorCode, 0);
      assert.equal((await fetch(c, 'lo-txn', 0n, 1)).lastStableOffset, 1n, 'the transaction is open');

      // Below the LSO: answered under both isolation levels.
      assert.deepEqual(await byTime(c, 'lo-txn', t0, 1), [0n, t0]);
      assert.deepEqual(await byTime(c, 'lo-txn', t0, 0), [0n, t0]);
      // The first record at or after t0+5s is in the open transaction: read_uncommitted gets it (below the HW),
      // read_committed gets no offset.
      assert.deepEqual(await byTime(c, 'lo-txn', t0 + 5_000n, 0), [1n, t0 + 10_000n]);
      assert.deepEqual(await byTime(c, 'lo-txn', t0 + 5_000n, 1), [-1n, -1n], 'not at or above the LSO');
      assert.deepEqual(await byTime(c, 'lo-txn', t0 + 15_000n, 1), [-1n, -1n]);
      // Max timestamp (-3) lies in the open transaction as well.
      assert.deepEqual(await byTime(c, 'lo-txn', -3n, 0), [2n, t0 + 20_000n]);
      assert.deepEqual(await byTime(c, 'lo-txn', -3n, 1), [-1n, -1n]);

      assert.deepEqual(await writeMarkers(c, pid, true, [{ topic: 'lo-txn', partition: 0 }]), [0]);
      assert.equal((await fetch(c, 'lo-txn', 0n, 1)).lastStableOffset, 4n, 'committed');
      assert.deepEqual(await byTime(c, 'lo-txn', t0 + 5_000n, 1), [1n, t0 + 10_000n]);
      assert.deepEqual(await byTime(c, 'lo-txn', t0 + 15_000n, 1), [2n, t0 + 20_000n]);
      // Max timestamp is now the COMMIT marker's (written now, offset 3), below the LSO.
      assert.equal((await byTime(c, 'lo-txn', -3n, 1))[0], 3n);
    });
  });
});
