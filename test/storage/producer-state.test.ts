/**
 * Producer state of a partition log (issue 16, src/storage/producer-state.ts): duplicate detection and
 * Kafka's sequence/epoch errors on the leader path, the same state built by a follower from replicated
 * batches, and the state rebuilt at open from the last `<offset>.snapshot` plus only the batches after it
 * (clean close: none; crash: the tail since the last roll), damaged or stale snapshots ignored, and kept
 * consistent through truncation, retention / DeleteRecords and producer.id.expiration.ms.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { OFF, rewriteCrc } from '../../src/protocol/records/batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { CapturingLogger, config, produced, simpleBatch, tempDir } from './helpers.js';

/** An idempotent batch: `count` records of producer `pid`, epoch, from sequence `seq`. */
function idem(pid: bigint, epoch: number, seq: number, count: number, ts = 1_700_000_000_000n): Buffer {
  const b = simpleBatch(count, 20, ts);
  b.writeBigInt64BE(pid, OFF.producerId);
  b.writeInt16BE(epoch, OFF.producerEpoch);
  b.writeInt32BE(seq, OFF.baseSequence);
  rewriteCrc(b, 0, b.length);
  return b;
}

function append(log: PartitionLog, ...batches: Buffer[]) {
  const p = produced(...batches);
  return log.append(p.buf, p.batches, 0, null);
}

function refused(log: PartitionLog, b: Buffer, code: number): void {
  const end = log.logEndOffset;
  assert.throws(
    () => append(log, b),
    (e: unknown) => e instanceof KafkaError && e.code === code,
  );
  assert.equal(log.logEndOffset, end, 'nothing appended');
}

function snapshots(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.snapshot'))
    .sort();
}

test('leader appends: retries answered with their offsets, gaps and stale epochs refused', async () => {
  const { dir, cleanup } = await tempDir();
  const log = await PartitionLog.open(dir, config());
  try {
    assert.equal(append(log, idem(7n, 0, 0, 3)).baseOffset, 0n);
    assert.equal(append(log, simpleBatch(2)).baseOffset, 3n);
    assert.equal(append(log, idem(7n, 0, 3, 2)).baseOffset, 5n);
    const dup = append(log, idem(7n, 0, 0, 3));
    assert.deepEqual([dup.baseOffset, dup.lastOffset, dup.duplicate], [0n, 2n, true]);
    assert.equal(log.logEndOffset, 7n);
    refused(log, idem(7n, 0, 9, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    refused(log, idem(7n, 0, 2, 3), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER); // overlaps, not a remembered batch
    refused(log, idem(7n, 1, 1, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER); // a new epoch starts at 0
    refused(log, Buffer.concat([idem(7n, 0, 5, 1), idem(7n, 0, 6, 1)]), ErrorCode.INVALID_RECORD);
    assert.equal(append(log, idem(7n, 1, 0, 1)).baseOffset, 7n);
    refused(log, idem(7n, 0, 5, 1), ErrorCode.INVALID_PRODUCER_EPOCH);
    // Unknown producers start anywhere; sequences wrap at int32 max.
    assert.equal(append(log, idem(8n, 0, 2_147_483_647, 2)).baseOffset, 8n);
    assert.equal(append(log, idem(8n, 0, 1, 1)).baseOffset, 10n);
    assert.deepEqual(
      log.producers.summaries().map((s) => [s.producerId, s.producerEpoch, s.lastSequence]),
      [
        [7n, 1, 0],
        [8n, 0, 1],
      ],
    );
  } finally {
    await log.close();
    await cleanup();
  }
});

test('a follower builds the same state from the batches it replicates', async () => {
  const a = await tempDir();
  const b = await tempDir();
  const leader = await PartitionLog.open(a.dir, config());
  const follower = await PartitionLog.open(b.dir, config());
  try {
    for (let i = 0; i < 8; i++) append(leader, idem(3n, 2, i * 4, 4));
    const r = await leader.read(0n, 1024 * 1024, leader.logEndOffset);
    follower.appendAsFollower(r.records as Buffer);
    assert.deepEqual(follower.producers.summaries(), leader.producers.summaries());
    // The new leader recognizes retries of the last five batches the old one stored.
    for (const i of [3, 5, 7]) assert.equal(append(follower, idem(3n, 2, i * 4, 4)).baseOffset, BigInt(i * 4));
    refused(follower, idem(3n, 2, 2 * 4, 4), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(append(follower, idem(3n, 2, 32, 1)).baseOffset, 32n);
  } finally {
    await leader.close();
    await follower.close();
    await a.cleanup();
    await b.cleanup();
  }
});

test('rebuilt at open: the tail since the last roll after a crash, nothing after a clean close', async (t) => {
  const { dir, cleanup } = await tempDir();
  const cfg = config({ segmentBytes: 2048 });
  let log = await PartitionLog.open(dir, cfg);
  // Also when an assertion fails before the end (the last log may be detached or open).
  t.after(async () => {
    await log.close().catch(() => {});
    await cleanup();
  });
  for (let i = 0; i < 40; i++) append(log, idem(11n, 0, i * 3, 3));
  const segments = log.segmentCount;
  assert.ok(segments >= 3, `several segments (${segments})`);
  const lastBase = log.segmentBaseOffsets.at(-1) as bigint;
  // A crash: no close, so no snapshot at the log end.
  await log.detach();
  assert.ok(snapshots(dir).length <= 3, `old snapshots deleted: ${snapshots(dir)}`);
  log = await PartitionLog.open(dir, cfg);
  assert.equal(log.openStats.cleanShutdown, false);
  assert.equal(log.openStats.producerSnapshot, lastBase, 'the snapshot of the last roll');
  assert.equal(log.openStats.producerBatchesReplayed, 0, 'recovery fed the state: nothing read again');
  assert.equal(log.openStats.producerBatchesRecovered, Number((120n - lastBase) / 3n), 'only the batches after it');
  for (const i of [35, 37, 39]) assert.equal(append(log, idem(11n, 0, i * 3, 3)).baseOffset, BigInt(i * 3));
  refused(log, idem(11n, 0, 200, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(append(log, idem(11n, 0, 120, 3)).baseOffset, 120n);
  await log.close();
  assert.ok(snapshots(dir).includes('00000000000000000123.snapshot'), `${snapshots(dir)}`);
  log = await PartitionLog.open(dir, cfg);
  try {
    assert.equal(log.openStats.producerSnapshot, 123n);
    assert.equal(log.openStats.producerBatchesReplayed, 0, 'nothing read after a clean close');
    assert.equal(append(log, idem(11n, 0, 120, 3)).baseOffset, 120n, 'a retry after the restart');
    refused(log, idem(11n, 0, 200, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  } finally {
    await log.close();
    await cleanup();
  }
});

test('a damaged snapshot is ignored (logged, deleted): the state comes from an older one and more of the log', async () => {
  const { dir, cleanup } = await tempDir();
  const cfg = config({ segmentBytes: 2048 });
  let log = await PartitionLog.open(dir, cfg);
  for (let i = 0; i < 30; i++) append(log, idem(5n, 0, i, 1));
  await log.close();
  const newest = snapshots(dir).at(-1) as string;
  writeFileSync(join(dir, newest), 'garbage');
  const logger = new CapturingLogger();
  log = await PartitionLog.open(dir, cfg, logger);
  try {
    assert.ok(
      logger.at('warn').some((m) => m.includes(newest) && m.includes('damaged')),
      logger.at('warn').join('\n'),
    );
    assert.ok(!snapshots(dir).includes(newest), 'deleted');
    assert.ok(log.openStats.producerSnapshot >= 0n && log.openStats.producerSnapshot < 30n, 'an older snapshot');
    assert.ok(log.openStats.producerBatchesReplayed > 0);
    assert.equal(append(log, idem(5n, 0, 29, 1)).baseOffset, 29n, 'the last batch is still a known retry');
    assert.equal(append(log, idem(5n, 0, 30, 1)).baseOffset, 30n);
  } finally {
    await log.close();
    await cleanup();
  }
});

test('truncation forgets the cut batches; DeleteRecords and retention forget producers wholly below the log start; expiration', async () => {
  const { dir, cleanup } = await tempDir();
  const log = await PartitionLog.open(dir, config({ segmentBytes: 400 }));
  try {
    for (let i = 0; i < 6; i++) append(log, idem(1n, 0, i, 1)); // offsets 0-5
    for (let i = 0; i < 6; i++) append(log, idem(2n, 0, i, 1)); // offsets 6-11
    await log.truncateTo(9n);
    assert.deepEqual(
      log.producers.summaries().map((s) => [s.producerId, s.lastSequence]),
      [
        [1n, 5],
        [2n, 2],
      ],
    );
    // The cut batch of producer 2 may come again (it is not in the log any more), in sequence.
    assert.equal(append(log, idem(2n, 0, 3, 1)).baseOffset, 9n);
    log.setHighWatermark(null);
    await log.deleteRecordsBefore(6n);
    assert.deepEqual(
      log.producers.summaries().map((s) => s.producerId),
      [2n],
      'producer 1 had nothing left',
    );
    // producer.id.expiration.ms: the last batch's timestamp (2023) is long past a day.
    assert.equal(log.expireProducers(Date.now(), 86_400_000), 1);
    assert.equal(log.producers.size, 0);
    assert.ok(snapshots(dir).length > 0, 'segments rolled');
    await log.truncateFullyAndStartAt(100n);
    assert.equal(snapshots(dir).length, 0);
  } finally {
    await log.close();
    await cleanup();
  }
});
