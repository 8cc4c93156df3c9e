/**
 * A producer batch and the queue of batches of one partition. A batch is a RecordBatch v2 being built
 * (BatchBuilder: each record is encoded once, into the batch's buffer) plus the deliveries of its records,
 * kept as runs (delivery, first index, count), not one object per record.
 *
 * Written by the accumulator (appends, sealing, re-queueing after a failure) and read by the sender (bytes,
 * attempts, retry time); the sender settles a batch with deliver() or failAll().
 */
import { ATTR_TRANSACTIONAL, Compression, OFF, rewriteCrc } from '../../protocol/records/batch.js';
import { BatchBuilder, type BatchOptions } from '../../protocol/records/record.js';
import type { Delivery } from './delivery.js';

export class ProducerBatch {
  readonly builder: BatchBuilder;
  /** The records' deliveries as runs: runDeliveries[r] has records runStarts[r] .. + runCounts[r] - 1 of its call. */
  readonly runDeliveries: Delivery[] = [];
  readonly runStarts: number[] = [];
  readonly runCounts: number[] = [];
  /** Timestamps of the records of deliveries with reports, run r's from timestamps[runTimestamps[r]]. */
  readonly runTimestamps: number[] = [];
  readonly timestamps: number[] = [];
  readonly createdAt = Date.now();
  /** No more records go in (full, sent, or its partition's next batch was started). */
  sealed = false;
  /** Produce requests that carried this batch and failed. */
  attempts = 0;
  /** Not sent again before this time (retry backoff). */
  retryAt = 0;
  /**
   * Not sent again before the producer has metadata requested after this mark (Cluster.markStale): set when
   * the batch failed with an error that says the metadata is wrong (NOT_LEADER_OR_FOLLOWER, a lost broker).
   * 0: no wait.
   */
  metadataMark = 0;
  /** The error of the last failed attempt (named when the batch expires). */
  lastError: Error | null = null;
  /** The batch's bytes once built (compressed if asked), kept for retries. */
  built: Buffer | null = null;
  /** Idempotence (idempotence.ts): the producer id, epoch and first sequence stamped; -1 when none. */
  producerId = -1n;
  producerEpoch = -1;
  baseSequence = -1;
  private readonly compressed: boolean;
  /** The builder's options: the producer fields are set here before the batch is built. */
  private readonly batchOptions: BatchOptions;
  constructor(
    readonly queue: PartitionQueue,
    /** Creation order among the producer's batches: a retried batch goes back before younger ones. */
    readonly ordinal: number,
    opts: { compression: Compression; compressionLevel: number | undefined },
    capacity: number,
    reuse?: Buffer,
    /**
     * The buffer goes back to the producer's spare batch buffers once the batch is acknowledged: built without
     * copying a batch much smaller than its buffer out of it (that copy, a fresh allocation per batch, is what
     * the spare buffers avoid; batches of transactions of 1,000 records of 100 B paid it every time: issue 17).
     */
    private readonly keepsBuffer = false,
  ) {
    this.compressed = opts.compression !== Compression.None;
    this.batchOptions =
      opts.compressionLevel === undefined
        ? { compression: opts.compression }
        : { compression: opts.compression, compressionLevel: opts.compressionLevel };
    this.builder = new BatchBuilder(this.batchOptions, capacity, reuse);
  }

  /**
   * Stamp the idempotent producer's id, epoch and first sequence (and, for a transactional producer, the
   * transactional attribute): into the builder's options before the batch is built, or into the built bytes
   * (header fields and CRC) when it is sent again after an epoch bump.
   */
  stamp(producerId: bigint, epoch: number, baseSequence: number, transactional = false): void {
    this.producerId = producerId;
    this.producerEpoch = epoch;
    this.baseSequence = baseSequence;
    this.batchOptions.producerId = producerId;
    this.batchOptions.producerEpoch = epoch;
    this.batchOptions.baseSequence = baseSequence;
    if (transactional) this.batchOptions.attributesExtra = ATTR_TRANSACTIONAL;
    const b = this.built;
    if (b) {
      b.writeBigInt64BE(producerId, OFF.producerId);
      b.writeInt16BE(epoch, OFF.producerEpoch);
      b.writeInt32BE(baseSequence, OFF.baseSequence);
      if (transactional) b.writeInt16BE(b.readInt16BE(OFF.attributes) | ATTR_TRANSACTIONAL, OFF.attributes);
      rewriteCrc(b, 0, b.length);
    }
  }
  get size(): number {
    return this.builder.sizeInBytes;
  }
  get recordCount(): number {
    return this.builder.recordCount;
  }
  addDelivery(delivery: Delivery, index: number, timestamp: number): void {
    const last = this.runDeliveries.length - 1;
    if (last >= 0 && this.runDeliveries[last] === delivery && this.runStarts[last]! + this.runCounts[last]! === index) {
      this.runCounts[last]!++;
    } else {
      this.runDeliveries.push(delivery);
      this.runStarts.push(index);
      this.runCounts.push(1);
      this.runTimestamps.push(this.timestamps.length);
    }
    if (delivery.reports) this.timestamps.push(timestamp);
  }

  /** The batch's bytes: built (and compressed) on the first call, the same bytes on a retry. */
  bytes(): Buffer | Promise<Buffer> {
    if (!this.built) {
      const built = this.compressed ? this.builder.build() : this.builder.buildUncompressed(!this.keepsBuffer);
      return Promise.resolve(built).then((buf) => {
        this.built = buf;
        return buf;
      });
    }
    return this.built;
  }

  /** Report every record as written at baseOffset + its index (-1 with acks=0), with the log-append time if any. */
  deliver(baseOffset: bigint, logAppendTime: bigint): void {
    const topic = this.queue.topic;
    const partition = this.queue.partition;
    const useAppendTime = logAppendTime >= 0n;
    const runs = this.runDeliveries.length;
    let i = 0;
    for (let r = 0; r < runs; r++) {
      const d = this.runDeliveries[r]!;
      const n = this.runCounts[r]!;
      if (!d.reports) {
        d.deliverCount(n);
        i += n;
        continue;
      }
      const first = this.runStarts[r]!;
      const ts = this.runTimestamps[r]!;
      for (let j = 0; j < n; j++, i++) {
        d.deliver(first + j, {
          topic,
          partition,
          offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i),
          timestamp: useAppendTime ? logAppendTime : BigInt(this.timestamps[ts + j]!),
        });
      }
    }
  }

  failAll(e: Error): void {
    for (const d of this.runDeliveries) d.fail(e);
  }
}

/** The batches of one partition not yet acknowledged, oldest first; the last one may still take records. */
export class PartitionQueue {
  readonly batches: ProducerBatch[] = [];
  /** Bytes of the last batch sealed here: the next batch's buffer is sized from it (see batchCapacity). */
  lastBatchBytes = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

/** First buffer of a partition's first batch when batch.size is larger. */
const FIRST_BATCH_CAPACITY = 16 * 1024;

/**
 * Initial buffer size of a new batch: a quarter more than the partition's previous batch reached, or the
 * whole batch.size (at most 1 MiB) once batches fill up; the buffer grows by doubling if a batch needs more.
 * Allocating batch.size for every batch made each small, lingered batch (e2e at a fixed rate: ~1,000 batches/s
 * of ~10 KiB with batch.size 64 KiB) allocate 64 KiB outside the V8 heap: ~64 MB/s of external memory, which
 * V8 answers with a full mark-compact every 20-50 ms ("external memory pressure").
 */
export function batchCapacity(lastBatchBytes: number, batchSize: number): number {
  const cap = Math.min(batchSize, 1024 * 1024);
  const guess = lastBatchBytes > 0 ? lastBatchBytes + (lastBatchBytes >> 2) : FIRST_BATCH_CAPACITY;
  return guess >= cap * 0.8 ? cap : Math.min(cap, guess);
}
