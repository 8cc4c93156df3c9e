/**
 * Recovery after a crash scans only what lies past the recovery point (issue 22): the segment holding it is
 * scanned from the last entry of its index on disk at or below it, not from its start. A damaged byte below the
 * recovery point is therefore not re-read (the bytes there were made durable before the recovery point was
 * checkpointed), while a torn tail past it is still cut off. An index entry that does not match the batch at
 * its position is not trusted: the segment is then scanned whole, as before.
 */
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OFF } from '../../src/protocol/records/batch.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { CapturingLogger, config, produced, simpleBatch, tempDir } from './helpers.js';

const LOG = '00000000000000000000.log';
const INDEX = '00000000000000000000.index';
// An index entry every ~256 bytes; one segment (the default segment size) for the whole test.
const CFG = config({ indexIntervalBytes: 256 });

function append(log: PartitionLog, batches: number): { base: bigint; position: number }[] {
  const out: { base: bigint; position: number }[] = [];
  for (let i = 0; i < batches; i++) {
    const position = log.size;
    const { buf, batches: hs } = produced(simpleBatch(3, 40));
    const info = log.append(buf, hs, 0, null);
    out.push({ base: info.baseOffset, position });
  }
  return out;
}

/** Flip a byte inside the records of the batch at `position` (its CRC no longer matches; its header is intact). */
function damageRecords(path: string, position: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    const at = position + 61 + 5;
    const cur = readFileSync(path).subarray(at, at + 1);
    b[0] = cur[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

/** A log of 60 batches: 40 before a clean close (their index on disk), 20 after it, all flushed and
 * checkpointed (the recovery point at the end), then a crash with a torn batch header at the end of the file. */
async function crashedLog(path: string): Promise<{ stored: { base: bigint; position: number }[]; end: bigint }> {
  const first = await PartitionLog.open(path, CFG);
  const stored = append(first, 40);
  await first.close();
  const second = await PartitionLog.open(path, CFG);
  stored.push(...append(second, 20));
  await second.flush();
  await second.checkpoint();
  const end = second.logEndOffset;
  assert.equal(second.recoveryPoint, end);
  await second.detach(); // a crash: no clean-shutdown marker, the active index not written again
  // A torn write past the recovery point: the first 30 bytes of a batch.
  appendFileSync(join(path, LOG), simpleBatch(3, 40).subarray(0, 30));
  return { stored, end };
}

test('recovery scans from the recovery point: damage below it is not re-read, a torn tail past it is cut', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'rp-0');
    const { stored, end } = await crashedLog(path);
    const size = statSync(join(path, LOG)).size;
    // Damage the records of the 6th batch: far below the recovery point (and below the index's last entry).
    damageRecords(join(path, LOG), stored[5]!.position);

    const logger = new CapturingLogger();
    const log = await PartitionLog.open(path, CFG, logger);
    try {
      assert.equal(log.openStats.cleanShutdown, false);
      assert.equal(log.openStats.segmentsRecovered, 1);
      assert.equal(log.logEndOffset, end, 'nothing below the recovery point was cut');
      assert.equal(log.openStats.truncatedBytes, 30, 'the torn tail past the recovery point was cut');
      assert.equal(statSync(join(path, LOG)).size, size - 30);
      assert.ok(log.openStats.bytesTrusted > stored[5]!.position, `trusted ${log.openStats.bytesTrusted} bytes`);
      assert.ok(
        log.openStats.bytesRecovered < size - stored[5]!.position,
        `scanned ${log.openStats.bytesRecovered} of ${size} bytes`,
      );
      assert.equal(logger.at('warn').filter((m) => /Truncated torn/.test(m)).length, 1);
      // The log goes on from there: appends, reads at old and new offsets (the index below was kept).
      const more = append(log, 3);
      assert.equal(more[0]!.base, end);
      const r = await log.read(stored[30]!.base, 1, end + 10n);
      assert.equal(r.records?.readBigInt64BE(OFF.baseOffset), stored[30]!.base);
      const r2 = await log.read(end, 1 << 20, end + 10n);
      assert.equal(r2.records?.readBigInt64BE(OFF.baseOffset), end);
    } finally {
      await log.close();
    }
  } finally {
    await cleanup();
  }
});

test('an index entry that does not match the batch at its position is not trusted: the segment is scanned whole', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'rp-1');
    const { stored } = await crashedLog(path);
    damageRecords(join(path, LOG), stored[5]!.position);
    // Every entry of the index on disk one byte off: no header matches its offset there.
    const idx = readFileSync(join(path, INDEX));
    assert.ok(idx.length >= 16, 'the index has entries');
    for (let o = 0; o < idx.length; o += 8) idx.writeInt32BE(idx.readInt32BE(o + 4) + 1, o + 4);
    writeFileSync(join(path, INDEX), idx);

    const log = await PartitionLog.open(path, CFG, new CapturingLogger());
    try {
      assert.equal(log.openStats.bytesTrusted, 0);
      // The whole segment was checked, so the damaged batch was found: the log ends before it (as before).
      assert.equal(log.logEndOffset, stored[5]!.base);
    } finally {
      await log.close();
    }
  } finally {
    await cleanup();
  }
});
