/**
 * The producer: `send()`, `sendBatch()` and `sendAll()` hand records to the accumulator (producer/accumulator.ts:
 * records in, batching per partition, linger, batch buffers, compression), and the sender
 * (producer/sender.ts: per-broker Produce requests in flight, acks, retries with metadata refresh, delivery
 * timeout) drains the batches that are ready into one request per leader broker. This class wires the two
 * and holds the options' defaults.
 *
 * A batch is ready when it is full (`batchSize`), has waited `lingerMs`, or on flush/close. Up to
 * `maxInFlight` Produce requests are outstanding per broker. A batch that fails with a retriable error is sent
 * again after a backoff and a metadata refresh; it fails for good after `retries` attempts or
 * `deliveryTimeoutMs`.
 *
 * Idempotent by default, as the Java client (3.0+) and franz-go are (KIP-98; producer/idempotence.ts): a
 * producer id from InitProducerId, a sequence per partition in every batch, so a retry of a batch the broker
 * stored is recognized and not stored twice, and batches of a partition stay in order. It needs acks=all;
 * with acks 0 or 1 and `idempotent` not set, idempotence is off (as in the Java client); `idempotent: false`
 * turns it off. Without it, a retry with more than one request in flight can reorder batches of a partition
 * (set `maxInFlight: 1` for strict order) and a retry after a lost answer can store a batch twice.
 *
 * Transactional (KIP-98, producer/transactions.ts) with `transactionalId`: `initTransactions()` once, then
 * `beginTransaction()`, sends (and `sendOffsetsToTransaction()` for a consume-transform-produce loop), and
 * `commitTransaction()` or `abortTransaction()`; read_committed consumers see the records of committed
 * transactions only. Sends outside a transaction are refused. A transactional producer is idempotent.
 *
 * Delivery reports: `send()` resolves with {topic, partition, offset, timestamp} once the broker acknowledged
 * the record (acks=0: once written, with offset -1); `sendBatch()` resolves with one report per record;
 * `sendAll()` resolves when every record is acknowledged, without reports.
 */
import type { Compression } from '../protocol/records/batch.js';
import { parseCompression } from '../protocol/records/compression.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import type { OffsetToCommit } from './group-api.js';
import type { Partitioner } from './partitioner.js';
import { type CompressionType, type ProducerRecord, RecordAccumulator } from './producer/accumulator.js';
import { DeliveryGroup, type RecordMetadata, SingleDelivery } from './producer/delivery.js';
import { IdempotentState } from './producer/idempotence.js';
import { type Acks, ProduceSender } from './producer/sender.js';
import { type TransactionGroupMetadata, TransactionManager, type TransactionState } from './producer/transactions.js';

export type { CompressionType, ProducerRecord } from './producer/accumulator.js';
export type { RecordMetadata } from './producer/delivery.js';
export type { Acks } from './producer/sender.js';
export {
  TransactionAbortedError,
  type TransactionGroupMetadata,
  type TransactionState,
} from './producer/transactions.js';

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
  /**
   * Idempotent produce (KIP-98): default true with acks=all and maxInFlight <= 5, else off unless set (true
   * then throws, as the Java client's config check does).
   */
  idempotent?: boolean;
  /**
   * Makes the producer transactional (transactional.id): implies idempotence (acks 'all', maxInFlight <= 5);
   * initTransactions() must be called once before the first transaction.
   */
  transactionalId?: string;
  /** transaction.timeout.ms: the coordinator aborts a transaction open longer. Default 60 s. */
  transactionTimeoutMs?: number;
  /** How long initTransactions / commit / abort / sendOffsetsToTransaction retry before a timeout. Default 60 s. */
  maxBlockMs?: number;
}

export class Producer {
  readonly cluster: Cluster;
  private readonly accumulator: RecordAccumulator;
  private readonly sender: ProduceSender;
  private connected: Promise<void> | null = null;
  /** The producer id, epoch and sequences; null when not idempotent. */
  readonly idempotence: IdempotentState | null;
  /** The transaction state of a transactional producer; null when not transactional. */
  private readonly txn: TransactionManager | null;

  constructor(opts: ProducerOptions) {
    const retryBackoff = { initialBackoffMs: opts.retryBackoffMs ?? 100, maxBackoffMs: opts.retryBackoffMaxMs ?? 1000 };
    this.cluster = new Cluster({
      ...opts,
      allowAutoTopicCreation: opts.allowAutoTopicCreation ?? true,
      retry: { retries: 3, ...retryBackoff },
    });
    const acksOption = opts.acks ?? 'all';
    const acks = acksOption === 'all' ? -1 : acksOption;
    if (acks !== 0 && acks !== 1 && acks !== -1) {
      throw new TypeError(`acks must be 0, 1, -1 or 'all', got ${String(acksOption)}`);
    }
    // The broker remembers a producer's last 5 batches per partition: more in flight could not be deduplicated.
    const maxInFlight = Math.max(1, opts.maxInFlight ?? 5);
    if (opts.idempotent === true && (acks !== -1 || maxInFlight > 5)) {
      throw new TypeError(
        `an idempotent producer needs acks 'all' and maxInFlight <= 5, got acks ${String(acksOption)}, maxInFlight ${maxInFlight}`,
      );
    }
    const transactionalId = opts.transactionalId;
    if (transactionalId !== undefined) {
      if (typeof transactionalId !== 'string' || transactionalId === '') {
        throw new TypeError('transactionalId must be a non-empty string');
      }
      // As the Java client's config check: a transactional producer is idempotent.
      if (opts.idempotent === false || acks !== -1 || maxInFlight > 5) {
        throw new TypeError(
          `a transactional producer is idempotent: it needs acks 'all', maxInFlight <= 5 and idempotent not false`,
        );
      }
    }
    this.idempotence =
      (opts.idempotent ?? true) && acks === -1 && maxInFlight <= 5
        ? new IdempotentState(this.cluster, opts.idempotent === true, transactionalId !== undefined)
        : null;
    this.txn =
      transactionalId !== undefined && this.idempotence
        ? new TransactionManager(this.cluster, this.idempotence, {
            transactionalId,
            transactionTimeoutMs: opts.transactionTimeoutMs ?? 60_000,
            maxBlockMs: opts.maxBlockMs ?? 60_000,
            retryBackoff,
          })
        : null;
    const c = opts.compression ?? 'none';
    const maxRequestSize = opts.maxRequestSize ?? 1024 * 1024;
    this.accumulator = new RecordAccumulator(
      this.cluster,
      {
        lingerMs: opts.lingerMs ?? 5,
        batchSize: Math.max(1, opts.batchSize ?? 16_384),
        compression: typeof c === 'number' ? c : parseCompression(c),
        compressionLevel: opts.compressionLevel,
        maxRequestSize,
        bufferMemory: opts.bufferMemory ?? 32 * 1024 * 1024,
        metadataTimeoutMs: opts.metadataTimeoutMs ?? 60_000,
        partitioner: opts.partitioner,
      },
      () => this.connect(),
    );
    this.sender = new ProduceSender(this.cluster, this.accumulator, {
      acks,
      maxInFlight,
      retries: opts.retries ?? Number.MAX_SAFE_INTEGER,
      retryBackoff,
      deliveryTimeoutMs: opts.deliveryTimeoutMs ?? 120_000,
      maxRequestSize,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      idempotence: this.idempotence,
      transactions: this.txn,
    });
  }

  /** Connect to the cluster (optional: the first send connects). Rejects if no broker can be reached. */
  connect(): Promise<void> {
    // A transactional producer's id comes from initTransactions().
    const idem = this.txn ? null : this.idempotence;
    this.connected ??= (idem ? this.cluster.connect().then(() => idem.init()) : this.cluster.connect()).catch((e) => {
      this.connected = null;
      throw e;
    });
    return this.connected;
  }

  /** Send one record; resolves with its delivery report. */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    const refused = this.txn?.sendError();
    if (refused) return Promise.reject(refused);
    return new Promise<RecordMetadata>((resolve, reject) => {
      this.accumulator.append(record, new SingleDelivery(resolve, reject), 0, Date.now());
    });
  }

  /** Send many records; resolves with a delivery report per record (in input order), or the first error. */
  sendBatch(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return Promise.resolve([]);
    const refused = this.txn?.sendError();
    if (refused) return Promise.reject(refused);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.accumulator.appendAll(records, new DeliveryGroup(records.length, true, resolve, reject));
    });
  }

  /**
   * Send many records; resolves once every one is acknowledged, or rejects with the first error. Like
   * sendBatch() without the per-record reports (for loads where only success matters: less garbage).
   */
  sendAll(records: readonly ProducerRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const refused = this.txn?.sendError();
    if (refused) return Promise.reject(refused);
    return new Promise<void>((resolve, reject) => {
      this.accumulator.appendAll(records, new DeliveryGroup(records.length, false, () => resolve(), reject));
    });
  }

  /** Send every buffered record now and wait until all sent so far are acknowledged (or failed). */
  async flush(): Promise<void> {
    const accumulator = this.accumulator;
    accumulator.flushing++;
    try {
      this.sender.drain();
      while (accumulator.outstanding > 0) await accumulator.whenIdle();
    } finally {
      accumulator.flushing--;
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Transactions (transactionalId)

  /** The transactional id, or null when the producer is not transactional. */
  get transactionalId(): string | null {
    return this.txn?.transactionalId ?? null;
  }

  /** 'uninitialized', 'ready', 'in-transaction', …, 'abortable-error', 'fatal-error'; null: not transactional. */
  get transactionState(): TransactionState | null {
    return this.txn?.state ?? null;
  }

  private transactions(call: string): TransactionManager {
    if (!this.txn) throw new TypeError(`${call} needs a transactional producer (the transactionalId option)`);
    return this.txn;
  }

  /**
   * Find the transaction coordinator and get the producer id and epoch for the transactional id: fences older
   * producers with the same id, and completes (or aborts) a transaction they left open. Once per producer.
   */
  async initTransactions(): Promise<void> {
    const txn = this.transactions('initTransactions()');
    await this.connect();
    await txn.init();
  }

  /** Start a transaction: the records sent until commit or abort belong to it. */
  beginTransaction(): void {
    this.transactions('beginTransaction()').begin();
  }

  /**
   * Commit a consumer group's offsets (the positions after the records consumed, as a consumer commits them)
   * in the transaction: they are committed if and only if the transaction is. `group`: the consumer's
   * groupMetadata() (KIP-447 fencing), or just the group id.
   */
  async sendOffsetsToTransaction(
    offsets: readonly OffsetToCommit[],
    group: TransactionGroupMetadata | string,
  ): Promise<void> {
    await this.transactions('sendOffsetsToTransaction()').sendOffsets(offsets, group);
  }

  /** Flush, then commit the transaction. Fails with the transaction's error if a send failed (abort then). */
  async commitTransaction(): Promise<void> {
    await this.transactions('commitTransaction()').commit(() => this.flush());
  }

  /** Abort the transaction: records not yet sent are dropped (their sends fail), the rest are aborted. */
  async abortTransaction(): Promise<void> {
    await this.transactions('abortTransaction()').abort(() => this.flush());
  }

  /**
   * Flush, then close the connections. Sends after close() are rejected. A transaction still open is aborted
   * first, as the Java client does.
   */
  async close(): Promise<void> {
    if (this.accumulator.closing) {
      await this.flush();
      return;
    }
    const txn = this.txn;
    if (txn?.inTransaction && txn.state !== 'fatal-error') {
      await this.abortTransaction().catch((e: Error) =>
        this.cluster.logger.warn('aborting the open transaction on close failed', { error: e.message }),
      );
    }
    this.accumulator.closing = true;
    try {
      await this.flush();
    } finally {
      this.sender.stop();
      await this.cluster.close();
    }
  }

  /** Records sent and not yet acknowledged or failed. */
  get pendingRecords(): number {
    return this.accumulator.outstanding;
  }
}
