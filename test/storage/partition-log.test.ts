import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ATTR_LOG_APPEND_TIME, OFF } from '../../src/protocol/records/batch.js';
import { CLEAN_SHUTDOWN_FILE, PartitionLog } from '../../src/storage/partition-log.js';
import { CapturingLogger, config, produced, simpleBatch, splitBatches, tempDir } from './helpers.js';

interface Stored {
  baseOffset: bigint;
  lastOffset: bigint;
  bytes: Buffer;
  maxTimestamp: bigint;
}

/** Append one batch per entry of `counts` (records per batch); returns what was stored. */
function appendBatches(
  log: PartitionLog,
  counts: number[],
  opts: { valueSize?: number; ts?: (i: number) => bigint; epoch?: number } = {},
): Stored[] {
  const out: Stored[] = [];
  counts.forEach((n, i) => {
    const ts = opts.ts ? opts.ts(i) : 1_700_000_000_000n + BigInt(i);
    const { buf, batches } = produced(simpleBatch(n, opts.valueSize ?? 20, ts));
    const info = log.append(buf, batches, opts.epoch ?? 0, null);
    assert.equal(info.lastOffset - info.baseOffset + 1n, BigInt(n));
    out.push({ baseOffset: info.baseOffset, lastOffset: info.lastOffset, bytes: Buffer.from(buf), maxTimestamp: ts });
  });
  return out;
}

/** Read everything from `from` with `maxBytes` per read. */
async function readAll(log: PartitionLog, from: bigint, maxBytes: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, maxBytes, log.logEndOffset);
    const parts = splitBatches(r.records);
    assert.ok(parts.length > 0, `no progress at ${offset}`);
    for (const p of parts) out.push(Buffer.from(p.bytes));
    offset = parts[parts.length - 1]!.lastOffset + 1n;
  }
  return out;
}

function expectKafkaError(code: number) {
  return (e: unknown) => e instanceof KafkaError && e.code === code;
}

test('append and read round-trip across segment rolls, also after reopen', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'orders-0');
    const cfg = config({ segmentBytes: 2048, indexIntervalBytes: 256 });
    const log = await PartitionLog.open(path, cfg);
    assert.equal(log.logEndOffset, 0n);
    const counts = Array.from({ length: 120 }, (_, i) => 1 + (i % 7));
    const stored = appendBatches(log, counts);
    assert.ok(log.segmentCount > 5, `expected several segments, got ${log.segmentCount}`);
    assert.equal(log.logEndOffset, stored[stored.length - 1]!.lastOffset + 1n);
    assert.equal(log.highWatermark, log.logEndOffset);
    assert.equal(
      log.size,
      stored.reduce((n, s) => n + s.bytes.length, 0),
    );
    for (const maxBytes of [1, 500, 4096, 1 << 20]) {
      const got = await readAll(log, 0n, maxBytes);
      assert.deepEqual(
        got,
        stored.map((s) => s.bytes),
        `maxBytes ${maxBytes}`,
      );
    }
    // base offsets are rewritten in the stored bytes
    const first = await log.read(stored[10]!.baseOffset, 1, log.logEndOffset);
    assert.equal(first.records!.readBigInt64BE(OFF.baseOffset), stored[10]!.baseOffset);
    // segment files are named by base offset, 20 digits
    const names = readdirSync(path).filter((n) => n.endsWith('.log'));
    assert.equal(names.length, log.segmentCount);
    assert.ok(names.every((n) => /^\d{20}\.log$/.test(n)));
    assert.ok(names.includes('00000000000000000000.log'));
    await log.close();

    const again = await PartitionLog.open(path, cfg);
    assert.equal(again.logEndOffset, stored[stored.length - 1]!.lastOffset + 1n);
    assert.deepEqual(
      await readAll(again, 0n, 3000),
      stored.map((s) => s.bytes),
    );
    const more = appendBatches(again, [3]);
    assert.equal(more[0]!.baseOffset, stored[stored.length - 1]!.lastOffset + 1n);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('reading from the middle of a batch returns that whole batch', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const log = await PartitionLog.open(join(dir, 't-0'), config());
    const stored = appendBatches(log, [5, 10, 5]);
    const r = await log.read(9n, 1, log.logEndOffset);
    const parts = splitBatches(r.records);
    assert.equal(parts.length, 1);
    assert.equal(parts[0]!.baseOffset, 5n);
    assert.equal(parts[0]!.lastOffset, 14n);
    assert.deepEqual(parts[0]!.bytes, stored[1]!.bytes);
    const all = await log.read(12n, 1 << 20, log.logEndOffset);
    assert.deepEqual(
      splitBatches(all.records).map((p) => p.baseOffset),
      [5n, 15n],
    );
    await log.close();
  } finally {
    await cleanup();
  }
});

test('read honours maxBytes, maxOffset, minOneBatch and the offset range', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const log = await PartitionLog.open(join(dir, 't-0'), config());
    const stored = appendBatches(log, [4, 4, 4, 4], { valueSize: 100 });
    const size = stored[0]!.bytes.length;
    const leo = log.logEndOffset;
    // maxBytes: whole batches only
    let r = await log.read(0n, size * 2 + size - 1, leo);
    assert.equal(splitBatches(r.records).length, 2);
    r = await log.read(0n, size * 3, leo);
    assert.equal(splitBatches(r.records).length, 3);
    // first batch larger than maxBytes
    r = await log.read(0n, 10, leo);
    assert.equal(splitBatches(r.records).length, 1);
    r = await log.read(0n, 10, leo, false);
    assert.equal(r.records, null);
    // maxOffset: never a batch whose last offset is >= maxOffset
    r = await log.read(0n, 1 << 20, 8n);
    assert.deepEqual(
      splitBatches(r.records).map((p) => p.lastOffset),
      [3n, 7n],
    );
    r = await log.read(0n, 1 << 20, 7n);
    assert.deepEqual(
      splitBatches(r.records).map((p) => p.lastOffset),
      [3n],
    );
    r = await log.read(5n, 1 << 20, 7n);
    assert.equal(r.records, null, 'the batch holding offset 5 ends at 7 >= maxOffset');
    log.setHighWatermark(8n);
    r = await log.read(0n, 1 << 20, log.highWatermark);
    assert.equal(r.highWatermark, 8n);
    assert.equal(splitBatches(r.records).length, 2);
    log.setHighWatermark(null);
    assert.equal(log.highWatermark, leo);
    // at the log end: nothing; past it or below the start: OFFSET_OUT_OF_RANGE
    r = await log.read(leo, 1 << 20, leo);
    assert.equal(r.records, null);
    assert.equal(r.logEndOffset, leo);
    await assert.rejects(log.read(leo + 1n, 100, leo + 10n), expectKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    await assert.rejects(log.read(-1n, 100, leo), expectKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    await log.close();
  } finally {
    await cleanup();
  }
});

test('property: a read at any offset finds the batch a naive scan finds, via the sparse index', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ n: fc.integer({ min: 1, max: 12 }), size: fc.integer({ min: 0, max: 400 }) }), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.integer({ min: 0, max: 1500 }),
      fc.integer({ min: 300, max: 6000 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 25 }),
      fc.integer({ min: 1, max: 5000 }),
      async (specs, interval, segmentBytes, picks, maxBytes) => {
        const { dir, cleanup } = await tempDir();
        try {
          const cfg = config({ indexIntervalBytes: interval, segmentBytes });
          const log = await PartitionLog.open(join(dir, 'p-0'), cfg);
          const stored: Stored[] = [];
          for (const s of specs) stored.push(...appendBatches(log, [s.n], { valueSize: s.size }));
          const leo = log.logEndOffset;
          const check = async (l: PartitionLog) => {
            for (const f of picks) {
              const offset = BigInt(Math.min(Number(leo) - 1, Math.floor(f * Number(leo))));
              const idx = stored.findIndex((s) => s.lastOffset >= offset);
              const r = await l.read(offset, maxBytes, leo);
              const got = splitBatches(r.records);
              // naive: from the batch holding `offset`, whole batches within maxBytes, stopping at a segment end
              assert.ok(got.length >= 1);
              assert.deepEqual(got[0]!.bytes, stored[idx]!.bytes);
              let total = 0;
              for (let i = 0; i < got.length; i++) {
                assert.deepEqual(got[i]!.bytes, stored[idx + i]!.bytes);
                total += got[i]!.bytes.length;
              }
              assert.ok(got.length === 1 || total <= maxBytes);
            }
          };
          await check(log);
          await log.close();
          const again = await PartitionLog.open(join(dir, 'p-0'), cfg);
          await check(again);
          await again.close();
        } finally {
          await cleanup();
        }
      },
    ),
    { numRuns: 25 },
  );
});

test('a torn tail (file cut mid-batch while closed) is dropped with one warning; appends continue there', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'torn-topic-3');
    const cfg = config({ segmentBytes: 4096 });
    const log = await PartitionLog.open(path, cfg);
    const stored = appendBatches(
      log,
      Array.from({ length: 30 }, () => 3),
    );
    await log.close();
    unlinkSync(join(path, CLEAN_SHUTDOWN_FILE));
    const last = readdirSync(path)
      .filter((n) => n.endsWith('.log'))
      .sort()
      .pop()!;
    const file = join(path, last);
    const size = readFileSync(file).length;
    const lastBatch = stored[stored.length - 1]!;
    truncateSync(file, size - 7);

    const logger = new CapturingLogger();
    const again = await PartitionLog.open(path, cfg, logger);
    const warns = logger.at('warn');
    assert.equal(warns.length, 1, JSON.stringify(logger.lines));
    assert.match(warns[0]!, /torn-topic-3/);
    assert.match(warns[0]!, new RegExp(`offset ${lastBatch.baseOffset}`));
    assert.match(warns[0]!, new RegExp(`dropped ${lastBatch.bytes.length - 7} bytes`));
    assert.equal(again.logEndOffset, lastBatch.baseOffset);
    assert.equal(again.openStats.cleanShutdown, false);
    assert.deepEqual(
      await readAll(again, 0n, 1 << 20),
      stored.slice(0, -1).map((s) => s.bytes),
    );
    const next = appendBatches(again, [2]);
    assert.equal(next[0]!.baseOffset, lastBatch.baseOffset);
    const r = await again.read(lastBatch.baseOffset, 1 << 20, again.logEndOffset);
    assert.deepEqual(splitBatches(r.records)[0]!.bytes, next[0]!.bytes);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('a corrupt CRC in the last batch drops that batch', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'crc-0');
    const log = await PartitionLog.open(path, config());
    const stored = appendBatches(log, [2, 2, 2, 2]);
    await log.close();
    unlinkSync(join(path, CLEAN_SHUTDOWN_FILE));
    const file = join(path, '00000000000000000000.log');
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0xff; // inside the last batch's records
    writeFileSync(file, bytes);
    const logger = new CapturingLogger();
    const again = await PartitionLog.open(path, config(), logger);
    assert.equal(again.logEndOffset, 6n);
    assert.equal(logger.at('warn').length, 1);
    assert.match(logger.at('warn')[0]!, /CRC/);
    assert.deepEqual(
      await readAll(again, 0n, 1 << 20),
      stored.slice(0, 3).map((s) => s.bytes),
    );
    await again.close();
  } finally {
    await cleanup();
  }
});

test('a crash (no clean shutdown) recovers from the recovery point; a clean close needs no rescan', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'rec-0');
    const cfg = config({ segmentBytes: 1024 });
    const log = await PartitionLog.open(path, cfg);
    const stored = appendBatches(
      log,
      Array.from({ length: 40 }, () => 2),
    );
    await log.flush();
    await log.checkpoint();
    // simulate a crash: files are left as they are, no clean-shutdown marker
    await log.detach();
    assert.equal(existsSync(join(path, CLEAN_SHUTDOWN_FILE)), false);
    const crashed = await PartitionLog.open(path, cfg);
    assert.equal(crashed.openStats.cleanShutdown, false);
    assert.equal(crashed.openStats.segmentsRecovered, 1, 'only the segment holding the recovery point');
    assert.equal(crashed.logEndOffset, stored[stored.length - 1]!.lastOffset + 1n);
    await crashed.close();
    const clean = await PartitionLog.open(path, cfg);
    assert.equal(clean.openStats.cleanShutdown, true);
    assert.equal(clean.openStats.segmentsRecovered, 0);
    assert.equal(clean.openStats.indexesRebuilt, 0);
    assert.equal(existsSync(join(path, CLEAN_SHUTDOWN_FILE)), false, 'marker removed while open');
    assert.equal(clean.logEndOffset, stored[stored.length - 1]!.lastOffset + 1n);
    assert.deepEqual(
      await readAll(clean, 0n, 5000),
      stored.map((s) => s.bytes),
    );
    await clean.close();
  } finally {
    await cleanup();
  }
});

test('missing index files are rebuilt', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'idx-0');
    const cfg = config({ segmentBytes: 2048, indexIntervalBytes: 100 });
    const log = await PartitionLog.open(path, cfg);
    const stored = appendBatches(
      log,
      Array.from({ length: 60 }, () => 2),
      { ts: (i) => 1000n + BigInt(i) * 10n },
    );
    const segments = log.segmentCount;
    await log.close();
    for (const n of readdirSync(path)) if (n.endsWith('.index') || n.endsWith('.timeindex')) unlinkSync(join(path, n));
    const again = await PartitionLog.open(path, cfg);
    assert.equal(again.openStats.indexesRebuilt, segments - 1);
    const indexFiles = readdirSync(path).filter((n) => n.endsWith('.index'));
    assert.equal(indexFiles.length, segments - 1, 'closed segments have their index files again');
    assert.ok(indexFiles.some((n) => readFileSync(join(path, n)).length > 0));
    assert.deepEqual(
      await readAll(again, 0n, 700),
      stored.map((s) => s.bytes),
    );
    const found = await again.findOffsetByTimestamp(1000n + 333n);
    assert.equal(found!.baseOffset, stored[34]!.baseOffset);
    await again.close();
    assert.equal(readdirSync(path).filter((n) => n.endsWith('.index')).length, segments);
  } finally {
    await cleanup();
  }
});

test('a corrupt index file is detected and rebuilt on first use', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'idx-1');
    const cfg = config({ segmentBytes: 4096, indexIntervalBytes: 64 });
    const log = await PartitionLog.open(path, cfg);
    const stored = appendBatches(
      log,
      Array.from({ length: 80 }, () => 1),
    );
    await log.close();
    const first = join(path, '00000000000000000000.index');
    const b = readFileSync(first);
    b.writeInt32BE(0x7fffff00, b.length - 4); // position past the end of the log
    writeFileSync(first, b);
    const logger = new CapturingLogger();
    const again = await PartitionLog.open(path, cfg, logger);
    const r = await again.read(stored[20]!.baseOffset, 1, again.logEndOffset);
    assert.deepEqual(splitBatches(r.records)[0]!.bytes, stored[20]!.bytes);
    assert.ok(logger.at('warn').some((m) => /Rebuilding/.test(m)));
    await again.close();
  } finally {
    await cleanup();
  }
});

test('findOffsetByTimestamp and findMaxTimestampBatch match a naive scan', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cfg = config({ segmentBytes: 1500, indexIntervalBytes: 200 });
    const log = await PartitionLog.open(join(dir, 'ts-0'), cfg);
    // mostly increasing timestamps with some going backwards
    const tsOf = (i: number) => 10_000n + BigInt(i * 10 + (i % 5 === 0 ? -35 : 0));
    const stored = appendBatches(
      log,
      Array.from({ length: 80 }, (_, i) => 1 + (i % 3)),
      { ts: tsOf },
    );
    const naive = (t: bigint) => stored.find((s) => s.maxTimestamp >= t);
    const check = async (l: PartitionLog) => {
      for (let t = 9_900n; t <= 10_900n; t += 7n) {
        const want = naive(t);
        const got = await l.findOffsetByTimestamp(t);
        if (!want) assert.equal(got, null);
        else {
          assert.equal(got!.baseOffset, want.baseOffset, `timestamp ${t}`);
          assert.deepEqual(got!.batch, want.bytes);
        }
      }
      const max = stored.reduce((a, s) => (s.maxTimestamp > a.maxTimestamp ? s : a));
      const got = await l.findMaxTimestampBatch();
      assert.equal(got!.baseOffset, max.baseOffset);
    };
    await check(log);
    await log.close();
    const again = await PartitionLog.open(join(dir, 'ts-0'), cfg);
    await check(again);
    await again.close();
    const empty = await PartitionLog.open(join(dir, 'empty-0'), cfg);
    assert.equal(await empty.findOffsetByTimestamp(0n), null);
    assert.equal(await empty.findMaxTimestampBatch(), null);
    await empty.close();
  } finally {
    await cleanup();
  }
});

test('LogAppendTime: the broker time is written into the batch header', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const log = await PartitionLog.open(join(dir, 'lat-0'), config({ messageTimestampType: 'LogAppendTime' }));
    const { buf, batches } = produced(simpleBatch(3, 10, 5n));
    const before = BigInt(Date.now());
    const info = log.append(buf, batches, 0, null);
    assert.ok(info.logAppendTime >= before);
    assert.equal(info.maxTimestamp, info.logAppendTime);
    const r = await log.read(0n, 1000, log.logEndOffset);
    assert.equal(r.records!.readBigInt64BE(OFF.maxTimestamp), info.logAppendTime);
    assert.ok((r.records!.readInt16BE(OFF.attributes) & ATTR_LOG_APPEND_TIME) !== 0);
    const p2 = produced(simpleBatch(1, 10, 5n));
    assert.equal(log.append(p2.buf, p2.batches, 0, 42n).logAppendTime, 42n);
    const create = await PartitionLog.open(join(dir, 'ct-0'), config());
    const p3 = produced(simpleBatch(1, 10, 5n));
    const i3 = create.append(p3.buf, p3.batches, 0, null);
    assert.equal(i3.logAppendTime, -1n);
    assert.equal(i3.maxTimestamp, 5n);
    await log.close();
    await create.close();
  } finally {
    await cleanup();
  }
});

test('retention by time deletes old closed segments and advances the log start', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cfg = config({ segmentBytes: 1024, retentionMs: 60_000 });
    const log = await PartitionLog.open(join(dir, 'rt-0'), cfg);
    const now = 10_000_000;
    const old = appendBatches(
      log,
      Array.from({ length: 30 }, () => 2),
      { ts: () => BigInt(now - 120_000) },
    );
    const fresh = appendBatches(
      log,
      Array.from({ length: 30 }, () => 2),
      { ts: () => BigInt(now - 1_000) },
    );
    const before = log.segmentCount;
    const deleted = await log.enforceRetention(now);
    assert.ok(deleted.length > 0);
    assert.ok(deleted.every((d) => d.reason === 'retention.ms'));
    assert.equal(log.segmentCount, before - deleted.length);
    // every deleted segment held only old data; the log now starts at a segment boundary at or before fresh data
    assert.ok(log.logStartOffset <= fresh[0]!.baseOffset);
    assert.ok(log.logStartOffset > old[0]!.baseOffset);
    assert.equal(log.logStartOffset, log.segmentBaseOffsets[0]);
    await assert.rejects(log.read(0n, 100, log.logEndOffset), expectKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    const kept = await readAll(log, log.logStartOffset, 1 << 20);
    assert.deepEqual(
      kept.slice(-fresh.length),
      fresh.map((s) => s.bytes),
    );
    assert.deepEqual(await log.enforceRetention(now), []);
    // when everything is old, the active segment is rolled and deleted too
    const all = await log.enforceRetention(now + 10 * 60_000);
    assert.ok(all.length > 0);
    assert.equal(log.logStartOffset, log.logEndOffset);
    assert.equal(log.size, 0);
    const next = appendBatches(log, [1]);
    assert.equal(next[0]!.baseOffset, fresh[fresh.length - 1]!.lastOffset + 1n);
    const dirFiles = readdirSync(join(dir, 'rt-0')).filter((n) => n.endsWith('.log'));
    assert.equal(dirFiles.length, log.segmentCount);
    await log.close();
    const again = await PartitionLog.open(join(dir, 'rt-0'), cfg);
    assert.equal(again.logStartOffset, next[0]!.baseOffset);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('retention never deletes records at or above the high watermark (followers have not fetched them)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const now = 10_000_000;
    const log = await PartitionLog.open(join(dir, 'hw-0'), config({ segmentBytes: 1024, retentionMs: 60_000 }));
    appendBatches(
      log,
      Array.from({ length: 30 }, () => 2),
      { ts: () => BigInt(now - 120_000) },
    );
    // A leader whose followers have fetched nothing yet: every record is past retention.ms, none committed.
    log.setHighWatermark(0n);
    assert.deepEqual(await log.enforceRetention(now), [], 'nothing above the high watermark goes');
    assert.equal(log.logStartOffset, 0n);
    // Committed up to the start of the third segment: the first two may go, no more.
    const third = log.segmentBaseOffsets[2] as bigint;
    log.setHighWatermark(third);
    const deleted = await log.enforceRetention(now);
    assert.equal(deleted.length, 2);
    assert.equal(log.logStartOffset, third);
    assert.equal(log.highWatermark, third);
    // Everything committed: the rest goes (the active segment rolled first).
    log.setHighWatermark(log.logEndOffset);
    await log.enforceRetention(now);
    assert.equal(log.logStartOffset, log.logEndOffset);
    // retention.bytes is bounded by the high watermark the same way.
    const rb = await PartitionLog.open(
      join(dir, 'hw-1'),
      config({ segmentBytes: 1000, retentionBytes: 1000, retentionMs: -1 }),
    );
    appendBatches(
      rb,
      Array.from({ length: 100 }, () => 2),
    );
    rb.setHighWatermark(rb.segmentBaseOffsets[1] as bigint);
    const byBytes = await rb.enforceRetention(now);
    assert.equal(byBytes.length, 1, 'only the segment below the high watermark');
    await log.close();
    await rb.close();
  } finally {
    await cleanup();
  }
});

test('retention by bytes keeps the log at or above retention.bytes', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cfg = config({ segmentBytes: 1000, retentionBytes: 3000, retentionMs: -1 });
    const log = await PartitionLog.open(join(dir, 'rb-0'), cfg);
    appendBatches(
      log,
      Array.from({ length: 100 }, () => 2),
    );
    const total = log.size;
    const deleted = await log.enforceRetention(Date.now());
    assert.ok(deleted.length > 0);
    assert.ok(deleted.every((d) => d.reason === 'retention.bytes'));
    assert.equal(log.size, total - deleted.reduce((n, d) => n + d.bytes, 0));
    assert.ok(log.size >= 3000, `size ${log.size}`);
    assert.ok(log.size - 1000 < 3000, 'no further segment could go');
    assert.equal(log.logStartOffset, log.segmentBaseOffsets[0]);
    const compact = await PartitionLog.open(join(dir, 'rb-1'), { ...cfg, cleanupPolicy: 'compact' });
    appendBatches(
      compact,
      Array.from({ length: 100 }, () => 2),
    );
    assert.deepEqual(await compact.enforceRetention(Date.now()), []);
    await compact.close();
    await log.close();
  } finally {
    await cleanup();
  }
});

test('deleteRecordsBefore moves the log start and deletes segments wholly below it', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'dr-0');
    const cfg = config({ segmentBytes: 800 });
    const log = await PartitionLog.open(path, cfg);
    const stored = appendBatches(
      log,
      Array.from({ length: 50 }, () => 3),
    );
    const target = stored[25]!.baseOffset + 1n; // inside a batch
    const segsBefore = log.segmentBaseOffsets;
    const deleted = await log.deleteRecordsBefore(target);
    assert.equal(log.logStartOffset, target);
    assert.ok(deleted.length > 0);
    assert.ok(deleted.every((d) => d.endOffset <= target));
    assert.equal(log.segmentBaseOffsets[0], segsBefore.filter((b) => b <= target).pop());
    await assert.rejects(log.read(target - 1n, 100, log.logEndOffset), expectKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    const r = await log.read(target, 1, log.logEndOffset);
    assert.equal(splitBatches(r.records)[0]!.baseOffset, stored[25]!.baseOffset, 'whole batch as Kafka does');
    await assert.rejects(
      log.deleteRecordsBefore(log.logEndOffset + 1n),
      expectKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE),
    );
    assert.deepEqual(await log.deleteRecordsBefore(target - 5n), []);
    await log.detach(); // crash: the log start offset was checkpointed anyway
    const again = await PartitionLog.open(path, cfg);
    assert.equal(again.logStartOffset, target);
    await again.deleteRecordsBefore(again.logEndOffset);
    assert.equal(again.logStartOffset, again.logEndOffset);
    assert.equal(again.segmentCount, 1);
    const r2 = await again.read(again.logEndOffset, 100, again.logEndOffset);
    assert.equal(r2.records, null);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('group commit: concurrent flush() calls share fsyncs', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const log = await PartitionLog.open(join(dir, 'gc-0'), config());
    appendBatches(log, [1]);
    const base = log.fsyncCount;
    await Promise.all(Array.from({ length: 200 }, () => log.flush()));
    assert.ok(log.fsyncCount - base <= 2, `fsyncs: ${log.fsyncCount - base}`);
    assert.equal(log.flushedOffset, log.logEndOffset);
    // appends interleaved with flushes: every flush covers the data appended before it
    const before = log.fsyncCount;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      appendBatches(log, [1]);
      const leo = log.logEndOffset;
      waits.push(log.flush().then(() => assert.ok(log.flushedOffset >= leo)));
    }
    await Promise.all(waits);
    assert.ok(log.fsyncCount - before <= 3, `fsyncs: ${log.fsyncCount - before}`);
    assert.equal(log.flushedOffset, log.logEndOffset);
    // nothing new: no fsync at all
    const idle = log.fsyncCount;
    await log.flush();
    assert.equal(log.fsyncCount, idle);
    await log.close();
  } finally {
    await cleanup();
  }
});

test('flush.messages and flush.ms trigger fsyncs on their own', async (t) => {
  // The flush.ms timer runs on node:test's mock clock; the fsyncs themselves are real I/O, awaited by polling
  // on setImmediate (not mocked) for at most a few seconds.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  // Real I/O (an fsync) gets up to `ms` of wall time to finish (or to show it did not start).
  const ioSettles = async (done: () => boolean, ms = 5000): Promise<boolean> => {
    const end = Date.now() + ms;
    while (!done() && Date.now() < end) await new Promise((r) => setImmediate(r));
    return done();
  };
  const { dir, cleanup } = await tempDir();
  try {
    const byCount = await PartitionLog.open(join(dir, 'fm-0'), config({ flushMessages: 10 }));
    appendBatches(byCount, [4, 4]);
    await ioSettles(() => false, 50);
    assert.equal(byCount.fsyncCount, 0, '8 messages: below flush.messages');
    appendBatches(byCount, [4]);
    assert.ok(await ioSettles(() => byCount.fsyncCount === 1), '12 messages: one fsync');
    assert.equal(byCount.flushedOffset, 12n);
    await byCount.close();
    const byTime = await PartitionLog.open(join(dir, 'fm-1'), config({ flushMs: 30 }));
    appendBatches(byTime, [1]);
    t.mock.timers.tick(29);
    await ioSettles(() => false, 50);
    assert.equal(byTime.flushedOffset, 0n, 'not flushed 29 ms after the append');
    t.mock.timers.tick(1);
    assert.ok(await ioSettles(() => byTime.flushedOffset === 1n), 'flushed 30 ms after the append');
    await byTime.close();
  } finally {
    await cleanup();
  }
});

test('leader epochs: recorded on append, answered by endOffsetForEpoch, persisted', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'ep-0');
    const log = await PartitionLog.open(path, config());
    appendBatches(log, [5], { epoch: 0 });
    appendBatches(log, [5], { epoch: 2 });
    appendBatches(log, [5], { epoch: 2 });
    appendBatches(log, [5], { epoch: 3 });
    assert.deepEqual(log.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 5n });
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 0, endOffset: 5n });
    assert.deepEqual(log.endOffsetForEpoch(2), { leaderEpoch: 2, endOffset: 15n });
    assert.deepEqual(log.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 20n });
    assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: -1, endOffset: -1n });
    log.assignEpochStart(5, 20n);
    assert.equal(log.latestEpoch, 5);
    await log.close();
    assert.match(readFileSync(join(path, 'leader-epoch-checkpoint'), 'utf8'), /^0\n4\n0 0\n2 5\n3 15\n5 20\n$/);
    const again = await PartitionLog.open(path, config());
    assert.deepEqual(
      again.epochEntries.map((e) => [e.epoch, e.startOffset]),
      [
        [0, 0n],
        [2, 5n],
        [3, 15n],
        [5, 20n],
      ],
    );
    await again.close();
  } finally {
    await cleanup();
  }
});

test('leader epochs seen in appended batches: written by checkpoint() before the recovery point, found again after a crash', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'epc-0');
    const cfg = config({ segmentBytes: 1024 });
    const log = await PartitionLog.open(path, cfg);
    appendBatches(
      log,
      Array.from({ length: 10 }, () => 2),
      { epoch: 0 },
    );
    const e2 = appendBatches(
      log,
      Array.from({ length: 10 }, () => 2),
      { epoch: 2 },
    );
    await log.flush();
    await log.checkpoint();
    // The epochs of everything below the recovery point are on disk with it.
    assert.match(
      readFileSync(join(path, 'leader-epoch-checkpoint'), 'utf8'),
      new RegExp(`^0\n2\n0 0\n2 ${e2[0]!.baseOffset}\n$`),
    );
    // Epoch 3 in later segments, not checkpointed; then a crash (no clean shutdown, no checkpoint).
    const e3 = appendBatches(
      log,
      Array.from({ length: 10 }, () => 2),
      { epoch: 3 },
    );
    await log.detach();
    const crashed = await PartitionLog.open(path, cfg);
    assert.equal(crashed.openStats.cleanShutdown, false);
    assert.ok(
      crashed.openStats.segmentsRecovered < crashed.segmentCount,
      'the recovery scan starts at the recovery point',
    );
    assert.deepEqual(
      crashed.epochEntries.map((e) => [e.epoch, e.startOffset]),
      [
        [0, 0n],
        [2, e2[0]!.baseOffset],
        [3, e3[0]!.baseOffset],
      ],
    );
    assert.deepEqual(crashed.endOffsetForEpoch(2), { leaderEpoch: 2, endOffset: e3[0]!.baseOffset });
    await crashed.close();
  } finally {
    await cleanup();
  }
});

test('truncateTo drops whole batches at and above the offset; appendAsFollower keeps offsets', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'tr-0');
    const cfg = config({ segmentBytes: 600, indexIntervalBytes: 100 });
    const leader = await PartitionLog.open(join(dir, 'leader-0'), cfg);
    const stored = appendBatches(
      leader,
      Array.from({ length: 40 }, () => 3),
      { epoch: 1 },
    );
    const follower = await PartitionLog.open(path, cfg);
    // replicate everything as a follower, a few batches at a time
    let offset = 0n;
    while (offset < leader.logEndOffset) {
      const r = await leader.read(offset, 700, leader.logEndOffset);
      const info = follower.appendAsFollower(Buffer.from(r.records!));
      assert.equal(info!.baseOffset, offset);
      offset = info!.lastOffset + 1n;
    }
    assert.equal(follower.logEndOffset, leader.logEndOffset);
    assert.deepEqual(
      await readAll(follower, 0n, 1 << 20),
      stored.map((s) => s.bytes),
    );
    assert.equal(follower.latestEpoch, 1);
    // offsets must continue from the log end
    const again = await leader.read(0n, 100, leader.logEndOffset);
    assert.throws(() => follower.appendAsFollower(again.records!), expectKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    // truncate into the middle of batch 20 (offsets 60..62): the whole batch goes
    const segs = follower.segmentCount;
    await follower.truncateTo(61n);
    assert.equal(follower.logEndOffset, 60n);
    assert.ok(follower.segmentCount < segs);
    assert.deepEqual(
      await readAll(follower, 0n, 1 << 20),
      stored.slice(0, 20).map((s) => s.bytes),
    );
    await assert.rejects(follower.read(61n, 100, 100n), expectKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    while (follower.logEndOffset < leader.logEndOffset) {
      const r = await leader.read(follower.logEndOffset, 1 << 20, leader.logEndOffset);
      follower.appendAsFollower(Buffer.from(r.records!));
    }
    await follower.close();
    const reopened = await PartitionLog.open(path, cfg);
    assert.equal(reopened.logEndOffset, leader.logEndOffset);
    assert.deepEqual(
      await readAll(reopened, 0n, 1 << 20),
      stored.map((s) => s.bytes),
    );
    await reopened.truncateTo(0n);
    assert.equal(reopened.logEndOffset, 0n);
    assert.equal(reopened.size, 0);
    await reopened.truncateFullyAndStartAt(500n);
    assert.equal(reopened.logStartOffset, 500n);
    assert.equal(appendBatches(reopened, [1])[0]!.baseOffset, 500n);
    await reopened.close();
    await leader.close();
  } finally {
    await cleanup();
  }
});

test('a closed log rejects appends and reads; delete() removes the directory', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'del-0');
    const log = await PartitionLog.open(path, config());
    appendBatches(log, [1]);
    await log.close();
    const { buf, batches } = produced(simpleBatch(1));
    assert.throws(() => log.append(buf, batches, 0, null), expectKafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    await assert.rejects(log.read(0n, 10, 1n), expectKafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    const again = await PartitionLog.open(path, config());
    await again.delete();
    assert.equal(existsSync(path), false);
  } finally {
    await cleanup();
  }
});

test('a read deep inside a large segment reads only around the indexed position', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cfg = config({ indexIntervalBytes: 1024 });
    const log = await PartitionLog.open(join(dir, 'big-0'), cfg);
    const stored = appendBatches(
      log,
      Array.from({ length: 4000 }, () => 2),
      { valueSize: 100 },
    );
    assert.equal(log.segmentCount, 1);
    assert.ok(log.size > 1_000_000);
    for (const i of [3999, 2500, 1234, 17]) {
      const before = log.readBytes;
      const r = await log.read(stored[i]!.baseOffset + 1n, 300, log.logEndOffset);
      assert.deepEqual(splitBatches(r.records)[0]!.bytes, stored[i]!.bytes);
      const read = log.readBytes - before;
      assert.ok(read < 1024 + 300 + 2 * stored[i]!.bytes.length + 61, `read ${read} bytes for one batch`);
    }
    await log.close();
    // the same after a reopen, where the index comes from the file
    const again = await PartitionLog.open(join(dir, 'big-0'), cfg);
    const before = again.readBytes;
    const r = await again.read(stored[3000]!.baseOffset, 1, again.logEndOffset);
    assert.deepEqual(splitBatches(r.records)[0]!.bytes, stored[3000]!.bytes);
    assert.ok(again.readBytes - before < 4096);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('reads racing appends, rolls, retention and flushes stay correct', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cfg = config({ segmentBytes: 700, indexIntervalBytes: 128 });
    const log = await PartitionLog.open(join(dir, 'race-0'), cfg);
    const stored = new Map<bigint, Buffer>();
    let stop = false;
    const reader = async () => {
      let checked = 0;
      while (!stop) {
        const lso = log.logStartOffset;
        const leo = log.logEndOffset;
        if (leo === lso) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const offset = lso + BigInt(Math.floor(Math.random() * Number(leo - lso)));
        try {
          const r = await log.read(offset, 400, leo);
          for (const p of splitBatches(r.records)) {
            assert.deepEqual(p.bytes, stored.get(p.baseOffset));
            checked++;
          }
        } catch (e) {
          assert.ok(e instanceof KafkaError && e.code === ErrorCode.OFFSET_OUT_OF_RANGE, String(e));
        }
      }
      return checked;
    };
    const readers = Array.from({ length: 4 }, reader);
    for (let i = 0; i < 300; i++) {
      for (const s of appendBatches(log, [1 + (i % 4)])) stored.set(s.baseOffset, s.bytes);
      if (i % 50 === 49) await log.deleteRecordsBefore(log.logEndOffset - 20n);
      if (i % 7 === 0) void log.flush();
      await new Promise((r) => setImmediate(r));
    }
    stop = true;
    const checked = await Promise.all(readers);
    assert.ok(checked.reduce((a, b) => a + b) > 100);
    await log.flush();
    assert.equal(log.flushedOffset, log.logEndOffset);
    await log.close();
  } finally {
    await cleanup();
  }
});
