/**
 * One partition assigned to a consumer: where the application is (position), where the next fetch starts
 * (fetchOffset), how a position is still to be found (reset), and what the fetcher knows of it.
 *
 * `incarnation` voids data: it goes up whenever what was fetched or is being fetched for the partition no
 * longer counts (a seek, the partition revoked, an offset out of range, a chunk left midway); fetched chunks
 * and fetch answers carry the incarnation they were made under and are dropped when it moved on.
 */
import type { TopicPartition } from '../group.js';

/**
 * Where to start reading a partition: an offset (a negative one counts back from the end, like kcat's
 * `-o -10`), 'earliest', 'latest', or the first offset whose timestamp is at or after a time.
 */
export type SeekTarget = bigint | number | 'earliest' | 'latest' | { timestamp: number | bigint | Date };

export type OffsetResetPolicy = 'earliest' | 'latest' | 'none';

export interface AssignSpec extends TopicPartition {
  /** Default: the group's committed offset (with groupId), else autoOffsetReset. */
  offset?: SeekTarget;
}

/** How a position is still to be found; 'none' = nowhere (autoOffsetReset 'none'): an error. */
export type PositionReset = Exclude<SeekTarget, bigint | number> | { fromEnd: bigint } | 'committed' | 'none';

export class AssignedPartition {
  /** The next offset to hand to the application; null while a reset is pending. */
  position: bigint | null = null;
  /** The offset the next fetch asks for (ahead of position by what is buffered). */
  fetchOffset: bigint | null = null;
  reset: PositionReset | null = null;
  incarnation = 0;
  /** Paused by the application: not fetched, its buffered chunks held back. */
  paused = false;
  /** A fetch for it is in flight. */
  fetching = false;
  /** Fetched chunks of this incarnation not yet handed out entirely. */
  buffered = 0;
  highWatermark = -1n;
  /** From the last fetch: the end of what read_committed may read (-1: not known). */
  lastStableOffset = -1n;
  logStartOffset = -1n;
  /** partitionMaxBytes of the next fetch (doubled when one batch did not fit). */
  maxBytes: number;
  /** The offset last committed for it (by this consumer, or found at the start). */
  lastCommitted: bigint | null = null;
  /**
   * Not fetched again before the consumer has metadata requested after this mark (Cluster.markStale): set
   * when a fetch of it failed with an error that says the metadata is wrong (its leader moved, its broker is
   * gone). 0: no wait.
   */
  metadataMark = 0;
  /** Fetches of it that failed in a row (retriably); the next not before `retryAt`. */
  failures = 0;
  retryAt = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
    maxBytes: number,
  ) {
    this.maxBytes = maxBytes;
  }

  /** Where the partition ends for the isolation level: the LSO for read_committed (when known), else the HW. */
  endOffset(isolationLevel: 0 | 1): bigint {
    return isolationLevel === 1 && this.lastStableOffset >= 0n ? this.lastStableOffset : this.highWatermark;
  }

  /** Start at `target` (keeps what is buffered: see seek()). */
  setTarget(target: SeekTarget): void {
    if (typeof target === 'number' || typeof target === 'bigint') {
      const off = BigInt(target);
      if (off >= 0n) {
        this.position = off;
        this.fetchOffset = off;
        this.reset = null;
      } else {
        this.position = null;
        this.fetchOffset = null;
        this.reset = { fromEnd: -off };
      }
      return;
    }
    this.position = null;
    this.fetchOffset = null;
    this.reset = target;
  }

  /** Move to `target`, dropping what was fetched or is being fetched. */
  seek(target: SeekTarget): void {
    this.incarnation++;
    this.buffered = 0;
    this.setTarget(target);
  }
}
