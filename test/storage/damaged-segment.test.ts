/**
 * A damaged CLOSED segment, found at read time (a clean start trusts closed segments, as Kafka's does): the
 * records before the damage are served, a read at the damage answers CORRUPT_MESSAGE (never a plain throw,
 * never an empty answer forever, never a silent skip to the next segment), the damage is logged once with
 * the file and the offset, and the intact segments after it can still be read by seeking to them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { OFF } from '../../src/protocol/records/batch.js';
import type { LogConfig } from '../../src/storage/config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { CapturingLogger, config, produced, simpleBatch, splitBatches, tempDir } from './helpers.js';

interface Stored {
  baseOffset: bigint;
  lastOffset: bigint;
  bytes: Buffer;
}

const CFG = config({ segmentBytes: 2048, indexIntervalBytes: 256 });

/** A log of 60 batches of 3 records in ~2 KB segments, closed cleanly; returns the stored batches and segment files. */
async function buildLog(path: string, cfg: LogConfig = CFG): Promise<{ stored: Stored[]; segments: string[] }> {
  const log = await PartitionLog.open(path, cfg);
  const stored: Stored[] = [];
  for (let i = 0; i < 60; i++) {
    const { buf, batches } = produced(simpleBatch(3, 20, 1_700_000_000_000n + BigInt(i)));
    const info = log.append(buf, batches, 0, null);
    stored.push({ baseOffset: info.baseOffset, lastOffset: info.lastOffset, bytes: Buffer.from(buf) });
  }
  await log.close();
  const segments = readdirSync(path)
    .filter((n) => n.endsWith('.log'))
    .sort();
  assert.ok(segments.length >= 4, `expected several segments, got ${segments.length}`);
  return { stored, segments };
}

/** Batches stored in segment file `name` (by base offset range), with their byte positions in it. */
function batchesOf(stored: Stored[], segments: string[], name: string): (Stored & { position: number })[] {
  const base = BigInt(name.slice(0, 20));
  const i = segments.indexOf(name);
  const next = i + 1 < segments.length ? BigInt(segments[i + 1]!.slice(0, 20)) : 1n << 62n;
  let pos = 0;
  const out: (Stored & { position: number })[] = [];
  for (const s of stored) {
    if (s.baseOffset < base || s.baseOffset >= next) continue;
    out.push({ ...s, position: pos });
    pos += s.bytes.length;
  }
  return out;
}

/** Read forward from `from` until the end or an error; returns the batches read and the error (if any). */
async function readUntilError(log: PartitionLog, from: bigint): Promise<{ got: Buffer[]; error: unknown; at: bigint }> {
  const got: Buffer[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    let r: Awaited<ReturnType<PartitionLog['read']>>;
    try {
      r = await log.read(offset, 700, log.logEndOffset);
    } catch (e) {
      return { got, error: e, at: offset };
    }
    const parts = splitBatches(r.records);
    if (parts.length === 0) return { got, error: new Error(`empty read at ${offset}`), at: offset };
    for (const p of parts) got.push(Buffer.from(p.bytes));
    offset = parts[parts.length - 1]!.lastOffset + 1n;
  }
  return { got, error: null, at: offset };
}

function isCorrupt(e: unknown): boolean {
  return e instanceof KafkaError && e.code === ErrorCode.CORRUPT_MESSAGE;
}

/** Lines the logger wrote at warn or error that name `file`. */
function linesNaming(logger: CapturingLogger, file: string): string[] {
  return logger.lines
    .filter((l) => (l.level === 'warn' || l.level === 'error') && l.msg.includes(file))
    .map((l) => l.msg);
}

interface Damaged {
  offset: bigint;
  file: string;
}

interface Damage {
  name: string;
  /**
   * Damage segment 1 (a closed segment in the middle); returns the first offset that can no longer be read
   * and the segment file the log line names (where reading stops).
   */
  apply(path: string, seg: string, batches: (Stored & { position: number })[], segments: string[]): Damaged;
}

const DAMAGES: Damage[] = [
  {
    name: 'a negative batch length',
    apply(path, seg, batches) {
      const b = batches[4]!;
      const f = join(path, seg);
      const bytes = readFileSync(f);
      bytes.writeInt32BE(-5, b.position + OFF.batchLength);
      writeFileSync(f, bytes);
      return { offset: b.baseOffset, file: seg };
    },
  },
  {
    name: 'a batch length of 0x7ffffff0',
    apply(path, seg, batches) {
      const b = batches[4]!;
      const f = join(path, seg);
      const bytes = readFileSync(f);
      bytes.writeInt32BE(0x7ffffff0, b.position + OFF.batchLength);
      writeFileSync(f, bytes);
      return { offset: b.baseOffset, file: seg };
    },
  },
  {
    name: 'a segment cut in the middle of a batch',
    apply(path, seg, batches) {
      const b = batches[4]!;
      truncateSync(join(path, seg), b.position + 30);
      return { offset: b.baseOffset, file: seg };
    },
  },
  {
    name: 'a segment cut at a batch boundary (offsets missing before the next segment)',
    apply(path, seg, batches) {
      const b = batches[4]!;
      truncateSync(join(path, seg), b.position);
      return { offset: b.baseOffset, file: seg };
    },
  },
  {
    name: 'a deleted middle segment',
    apply(path, seg, batches, segments) {
      for (const suffix of ['.log', '.index', '.timeindex']) unlinkSync(join(path, seg.replace('.log', suffix)));
      return { offset: batches[0]!.baseOffset, file: segments[0]! };
    },
  },
];

for (const d of DAMAGES) {
  test(`${d.name} in a closed segment: served up to the damage, then CORRUPT_MESSAGE, logged once`, async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const path = join(dir, 'orders-0');
      const { stored, segments } = await buildLog(path);
      const seg = segments[1]!;
      const inSeg = batchesOf(stored, segments, seg);
      const { offset: damagedAt, file } = d.apply(path, seg, inSeg, segments);
      const nextBase = BigInt(segments[2]!.slice(0, 20));

      const logger = new CapturingLogger();
      const log = await PartitionLog.open(path, CFG, logger);
      try {
        assert.equal(log.logEndOffset, stored[stored.length - 1]!.lastOffset + 1n, 'the log end is unchanged');
        const r = await readUntilError(log, 0n);
        assert.ok(isCorrupt(r.error), `expected CORRUPT_MESSAGE at ${damagedAt}, got ${String(r.error)}`);
        assert.equal(r.at, damagedAt);
        assert.deepEqual(
          r.got,
          stored.filter((s) => s.lastOffset < damagedAt).map((s) => s.bytes),
          'every batch before the damage is served',
        );
        // Again and again (each consumer retry): the same error, and still one log line.
        for (const at of [damagedAt, damagedAt, nextBase - 1n]) {
          await assert.rejects(log.read(at, 1 << 20, log.logEndOffset), isCorrupt);
        }
        const lines = linesNaming(logger, file);
        assert.equal(lines.length, 1, JSON.stringify(logger.lines));
        assert.match(lines[0]!, new RegExp(`offset ${damagedAt}\\b`));
        // The intact segments after the damage are there for a consumer that seeks past it.
        const after = await readUntilError(log, nextBase);
        assert.equal(after.error, null);
        assert.deepEqual(
          after.got,
          stored.filter((s) => s.baseOffset >= nextBase).map((s) => s.bytes),
        );
        // Appends go on as before.
        const { buf, batches } = produced(simpleBatch(2));
        assert.equal(log.append(buf, batches, 0, null).baseOffset, stored[stored.length - 1]!.lastOffset + 1n);
      } finally {
        await log.close();
      }
    } finally {
      await cleanup();
    }
  });
}

test('a timestamp lookup that walks into a damaged segment answers CORRUPT_MESSAGE', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'ts-0');
    const { stored, segments } = await buildLog(path);
    const seg = segments[1]!;
    const inSeg = batchesOf(stored, segments, seg);
    DAMAGES[0]!.apply(path, seg, inSeg, segments);
    const log = await PartitionLog.open(path, CFG, new CapturingLogger());
    try {
      const i = stored.indexOf(stored.find((s) => s.baseOffset === inSeg[6]!.baseOffset)!);
      await assert.rejects(log.findOffsetByTimestamp(1_700_000_000_000n + BigInt(i)), isCorrupt);
      // Before the damage, lookups work.
      const ok = await log.findOffsetByTimestamp(1_700_000_000_000n + 2n);
      assert.equal(ok?.baseOffset, stored[2]!.baseOffset);
    } finally {
      await log.close();
    }
  } finally {
    await cleanup();
  }
});

test('gaps between segments of a compacted topic are normal: read on, nothing logged', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'compacted-0');
    const cfg = { ...CFG, cleanupPolicy: 'compact' as const };
    const { stored, segments } = await buildLog(path, cfg);
    const seg = segments[1]!;
    const inSeg = batchesOf(stored, segments, seg);
    truncateSync(join(path, seg), inSeg[4]!.position);
    const logger = new CapturingLogger();
    const log = await PartitionLog.open(path, cfg, logger);
    try {
      const r = await readUntilError(log, 0n);
      assert.equal(r.error, null);
      assert.deepEqual(
        r.got,
        stored
          .filter((s) => s.baseOffset < inSeg[4]!.baseOffset || s.baseOffset > inSeg[inSeg.length - 1]!.lastOffset)
          .map((s) => s.bytes),
      );
      assert.deepEqual(linesNaming(logger, seg), []);
    } finally {
      await log.close();
    }
  } finally {
    await cleanup();
  }
});

test('an index that disagrees with an intact log is rebuilt, not taken for damage', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'index-0');
    const { stored, segments } = await buildLog(path);
    const seg = segments[1]!;
    const idx = join(path, seg.replace('.log', '.index'));
    const b = readFileSync(idx);
    assert.ok(b.length >= 16, 'the segment has index entries');
    // Every entry points 10 bytes past its batch's start (still increasing, still inside the file).
    for (let o = 0; o < b.length; o += 8) b.writeInt32BE(b.readInt32BE(o + 4) + 10, o + 4);
    writeFileSync(idx, b);
    const logger = new CapturingLogger();
    const log = await PartitionLog.open(path, CFG, logger);
    try {
      const inSeg = batchesOf(stored, segments, seg);
      for (const s of inSeg) {
        const r = await log.read(s.baseOffset + 1n, 1, log.logEndOffset);
        assert.deepEqual(splitBatches(r.records)[0]?.bytes, s.bytes, `offset ${s.baseOffset + 1n}`);
      }
      assert.ok(
        logger.lines.some((l) => l.level === 'warn' && /index/i.test(l.msg) && l.msg.includes(seg.slice(0, 20))),
        JSON.stringify(logger.lines),
      );
      assert.ok(!logger.lines.some((l) => l.level === 'error'), JSON.stringify(logger.lines));
    } finally {
      await log.close();
    }
  } finally {
    await cleanup();
  }
});
