/**
 * Transactions in a partition log (issue 17, src/storage/producer-state.ts and txn-index.ts): transactional batches
 * open a transaction, markers close it; the last stable offset and the aborted-transaction index on the leader,
 * the same built by a follower from the replicated bytes, kept through truncation (a cut-off marker reopens its
 * transaction) and rebuilt at open; marker checks (stale producer epoch, fenced coordinator).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ATTR_TRANSACTIONAL, OFF, readBatchHeader, rewriteCrc } from '../../src/protocol/records/batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { buildMarkerBatch } from '../../src/storage/producer-state.js';
import { config, produced, simpleBatch, tempDir } from './helpers.js';

/** A transactional batch: `count` records of producer `pid` (epoch 0) from sequence `seq`. */
function txn(pid: bigint, seq: number, count: number): Buffer {
  const b = simpleBatch(count, 20);
  b.writeBigInt64BE(pid, OFF.producerId);
  b.writeInt16BE(0, OFF.producerEpoch);
  b.writeInt32BE(seq, OFF.baseSequence);
  b.writeInt16BE(b.readInt16BE(OFF.attributes) | ATTR_TRANSACTIONAL, OFF.attributes);
  rewriteCrc(b, 0, b.length);
  return b;
}

function append(log: PartitionLog, b: Buffer) {
  const p = produced(b);
  return log.append(p.buf, p.batches, 0, null);
}

function marker(log: PartitionLog, pid: bigint, commit: boolean, epoch = 0, coordinatorEpoch = 0) {
  const b = buildMarkerBatch(pid, epoch, commit, coordinatorEpoch);
  return log.append(b, [readBatchHeader(b, 0)!], 0, null);
}

function aborted(log: PartitionLog): [bigint, bigint][] {
  return log.abortedTransactions(0n, log.logEndOffset).map((a) => [a.producerId, a.firstOffset]);
}

test('leader and follower agree on the LSO and aborted transactions; truncation and reopening keep them', async () => {
  const a = await tempDir();
  const f = await tempDir();
  let leader = await PartitionLog.open(a.dir, config());
  const follower = await PartitionLog.open(f.dir, config());
  try {
    assert.equal(leader.lastStableOffset, 0n);
    append(leader, simpleBatch(2)); // 0-1
    assert.equal(leader.lastStableOffset, 2n, 'no transaction: the LSO is the HW');
    append(leader, txn(7n, 0, 2)); // 2-3
    append(leader, txn(8n, 0, 1)); // 4
    append(leader, txn(7n, 2, 1)); // 5
    assert.equal(leader.lastStableOffset, 2n);
    assert.equal(marker(leader, 8n, false).baseOffset, 6n);
    assert.equal(leader.lastStableOffset, 2n, '7 is still open');
    assert.deepEqual(aborted(leader), [[8n, 4n]]);
    // The HW below 7's marker: its transaction stays unstable until the HW passes the marker.
    leader.setHighWatermark(7n);
    assert.equal(marker(leader, 7n, true).baseOffset, 7n);
    assert.equal(leader.lastStableOffset, 2n, 'the commit marker is not below the HW yet');
    leader.setHighWatermark(null);
    assert.equal(leader.lastStableOffset, 8n);
    append(leader, txn(8n, 1, 1)); // 8: 8's next transaction
    assert.equal(leader.lastStableOffset, 8n);

    const bytes = (await leader.read(0n, 1 << 20, leader.logEndOffset)).records!;
    follower.appendAsFollower(Buffer.from(bytes));
    assert.equal(follower.logEndOffset, 9n);
    assert.equal(follower.lastStableOffset, 8n);
    assert.deepEqual(aborted(follower), [[8n, 4n]]);
    // A stale producer epoch or an older coordinator are refused, nothing written.
    marker(leader, 7n, false, 2, 5); // 9: epoch 2, coordinator epoch 5 (no open transaction of 7)
    for (const [epoch, ce, code] of [
      [1, 5, ErrorCode.INVALID_PRODUCER_EPOCH],
      [2, 4, ErrorCode.TRANSACTION_COORDINATOR_FENCED],
    ] as const) {
      assert.throws(
        () => marker(leader, 7n, true, epoch, ce),
        (e: unknown) => e instanceof KafkaError && e.code === code,
      );
      assert.equal(leader.logEndOffset, 10n);
    }

    // Truncating the follower below 8's abort marker reopens that transaction and forgets the index entry.
    await follower.truncateTo(6n);
    assert.deepEqual(aborted(follower), []);
    assert.equal(follower.lastStableOffset, 2n, '7 is open again (its marker was cut off too)');
    await follower.truncateTo(4n);
    assert.equal(follower.lastStableOffset, 2n);

    // Reopened after a clean close, and with the snapshot gone (rebuilt from the log alone).
    await leader.close();
    leader = await PartitionLog.open(a.dir, config());
    assert.equal(leader.lastStableOffset, 8n);
    assert.deepEqual(aborted(leader), [[8n, 4n]]);
    await leader.close();
    for (const o of leader.producers.snapshotOffsets()) leader.producers.deleteSnapshot(o);
    leader = await PartitionLog.open(a.dir, config());
    assert.equal(leader.lastStableOffset, 8n);
    assert.deepEqual(aborted(leader), [[8n, 4n]]);
    assert.throws(
      () => marker(leader, 7n, true, 1, 5),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_PRODUCER_EPOCH,
    );
  } finally {
    await leader.close();
    await follower.close();
    await a.cleanup();
    await f.cleanup();
  }
});
