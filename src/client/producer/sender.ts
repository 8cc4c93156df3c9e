/**
 * The producer's sender: batches out. A drain takes the batches the accumulator has ready, groups them by the
 * partition's leader and writes one Produce request per leader and per maxRequestSize bytes, up to
 * `maxInFlight` requests outstanding per broker (pipelined on its connection, written in the order they were
 * made even while compression runs). The answer settles each batch: reports to its deliveries, or an error.
 *
 * A batch that fails with a retriable error (NOT_LEADER_OR_FOLLOWER, a lost or refused connection, a broker
 * gone from the metadata, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, ...) goes back to the head of its partition's
 * queue after a backoff (jittered, growing with its attempts) and the metadata is refreshed; after an error
 * that says the metadata is wrong (errors.isStaleMetadata) it also waits for metadata requested after the error,
 * so it goes to the partition's new leader, not the old one again. It fails for good only after `retries`
 * attempts or `deliveryTimeoutMs` (120 s by default, as Kafka's delivery.timeout.ms): a broker that dies or
 * restarts costs a pause, not an error. Every failure of a batch goes through retryOrFail(), and every metadata
 * refresh the sender needs through refreshThenDrain() (refreshes in a row back off too). Like the Java client
 * without idempotence, a retry with more than one request in flight can reorder batches of a partition: set
 * `maxInFlight: 1` for strict order.
 *
 * Owns: the drain timer (the next linger end or retry backoff), requests in flight per broker, the write
 * order of requests per broker.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, type Item, type RequestInput, type ResponseOf } from '../../protocol/messages/index.js';
import type { Cluster } from '../cluster.js';
import { detailOf, errorFor, isStaleMetadata } from '../errors.js';
import { backoff } from '../retry.js';
import type { DrainTrigger, RecordAccumulator } from './accumulator.js';
import type { ProducerBatch } from './batch.js';
import type { IdempotentState } from './idempotence.js';
import type { TransactionManager } from './transactions.js';

export type Acks = 0 | 1 | -1 | 'all';

type ProduceResponse = ResponseOf<typeof Api.Produce>;
type PartitionData = Item<Item<RequestInput<typeof Api.Produce>['topicData']>['partitionData']>;

export interface SenderOptions {
  /** 0, 1 or -1 (all in-sync replicas). */
  acks: 0 | 1 | -1;
  maxInFlight: number;
  retries: number;
  retryBackoff: { initialBackoffMs: number; maxBackoffMs: number };
  deliveryTimeoutMs: number;
  maxRequestSize: number;
  requestTimeoutMs: number;
  /** The idempotent producer's id, epoch and sequences (idempotence.ts); null: not idempotent. */
  idempotence?: IdempotentState | null;
  /**
   * A transactional producer's transaction (transactions.ts): batches of a partition wait until it is added to
   * the transaction, and are failed instead of sent while the transaction is aborting or failed. null: none.
   */
  transactions?: TransactionManager | null;
}

export class ProduceSender implements DrainTrigger {
  /** Produce requests outstanding per broker node id. */
  private readonly inFlight = new Map<number, number>();
  /** Per broker: resolves when the previous request was written (keeps request order with async compression). */
  private readonly sendChain = new Map<number, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private draining = false;
  private drainAgain = false;
  /** A metadata refresh (and the drain after it) is scheduled or running. */
  private refreshPending = false;
  /** Refreshes in a row that left some ready batch without a usable leader (their backoff grows). */
  private refreshesInARow = 0;
  /** Idempotence: InitProducerId under way, and why the last one failed. */
  private initPending = false;
  private initFailure: Error | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly accumulator: RecordAccumulator,
    private readonly opts: SenderOptions,
  ) {
    accumulator.trigger = this;
    const txn = opts.transactions;
    if (txn) {
      txn.wake = () => this.drainSoon();
      accumulator.onBatchStarted = (q) => txn.batchStarted(q);
    }
  }

  schedule(at: number): void {
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

  drainSoon(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    setImmediate(() => this.drain());
    this.draining = true;
  }

  /** Send every ready batch its leader has request capacity for; schedule the next wake-up. */
  drain(): void {
    this.draining = true;
    this.drainAgain = false;
    try {
      this.drainOnce();
    } finally {
      this.draining = false;
    }
    if (this.drainAgain) this.drainSoon();
  }

  /** No more timed drains (the producer is closing). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private drainOnce(): void {
    const now = Date.now();
    // Notice new partitions / moved leaders even without errors (metadataMaxAgeMs).
    this.cluster.refreshIfOld();
    const found = this.accumulator.ready(now, this.opts.deliveryTimeoutMs);
    const { expired, nextWake } = found;
    let ready = found.ready;
    for (const b of expired) this.expire(b, now);
    const txn = this.opts.transactions;
    if (txn) {
      const blocked = txn.blockingError();
      if (blocked) {
        // Aborting, or the transaction failed: what is queued is not sent (Java's abortUndrainedBatches).
        for (const head of ready) this.failQueue(head.queue.batches, blocked);
        if (Number.isFinite(nextWake)) this.schedule(nextWake);
        return;
      }
      ready = txn.sendable(ready);
    }
    const idem = this.opts.idempotence;
    if (idem && !idem.ready && ready.length > 0) {
      // No producer id yet (or a new one after an epoch overflow): nothing goes out without one.
      const failure = this.initFailure;
      if (failure && !(failure instanceof KafkaError && failure.retriable)) {
        for (const b of ready) {
          this.accumulator.take(b);
          this.fail(b, failure);
        }
      }
      this.initProducerId(idem);
      if (Number.isFinite(nextWake)) this.schedule(nextWake);
      return;
    }
    let needMetadata = false;
    const byLeader = new Map<number, ProducerBatch[]>();
    for (const head of ready) {
      // After an epoch bump, a partition waits until its requests of the old epoch are answered (idempotence.ts);
      // the answer drains again.
      if (idem && !idem.mayStamp(head)) continue;
      // A retry after NOT_LEADER_OR_FOLLOWER (or a lost broker) waits for metadata asked for after the error.
      if (head.metadataMark > 0 && !this.cluster.hasMetadataSince(head.metadataMark)) {
        needMetadata = true;
        continue;
      }
      const leader = this.cluster.leaderFor(head.queue.topic, head.queue.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      let list = byLeader.get(leader);
      if (!list) {
        list = [];
        byLeader.set(leader, list);
      }
      list.push(head);
    }
    const { maxInFlight, maxRequestSize } = this.opts;
    for (const [node, heads] of byLeader) {
      let inFlight = this.inFlight.get(node) ?? 0;
      let i = 0;
      while (inFlight < maxInFlight && i < heads.length) {
        const batches: ProducerBatch[] = [];
        let bytes = 0;
        while (i < heads.length) {
          const b = heads[i]!;
          if (batches.length > 0 && bytes + b.size > maxRequestSize) break;
          batches.push(b);
          bytes += b.size;
          i++;
        }
        for (const b of batches) {
          this.accumulator.take(b);
          idem?.beforeSend(b);
        }
        inFlight++;
        this.sendRequest(node, batches);
      }
      this.inFlight.set(node, inFlight);
    }
    if (needMetadata) this.refreshThenDrain();
    else if (!this.refreshPending) this.refreshesInARow = 0;
    if (Number.isFinite(nextWake)) this.schedule(nextWake);
  }

  /** InitProducerId (once at a time), then drain again; a failure is kept for the next drain. */
  private initProducerId(idem: IdempotentState): void {
    if (this.initPending || this.cluster.isClosed) return;
    this.initPending = true;
    void idem.init().then(
      () => {
        this.initPending = false;
        this.initFailure = null;
        this.drainSoon();
      },
      (e: unknown) => {
        this.initPending = false;
        this.initFailure = e as Error;
        this.refreshesInARow++;
        this.schedule(Date.now() + backoff(this.refreshesInARow, this.opts.retryBackoff));
      },
    );
  }

  /**
   * Refresh the metadata, then drain. The first refresh goes at once; while batches still find no usable
   * leader after one (an election under way, every broker unreachable), the next waits a jittered backoff that
   * grows up to retryBackoffMaxMs, so a long failover costs a few requests a second, not a storm.
   */
  private refreshThenDrain(): void {
    if (this.refreshPending || this.cluster.isClosed) return;
    this.refreshPending = true;
    const delay = this.refreshesInARow === 0 ? 0 : backoff(this.refreshesInARow, this.opts.retryBackoff);
    this.refreshesInARow++;
    setTimeout(() => {
      void this.cluster
        .refreshMetadata()
        .catch(() => {})
        .then(() => {
          this.refreshPending = false;
          this.drain();
        });
    }, delay);
  }

  private sendRequest(node: number, batches: ProducerBatch[]): void {
    const acks = this.opts.acks;
    const timeoutMs = this.opts.requestTimeoutMs;
    const builds = Promise.all(batches.map((b) => b.bytes()));
    const previous = this.sendChain.get(node) ?? Promise.resolve();
    const written = Promise.all([builds, previous, this.cluster.connection(node)]).then(([buffers, , conn]) => {
      const topics = new Map<string, PartitionData[]>();
      batches.forEach((b, i) => {
        let parts = topics.get(b.queue.topic);
        if (!parts) {
          parts = [];
          topics.set(b.queue.topic, parts);
        }
        parts.push({ index: b.queue.partition, records: buffers[i] });
      });
      const body = {
        transactionalId: this.opts.transactions?.transactionalId ?? null,
        acks,
        timeoutMs,
        topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
      };
      const opts = { timeoutMs: timeoutMs + 5_000 };
      return {
        // acks=0: no answer comes; null once the request is written.
        response:
          acks === 0 ? conn.requestWithoutResponse(Api.Produce, body, opts) : conn.request(Api.Produce, body, opts),
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

  private requestDone(node: number, batches: ProducerBatch[]): void {
    const idem = this.opts.idempotence;
    if (idem) for (const b of batches) idem.answered(b);
    this.inFlight.set(node, Math.max(0, (this.inFlight.get(node) ?? 1) - 1));
    this.drainSoon();
  }

  private onResponse(node: number, batches: ProducerBatch[], res: ProduceResponse | null): void {
    this.requestDone(node, batches);
    if (res === null) {
      for (const b of batches) this.complete(b, -1n, -1n);
      return;
    }
    const byPartition = new Map<string, Item<Item<ProduceResponse['responses']>['partitionResponses']>>();
    for (const t of res.responses) {
      for (const p of t.partitionResponses) byPartition.set(`${t.name}\0${p.index}`, p);
    }
    for (const b of batches) {
      const p = byPartition.get(`${b.queue.topic}\0${b.queue.partition}`);
      if (!p) {
        this.retryOrFail(
          b,
          new KafkaError(ErrorCode.NETWORK_EXCEPTION, `no answer for ${b.queue.topic}/${b.queue.partition}`),
        );
        continue;
      }
      if (p.errorCode === 0) {
        this.complete(b, p.baseOffset, p.logAppendTimeMs);
        continue;
      }
      const detail = p.errorMessage ?? p.recordErrors[0]?.batchIndexErrorMessage ?? null;
      const err = errorFor(p.errorCode, `produce to ${b.queue.topic}/${b.queue.partition}`, detail);
      // Sequence errors of an idempotent producer: retried after an older batch, or with a bumped epoch.
      this.retryOrFail(b, err, this.opts.idempotence?.onSequenceError(b, p.errorCode) ?? false);
    }
  }

  private onRequestError(node: number, batches: ProducerBatch[], e: Error): void {
    this.requestDone(node, batches);
    for (const b of batches) this.retryOrFail(b, e);
  }

  /**
   * A batch failed: back to its queue after a backoff (retriable error, attempts and time left) or failed.
   * The metadata is refreshed; after an error that says it is wrong, the retry waits for that refresh.
   */
  private retryOrFail(b: ProducerBatch, e: Error, retry = false): void {
    b.attempts++;
    b.lastError = e;
    const retriable = retry || (e instanceof KafkaError && e.retriable);
    const expired = Date.now() - b.createdAt > this.opts.deliveryTimeoutMs;
    if (!retriable || b.attempts > this.opts.retries || expired || this.cluster.isClosed) {
      const suffix = retriable && b.attempts > 1 ? ` (after ${b.attempts} attempts)` : '';
      this.fail(b, suffix && e instanceof KafkaError ? new KafkaError(e.code, `${detailOf(e)}${suffix}`) : e);
      return;
    }
    const mark = this.cluster.markStale();
    b.metadataMark = isStaleMetadata(e) ? mark : 0;
    b.retryAt = Date.now() + backoff(b.attempts, this.opts.retryBackoff);
    this.accumulator.requeue(b);
    this.refreshThenDrain();
    this.schedule(b.retryAt);
  }

  /** A batch older than deliveryTimeoutMs that was never sent again. */
  private expire(b: ProducerBatch, now: number): void {
    const { topic, partition } = b.queue;
    const leader = this.cluster.leaderFor(topic, partition);
    this.fail(
      b,
      new KafkaError(
        ErrorCode.REQUEST_TIMED_OUT,
        `${b.recordCount} record(s) for ${topic}/${partition} expired after ${now - b.createdAt} ms` +
          (leader < 0 ? ' (no leader for the partition)' : '') +
          (b.lastError ? ` (${b.attempts} attempt(s), the last failed with ${b.lastError.message})` : ''),
      ),
    );
  }

  private complete(b: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    this.opts.idempotence?.settled(b);
    b.deliver(baseOffset, logAppendTime);
    // With an answer (acks 1 or all) the request was wholly written: no write still reads the batch's bytes.
    this.accumulator.release(b, this.opts.acks !== 0);
  }

  /** Fail every batch of a partition's queue (a transaction aborting or failed). */
  private failQueue(batches: ProducerBatch[], e: Error): void {
    while (batches.length > 0) {
      const b = batches[0]!;
      this.accumulator.take(b);
      this.fail(b, e);
    }
  }

  private fail(b: ProducerBatch, e: Error): void {
    this.opts.idempotence?.settled(b);
    this.opts.transactions?.batchFailed(b, e);
    b.failAll(e);
    this.accumulator.release(b, false);
  }
}
