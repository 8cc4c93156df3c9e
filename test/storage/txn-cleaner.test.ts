/**
 * Compaction and transactions (issue 17, KIP-98): the cleaner removes the records of aborted transactions (and
 * they supersede no older value of their key), keeps the markers, and never cleans at or above the last stable
 * offset (an open transaction's records stay, and newer values do not remove them).
 */
import assert from 'node:assert/strict';
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
