/**
 * Compaction and transactions (issue 17, KIP-98): the cleaner removes the records of aborted transactions (and
 * they supersede no older value of their key), keeps the markers, and never cleans at or above the last stable
 * offset (an open transaction's records stay, and newer values do not remove them).
 */
import assert from 'node:assert/strict';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  readBatchHeader,
  validateProducedBatches,
} from '../../src/protocol/records/batch.js';
import { buildBatch, decodeBatch, type RecordInput } from '../../src/protocol/records/record.js';
import { cleanLog } from '../../src/storage/cleaner.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { buildMarkerBatch } from '../../src/storage/producer-state.js';
import { config, tempDir } from './helpers.js';

const T0 = 1_700_000_000_000n;

async function append(log: PartitionLog, records: RecordInput[], pid = -1n, seq = -1): Promise<void> {
  const buf = await buildBatch({
    records: records.map((r) => ({ timestamp: T0, ...r })),
    producerId: pid,
    producerEpoch: pid >= 0n ? 0 : -1,
    baseSequence: seq,
    attributesExtra: pid >= 0n ? ATTR_TRANSACTIONAL : 0,
  });
  const v = validateProducedBatches(buf, 1 << 20);
  if (!v.ok) throw new Error(v.message);
  log.append(buf, v.batches, 0, null);
}

function marker(log: PartitionLog, pid: bigint, commit: boolean): void {
  const b = buildMarkerBatch(pid, 0, commit, 0, T0);
  log.append(b, [readBatchHeader(b, 0)!], 0, null);
}

/** Every batch of the log: [base offset, control?, records as "key=value"]. */
async function batches(log: PartitionLog): Promise<[bigint, boolean, string[]][]> {
  const out: [bigint, boolean, string[]][] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20, log.logEndOffset);
    if (!r.records) break;
    let pos = 0;
    while (pos < r.records.length) {
      const b = await decodeBatch(r.records, pos);
      const control = (b.header.attributes & ATTR_CONTROL) !== 0;
      out.push([b.header.baseOffset, control, control ? [] : b.records.map((x) => `${x.key}=${x.value}`)]);
      pos += b.header.size;
      offset = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
    }
  }
  return out;
}

test('the cleaner drops aborted transactions, keeps markers, and stops at the LSO', async () => {
  const { dir, cleanup } = await tempDir();
  const log = await PartitionLog.open(dir, config({ cleanupPolicy: 'compact', segmentBytes: 300 }));
  try {
    await append(log, [{ key: 'k', value: 'committed' }]); // 0
    await append(log, [{ key: 'k', value: 'aborted' }], 9n, 0); // 1
    marker(log, 9n, false); // 2
    await append(log, [{ key: 'j', value: 'open' }], 10n, 0); // 3: stays open
    await append(log, [{ key: 'j', value: 'newer' }]); // 4
    for (let i = 0; i < 8; i++) await append(log, [{ key: `f${i}`, value: 'x'.repeat(100) }]);
    assert.equal(log.lastStableOffset, 3n);
    assert.ok(log.segmentCount > 3, `segments: ${log.segmentCount}`);

    await cleanLog(log, { nowMs: Number(T0) + 1000, minCompactionLagMs: 0, deleteRetentionMs: 0 });
    const after = await batches(log);
    const all = after.flatMap(([, , rs]) => rs);
    assert.ok(all.includes('k=committed'), 'the aborted value superseded nothing');
    assert.ok(!all.includes('k=aborted'), 'the aborted transaction is removed');
    assert.ok(
      after.some(([o, control]) => o === 2n && control),
      'the abort marker stays',
    );
    assert.ok(all.includes('j=open'), 'nothing at or above the LSO is cleaned');
    assert.ok(all.includes('j=newer'));
  } finally {
    await log.close();
    await cleanup();
  }
});

/**
 * What a read_committed consumer sees of the log (offsets below the LSO, aborted transactions dropped by the
 * fetch's aborted list as Kafka's consumer does): "key=value" per record.
 */
async function readCommitted(log: PartitionLog): Promise<string[]> {
  const lso = log.lastStableOffset;
  const out: string[] = [];
  let offset = log.logStartOffset;
  const abortedList = log.abortedTransactions(offset, lso);
  abortedList.sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
  const abortedNow = new Set<bigint>();
  while (offset < lso) {
    const r = await log.read(offset, 1 << 20, lso);
    if (!r.records || r.records.length === 0) break;
    let pos = 0;
    while (pos < r.records.length) {
      const b = await decodeBatch(r.records, pos);
      const h = b.header;
      pos += h.size;
      offset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      if (h.baseOffset >= lso) break;
      while (abortedList.length > 0 && (abortedList[0]?.firstOffset as bigint) <= h.baseOffset)
        abortedNow.add((abortedList.shift() as { producerId: bigint }).producerId);
      if ((h.attributes & ATTR_CONTROL) !== 0) {
        if (b.records[0]?.key?.readInt16BE(2) === 0) abortedNow.delete(h.producerId);
        continue;
      }
      if ((h.attributes & ATTR_TRANSACTIONAL) !== 0 && abortedNow.has(h.producerId)) continue;
      for (const x of b.records) out.push(`${x.key}=${x.value}`);
    }
  }
  return out;
}

test('markers go once their transactions left nothing and delete.retention.ms passed; the txnindex follows', async () => {
  const { dir, cleanup } = await tempDir();
  const cfg = config({ cleanupPolicy: 'compact', segmentBytes: 300 });
  let log = await PartitionLog.open(dir, cfg);
  try {
    await append(log, [{ key: 'k', value: 'committed' }]); // 0
    await append(log, [{ key: 'k', value: 'aborted' }], 9n, 0); // 1
    marker(log, 9n, false); // 2: ABORT
    await append(log, [{ key: 'c', value: 'v1' }], 10n, 0); // 3
    marker(log, 10n, true); // 4: COMMIT
    await append(log, [{ key: 'c', value: 'v2' }]); // 5: supersedes 3
    // Each producer writes a later transaction, so 1 and 3 are not the last batches their producers wrote (those
    // stay, emptied, and keep their markers, as in Kafka).
    await append(log, [{ key: 'd', value: 'x' }], 10n, 1); // 6
    marker(log, 10n, true); // 7
    await append(log, [{ key: 'e', value: 'y' }], 9n, 1); // 8
    marker(log, 9n, true); // 9
    for (let i = 0; i < 8; i++) await append(log, [{ key: `f${i}`, value: 'x'.repeat(100) }]); // 10-17
    assert.equal(log.lastStableOffset, log.highWatermark, 'no transaction open');
    const fillers = Array.from({ length: 8 }, (_, i) => `f${i}=${'x'.repeat(100)}`);
    const view = ['k=committed', 'c=v2', 'd=x', 'e=y', ...fillers];
    assert.deepEqual(
      await readCommitted(log),
      ['k=committed', 'c=v1', 'c=v2', 'd=x', 'e=y', ...fillers],
      'before cleaning',
    );
    assert.equal(log.abortedTxns.size, 1);
    const txnIndexFiles = (): Promise<string[]> => readdir(dir).then((ns) => ns.filter((n) => n.endsWith('.txnindex')));
    assert.equal((await txnIndexFiles()).length, 1);
    const markers = async (): Promise<bigint[]> =>
      (await batches(log)).filter(([, control]) => control).map(([o]) => o);

    const now = Number(T0) + 1000;
    const opts = { minCompactionLagMs: 0, deleteRetentionMs: 10_000 };
    // Pass 1: the aborted records and the superseded c=v1 go; their markers stay (their batches were met).
    const s1 = await cleanLog(log, { nowMs: now, ...opts });
    assert.ok(s1.segmentsCleaned > 0);
    assert.deepEqual(await markers(), [2n, 4n, 7n, 9n]);
    assert.deepEqual(await readCommitted(log), view);
    assert.equal(log.abortedTxns.size, 1, 'the ABORT marker keeps its entry while its batches were met');
    assert.ok(s1.revisitAtMs !== null && s1.revisitAtMs <= now, 'a next pass is due');
    // Pass 2: nothing of transactions 2 and 4 is left: their markers get a delete horizon; the aborted
    // transaction leaves the index (memory and file).
    const s2 = await cleanLog(log, { nowMs: now, ...opts });
    assert.deepEqual(await markers(), [2n, 4n, 7n, 9n], 'kept for delete.retention.ms');
    assert.equal(log.abortedTxns.size, 0);
    assert.deepEqual(await txnIndexFiles(), []);
    assert.equal(s2.revisitAtMs, now + 10_000);
    assert.deepEqual(await readCommitted(log), view);
    // Before the horizon nothing changes.
    await cleanLog(log, { nowMs: now + 9_000, ...opts });
    assert.deepEqual(await markers(), [2n, 4n, 7n, 9n]);
    // Past it the two markers go; 7 and 9 stay (d=x and e=y are their transactions' records).
    const s3 = await cleanLog(log, { nowMs: now + 10_001, ...opts });
    assert.equal(s3.markersRemoved, 2);
    assert.deepEqual(await markers(), [7n, 9n]);
    assert.deepEqual(await readCommitted(log), view);
    assert.equal(log.lastStableOffset, log.highWatermark);
    const hw = log.highWatermark;
    const stored = await batches(log);

    // A restart rebuilds the same state: same batches, no aborted transaction, nothing open.
    await log.close();
    log = await PartitionLog.open(dir, cfg);
    assert.deepEqual(await batches(log), stored);
    assert.equal(log.abortedTxns.size, 0);
    assert.deepEqual(await txnIndexFiles(), []);
    assert.equal(log.highWatermark, hw);
    assert.equal(log.lastStableOffset, hw, 'no transaction reopened');
    assert.deepEqual(await readCommitted(log), view);

    // And from the log alone (no producer snapshot): the same.
    await log.close();
    for (const n of await readdir(dir)) if (n.endsWith('.snapshot')) await unlink(join(dir, n));
    log = await PartitionLog.open(dir, cfg);
    assert.equal(log.openStats.producerSnapshot, -1n, 'no snapshot: the state comes from the log');
    assert.deepEqual(await batches(log), stored);
    assert.equal(log.abortedTxns.size, 0);
    assert.equal(log.lastStableOffset, hw, 'no transaction reopened');
    assert.deepEqual(await readCommitted(log), view);
  } finally {
    await log.close();
    await cleanup();
  }
});
