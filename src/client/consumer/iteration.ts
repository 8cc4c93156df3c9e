/**
 * Iteration: the consumer's records() and batches() async iterators, over the chunks the fetcher buffered.
 * Both run the same loop (iterate()): take the next chunk of a partition that is not paused (chunks of paused
 * partitions are held back until resumed), decode its batches, hand out items, and tell the fetcher when the
 * chunk is done. They differ only in what an item is (a Mode): one record, or the records of one batch.
 *
 * Positions: an item counts as consumed when the iterator is asked for the next one (or the loop exits), so
 * a commit, automatic or on rebalance, never covers a record the application is still processing. Control
 * batches, compacted gaps, records before the position and (read_committed) batches of aborted transactions
 * (read-committed.ts) move the position without being handed out.
 */
import type { DecodedBatch, KafkaRecord } from '../../protocol/records/record.js';
import { batchLastOffset, isControlBatch } from '../../protocol/records/record.js';
import type { AssignedPartition } from './assigned-partition.js';
import { decodeChunk, type FetchedChunk } from './fetcher.js';
import { AbortedFilter } from './read-committed.js';

export interface ConsumerRecord extends KafkaRecord {
  topic: string;
  partition: number;
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  /** Records at or after the position (a compressed batch can start before it). */
  records: KafkaRecord[];
  highWatermark: bigint;
}

export interface IterateOptions {
  /** End the iteration once every assigned partition is consumed up to its high watermark (kcat -e). */
  untilEnd?: boolean;
  /** Stop when this signal aborts. */
  signal?: AbortSignal;
}

/** Where iteration takes fetched chunks from: the fetcher (see Fetcher for what each one does). */
export interface ChunkSource {
  readonly fatal: Error | null;
  readonly closed: boolean;
  takeChunk(): FetchedChunk | undefined;
  holdBack(c: FetchedChunk): void;
  isLive(c: FetchedChunk): boolean;
  onlyPausedBuffered(): boolean;
  caughtUp(): boolean;
  chunkDone(c: FetchedChunk, completed: boolean): void;
  changed(signal: AbortSignal | undefined): Promise<void>;
}

/** What the consumer does when an iterator starts, and whether its group is stable. */
export interface IterationHost {
  /** Throws if the consumer is closed; else starts connecting and fetching. */
  start(): void;
  /** False during a rebalance (untilEnd does not end then). */
  groupStable(): boolean;
}

/** What an iterator hands out. */
interface Mode<T> {
  /** The items of a data batch at or after the partition's position; `last`: the batch's last offset. */
  items(b: DecodedBatch, p: AssignedPartition, last: bigint): Iterable<T>;
  /** The position once `item` is consumed. */
  next(item: T, last: bigint): bigint;
}

const RECORDS: Mode<ConsumerRecord> = {
  *items(b, p) {
    for (const r of b.records) {
      if (p.position !== null && r.offset < p.position) continue;
      yield {
        topic: p.topic,
        partition: p.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      };
    }
  },
  next: (r) => r.offset + 1n,
};

const BATCHES: Mode<ConsumerBatch> = {
  *items(b, p, last) {
    const pos = p.position ?? -1n;
    if (last < pos) return;
    const records = b.records[0] && b.records[0].offset < pos ? b.records.filter((r) => r.offset >= pos) : b.records;
    if (records.length > 0) yield { topic: p.topic, partition: p.partition, records, highWatermark: p.highWatermark };
  },
  next: (_b, last) => last + 1n,
};

/** The item handed out last: its partition's position moves past it when the next one is asked for. */
class HandedOut {
  private partition: AssignedPartition | null = null;
  private incarnation = 0;
  private next = 0n;
  set(p: AssignedPartition, incarnation: number, next: bigint): void {
    this.partition = p;
    this.incarnation = incarnation;
    this.next = next;
  }
  consumed(): void {
    const p = this.partition;
    if (p && p.incarnation === this.incarnation && (p.position ?? -1n) < this.next) p.position = this.next;
    this.partition = null;
  }
}

export class Iteration {
  private active = false;

  constructor(
    private readonly source: ChunkSource,
    private readonly host: IterationHost,
  ) {}

  records(opts: IterateOptions): AsyncGenerator<ConsumerRecord, void, undefined> {
    return this.iterate(opts, RECORDS);
  }

  batches(opts: IterateOptions): AsyncGenerator<ConsumerBatch, void, undefined> {
    return this.iterate(opts, BATCHES);
  }

  private async *iterate<T>(opts: IterateOptions, mode: Mode<T>): AsyncGenerator<T, void, undefined> {
    if (this.active) throw new TypeError('only one iterator of a consumer may be active at a time');
    this.host.start();
    this.active = true;
    const handed = new HandedOut();
    try {
      for (;;) {
        handed.consumed();
        const chunk = await this.nextChunk(opts);
        if (!chunk) return;
        const p = chunk.partition;
        let completed = false;
        // read_committed: the chunk came with aborted transactions (null: read_uncommitted, or none aborted).
        const aborted = chunk.aborted ? new AbortedFilter(chunk.aborted) : null;
        try {
          for await (const b of decodeChunk(chunk)) {
            if (chunk.incarnation !== p.incarnation) break;
            const last = batchLastOffset(b.header);
            if (aborted ? !aborted.skip(b) : !isControlBatch(b.header)) {
              for (const item of mode.items(b, p, last)) {
                if (chunk.incarnation !== p.incarnation) break;
                handed.set(p, chunk.incarnation, mode.next(item, last));
                yield item;
                handed.consumed();
              }
            }
            if (chunk.incarnation === p.incarnation && p.position !== null && last + 1n > p.position) {
              p.position = last + 1n;
            }
          }
          completed = chunk.incarnation === p.incarnation;
        } finally {
          handed.consumed();
          this.source.chunkDone(chunk, completed);
        }
      }
    } finally {
      handed.consumed();
      this.active = false;
    }
  }

  /** The next chunk to hand out, waiting for one; null when the iteration ends (closed, aborted, untilEnd). */
  private async nextChunk(opts: IterateOptions): Promise<FetchedChunk | null> {
    const source = this.source;
    for (;;) {
      if (source.fatal) throw source.fatal;
      if (source.closed || opts.signal?.aborted) return null;
      for (let c = source.takeChunk(); c !== undefined; c = source.takeChunk()) {
        if (!source.isLive(c)) continue;
        if (c.partition.paused) {
          // Held back until resumed (kept in order at the end of the buffer).
          source.holdBack(c);
          if (source.onlyPausedBuffered()) break;
          continue;
        }
        return c;
      }
      if (opts.untilEnd && this.host.groupStable() && source.caughtUp()) return null;
      await source.changed(opts.signal);
    }
  }
}
