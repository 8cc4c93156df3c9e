/**
 * Reading a partition's whole log once, oldest batch first: what a coordinator does when it takes over a
 * partition of its internal topic (`__consumer_offsets`, `__transaction_state`) and replays it into memory.
 * Reads in steps of `chunkBytes` from the log start to the log end as they are when it starts; a batch cut by
 * the end of a read is read again whole by the next step; a step that does not advance ends the replay.
 */
import { type BatchHeader, readBatchHeader } from '../protocol/records/batch.js';
import type { PartitionLog } from './partition-log.js';

/**
 * Calls `onBatch` for each whole batch: `records` holds it at `pos`; `from` is the offset the step read from
 * (a batch's records below it were seen in an earlier step).
 */
export async function replayBatches(
  log: PartitionLog,
  chunkBytes: number,
  onBatch: (records: Buffer, pos: number, h: BatchHeader, from: bigint) => void | Promise<void>,
): Promise<void> {
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  while (offset < end) {
    const r = await log.read(offset, chunkBytes, end, true);
    if (!r.records || r.records.length === 0) break;
    let pos = 0;
    let next = offset;
    while (pos < r.records.length) {
      const h = readBatchHeader(r.records, pos);
      if (!h || pos + h.size > r.records.length) break;
      await onBatch(r.records, pos, h, offset);
      next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      pos += h.size;
    }
    if (next <= offset) break;
    offset = next;
  }
}
