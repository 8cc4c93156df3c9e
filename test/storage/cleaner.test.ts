/**
 * Log compaction: 10 values for each of 1,000 keys plus tombstones compact to the newest value per live key,
 * offsets unchanged, the active segment untouched; tombstones stay until delete.retention.ms; records newer
 * than min.compaction.lag.ms stay; and a crash at any point of a pass (simulated at each step, and a real
 * SIGKILL of a cleaning process) leaves a valid log that has lost nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Compression, validateProducedBatches } from '../../src/protocol/records/batch.js';
import { buildBatch, decodeBatch, type RecordInput } from '../../src/protocol/records/record.js';
import { CLEANED_SUFFIX, cleanLog, LogCleaner } from '../../src/storage/cleaner.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { config, tempDir } from './helpers.js';

const KEYS = 1000;
const ROUNDS = 10;
const SEGMENT_BYTES = 8 * 1024;
const T0 = 1_700_000_000_000n;

interface Rec {
  offset: bigint;
  key: string | null;
  value: string | null;
}

async function append(log: PartitionLog, records: RecordInput[], compression = Compression.None): Promise<void> {
  const buf = await buildBatch({ records, compression });
  const v = validateProducedBatches(buf, 100 * 1024 * 1024);
  if (!v.ok) throw new Error(v.message);
  log.append(buf, v.batches, 0, null);
}

/** Write 10 rounds of every key (mixed codecs, 50 records a batch), tombstones for every 10th key, a filler. */
async function fill(log: PartitionLog): Promise<Map<string, { offset: bigint; value: string | null }>> {
  const newest = new Map<string, { offset: bigint; value: string | null }>();
  const codecs = [Compression.None, Compression.Gzip, Compression.Zstd, Compression.Lz4, Compression.Snappy];
  let batch: RecordInput[] = [];
  let n = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const base = log.logEndOffset;
    batch.forEach((r, i) => {
      newest.set(String(r.key), { offset: base + BigInt(i), value: r.value === null ? null : String(r.value) });
    });
    await append(log, batch, codecs[n++ % codecs.length]);
    batch = [];
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < KEYS; k++) {
      batch.push({ key: `key-${k}`, value: `v${round}-${k}-${'x'.repeat(k % 17)}`, timestamp: T0 + BigInt(round) });
      if (batch.length === 50) await flush();
    }
  }
  for (let k = 0; k < KEYS; k += 10) {
    batch.push({ key: `key-${k}`, value: null, timestamp: T0 + 100n });
    if (batch.length === 50) await flush();
  }
  await flush();
  // A batch larger than a segment: closes the segment holding the tombstones and becomes the active one.
  await append(log, [{ key: 'filler', value: 'f'.repeat(SEGMENT_BYTES * 2), timestamp: T0 + 200n }]);
  newest.set('filler', { offset: log.logEndOffset - 1n, value: 'f'.repeat(SEGMENT_BYTES * 2) });
  return newest;
}

async function readAll(log: PartitionLog): Promise<Rec[]> {
  const out: Rec[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20, log.logEndOffset);
    if (!r.records) break;
    let pos = 0;
    while (pos < r.records.length) {
      const b = await decodeBatch(r.records, pos);
      for (const rec of b.records) {
        if (rec.offset < offset) continue;
        out.push({ offset: rec.offset, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null });
      }
      pos += b.header.size;
      offset = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
    }
  }
  return out;
}

function activeFile(log: PartitionLog): Buffer {
  const base = log.segmentBaseOffsets.at(-1) as bigint;
  return readFileSync(join(log.dir, `${base.toString().padStart(20, '0')}.log`));
}

/** Every key's newest record is present, at its original offset, with its value. */
function assertNewestKept(
  recs: Rec[],
  newest: Map<string, { offset: bigint; value: string | null }>,
  tombstonesGone: boolean,
) {
  const byOffset = new Map(recs.map((r) => [r.offset, r]));
  for (const [key, n] of newest) {
    const r = byOffset.get(n.offset);
    if (n.value === null && tombstonesGone) {
      assert.equal(r, undefined, `tombstone of ${key} removed`);
      continue;
    }
    assert.ok(r, `newest record of ${key} at ${n.offset} is there`);
    assert.equal(r.key, key);
    assert.equal(r.value, n.value);
  }
}

const cfg = () => config({ segmentBytes: SEGMENT_BYTES, cleanupPolicy: 'compact', deleteRetentionMs: 1000 });

const smallCfg = () => config({ segmentBytes: 1024, cleanupPolicy: 'compact', deleteRetentionMs: 1000 });
const openSmall = (dir: string) => PartitionLog.open(join(dir, 'c-0'), smallCfg());

/** One single-record batch for each of keys k<from>..k<from+count-1>, values `r<round>-<k>` padded. */
async function oneRecordBatches(log: PartitionLog, round: number, count: number, from = 0): Promise<void> {
  for (let k = from; k < from + count; k++) {
    await append(log, [{ key: `k${k}`, value: `r${round}-${k}-${'x'.repeat(100)}`, timestamp: T0 }]);
  }
}

/**
 * A log of single-record batches, segments of 5 offsets: k0..k19 at offsets 0-19, then `count` of them again
 * from k<from> (offsets 20-), then a filler that closes the segment holding those.
 */
async function supersededLog(dir: string, count: number, from: number): Promise<PartitionLog> {
  const log = await openSmall(dir);
  await oneRecordBatches(log, 0, 20);
  await oneRecordBatches(log, 1, count, from);
  await append(log, [{ key: 'filler', value: 'f'.repeat(4096), timestamp: T0 }]);
  assert.deepEqual(log.segmentBaseOffsets.slice(0, 3), [0n, 5n, 10n]);
  return log;
}

describe('log cleaner', () => {
  test('compacts to the newest value per live key; tombstones go after delete.retention.ms; offsets unchanged', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const log = await PartitionLog.open(join(dir, 'c-0'), cfg());
      const newest = await fill(log);
      const total = KEYS * ROUNDS + KEYS / 10 + 1;
      assert.equal(log.logEndOffset, BigInt(total));
      assert.ok(log.segmentCount > 15, `${log.segmentCount} segments`);
      const before = await readAll(log);
      assert.equal(before.length, total);
      const active = activeFile(log);
      const segments = log.segmentBaseOffsets;

      // Tombstones younger than delete.retention.ms stay (one per deleted key); older values go.
      const young = await cleanLog(log, { nowMs: Number(T0) + 500 });
      assert.equal(young.tombstonesRemoved, 0);
      let recs = await readAll(log);
      assert.equal(recs.length, KEYS + 1, 'one record per key (tombstones included) and the filler');
      assertNewestKept(recs, newest, false);
      assert.equal(recs.filter((r) => r.value === null).length, KEYS / 10);

      // After delete.retention.ms the tombstones go too.
      const old = await cleanLog(log, { nowMs: Number(T0) + 10_000 });
      assert.equal(old.tombstonesRemoved, KEYS / 10);
      recs = await readAll(log);
      assert.equal(recs.length, KEYS - KEYS / 10 + 1);
      assertNewestKept(recs, newest, true);
      const keys = recs.map((r) => r.key);
      assert.equal(new Set(keys).size, keys.length, 'one record per key');
      for (const r of recs) if (r.key !== 'filler') assert.match(r.value ?? '', /^v9-/);
      // Offsets only ever increase, the log's bounds and segments stay, the active segment is untouched.
      for (let i = 1; i < recs.length; i++) assert.ok((recs[i] as Rec).offset > (recs[i - 1] as Rec).offset);
      assert.equal(log.logEndOffset, BigInt(total));
      assert.equal(log.logStartOffset, 0n);
      assert.deepEqual(log.segmentBaseOffsets, segments);
      assert.ok(activeFile(log).equals(active), 'active segment byte-identical');
      assert.ok(log.size < 100_000, `log shrank to ${log.size} bytes`);

      // A clean shutdown and reopen keep the cleaned log; appends continue at the same offset.
      await log.close();
      const again = await PartitionLog.open(join(dir, 'c-0'), cfg());
      assert.deepEqual(await readAll(again), recs);
      await append(again, [{ key: 'key-1', value: 'after' }]);
      assert.equal(again.logEndOffset, BigInt(total + 1));
      // The new value supersedes the old one even from the active segment: the old one goes.
      const third = await cleanLog(again, { nowMs: Number(T0) + 10_000 });
      assert.equal(third.recordsRemoved, 1);
      const key1 = (await readAll(again)).filter((r) => r.key === 'key-1');
      assert.deepEqual(
        key1.map((r) => [r.offset, r.value]),
        [[BigInt(total), 'after']],
      );
      await again.close();
    } finally {
      await cleanup();
    }
  });

  test('min.compaction.lag.ms keeps recent records; non-compacted logs are left alone by LogCleaner', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const log = await PartitionLog.open(join(dir, 'c-0'), cfg());
      await fill(log);
      const s = await cleanLog(log, { nowMs: Number(T0) + 10_000, minCompactionLagMs: 3_600_000 });
      assert.equal(s.recordsRemoved, 0);
      assert.ok(
        s.revisitAtMs !== null && s.revisitAtMs <= Number(T0) + 3_600_000 + 200,
        'revisit when the lag has passed',
      );
      const tomb = await cleanLog(log, { nowMs: Number(T0) + 500 });
      assert.equal(tomb.tombstonesKept, KEYS / 10);
      assert.equal(
        tomb.revisitAtMs,
        Number(T0) + 100 + 1000 + 1,
        'revisit when the tombstones pass delete.retention.ms',
      );
      const plain = await PartitionLog.open(join(dir, 'p-0'), config({ segmentBytes: SEGMENT_BYTES }));
      await fill(plain);
      const cleaner = new LogCleaner(() => [log, plain], { backoffMs: 10 });
      const r = await cleaner.runOnce();
      assert.ok(r.has('c-0'));
      assert.ok(!r.has('p-0'), 'cleanup.policy=delete is not compacted');
      assert.ok((r.get('c-0')?.recordsRemoved ?? 0) > 0);
      const again = await cleaner.runOnce();
      assert.ok(!again.has('c-0'), 'unchanged log not cleaned again');
      // The filler fills the active segment: this append rolls, closing it — a new closed segment, a pass.
      await append(log, [{ key: 'key-3', value: 'small' }]);
      const rolled = await cleaner.runOnce();
      assert.equal(rolled.get('c-0')?.recordsRemoved, 1, 'a closed segment triggers a pass: the old key-3 goes');
      await append(log, [{ key: 'key-5', value: 'small' }]);
      assert.ok(!(await cleaner.runOnce()).has('c-0'), 'an append to the active segment alone does not trigger a pass');
      await log.close();
      await plain.close();
    } finally {
      await cleanup();
    }
  });

  test('nothing at or above the high watermark is read or removed; a pass follows the HW when it moves', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // Offsets 0-19: k0..k19; 20-39: k0..k19 again; 40: a filler closing the last of them. HW at 30.
      const log = await supersededLog(dir, 20, 0);
      assert.ok(
        (log.segmentBaseOffsets.at(-1) as bigint) > 35n,
        `closed segments above the HW: ${log.segmentBaseOffsets}`,
      );
      const before = await readAll(log);
      log.setHighWatermark(30n);
      const cleaner = new LogCleaner(() => [log], { backoffMs: 60_000 });
      const first = (await cleaner.runOnce(Number(T0) + 10_000)).get('c-0');
      assert.equal(first?.recordsRemoved, 10, 'only k0..k9, superseded below the HW');
      const recs = await readAll(log);
      assert.deepEqual(
        recs.map((r) => r.offset),
        before.filter((r) => r.offset >= 10n).map((r) => r.offset),
        'k10..k19 stay: their newer records are above the HW and may still be truncated',
      );
      assert.deepEqual(
        recs.filter((r) => r.offset >= 30n),
        before.filter((r) => r.offset >= 30n),
        'records above the HW untouched',
      );
      // The uncommitted tail goes (a follower truncating): k10..k19 still have their committed values.
      await log.truncateTo(30n);
      assert.deepEqual(
        (await readAll(log)).filter((r) => r.offset < 20n).map((r) => r.value),
        before.filter((r) => r.offset >= 10n && r.offset < 20n).map((r) => r.value),
      );
      // New values of k10..k19, HW in their middle; then the HW reaches the log end without a segment
      // rolling: the next pass still runs and cleans the rest.
      await oneRecordBatches(log, 2, 10, 10);
      await append(log, [{ key: 'filler', value: 'f'.repeat(4096), timestamp: T0 }]);
      log.setHighWatermark(35n);
      assert.equal((await cleaner.runOnce(Number(T0) + 10_000)).get('c-0')?.recordsRemoved, 5, 'k10..k14');
      const bases = log.segmentBaseOffsets;
      log.setHighWatermark(null);
      assert.equal(log.highWatermark, log.logEndOffset);
      assert.deepEqual(log.segmentBaseOffsets, bases);
      const last = (await cleaner.runOnce(Number(T0) + 10_000)).get('c-0');
      assert.equal(last?.recordsRemoved, 5, 'the HW moved while below the active segment: a pass removes k15..k19');
      const final = await readAll(log);
      assert.deepEqual(
        final.map((r) => r.key),
        [...Array.from({ length: 20 }, (_, k) => `k${k}`), 'filler'],
        'one record per key once everything is committed',
      );
      await log.close();
    } finally {
      await cleanup();
    }
  });

  test('truncating into a compacted range keeps a valid log: no end past the truncation point, indexes intact', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // Offsets 0-19: k0..k19; 20-22: k6..k8 again, so compaction leaves 0-5, a gap 6-8, then 9-22; offset 9
      // shares a segment with the gap.
      const log = await supersededLog(dir, 3, 6);
      log.setHighWatermark(log.logEndOffset);
      const s = await cleanLog(log, { nowMs: Number(T0) + 10_000 });
      assert.equal(s.recordsRemoved, 3);
      const cleaned = await readAll(log);
      assert.deepEqual(
        cleaned.map((r) => r.offset),
        [0n, 1n, 2n, 3n, 4n, 5n, ...Array.from({ length: 15 }, (_, i) => BigInt(9 + i))],
      );
      // Truncate to 7, inside the gap and below the HW's old value (as after an unclean leader change).
      await log.truncateTo(7n);
      assert.equal(log.logEndOffset, 7n, 'the log end is the truncation point, not the next batch above it');
      assert.equal(log.highWatermark, 7n);
      const kept = await readAll(log);
      assert.deepEqual(kept, cleaned.slice(0, 6));
      // Every offset still reads through the index: the record at it, or the next one after a gap.
      for (let o = 0n; o < 6n; o++) {
        const r = await log.read(o, 1 << 20, log.logEndOffset);
        assert.ok(r.records, `read at ${o}`);
        const b = await decodeBatch(r.records);
        assert.equal(b.header.baseOffset, o);
      }
      // Appends continue at the truncation point (the leader's records from 7), and a reopen keeps them.
      await append(log, [{ key: 'k7', value: 'from-leader', timestamp: T0 }]);
      assert.equal(log.logEndOffset, 8n);
      const after = await readAll(log);
      assert.deepEqual(after.at(-1), { offset: 7n, key: 'k7', value: 'from-leader' });
      await log.close();
      const again = await openSmall(dir);
      assert.deepEqual(await readAll(again), after);
      assert.equal(again.logEndOffset, 8n);
      await again.close();
    } finally {
      await cleanup();
    }
  });

  test('a truncation that starts while a cleaned segment is swapped in is not undone by the swap', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // Offsets 0-19: k0..k19; 20-21: k6, k7 again, so segment 5 (offsets 5-9) is cleaned to 5, 8, 9.
      const log = await supersededLog(dir, 2, 6);
      // A follower truncating to 9 (inside the segment being swapped) while the cleaner swaps it in.
      let truncation: Promise<void> | null = null;
      const s = await cleanLog(log, {
        nowMs: Number(T0) + 10_000,
        beforeSwap: (base) => {
          if (base === 5n) truncation = log.truncateTo(9n);
        },
      });
      assert.ok(truncation, 'segment 5 was swapped');
      await truncation;
      assert.equal(s.recordsRemoved, 0, 'a truncation during the pass voids its swaps');
      assert.equal(log.logEndOffset, 9n);
      const kept = (await readAll(log)).map((r) => r.offset);
      assert.ok(
        kept.every((o) => o < 9n),
        `nothing at or above the truncation point: ${kept}`,
      );
      await log.close();
      const again = await openSmall(dir);
      assert.equal(again.logEndOffset, 9n, 'the truncated records stay gone after a reopen');
      assert.deepEqual(
        (await readAll(again)).map((r) => r.offset),
        kept,
      );
      await again.close();
    } finally {
      await cleanup();
    }
  });

  test('a crash after the cleaned file is written but before the swap loses nothing', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'c-0');
      const log = await PartitionLog.open(path, cfg());
      const newest = await fill(log);
      const before = await readAll(log);
      await assert.rejects(
        cleanLog(log, {
          nowMs: Number(T0) + 10_000,
          beforeSwap: () => {
            throw new Error('crash');
          },
        }),
        /crash/,
      );
      assert.ok(
        readdirSync(path).some((n) => n.endsWith(CLEANED_SUFFIX)),
        'cleaned file left behind',
      );
      await log.close();
      const again = await PartitionLog.open(path, cfg());
      assert.deepEqual(await readAll(again), before, 'the log is as it was');
      await cleanLog(again, { nowMs: Number(T0) + 10_000 });
      assert.ok(!readdirSync(path).some((n) => n.endsWith(CLEANED_SUFFIX)), 'stale cleaned file removed');
      assertNewestKept(await readAll(again), newest, true);
      await again.close();
    } finally {
      await cleanup();
    }
  });

  test('a crash after the swap, before index files and checkpoints, recovers the cleaned log', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'c-0');
      const log = await PartitionLog.open(path, cfg());
      const newest = await fill(log);
      await cleanLog(log, { nowMs: Number(T0) + 10_000 });
      const cleaned = await readAll(log);
      await log.close();
      // Recreate what a crash right after the renames leaves: no index files, no clean-shutdown marker,
      // recovery point back at 0.
      for (const n of readdirSync(path)) {
        if (n.endsWith('.index') || n.endsWith('.timeindex') || n === '.clean-shutdown') unlinkSync(join(path, n));
      }
      writeFileSync(join(path, 'recovery-point'), '0\n');
      const again = await PartitionLog.open(path, cfg());
      assert.deepEqual(await readAll(again), cleaned);
      assertNewestKept(cleaned, newest, true);
      await again.close();
    } finally {
      await cleanup();
    }
  });

  test('SIGKILL of a process in the middle of cleaning leaves a valid log with every newest record', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'c-0');
      const log = await PartitionLog.open(path, cfg());
      const newest = await fill(log);
      await log.close();
      const root = resolve(import.meta.dirname, '..', '..');
      const states: string[] = [];
      for (const delayMs of [150, 400, 900]) {
        const script = `
          import { PartitionLog } from './src/storage/partition-log.ts';
          import { cleanLog } from './src/storage/cleaner.ts';
          import { DEFAULT_LOG_CONFIG } from './src/storage/config.ts';
          const log = await PartitionLog.open(${JSON.stringify(path)}, { ...DEFAULT_LOG_CONFIG, segmentBytes: ${SEGMENT_BYTES}, cleanupPolicy: 'compact' });
          console.log('open');
          await cleanLog(log, { nowMs: ${Number(T0) + 10_000}, deleteRetentionMs: 1000, beforeSwap: () => new Promise((r) => setTimeout(r, 20)) });
          console.log('done');
        `;
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        const exited = new Promise((r) => child.once('exit', r));
        while (!out.includes('open')) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, delayMs));
        child.kill('SIGKILL');
        await exited;
        states.push(out.includes('done') ? 'finished' : 'killed mid-pass');
        const again = await PartitionLog.open(path, cfg());
        const recs = await readAll(again);
        assertNewestKept(recs, newest, out.includes('done'));
        const liveOffsets = new Set([...newest.values()].map((n) => n.offset));
        for (const r of recs) {
          assert.ok(r.offset < again.logEndOffset);
          if (liveOffsets.has(r.offset)) continue;
          // Anything else still there is an older value of a key not yet cleaned: never a new record.
          assert.match(r.value ?? 'tombstone', /^v\d-|^tombstone$/);
        }
        await again.close();
      }
      assert.ok(states.includes('killed mid-pass'), `kill points: ${states.join(', ')}`);
    } finally {
      await cleanup();
    }
  });
});
