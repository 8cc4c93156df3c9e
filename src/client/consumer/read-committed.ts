/**
 * read_committed (KIP-98): which fetched batches a consumer skips. A Fetch with isolation_level 1 returns records
 * up to the partition's last stable offset plus the transactions aborted in that range (producer id and first
 * offset); a data batch of an aborted transaction is skipped from its first offset until the producer's ABORT
 * marker, as Kafka's consumer does. Control batches are never handed out, in either isolation level.
 *
 * One filter per fetched chunk (the aborted list belongs to the fetch answer it came with); per batch, not per
 * record: a set lookup for transactional batches only.
 */
import {
  batchLastOffset,
  controlRecordType,
  type DecodedBatch,
  isControlBatch,
  isTransactionalBatch,
} from '../../protocol/records/record.js';

export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

export class AbortedFilter {
  /** The aborted transactions of the chunk, by first offset. */
  private readonly pending: AbortedTransaction[];
  private next = 0;
  /** Producers whose aborted transaction has started and whose ABORT marker has not been reached yet. */
  private readonly open = new Set<bigint>();

  constructor(aborted: readonly AbortedTransaction[]) {
    this.pending = [...aborted].sort((a, b) =>
      a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
    );
  }

  /** True when the batch's records are not to be handed out (an aborted transaction's data, or a marker). */
  skip(b: DecodedBatch): boolean {
    const h = b.header;
    const control = isControlBatch(h);
    if (!control && !isTransactionalBatch(h)) return false;
    const last = batchLastOffset(h);
    while (this.next < this.pending.length && this.pending[this.next]!.firstOffset <= last) {
      this.open.add(this.pending[this.next]!.producerId);
      this.next++;
    }
    if (control) {
      const r = b.records[0];
      if (r && this.open.has(h.producerId) && controlRecordType(r) === 'abort') this.open.delete(h.producerId);
      return true;
    }
    return this.open.has(h.producerId);
  }
}
