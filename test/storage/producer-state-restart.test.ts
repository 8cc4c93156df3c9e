/**
 * Producer state across restarts (issue 16): compaction keeps the last batch of every idempotent producer (as
 * an empty batch when all its records are compacted away, Kafka's rule), so the state rebuilt from the log
 * alone, without snapshots, still knows the producer; and after a crash the log's tail is read once: recovery's
 * pass feeds the producer state (nothing is read again for it), with the segments below the recovery point
 * read only when the snapshot lies below them.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { BATCH_HEADER_SIZE, OFF, readBatchHeader, rewriteCrc } from '../../src/protocol/records/batch.js';
import { cleanLog } from '../../src/storage/cleaner.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { buildBatch, config, produced, simpleBatch, tempDir } from './helpers.js';

const T0 = 1_700_000_000_000n;

/** An idempotent batch of producer `pid` (epoch 0) from sequence `seq`: one record per key. */
function keyed(pid: bigint, seq: number, keys: string[]): Buffer {
  const b = buildBatch(
    keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from(`${k}@${pid}/${seq}`) })),
    T0,
  );
  b.writeBigInt64BE(pid, OFF.producerId);
  b.writeInt16BE(0, OFF.producerEpoch);
  b.writeInt32BE(seq, OFF.baseSequence);
  rewriteCrc(b, 0, b.length);
  return b;
}

/** An idempotent batch of `count` unkeyed records. */
function idem(pid: bigint, seq: number, count: number): Buffer {
  const b = simpleBatch(count, 20, T0);
  b.writeBigInt64BE(pid, OFF.producerId);
  b.writeInt16BE(0, OFF.producerEpoch);
  b.writeInt32BE(seq, OFF.baseSequence);
  rewriteCrc(b, 0, b.length);
  return b;
}

function append(log: PartitionLog, b: Buffer) {
  const p = produced(b);
  return log.append(p.buf, p.batches, 0, null);
}

function snapshots(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.snapshot'))
    .sort();
}

function logBytes(dir: string): number {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** The stored batch headers of producer `pid`. */
async function batchesOf(log: PartitionLog, pid: bigint) {
  const out = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20, log.logEndOffset, true);
    if (!r.records || r.records.length === 0) break;
    for (let pos = 0; pos < r.records.length; ) {
      const h = readBatchHeader(r.records, pos);
      if (!h || pos + h.size > r.records.length) break;
      if (h.producerId === pid) out.push(h);
      offset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      pos += h.size;
    }
  }
  return out;
}

test('compaction keeps the last batch of an idempotent producer (emptied): a restart without snapshots knows it', async () => {
  const { dir, cleanup } = await tempDir();
  const cfg = config({ segmentBytes: 1024, cleanupPolicy: 'compact', minCompactionLagMs: 0 });
  let log = await PartitionLog.open(dir, cfg);
  try {
    // Producer 7: offsets 0-5 in three batches (sequences 0-1, 2-3, 4-5).
    append(log, keyed(7n, 0, ['a', 'b']));
    append(log, keyed(7n, 2, ['c', 'd']));
    const last = append(log, keyed(7n, 4, ['e', 'f']));
    assert.equal(last.baseOffset, 4n);
    // A plain producer overwrites every one of its keys (offsets 6-11), then a batch larger than a segment
    // closes the segment holding them all.
    append(
      log,
      buildBatch(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => ({ key: Buffer.from(k), value: Buffer.from('new') }))),
    );
    append(log, buildBatch([{ key: Buffer.from('filler'), value: Buffer.alloc(2048, 0x66) }]));
    assert.equal(log.segmentCount, 2);
    const stats = await cleanLog(log);
    assert.equal(stats.recordsRemoved, 6, 'every record of producer 7 compacted away');
    const kept = await batchesOf(log, 7n);
    assert.equal(kept.length, 1, 'only its last batch is kept');
    const h = kept[0]!;
    assert.deepEqual(
      [h.baseOffset, h.lastOffsetDelta, h.baseSequence, h.producerEpoch, h.recordCount, h.size],
      [4n, 1, 4, 0, 0, BATCH_HEADER_SIZE],
      'an empty batch: offsets, sequence range and epoch of the last batch, no records',
    );
    await log.close();

    // Restart with the producer state rebuilt from the log alone.
    for (const s of snapshots(dir)) unlinkSync(join(dir, s));
    log = await PartitionLog.open(dir, cfg);
    assert.equal(log.openStats.producerSnapshot, -1n, 'no snapshot: the state comes from the log');
    assert.deepEqual(
      log.producers.summaries().map((s) => [s.producerId, s.lastSequence]),
      [[7n, 5]],
    );
    const dup = append(log, keyed(7n, 4, ['e', 'f']));
    assert.deepEqual([dup.duplicate, dup.baseOffset, dup.lastOffset], [true, 4n, 5n], 'a retry of the last batch');
    const end = log.logEndOffset;
    const next = append(log, keyed(7n, 6, ['g']));
    assert.deepEqual([next.duplicate ?? false, next.baseOffset], [false, end], 'the next sequence is appended');
    assert.throws(
      () => append(log, keyed(7n, 9, ['h'])),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
  } finally {
    await log.close();
    await cleanup();
  }
});

test('after a crash the tail is read once: recovery feeds the producer state', async (t) => {
  const { dir, cleanup } = await tempDir();
  const cfg = config({ segmentBytes: 2048 });
  let log = await PartitionLog.open(dir, cfg);
  t.after(async () => {
    await log.close().catch(() => {});
    await cleanup();
  });
  for (let i = 0; i < 40; i++) append(log, idem(11n, i * 3, 3));
  const lastBase = log.segmentBaseOffsets.at(-1) as bigint;
  assert.ok(log.segmentCount >= 3, `several segments (${log.segmentCount})`);
  const activeBytes = statSync(join(dir, `${lastBase.toString().padStart(20, '0')}.log`)).size;
  // A crash: no clean-shutdown marker, no snapshot at the log end. A roll flushes and checkpoints the recovery
  // point, so recovery re-reads the active segment, where the snapshot of the last roll also points.
  await log.detach();

  log = await PartitionLog.open(dir, cfg);
  try {
    const s = log.openStats;
    assert.equal(s.cleanShutdown, false);
    assert.equal(s.producerSnapshot, lastBase, 'the snapshot of the last roll');
    assert.ok(s.bytesRecovered >= activeBytes, `recovery read the tail (${s.bytesRecovered} bytes)`);
    assert.equal(s.producerBatchesReplayed, 0, 'no batch read again for the producer state');
    assert.equal(s.producerBytesReplayed, 0);
    assert.equal(s.producerBatchesRecovered, Number((120n - lastBase) / 3n), 'the batches after the snapshot');
    // The state is whole: retries of the last batches are duplicates, a gap is refused, the next is appended.
    for (const i of [35, 37, 39]) {
      const r = append(log, idem(11n, i * 3, 3));
      assert.deepEqual([r.duplicate, r.baseOffset], [true, BigInt(i * 3)]);
    }
    assert.throws(
      () => append(log, idem(11n, 200, 1)),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    assert.equal(append(log, idem(11n, 120, 3)).baseOffset, 120n);
  } finally {
    await log.close();
  }

  // A snapshot below the recovery point's segment (the newest one damaged): the segments between it and the
  // recovery point are read for the state, the tail by recovery alone; no byte is read twice.
  log = await PartitionLog.open(dir, cfg);
  for (let i = 41; i < 60; i++) append(log, idem(11n, i * 3, 3));
  await log.flush();
  await log.checkpoint();
  append(log, idem(11n, 180, 3));
  await log.detach();
  const snaps = snapshots(dir);
  writeFileSync(join(dir, snaps.at(-1) as string), 'damaged');
  log = await PartitionLog.open(dir, cfg);
  try {
    const s = log.openStats;
    const older = BigInt((snaps.at(-2) as string).slice(0, 20));
    assert.equal(s.producerSnapshot, older, 'the older snapshot');
    assert.ok(
      s.producerBatchesReplayed > 0 && s.producerBatchesRecovered > 0,
      JSON.stringify(s, (_, v) => String(v)),
    );
    assert.ok(
      s.producerBytesReplayed + s.bytesRecovered <= logBytes(dir),
      `read ${s.producerBytesReplayed} + ${s.bytesRecovered} of ${logBytes(dir)} bytes`,
    );
    const r = append(log, idem(11n, 180, 3));
    assert.deepEqual([r.duplicate, r.baseOffset], [true, 180n], 'the last batch before the crash is known');
    assert.equal(append(log, idem(11n, 183, 1)).baseOffset, 183n);
  } finally {
    await log.close();
  }
});
