/**
 * The producer: records are appended to a per-partition queue of batches (RecordBatch v2 built incrementally
 * with BatchBuilder: each record is encoded once, into the batch's buffer), and a sender drains ready batches
 * into one Produce request per leader broker.
 *
 * A batch is ready when it is full (`batchSize`), has waited `lingerMs`, or on flush/close. Up to
 * `maxInFlight` Produce requests are outstanding per broker (pipelined on its connection). A batch that fails
 * with a retriable error (NOT_LEADER_OR_FOLLOWER, a lost connection, ...) is put back at the head of its
 * partition's queue after a backoff and the metadata is refreshed; it fails for good after `retries`
 * attempts or `deliveryTimeoutMs`. Like the Java client without idempotence, a retry with more than one
 * request in flight can reorder batches of a partition: set `maxInFlight: 1` for strict order.
 *
 * Delivery reports: `send()` resolves with {topic, partition, offset, timestamp} once the broker acknowledged
 * the record (acks=0: once written, with offset -1); `sendBatch()` resolves with one report per record;
 * `sendAll()` resolves when every record is acknowledged, without reports.
 *
 * The per-record path allocates nothing of its own for sendBatch()/sendAll() of records without an explicit
 * timestamp: a record is encoded straight into its batch (BatchBuilder.appendFields), and a batch remembers
 * its records' waiters as runs (waiter, first index, count), not one object per record. Only records that must
 * wait (metadata, buffer space) get a Pending entry, and only reports (send, sendBatch) get RecordMetadata.
 */
import type { Struct } from '../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import { Compression } from '../protocol/records/batch.js';
import { parseCompression } from '../protocol/records/compression.js';
import { BatchBuilder } from '../protocol/records/record.js';
import { BufferPool } from '../util/buffer-pool.js';
import { Cluster, type ClusterOptions, type TopicInfo } from './cluster.js';
import { detailOf, errorFor } from './errors.js';
import { DefaultPartitioner, type Partitioner } from './partitioner.js';
import { backoff } from './retry.js';

export type Acks = 0 | 1 | -1 | 'all';
export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface ProducerOptions extends Omit<ClusterOptions, 'retry'> {
  /** 0: no acknowledgement; 1: the leader appended; -1/'all': all in-sync replicas. Default 'all'. */
  acks?: Acks;
  /** How long a batch waits for more records before it is sent. Default 5 ms. */
  lingerMs?: number;
  /** Target size of a batch in bytes (uncompressed). Default 16,384 (Java's default). */
  batchSize?: number;
  /** Default 'none'. */
  compression?: CompressionType | Compression;
  /** gzip 1-9, zstd level; default the codec's Kafka default. */
  compressionLevel?: number;
  /** Produce requests in flight per broker. Default 5. */
  maxInFlight?: number;
  /** Retries of a failed batch (bounded by deliveryTimeoutMs). Default unlimited. */
  retries?: number;
  /** First retry backoff; doubles up to retryBackoffMaxMs. Default 100 ms / 1,000 ms. */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** A record not acknowledged within this time fails. Default 120 s. */
  deliveryTimeoutMs?: number;
  /** Largest Produce request (and record). Default 1 MiB. */
  maxRequestSize?: number;
  /** Bytes of records buffered before send() waits. Default 32 MiB. */
  bufferMemory?: number;
  /** How long send() waits for a topic's metadata (topic being created, unknown topic). Default 60 s. */
  metadataTimeoutMs?: number;
  /** Custom partitioner; returning -1 falls back to the default (murmur2 for keys, sticky for null keys). */
  partitioner?: Partitioner;
}

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

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0. */
  offset: bigint;
  /** The record's timestamp, or the broker's log-append time for LogAppendTime topics. */
  timestamp: bigint;
}

/** Where the delivery reports of one send(), sendBatch() or sendAll() call go (`index`: record of the call). */
interface Waiter {
  /** false: no RecordMetadata is made, deliverCount() is called instead of deliver(). */
  readonly reports: boolean;
  deliver(index: number, md: RecordMetadata): void;
  deliverCount(n: number): void;
  fail(e: Error): void;
}

/** The report of a send(). */
class SingleDelivery implements Waiter {
  readonly reports = true;
  constructor(
    private readonly resolve: (md: RecordMetadata) => void,
    readonly fail: (e: Error) => void,
  ) {}
  deliver(_index: number, md: RecordMetadata): void {
    this.resolve(md);
  }
  deliverCount(): void {}
}

/**
 * The reports of one sendBatch() (resolves with all of them) or sendAll() call (resolves with an empty list),
 * or the first error.
 */
class DeliveryGroup implements Waiter {
  readonly results: RecordMetadata[];
  private remaining: number;
  private done = false;
  constructor(
    n: number,
    readonly reports: boolean,
    private readonly resolve: (r: RecordMetadata[]) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.results = reports ? new Array(n) : [];
    this.remaining = n;
  }
  deliver(index: number, md: RecordMetadata): void {
    this.results[index] = md;
    this.deliverCount(1);
  }
  deliverCount(n: number): void {
    this.remaining -= n;
    if (this.remaining === 0 && !this.done) {
      this.done = true;
      this.resolve(this.results);
    }
  }
  fail(e: Error): void {
    if (this.done) return;
    this.done = true;
    this.reject(e);
  }
}

/** A record waiting for metadata or buffer space. */
interface Pending {
  record: ProducerRecord;
  timestamp: number;
  waiter: Waiter;
  index: number;
  enqueuedAt: number;
}

class ProducerBatch {
  readonly builder: BatchBuilder;
  /** The records' waiters as runs: runWaiters[r] has records runStarts[r] .. + runCounts[r] - 1 of its call. */
  readonly runWaiters: Waiter[] = [];
  readonly runStarts: number[] = [];
  readonly runCounts: number[] = [];
  /** Timestamps of the records of waiters with reports, run r's from timestamps[runTimestamps[r]]. */
  readonly runTimestamps: number[] = [];
  readonly timestamps: number[] = [];
  readonly createdAt = Date.now();
  closed = false;
  attempts = 0;
  retryAt = 0;
  buffer: Buffer | null = null;
  constructor(
    readonly queue: PartitionQueue,
    readonly seq: number,
    opts: { compression: Compression; compressionLevel: number | undefined },
    capacity: number,
    reuse?: Buffer,
  ) {
    this.builder = new BatchBuilder(
      opts.compressionLevel === undefined
        ? { compression: opts.compression }
        : { compression: opts.compression, compressionLevel: opts.compressionLevel },
      capacity,
      reuse,
    );
  }
  get size(): number {
    return this.builder.sizeInBytes;
  }
  get recordCount(): number {
    return this.builder.recordCount;
  }
  addWaiter(waiter: Waiter, index: number, timestamp: number): void {
    const last = this.runWaiters.length - 1;
    if (last >= 0 && this.runWaiters[last] === waiter && this.runStarts[last]! + this.runCounts[last]! === index) {
      this.runCounts[last]!++;
    } else {
      this.runWaiters.push(waiter);
      this.runStarts.push(index);
      this.runCounts.push(1);
      this.runTimestamps.push(this.timestamps.length);
    }
    if (waiter.reports) this.timestamps.push(timestamp);
  }
}

class PartitionQueue {
  readonly batches: ProducerBatch[] = [];
  /** Bytes of the last batch closed here: the next batch's buffer is sized from it (see batchCapacity). */
  lastBatchBytes = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
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

/** First buffer of a partition's first batch when batch.size is larger. */
const FIRST_BATCH_CAPACITY = 16 * 1024;

/**
 * Initial buffer size of a new batch: a quarter more than the partition's previous batch reached, or the
 * whole batch.size (at most 1 MiB) once batches fill up; the buffer grows by doubling if a batch needs more.
 * Allocating batch.size for every batch made each small, lingered batch (e2e at a fixed rate: ~1,000 batches/s
 * of ~10 KiB with batch.size 64 KiB) allocate 64 KiB outside the V8 heap: ~64 MB/s of external memory, which
 * V8 answers with a full mark-compact every 20-50 ms ("external memory pressure").
 */
function batchCapacity(lastBatchBytes: number, batchSize: number): number {
  const cap = Math.min(batchSize, 1024 * 1024);
  const guess = lastBatchBytes > 0 ? lastBatchBytes + (lastBatchBytes >> 2) : FIRST_BATCH_CAPACITY;
  return guess >= cap * 0.8 ? cap : Math.min(cap, guess);
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

export class Producer {
  readonly cluster: Cluster;
  private readonly acks: number;
  private readonly lingerMs: number;
  private readonly batchSize: number;
  private readonly compression: Compression;
  private readonly compressionLevel: number | undefined;
  /** Buffers of acknowledged batches, reused by new batches (takeSpareBuffer / keepSpareBuffer). */
  private readonly spareBuffers: BufferPool;
  private readonly maxInFlight: number;
  private readonly retries: number;
  private readonly retryBackoff: { initialBackoffMs: number; maxBackoffMs: number };
  private readonly deliveryTimeoutMs: number;
  private readonly maxRequestSize: number;
  private readonly bufferMemory: number;
  private readonly metadataTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly customPartitioner: Partitioner | undefined;
  private readonly partitioner = new DefaultPartitioner();
  private readonly availableCache = new WeakMap<TopicInfo, number[]>();

  private readonly queues = new Map<string, Map<number, PartitionQueue>>();
  /** Records waiting for metadata or buffer space, in send order. */
  private readonly backlog: Pending[] = [];
  private backlogHead = 0;
  private backlogRunning = false;
  private readonly inFlight = new Map<number, number>();
  /** Per broker: resolves when the previous request was written (keeps request order with async compression). */
  private readonly sendChain = new Map<number, Promise<void>>();
  private bufferedBytes = 0;
  private outstanding = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private draining = false;
  private drainAgain = false;
  private flushing = 0;
  private idleWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private refreshing = false;
  private closing = false;
  private connected: Promise<void> | null = null;

  constructor(opts: ProducerOptions) {
    this.retries = opts.retries ?? Number.MAX_SAFE_INTEGER;
    this.retryBackoff = { initialBackoffMs: opts.retryBackoffMs ?? 100, maxBackoffMs: opts.retryBackoffMaxMs ?? 1000 };
    this.cluster = new Cluster({
      ...opts,
      allowAutoTopicCreation: opts.allowAutoTopicCreation ?? true,
      retry: { retries: 3, ...this.retryBackoff },
    });
    const acks = opts.acks ?? 'all';
    this.acks = acks === 'all' ? -1 : acks;
    if (this.acks !== 0 && this.acks !== 1 && this.acks !== -1) {
      throw new TypeError(`acks must be 0, 1, -1 or 'all', got ${String(acks)}`);
    }
    this.lingerMs = opts.lingerMs ?? 5;
    this.batchSize = Math.max(1, opts.batchSize ?? 16_384);
    const c = opts.compression ?? 'none';
    this.compression = typeof c === 'number' ? c : parseCompression(c);
    this.compressionLevel = opts.compressionLevel;
    this.spareBuffers = new BufferPool(MAX_SPARE_BATCH_BUFFERS * maxSpareBatchBuffer(this.batchSize));
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 5);
    this.deliveryTimeoutMs = opts.deliveryTimeoutMs ?? 120_000;
    this.maxRequestSize = opts.maxRequestSize ?? 1024 * 1024;
    this.bufferMemory = opts.bufferMemory ?? 32 * 1024 * 1024;
    this.metadataTimeoutMs = opts.metadataTimeoutMs ?? 60_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.customPartitioner = opts.partitioner;
  }

  /** Connect to the cluster (optional: the first send connects). Rejects if no broker can be reached. */
  connect(): Promise<void> {
    this.connected ??= this.cluster.connect().catch((e) => {
      this.connected = null;
      throw e;
    });
    return this.connected;
  }

  /** Send one record; resolves with its delivery report. */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => {
      this.enqueue(record, new SingleDelivery(resolve, reject), 0, Date.now());
    });
  }

  /** Send many records; resolves with a delivery report per record (in input order), or the first error. */
  sendBatch(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return Promise.resolve([]);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.enqueueAll(records, new DeliveryGroup(records.length, true, resolve, reject));
    });
  }

  /**
   * Send many records; resolves once every one is acknowledged, or rejects with the first error. Like
   * sendBatch() without the per-record reports (for loads where only success matters: less garbage).
   */
  sendAll(records: readonly ProducerRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.enqueueAll(records, new DeliveryGroup(records.length, false, () => resolve(), reject));
    });
  }

  private enqueueAll(records: readonly ProducerRecord[], group: DeliveryGroup): void {
    const now = Date.now();
    for (let i = 0; i < records.length; i++) this.enqueue(records[i]!, group, i, now);
  }

  /** Send every buffered record now and wait until all sent so far are acknowledged (or failed). */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.drain();
      while (this.outstanding > 0) {
        await new Promise<void>((r) => this.idleWaiters.push(r));
      }
    } finally {
      this.flushing--;
    }
  }

  /** Flush, then close the connections. Sends after close() are rejected. */
  async close(): Promise<void> {
    if (this.closing) {
      await this.flush();
      return;
    }
    this.closing = true;
    try {
      await this.flush();
    } finally {
      if (this.timer) clearTimeout(this.timer);
      await this.cluster.close();
    }
  }

  /** Records sent and not yet acknowledged or failed. */
  get pendingRecords(): number {
    return this.outstanding;
  }

  // -------------------------------------------------------------------------------------------------------
  // Appending

  private enqueue(record: ProducerRecord, waiter: Waiter, index: number, now: number): void {
    if (this.cluster.isClosed) {
      waiter.fail(new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'the producer is closed'));
      return;
    }
    if (typeof record.topic !== 'string' || record.topic === '') {
      waiter.fail(new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, 'a record needs a topic'));
      return;
    }
    const approx = len(record.key) + len(record.value) + 64;
    if (approx > this.maxRequestSize && this.estimate(record) > this.maxRequestSize) {
      waiter.fail(
        new KafkaError(
          ErrorCode.MESSAGE_TOO_LARGE,
          `a record of ~${this.estimate(record)} bytes exceeds maxRequestSize ${this.maxRequestSize}`,
        ),
      );
      return;
    }
    this.outstanding++;
    const timestamp = toMillis(record.timestamp, now);
    if (this.backlog.length - this.backlogHead > 0 || !this.tryAppend(record, timestamp, waiter, index)) {
      this.backlog.push({ record, timestamp, waiter, index, enqueuedAt: now });
      this.runBacklog();
    }
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
   * the record must wait. Failures (bad partition) are reported to the waiter and count as handled.
   */
  private tryAppend(r: ProducerRecord, timestamp: number, waiter: Waiter, index: number): boolean {
    if (this.bufferedBytes >= this.bufferMemory) return false;
    const topic = this.cluster.topics.get(r.topic);
    if (!topic || topic.partitions.length === 0) return false;
    const count = topic.partitions.length;
    let partition = r.partition ?? -1;
    if (r.partition !== undefined) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        this.finishFailed(
          waiter,
          new KafkaError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `partition ${r.partition} of topic ${r.topic} does not exist (it has ${count})`,
          ),
        );
        return true;
      }
    } else {
      const available = this.available(r.topic);
      if (this.customPartitioner) {
        partition = this.customPartitioner({
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
    let batch: ProducerBatch | undefined = q.batches[q.batches.length - 1];
    if (batch && !batch.closed && batch.builder.recordCount > 0 && batch.size + this.estimateFast(r) > this.batchSize) {
      this.closeBatch(batch);
      batch = undefined;
    }
    if (!batch || batch.closed) {
      const capacity = Math.max(batchCapacity(q.lastBatchBytes, this.batchSize), this.estimateFast(r)) + 128;
      batch = new ProducerBatch(
        q,
        this.seq++,
        { compression: this.compression, compressionLevel: this.compressionLevel },
        capacity,
        this.takeSpareBuffer(capacity),
      );
      q.batches.push(batch);
      this.bufferedBytes += batch.size;
      this.schedule(batch.createdAt + this.lingerMs);
    }
    const before = batch.size;
    batch.builder.appendFields(r.key, r.value, r.headers, timestamp);
    batch.addWaiter(waiter, index, timestamp);
    this.bufferedBytes += batch.size - before;
    if (batch.size >= this.batchSize) {
      this.closeBatch(batch);
      this.drainSoon();
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

  private closeBatch(batch: ProducerBatch): void {
    if (batch.closed) return;
    batch.closed = true;
    const q = batch.queue;
    q.lastBatchBytes = batch.size;
    this.partitioner.onBatchClosed(q.topic, q.partition, this.cluster.partitionCount(q.topic), this.available(q.topic));
  }

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
      if (this.tryAppend(head.record, head.timestamp, head.waiter, head.index)) {
        this.backlog[this.backlogHead] = undefined as unknown as Pending;
        this.backlogHead++;
        if (this.backlogHead === this.backlog.length) {
          this.backlog.length = 0;
          this.backlogHead = 0;
        }
        continue;
      }
      if (this.bufferedBytes >= this.bufferMemory) {
        this.drainSoon();
        await new Promise<void>((r) => this.spaceWaiters.push(r));
        continue;
      }
      // The topic's metadata is missing: fetch it (the broker may auto-create the topic).
      const topic = head.record.topic;
      try {
        if (!this.connected) await this.connect();
        else await this.connected;
        this.cluster.addTopics([topic]);
        await this.cluster.refreshMetadata();
      } catch (e) {
        if (!(e instanceof KafkaError && e.retriable) || Date.now() - head.enqueuedAt > this.metadataTimeoutMs) {
          this.failBacklogTopic(topic, e as Error);
          continue;
        }
      }
      if (this.cluster.topics.get(topic)?.partitions.length) continue;
      const topicError = this.cluster.topicError(topic);
      const waited = Date.now() - head.enqueuedAt;
      if (
        (topicError && !topicError.retriable) ||
        waited > this.metadataTimeoutMs ||
        (this.closing && this.cluster.isClosed)
      ) {
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
    const keep: Pending[] = [];
    for (let i = this.backlogHead; i < this.backlog.length; i++) {
      const p = this.backlog[i]!;
      if (p.record.topic === topic) this.finishFailed(p.waiter, err);
      else keep.push(p);
    }
    this.backlog.length = 0;
    this.backlogHead = 0;
    this.backlog.push(...keep);
  }

  // -------------------------------------------------------------------------------------------------------
  // Sending

  private schedule(at: number): void {
    // Due now (lingerMs 0): drain after the current burst of sends, not after a timer's 1 ms minimum.
    if (at <= Date.now()) {
      this.drainSoon();
      return;
    }
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.drain();
      },
      Math.max(0, at - Date.now()),
    );
  }

  private drainSoon(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    setImmediate(() => this.drain());
    this.draining = true;
  }

  /** Send every ready batch its leader has request capacity for; schedule the next wake-up. */
  private drain(): void {
    this.draining = true;
    this.drainAgain = false;
    try {
      this.drainOnce();
    } finally {
      this.draining = false;
    }
    if (this.drainAgain) this.drainSoon();
  }

  private drainOnce(): void {
    const now = Date.now();
    // Notice new partitions / moved leaders even without errors (metadataMaxAgeMs).
    this.cluster.refreshIfOld();
    const flushing = this.flushing > 0 || this.closing;
    let nextWake = Number.POSITIVE_INFINITY;
    let needMetadata = false;
    const ready = new Map<number, ProducerBatch[]>();
    for (const byPartition of this.queues.values()) {
      for (const q of byPartition.values()) {
        const head = q.batches[0];
        if (!head) continue;
        if (now - head.createdAt > this.deliveryTimeoutMs) {
          this.expire(q, now);
          continue;
        }
        if (head.retryAt > now) {
          nextWake = Math.min(nextWake, head.retryAt);
          continue;
        }
        const isReady = head.closed || flushing || now - head.createdAt >= this.lingerMs;
        if (!isReady) {
          nextWake = Math.min(nextWake, head.createdAt + this.lingerMs);
          continue;
        }
        const leader = this.cluster.leaderFor(q.topic, q.partition);
        if (leader < 0) {
          needMetadata = true;
          continue;
        }
        let list = ready.get(leader);
        if (!list) {
          list = [];
          ready.set(leader, list);
        }
        list.push(head);
      }
    }
    for (const [node, heads] of ready) {
      let inFlight = this.inFlight.get(node) ?? 0;
      let i = 0;
      while (inFlight < this.maxInFlight && i < heads.length) {
        const batches: ProducerBatch[] = [];
        let bytes = 0;
        while (i < heads.length) {
          const b = heads[i]!;
          if (batches.length > 0 && bytes + b.size > this.maxRequestSize) break;
          batches.push(b);
          bytes += b.size;
          i++;
        }
        for (const b of batches) {
          b.queue.batches.shift();
          this.closeBatch(b);
        }
        inFlight++;
        this.sendRequest(node, batches);
      }
      this.inFlight.set(node, inFlight);
    }
    if (needMetadata) this.refreshThenDrain();
    if (Number.isFinite(nextWake)) this.schedule(nextWake);
  }

  private refreshThenDrain(): void {
    if (this.refreshing || this.cluster.isClosed) return;
    this.refreshing = true;
    this.cluster.markStale();
    void this.cluster
      .refreshMetadata()
      .catch(() => {})
      .then(async () => {
        await new Promise((r) => setTimeout(r, this.retryBackoff.initialBackoffMs));
        this.refreshing = false;
        this.drain();
      });
  }

  private sendRequest(node: number, batches: ProducerBatch[]): void {
    const builds = Promise.all(
      batches.map((b) => {
        if (!b.buffer) {
          const built = this.compression === Compression.None ? b.builder.buildUncompressed() : b.builder.build();
          return Promise.resolve(built).then((buf) => {
            b.buffer = buf;
            return buf;
          });
        }
        return b.buffer;
      }),
    );
    const previous = this.sendChain.get(node) ?? Promise.resolve();
    const written = Promise.all([builds, previous, this.cluster.connection(node)]).then(([buffers, , conn]) => {
      const topics = new Map<string, Struct[]>();
      batches.forEach((b, i) => {
        let parts = topics.get(b.queue.topic);
        if (!parts) {
          parts = [];
          topics.set(b.queue.topic, parts);
        }
        parts.push({ index: b.queue.partition, records: buffers[i] });
      });
      const body = {
        transactionalId: null,
        acks: this.acks,
        timeoutMs: this.requestTimeoutMs,
        topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
      };
      return {
        response: conn.request(ApiKey.Produce, body, {
          expectResponse: this.acks !== 0,
          timeoutMs: this.requestTimeoutMs + 5_000,
        }),
      };
    });
    this.sendChain.set(
      node,
      written.then(
        () => {},
        () => {},
      ),
    );
    written
      .then(({ response }) => response)
      .then(
        (res) => this.onResponse(node, batches, res),
        (e: unknown) => this.onRequestError(node, batches, e as Error),
      );
  }

  private requestDone(node: number): void {
    this.inFlight.set(node, Math.max(0, (this.inFlight.get(node) ?? 1) - 1));
    this.drainSoon();
  }

  private onResponse(node: number, batches: ProducerBatch[], res: Struct): void {
    this.requestDone(node);
    if (this.acks === 0) {
      for (const b of batches) this.complete(b, -1n, -1n);
      return;
    }
    const byKey = new Map<string, Struct>();
    for (const t of res.responses as Struct[]) {
      for (const p of t.partitionResponses as Struct[]) byKey.set(`${t.name}\0${p.index}`, p);
    }
    for (const b of batches) {
      const p = byKey.get(`${b.queue.topic}\0${b.queue.partition}`);
      if (!p) {
        this.retryOrFail(
          b,
          new KafkaError(ErrorCode.NETWORK_EXCEPTION, `no answer for ${b.queue.topic}/${b.queue.partition}`),
        );
        continue;
      }
      if (p.errorCode === 0) {
        this.complete(b, p.baseOffset as bigint, p.logAppendTimeMs as bigint);
        continue;
      }
      const detail = p.errorMessage ?? (p.recordErrors as Struct[] | undefined)?.[0]?.batchIndexErrorMessage ?? null;
      this.retryOrFail(b, errorFor(p.errorCode, `produce to ${b.queue.topic}/${b.queue.partition}`, detail));
    }
  }

  private onRequestError(node: number, batches: ProducerBatch[], e: Error): void {
    this.requestDone(node);
    for (const b of batches) this.retryOrFail(b, e);
  }

  private retryOrFail(b: ProducerBatch, e: Error): void {
    b.attempts++;
    const retriable = e instanceof KafkaError && e.retriable;
    const expired = Date.now() - b.createdAt > this.deliveryTimeoutMs;
    if (!retriable || b.attempts > this.retries || expired || this.cluster.isClosed) {
      const suffix = retriable && b.attempts > 1 ? ` (after ${b.attempts} attempts)` : '';
      this.fail(b, suffix && e instanceof KafkaError ? new KafkaError(e.code, `${detailOf(e)}${suffix}`) : e);
      return;
    }
    this.cluster.markStale();
    b.retryAt = Date.now() + backoff(b.attempts, this.retryBackoff);
    // Back at the head of its queue, in creation order with the other batches being retried.
    const q = b.queue.batches;
    let i = 0;
    while (i < q.length && q[i]!.seq < b.seq) i++;
    q.splice(i, 0, b);
    this.refreshThenDrain();
    this.schedule(b.retryAt);
  }

  private expire(q: PartitionQueue, now: number): void {
    while (q.batches.length > 0 && now - q.batches[0]!.createdAt > this.deliveryTimeoutMs) {
      const b = q.batches.shift()!;
      const leader = this.cluster.leaderFor(q.topic, q.partition);
      this.fail(
        b,
        new KafkaError(
          ErrorCode.REQUEST_TIMED_OUT,
          `${b.recordCount} record(s) for ${q.topic}/${q.partition} expired after ${now - b.createdAt} ms` +
            (leader < 0 ? ' (no leader for the partition)' : ''),
        ),
      );
    }
  }

  private complete(b: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    const topic = b.queue.topic;
    const partition = b.queue.partition;
    const useAppendTime = logAppendTime >= 0n;
    const runs = b.runWaiters.length;
    let i = 0;
    for (let r = 0; r < runs; r++) {
      const w = b.runWaiters[r]!;
      const n = b.runCounts[r]!;
      if (!w.reports) {
        w.deliverCount(n);
        i += n;
        continue;
      }
      const first = b.runStarts[r]!;
      const ts = b.runTimestamps[r]!;
      for (let j = 0; j < n; j++, i++) {
        w.deliver(first + j, {
          topic,
          partition,
          offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i),
          timestamp: useAppendTime ? logAppendTime : BigInt(b.timestamps[ts + j]!),
        });
      }
    }
    this.keepSpareBuffer(b);
    this.release(b);
  }

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
   * Keep the buffer of an acknowledged uncompressed batch for a later batch. Only on an answer to a request
   * that expects one (acks 1 or all): the request was then wholly written, so no write still reads the bytes.
   * A compressed batch's buffer is the codec's output; batches that failed are left to the garbage collector.
   */
  private keepSpareBuffer(b: ProducerBatch): void {
    const built = b.buffer;
    if (this.acks === 0 || this.compression !== Compression.None || built === null) return;
    const whole = built.buffer;
    // A buffer of its own (not a slice of Node's shared pool) that encoding did not outgrow wildly.
    if (built.byteOffset !== 0 || whole.byteLength < MIN_SPARE_BATCH_BUFFER) return;
    if (whole.byteLength > maxSpareBatchBuffer(this.batchSize)) return;
    b.buffer = null; // never handed out twice
    this.spareBuffers.release(Buffer.from(whole, 0, whole.byteLength));
  }

  private fail(b: ProducerBatch, e: Error): void {
    for (const w of b.runWaiters) w.fail(e);
    this.release(b);
  }

  private finishFailed(w: Waiter, e: Error): void {
    w.fail(e);
    this.outstanding--;
    this.checkIdle();
  }

  private release(b: ProducerBatch): void {
    this.bufferedBytes -= b.size;
    this.outstanding -= b.recordCount;
    if (this.spaceWaiters.length > 0 && this.bufferedBytes < this.bufferMemory) {
      const ws = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of ws) w();
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.outstanding === 0 && this.idleWaiters.length > 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }
}
