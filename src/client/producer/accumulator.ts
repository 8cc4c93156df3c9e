/**
 * The producer's accumulator: records in. A record is checked, given a partition (an explicit one, the custom
 * partitioner's, else murmur2 of the key or the sticky partition for null keys) and encoded straight into its
 * partition's open batch; a record that cannot go in yet (the topic's metadata is not known, or bufferMemory
 * bytes are buffered) waits in the backlog, in send order.
 *
 * A batch is sealed when it reaches batchSize or is taken by the sender; the accumulator tells the sender when a
 * batch becomes ready (`DrainTrigger`): a new batch after lingerMs, a full one at once. ready() lists the
 * batches that may go now: a queue's head once sealed, lingered or flushed, and past its retry backoff.
 *
 * It owns the memory: bytes buffered (bounded by bufferMemory), the buffers of acknowledged batches kept for new
 * ones, and the count of records not yet settled that flush() waits for.
 *
 * The per-record path allocates nothing of its own for sendBatch()/sendAll() of records without an explicit
 * timestamp: a record is encoded straight into its batch (BatchBuilder.appendFields), and a batch keeps its
 * records' deliveries as runs. Only records that must wait get a backlog entry.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Compression } from '../../protocol/records/batch.js';
import { BufferPool } from '../../util/buffer-pool.js';
import type { Cluster, TopicInfo } from '../cluster.js';
import { DefaultPartitioner, type Partitioner } from '../partitioner.js';
import { batchCapacity, PartitionQueue, ProducerBatch } from './batch.js';
import type { Delivery, DeliveryGroup } from './delivery.js';

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface ProducerRecord {
  topic: string;
  /** Explicit partition; otherwise the partitioner decides. */
  partition?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: ReadonlyArray<{ key: string; value?: Buffer | string | null }>;
  /** Milliseconds since the epoch (create time); default: when send() was called. */
  timestamp?: number | bigint | Date;
}

export interface AccumulatorOptions {
  lingerMs: number;
  batchSize: number;
  compression: Compression;
  compressionLevel: number | undefined;
  /** A record larger than this is refused. */
  maxRequestSize: number;
  bufferMemory: number;
  metadataTimeoutMs: number;
  partitioner: Partitioner | undefined;
}

/** How the accumulator wakes the sender (see ProduceSender). */
export interface DrainTrigger {
  /** Drain at `at` (ms since the epoch), or soon if that has passed. */
  schedule(at: number): void;
  /** Drain after the current burst of sends. */
  drainSoon(): void;
}

/** What ready() found. */
export interface ReadyBatches {
  /** Heads of queues that may be sent now, in queue order (not yet taken off their queues). */
  ready: ProducerBatch[];
  /** Batches taken off the heads of their queues because they were older than the age asked for. */
  expired: ProducerBatch[];
  /** When the next head becomes ready (Infinity: none waits). */
  nextWake: number;
}

/** A record waiting in the backlog for its topic's metadata or for buffer space. */
interface BacklogEntry {
  record: ProducerRecord;
  timestamp: number;
  delivery: Delivery;
  index: number;
  enqueuedAt: number;
}

const NONE: readonly number[] = [];

/** Batch buffers of acknowledged batches kept for new ones: only this large or larger, at most this many of the
 * largest kept size in bytes. */
const MIN_SPARE_BATCH_BUFFER = 64 * 1024;
const MAX_SPARE_BATCH_BUFFERS = 8;

/** The largest batch buffer kept: twice batch.size (a batch that outgrew it doubled), plus a little. */
function maxSpareBatchBuffer(batchSize: number): number {
  return 2 * Math.max(batchSize, MIN_SPARE_BATCH_BUFFER) + 4096;
}

function toMillis(ts: number | bigint | Date | undefined, now: number): number {
  if (ts === undefined) return now;
  if (ts instanceof Date) return ts.getTime();
  return Number(ts);
}

function len(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? v.length * 3 : v.length;
}

export class RecordAccumulator {
  /** flush() calls under way: every batch is ready at once while > 0. */
  flushing = 0;
  /** close() was called: every batch is ready at once, and the backlog gives up on topics once closed. */
  closing = false;
  /** The sender, woken when batches become ready; set by the sender. */
  trigger: DrainTrigger = { schedule() {}, drainSoon() {} };
  /** Called when a partition's queue starts a batch (a transactional producer adds the partition then). */
  onBatchStarted: ((q: PartitionQueue) => void) | null = null;
  private readonly queues = new Map<string, Map<number, PartitionQueue>>();
  /** Records waiting for metadata or buffer space, in send order. */
  private readonly backlog: BacklogEntry[] = [];
  private backlogHead = 0;
  private backlogRunning = false;
  /** Buffers of acknowledged batches, reused by new batches (takeSpareBuffer / keepSpareBuffer). */
  private readonly spareBuffers: BufferPool;
  private readonly partitioner = new DefaultPartitioner();
  private readonly availableCache = new WeakMap<TopicInfo, number[]>();
  private bufferedBytes = 0;
  private unsettled = 0;
  private ordinal = 0;
  private idleWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: AccumulatorOptions,
    /** Connects the producer (the backlog connects before asking for a topic's metadata). */
    private readonly connect: () => Promise<void>,
  ) {
    this.spareBuffers = new BufferPool(MAX_SPARE_BATCH_BUFFERS * maxSpareBatchBuffer(opts.batchSize));
  }

  /** Records appended and not yet acknowledged or failed (the backlog's included). */
  get outstanding(): number {
    return this.unsettled;
  }

  /** Resolves when no record is outstanding (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    return new Promise<void>((r) => this.idleWaiters.push(r));
  }

  // -------------------------------------------------------------------------------------------------------
  // Records in

  append(record: ProducerRecord, delivery: Delivery, index: number, now: number): void {
    const max = this.opts.maxRequestSize;
    if (this.cluster.isClosed) {
      delivery.fail(new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'the producer is closed'));
      return;
    }
    if (typeof record.topic !== 'string' || record.topic === '') {
      delivery.fail(new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'a record needs a topic'));
      return;
    }
    const approx = len(record.key) + len(record.value) + 64;
    if (approx > max && this.estimate(record) > max) {
      delivery.fail(
        new KafkaError(
          ErrorCode.MESSAGE_TOO_LARGE,
          `a record of ~${this.estimate(record)} bytes exceeds maxRequestSize ${max}`,
        ),
      );
      return;
    }
    this.unsettled++;
    const timestamp = toMillis(record.timestamp, now);
    if (this.backlog.length - this.backlogHead > 0 || !this.tryAppend(record, timestamp, delivery, index)) {
      this.backlog.push({ record, timestamp, delivery, index, enqueuedAt: now });
      this.runBacklog();
    }
  }

  appendAll(records: readonly ProducerRecord[], group: DeliveryGroup): void {
    const now = Date.now();
    for (let i = 0; i < records.length; i++) this.append(records[i]!, group, i, now);
  }

  private estimate(r: ProducerRecord): number {
    let n = 64;
    if (r.key) n += typeof r.key === 'string' ? Buffer.byteLength(r.key) : r.key.length;
    if (r.value) n += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length;
    for (const h of r.headers ?? []) {
      n += Buffer.byteLength(h.key) + 10;
      if (h.value) n += typeof h.value === 'string' ? Buffer.byteLength(h.value) : h.value.length;
    }
    return n;
  }

  /**
   * Append to its partition's open batch if the topic's metadata is known and there is buffer space; false if
   * the record must wait. Failures (bad partition) are reported to the delivery and count as handled.
   */
  private tryAppend(r: ProducerRecord, timestamp: number, delivery: Delivery, index: number): boolean {
    if (this.bufferedBytes >= this.opts.bufferMemory) return false;
    const topic = this.cluster.topics.get(r.topic);
    if (!topic || topic.partitions.length === 0) return false;
    const count = topic.partitions.length;
    let partition = r.partition ?? -1;
    if (r.partition !== undefined) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        this.settleFailed(
          delivery,
          new KafkaError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `partition ${r.partition} of topic ${r.topic} does not exist (it has ${count})`,
          ),
        );
        return true;
      }
    } else {
      const available = this.available(r.topic);
      if (this.opts.partitioner) {
        partition = this.opts.partitioner({
          topic: r.topic,
          key: r.key,
          partitionCount: count,
          availablePartitions: available,
        });
      }
      if (partition < 0 || partition >= count) {
        partition = this.partitioner.partitionOf(r.topic, r.key, count, available);
      }
    }
    const q = this.queue(r.topic, partition);
    const batchSize = this.opts.batchSize;
    let batch: ProducerBatch | undefined = q.batches[q.batches.length - 1];
    if (batch && !batch.sealed && batch.builder.recordCount > 0 && batch.size + this.estimateFast(r) > batchSize) {
      this.seal(batch);
      batch = undefined;
    }
    if (!batch || batch.sealed) {
      const capacity = Math.max(batchCapacity(q.lastBatchBytes, batchSize), this.estimateFast(r)) + 128;
      batch = new ProducerBatch(
        q,
        this.ordinal++,
        this.opts,
        capacity,
        this.takeSpareBuffer(capacity),
        // keepSpareBuffer takes it back (uncompressed, at least MIN_SPARE_BATCH_BUFFER).
        this.opts.compression === Compression.None && capacity >= MIN_SPARE_BATCH_BUFFER,
      );
      q.batches.push(batch);
      this.bufferedBytes += batch.size;
      this.trigger.schedule(batch.createdAt + this.opts.lingerMs);
      this.onBatchStarted?.(q);
    }
    const before = batch.size;
    batch.builder.appendFields(r.key, r.value, r.headers, timestamp);
    batch.addDelivery(delivery, index, timestamp);
    this.bufferedBytes += batch.size - before;
    if (batch.size >= batchSize) {
      this.seal(batch);
      this.trigger.drainSoon();
    }
    return true;
  }

  private estimateFast(r: ProducerRecord): number {
    let n = 24 + len(r.key) + len(r.value);
    if (r.headers) for (const h of r.headers) n += h.key.length * 3 + len(h.value) + 4;
    return n;
  }

  /** Partitions of a topic with a leader; computed once per metadata answer (TopicInfo object). */
  private available(topic: string): readonly number[] {
    const info = this.cluster.topics.get(topic);
    if (!info) return NONE;
    let out = this.availableCache.get(info);
    if (!out) {
      out = [];
      for (const p of info.partitions) if (p.leader >= 0) out.push(p.partition);
      this.availableCache.set(info, out);
    }
    return out;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queues.get(topic);
    if (!byPartition) {
      byPartition = new Map();
      this.queues.set(topic, byPartition);
    }
    let q = byPartition.get(partition);
    if (!q) {
      q = new PartitionQueue(topic, partition);
      byPartition.set(partition, q);
    }
    return q;
  }

  private seal(batch: ProducerBatch): void {
    if (batch.sealed) return;
    batch.sealed = true;
    const q = batch.queue;
    q.lastBatchBytes = batch.size;
    this.partitioner.onBatchClosed(q.topic, q.partition, this.cluster.partitionCount(q.topic), this.available(q.topic));
  }

  // -------------------------------------------------------------------------------------------------------
  // The backlog: records waiting for their topic's metadata or for buffer space

  /** Process the backlog in order: wait for metadata (bounded by metadataTimeoutMs) or buffer space. */
  private runBacklog(): void {
    if (this.backlogRunning) return;
    this.backlogRunning = true;
    void this.backlogLoop().finally(() => {
      this.backlogRunning = false;
    });
  }

  private async backlogLoop(): Promise<void> {
    while (this.backlogHead < this.backlog.length) {
      const head = this.backlog[this.backlogHead]!;
      if (this.tryAppend(head.record, head.timestamp, head.delivery, head.index)) {
        this.backlog[this.backlogHead] = undefined as unknown as BacklogEntry;
        this.backlogHead++;
        if (this.backlogHead === this.backlog.length) {
          this.backlog.length = 0;
          this.backlogHead = 0;
        }
        continue;
      }
      if (this.bufferedBytes >= this.opts.bufferMemory) {
        this.trigger.drainSoon();
        await new Promise<void>((r) => this.spaceWaiters.push(r));
        continue;
      }
      // The topic's metadata is missing: fetch it (the broker may auto-create the topic).
      const topic = head.record.topic;
      const timeoutMs = this.opts.metadataTimeoutMs;
      try {
        await this.connect();
        this.cluster.addTopics([topic]);
        await this.cluster.refreshMetadata();
      } catch (e) {
        if (!(e instanceof KafkaError && e.retriable) || Date.now() - head.enqueuedAt > timeoutMs) {
          this.failBacklogTopic(topic, e as Error);
          continue;
        }
      }
      if (this.cluster.topics.get(topic)?.partitions.length) continue;
      const topicError = this.cluster.topicError(topic);
      const waited = Date.now() - head.enqueuedAt;
      if ((topicError && !topicError.retriable) || waited > timeoutMs || (this.closing && this.cluster.isClosed)) {
        const err =
          topicError && !topicError.retriable
            ? topicError
            : new KafkaError(
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                `topic ${topic} not present in metadata after ${waited} ms` +
                  (topicError ? ` (${topicError.message})` : ''),
              );
        this.failBacklogTopic(topic, err);
        continue;
      }
      await new Promise((r) => setTimeout(r, Math.min(200, 20 + waited / 10)));
    }
  }

  /** Fail every backlog entry of a topic (keeping the order of the others). */
  private failBacklogTopic(topic: string, err: Error): void {
    const keep: BacklogEntry[] = [];
    for (let i = this.backlogHead; i < this.backlog.length; i++) {
      const p = this.backlog[i]!;
      if (p.record.topic === topic) this.settleFailed(p.delivery, err);
      else keep.push(p);
    }
    this.backlog.length = 0;
    this.backlogHead = 0;
    this.backlog.push(...keep);
  }

  // -------------------------------------------------------------------------------------------------------
  // Batches out (called by the sender)

  /**
   * The batches that may be sent at `now`: the head of each partition's queue once sealed, lingered lingerMs
   * or flushed, and past its retry backoff. Heads older than `expireAfterMs` are taken off their queues and
   * returned as expired.
   */
  ready(now: number, expireAfterMs: number): ReadyBatches {
    const flushing = this.flushing > 0 || this.closing;
    const lingerMs = this.opts.lingerMs;
    const ready: ProducerBatch[] = [];
    const expired: ProducerBatch[] = [];
    let nextWake = Number.POSITIVE_INFINITY;
    for (const byPartition of this.queues.values()) {
      for (const q of byPartition.values()) {
        const head = q.batches[0];
        if (!head) continue;
        if (now - head.createdAt > expireAfterMs) {
          this.takeExpired(q, now, expireAfterMs, expired);
          continue;
        }
        if (head.retryAt > now) {
          nextWake = Math.min(nextWake, head.retryAt);
          continue;
        }
        const isReady = head.sealed || flushing || now - head.createdAt >= lingerMs;
        if (!isReady) {
          nextWake = Math.min(nextWake, head.createdAt + lingerMs);
          continue;
        }
        ready.push(head);
      }
    }
    return { ready, expired, nextWake };
  }

  private takeExpired(q: PartitionQueue, now: number, expireAfterMs: number, out: ProducerBatch[]): void {
    while (q.batches.length > 0 && now - q.batches[0]!.createdAt > expireAfterMs) out.push(q.batches.shift()!);
  }

  /** Take a head that ready() returned off its queue, to be sent. */
  take(batch: ProducerBatch): void {
    batch.queue.batches.shift();
    this.seal(batch);
  }

  /** A batch to send again: back at the head of its queue, in creation order with the other batches retried. */
  requeue(batch: ProducerBatch): void {
    const q = batch.queue.batches;
    let i = 0;
    while (i < q.length && q[i]!.ordinal < batch.ordinal) i++;
    q.splice(i, 0, batch);
  }

  /**
   * A batch is settled (its deliveries told): its bytes and records no longer count. `reuseBuffer`: the
   * request that carried it was wholly written (an answer came), so its buffer may be encoded into again.
   */
  release(batch: ProducerBatch, reuseBuffer: boolean): void {
    if (reuseBuffer) this.keepSpareBuffer(batch);
    this.bufferedBytes -= batch.size;
    this.unsettled -= batch.recordCount;
    if (this.spaceWaiters.length > 0 && this.bufferedBytes < this.opts.bufferMemory) {
      const ws = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of ws) w();
    }
    this.checkIdle();
  }

  private settleFailed(delivery: Delivery, e: Error): void {
    delivery.fail(e);
    this.unsettled--;
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.unsettled === 0 && this.idleWaiters.length > 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Batch buffers

  /**
   * A buffer of an acknowledged batch with at least `capacity` bytes, for a new batch to encode into. Batches
   * of large records (~1 MiB at full batch.size) otherwise each allocate their buffer: memory outside the V8
   * heap that V8 answers with garbage collections, and fresh pages to fault in. Measured with `bench produce`
   * against bench/sink.ts (5M records of 100 B): 3.8-4.1 M records/s without, 4.2-4.6 M with, and half the
   * page faults (docs/benchmarks.md).
   */
  private takeSpareBuffer(capacity: number): Buffer | undefined {
    return capacity < MIN_SPARE_BATCH_BUFFER ? undefined : this.spareBuffers.get(capacity);
  }

  /**
   * Keep the buffer of an acknowledged uncompressed batch for a later batch. A compressed batch's buffer is the
   * codec's output; batches that failed are left to the garbage collector.
   */
  private keepSpareBuffer(b: ProducerBatch): void {
    const built = b.built;
    if (this.opts.compression !== Compression.None || built === null) return;
    const whole = built.buffer;
    // A buffer of its own (not a slice of Node's shared pool) that encoding did not outgrow wildly.
    if (built.byteOffset !== 0 || whole.byteLength < MIN_SPARE_BATCH_BUFFER) return;
    if (whole.byteLength > maxSpareBatchBuffer(this.opts.batchSize)) return;
    b.built = null; // never handed out twice
    this.spareBuffers.release(Buffer.from(whole, 0, whole.byteLength));
  }
}
