/**
 * The transactional producer's side of KIP-98 / KIP-447 / KIP-360, as the Java client does it: a
 * transactional id, whose transaction coordinator (FindCoordinator key type 1) gives the producer id and epoch
 * (InitProducerId: fencing any older instance of the same id), and the transaction's requests to it:
 *
 * - AddPartitionsToTxn before the first batch of each partition of a transaction: the sender holds a
 *   partition's batches back until its partition is added (sendable()). A partition is added as soon as a
 *   batch for it is started (batchStarted(), as the Java client adds at send()), so the request overlaps
 *   the batch's linger and the caller's next sends; the partitions started meanwhile go in one request (v3
 *   at most: v4+ is for brokers).
 * - AddOffsetsToTxn, then TxnOffsetCommit to the group's coordinator (sendOffsets()).
 * - EndTxn, once every batch is acknowledged (commit) or has failed or been dropped (abort); skipped when the
 *   coordinator never heard of the transaction (nothing was added), as the Java client does.
 *
 * Errors, as the Java client classifies them:
 * - retried until `maxBlockMs`: the coordinator moving or loading (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
 *   COORDINATOR_LOAD_IN_PROGRESS, a lost connection), CONCURRENT_TRANSACTIONS (the previous transaction is still
 *   being completed), UNKNOWN_TOPIC_OR_PARTITION for a partition being created; then a REQUEST_TIMED_OUT error,
 *   and the same call may be made again.
 * - fatal for the instance (every later call fails with it): PRODUCER_FENCED / INVALID_PRODUCER_EPOCH (another
 *   instance with the same transactional id took over), TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
 *   INVALID_TXN_STATE, UNSUPPORTED_VERSION, and any error of InitProducerId or of an abort.
 * - abortable, any other: a batch that failed for good, a group fencing this member (UNKNOWN_MEMBER_ID,
 *   ILLEGAL_GENERATION, FENCED_INSTANCE_ID), an authorization failure on a topic or group. Sends and commit fail
 *   with it until abortTransaction(); if a batch that failed had used a sequence number, the abort ends by
 *   bumping the epoch (InitProducerId with the current id and epoch, KIP-360), so the next transaction's
 *   sequences start clean.
 *
 * The state machine is a table of transitions (TRANSITIONS); the fatal state is reachable from any state.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, ApiKey, type Item, type RequestInput, type ResponseOf } from '../../protocol/messages/index.js';
import type { Cluster } from '../cluster.js';
import { detailOf, errorFor } from '../errors.js';
import {
  COORDINATOR_KEY_GROUP,
  COORDINATOR_KEY_TRANSACTION,
  findCoordinators,
  isCoordinatorError,
  type OffsetToCommit,
} from '../group-api.js';
import { backoff, sleep } from '../retry.js';
import type { PartitionQueue, ProducerBatch } from './batch.js';
import type { IdempotentState } from './idempotence.js';

export type TransactionState =
  | 'uninitialized'
  | 'initializing'
  | 'ready'
  | 'in-transaction'
  | 'committing'
  | 'aborting'
  | 'abortable-error'
  | 'fatal-error';

/** Valid transitions (fatal-error is reachable from every state and leaves none). */
const TRANSITIONS: Readonly<Record<TransactionState, readonly TransactionState[]>> = {
  uninitialized: ['initializing'],
  // A timed-out initTransactions() may be called again.
  initializing: ['initializing', 'ready'],
  ready: ['in-transaction'],
  'in-transaction': ['committing', 'aborting', 'abortable-error'],
  // A timed-out commit may be called again; a batch failing during its flush makes it abortable.
  committing: ['committing', 'ready', 'abortable-error'],
  aborting: ['aborting', 'ready'],
  'abortable-error': ['abortable-error', 'aborting'],
  'fatal-error': [],
};

/** The consumer group whose offsets a transaction commits (Consumer.groupMetadata() fits). */
export interface TransactionGroupMetadata {
  groupId: string;
  /** KIP-447: the member's generation and id, so the group coordinator fences a zombie member. */
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
}

/** A record not sent because its transaction was aborted (Java's TransactionAbortedException). */
export class TransactionAbortedError extends KafkaError {
  constructor(detail: string) {
    super(ErrorCode.OPERATION_NOT_ATTEMPTED, detail);
    this.name = 'TransactionAbortedError';
  }
}

/** Errors after which the producer instance cannot go on (see the file comment). */
const FATAL: ReadonlySet<number> = new Set([
  ErrorCode.PRODUCER_FENCED,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_TXN_STATE,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
]);

/** Errors of a transaction's request that are waited out (the coordinator moving or busy). */
function waitedOut(e: KafkaError): boolean {
  return (
    e.retriable ||
    e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ||
    e.code === ErrorCode.CONCURRENT_TRANSACTIONS ||
    e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  );
}

export interface TransactionOptions {
  transactionalId: string;
  /** transaction.timeout.ms: the coordinator aborts the transaction if it stays open longer. */
  transactionTimeoutMs: number;
  /** How long init / commit / abort / sendOffsets retry retriable errors before failing with a timeout. */
  maxBlockMs: number;
  retryBackoff: { initialBackoffMs: number; maxBackoffMs: number };
}

export class TransactionManager {
  private stateNow: TransactionState = 'uninitialized';
  /** The error of the abortable-error and fatal-error states. */
  private error: KafkaError | null = null;
  /** The transaction coordinator's node id; -1 until found (again). */
  private coordinator = -1;
  /** Partitions the coordinator has in the current transaction. */
  private readonly added = new Set<PartitionQueue>();
  /** Partitions seen with batches ready, to add in the next AddPartitionsToTxn. */
  private readonly toAdd = new Set<PartitionQueue>();
  /** A batchStarted() call scheduled startAdding(). */
  private addScheduled = false;
  /** The AddPartitionsToTxn under way (null: none). */
  private adding: Promise<void> | null = null;
  /** The coordinator knows of the current transaction (a partition or a group's offsets were added). */
  private started = false;
  /** A batch that had used sequence numbers failed: bump the epoch after the abort (KIP-360). */
  private needsEpochBump = false;
  /** Wakes the sender when partitions were added (set by the sender). */
  wake: () => void = () => {};

  constructor(
    private readonly cluster: Cluster,
    private readonly idempotence: IdempotentState,
    private readonly opts: TransactionOptions,
  ) {}

  get transactionalId(): string {
    return this.opts.transactionalId;
  }

  get state(): TransactionState {
    return this.stateNow;
  }

  /** A transaction is open (begun and neither committed nor aborted yet). */
  get inTransaction(): boolean {
    const s = this.stateNow;
    return s === 'in-transaction' || s === 'committing' || s === 'aborting' || s === 'abortable-error';
  }

  private transition(to: TransactionState): void {
    const from = this.stateNow;
    if (from === 'fatal-error') throw this.error!;
    if (to !== 'fatal-error' && !TRANSITIONS[from].includes(to)) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `invalid transaction state change ${from} -> ${to}`);
    }
    this.stateNow = to;
  }

  /** Enter the fatal or abortable error state with `e`; returns the error to throw. */
  private failWith(e: unknown): KafkaError {
    const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
    if (this.stateNow === 'fatal-error') return this.error!;
    if (FATAL.has(err.code)) {
      this.error = err;
      this.stateNow = 'fatal-error';
    } else if (this.stateNow === 'in-transaction' || this.stateNow === 'committing') {
      this.error = err;
      this.stateNow = 'abortable-error';
    }
    return err;
  }

  private fatal(e: unknown): KafkaError {
    const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
    if (this.stateNow !== 'fatal-error') {
      this.error = err;
      this.stateNow = 'fatal-error';
    }
    return this.error!;
  }

  private misuse(call: string, expected: string): KafkaError {
    if (this.stateNow === 'fatal-error') return this.error!;
    return new KafkaError(
      ErrorCode.INVALID_TXN_STATE,
      `${call} needs ${expected}; the producer is ${this.stateNow}` +
        (this.stateNow === 'abortable-error' ? ` (${detailOf(this.error)}): call abortTransaction()` : ''),
    );
  }

  // -------------------------------------------------------------------------------------------------------
  // Calls of the application

  /** The error a send() gets now, or null when records may be sent (a transaction is open and healthy). */
  sendError(): KafkaError | null {
    const s = this.stateNow;
    if (s === 'in-transaction' || s === 'committing') return null;
    if (s === 'abortable-error' || s === 'fatal-error') return this.error;
    return this.misuse('send()', 'an open transaction (beginTransaction())');
  }

  async init(): Promise<void> {
    if (this.stateNow !== 'uninitialized' && this.stateNow !== 'initializing') {
      throw this.misuse('initTransactions()', 'a new producer (it was called already)');
    }
    this.transition('initializing');
    try {
      const conn = await this.cluster.anyConnection();
      if (!conn.supports(ApiKey.FindCoordinator, 1) || !conn.supports(ApiKey.InitProducerId)) {
        throw new KafkaError(
          ErrorCode.UNSUPPORTED_VERSION,
          `the broker ${conn.address} does not support transactions (FindCoordinator v1, InitProducerId)`,
        );
      }
      await this.initProducerId(-1n, -1);
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.REQUEST_TIMED_OUT) throw e;
      throw this.fatal(e);
    }
    this.transition('ready');
  }

  begin(): void {
    if (this.stateNow !== 'ready')
      throw this.misuse('beginTransaction()', 'a ready producer (initTransactions(), no open transaction)');
    this.transition('in-transaction');
  }

  async sendOffsets(offsets: readonly OffsetToCommit[], group: TransactionGroupMetadata | string): Promise<void> {
    if (this.stateNow !== 'in-transaction') {
      throw this.stateNow === 'abortable-error' || this.stateNow === 'fatal-error'
        ? this.error!
        : this.misuse('sendOffsetsToTransaction()', 'an open transaction');
    }
    const g: TransactionGroupMetadata = typeof group === 'string' ? { groupId: group } : group;
    if (!g.groupId) throw new TypeError('sendOffsetsToTransaction() needs a group id');
    // Nothing to commit: no request at all, as the Java client.
    if (offsets.length === 0) return;
    try {
      await this.untilDone('add offsets to the transaction', async () => {
        const node = await this.coordinatorNode();
        const res = await this.cluster.request(node, Api.AddOffsetsToTxn, {
          transactionalId: this.opts.transactionalId,
          producerId: this.idempotence.producerId,
          producerEpoch: this.idempotence.epoch,
          groupId: g.groupId,
        });
        return res.errorCode;
      });
      this.started = true;
      await this.txnOffsetCommit(offsets, g);
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.REQUEST_TIMED_OUT) throw e;
      throw this.failWith(e);
    }
  }

  /** Commit: flush (every batch acknowledged), then EndTxn(commit). */
  async commit(flush: () => Promise<void>): Promise<void> {
    const s = this.stateNow;
    if (s === 'abortable-error' || s === 'fatal-error') throw this.error!;
    if (s !== 'in-transaction' && s !== 'committing') throw this.misuse('commitTransaction()', 'an open transaction');
    this.transition('committing');
    await flush();
    if (this.stateNow !== 'committing') throw this.error!;
    await this.waitForAdds();
    if (this.stateNow !== 'committing') throw this.error!;
    if (this.started) {
      try {
        await this.endTxn(true);
      } catch (e) {
        if (e instanceof KafkaError && e.code === ErrorCode.REQUEST_TIMED_OUT) throw e;
        throw this.failWith(e);
      }
    }
    this.completed();
  }

  /**
   * Abort: records not sent yet are dropped (their sends fail with TransactionAbortedError), those in flight
   * are waited for, then EndTxn(abort), then the epoch bump if a batch left a sequence gap.
   */
  async abort(flush: () => Promise<void>): Promise<void> {
    const s = this.stateNow;
    if (s === 'fatal-error') throw this.error!;
    if (s !== 'in-transaction' && s !== 'abortable-error' && s !== 'aborting' && s !== 'committing') {
      throw this.misuse('abortTransaction()', 'an open transaction');
    }
    // committing -> aborting: a commit that timed out may be given up for an abort (as in the Java client).
    this.stateNow = 'aborting';
    // With the state aborting, the sender fails what is queued (blockingError) instead of sending it.
    await flush();
    await this.waitForAdds();
    try {
      if (this.started) await this.endTxn(false);
      if (this.needsEpochBump) {
        const conn = await this.cluster.connection(await this.coordinatorNode());
        const canBump = conn.supports(ApiKey.InitProducerId, 3);
        await this.initProducerId(canBump ? this.idempotence.producerId : -1n, canBump ? this.idempotence.epoch : -1);
        this.needsEpochBump = false;
      }
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.REQUEST_TIMED_OUT) throw e;
      throw this.fatal(e);
    }
    this.completed();
  }

  private completed(): void {
    this.added.clear();
    this.toAdd.clear();
    this.started = false;
    this.error = null;
    this.transition('ready');
  }

  // -------------------------------------------------------------------------------------------------------
  // The sender's side

  /**
   * The error with which the sender fails queued batches instead of sending them: the transaction's abortable
   * or fatal error, or (aborting) a TransactionAbortedError. Null: send.
   */
  blockingError(): KafkaError | null {
    const s = this.stateNow;
    if (s === 'in-transaction' || s === 'committing') return null;
    if (s === 'aborting') return new TransactionAbortedError('the transaction was aborted before the record was sent');
    return this.error ?? this.misuse('a send', 'an open transaction');
  }

  /**
   * The ready batches whose partitions are in the transaction; the partitions of the others are added (one
   * AddPartitionsToTxn for all of them, after the one under way), and the sender is woken when they are.
   */
  sendable(ready: ProducerBatch[]): ProducerBatch[] {
    const out: ProducerBatch[] = [];
    for (const b of ready) {
      if (this.added.has(b.queue)) out.push(b);
      else this.toAdd.add(b.queue);
    }
    this.startAdding();
    return out;
  }

  /** A batch was started for `q`: its partition is added now, unless it is in the transaction already. */
  batchStarted(q: PartitionQueue): void {
    if (this.stateNow !== 'in-transaction' || this.added.has(q) || this.toAdd.has(q)) return;
    this.toAdd.add(q);
    if (this.addScheduled) return;
    // After the current burst of sends, so the partitions it starts go in one request.
    this.addScheduled = true;
    queueMicrotask(() => {
      this.addScheduled = false;
      this.startAdding();
    });
  }

  private startAdding(): void {
    if (this.toAdd.size > 0 && !this.adding) {
      this.adding = this.addPartitions().finally(() => {
        this.adding = null;
        this.wake();
      });
    }
  }

  /** A batch failed for good: the transaction is abortable (or fatal); a used sequence means an epoch bump. */
  batchFailed(b: ProducerBatch, e: Error): void {
    if (b.producerId >= 0n) this.needsEpochBump = true;
    if (e instanceof TransactionAbortedError) return;
    this.failWith(e);
  }

  private async waitForAdds(): Promise<void> {
    while (this.adding) await this.adding;
  }

  private async addPartitions(): Promise<void> {
    while (this.toAdd.size > 0 && (this.stateNow === 'in-transaction' || this.stateNow === 'committing')) {
      const queues = [...this.toAdd];
      const byTopic = new Map<string, number[]>();
      for (const q of queues) {
        let l = byTopic.get(q.topic);
        if (!l) {
          l = [];
          byTopic.set(q.topic, l);
        }
        l.push(q.partition);
      }
      const byKey = new Map(queues.map((q) => [`${q.topic}\u0000${q.partition}`, q]));
      try {
        await this.untilDone('add partitions to the transaction', async () => {
          const node = await this.coordinatorNode();
          const res = await this.cluster.request(node, Api.AddPartitionsToTxn, {
            v3AndBelowTransactionalId: this.opts.transactionalId,
            v3AndBelowProducerId: this.idempotence.producerId,
            v3AndBelowProducerEpoch: this.idempotence.epoch,
            v3AndBelowTopics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
          });
          // The first error that is not OPERATION_NOT_ATTEMPTED (partitions not tried because of another's).
          let code = 0;
          for (const t of res.resultsByTopicV3AndBelow) {
            for (const p of t.resultsByPartition) {
              const q = byKey.get(`${t.name}\u0000${p.partitionIndex}`);
              if (p.partitionErrorCode === 0) {
                if (q) {
                  this.added.add(q);
                  this.toAdd.delete(q);
                  this.started = true;
                }
              } else if (p.partitionErrorCode !== ErrorCode.OPERATION_NOT_ATTEMPTED && code === 0) {
                code = p.partitionErrorCode;
              }
            }
          }
          if (code === 0 && [...byKey.values()].some((q) => this.toAdd.has(q)))
            code = ErrorCode.OPERATION_NOT_ATTEMPTED;
          return code;
        });
      } catch (e) {
        // The batches of the partitions not added fail with the transaction's error (blockingError).
        this.failWith(e);
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Requests to the coordinators

  private async coordinatorNode(): Promise<number> {
    if (this.coordinator < 0) {
      const found = await findCoordinators(this.cluster, [this.opts.transactionalId], COORDINATOR_KEY_TRANSACTION);
      this.coordinator = found.get(this.opts.transactionalId)!;
    }
    return this.coordinator;
  }

  /**
   * Run `step` (one request; it returns the answer's error code) until it answers 0, retrying what is waited
   * out (see waitedOut) until maxBlockMs; a coordinator error makes the next step look the coordinator up again.
   * Throws the first other error, or REQUEST_TIMED_OUT when the time is up.
   */
  private async untilDone(what: string, step: () => Promise<number>): Promise<void> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let err: KafkaError;
      try {
        const code = await step();
        if (code === 0) return;
        err = errorFor(code, `${what} (transactional id ${this.opts.transactionalId})`);
      } catch (e) {
        if (!(e instanceof KafkaError)) throw e;
        err = e;
      }
      if (isCoordinatorError(err.code)) this.coordinator = -1;
      // OPERATION_NOT_ATTEMPTED: some partitions were not tried (another's error, itself waited out).
      if (!(waitedOut(err) || err.code === ErrorCode.OPERATION_NOT_ATTEMPTED) || this.cluster.isClosed) throw err;
      const elapsed = Date.now() - started;
      if (elapsed >= this.opts.maxBlockMs) {
        throw new KafkaError(
          ErrorCode.REQUEST_TIMED_OUT,
          `${what} did not complete within ${this.opts.maxBlockMs} ms (the last answer: ${err.message})`,
        );
      }
      // CONCURRENT_TRANSACTIONS right after the previous transaction ended: it completes within milliseconds.
      const delay =
        err.code === ErrorCode.CONCURRENT_TRANSACTIONS && attempt <= 3 ? 20 : backoff(attempt, this.opts.retryBackoff);
      await sleep(Math.min(delay, this.opts.maxBlockMs - elapsed));
    }
  }

  private async initProducerId(producerId: bigint, producerEpoch: number): Promise<void> {
    await this.untilDone('initialize the transactional producer', async () => {
      const node = await this.coordinatorNode();
      const res = await this.cluster.request(node, Api.InitProducerId, {
        transactionalId: this.opts.transactionalId,
        transactionTimeoutMs: this.opts.transactionTimeoutMs,
        producerId,
        producerEpoch,
      });
      if (res.errorCode === 0) this.idempotence.setProducer(res.producerId, res.producerEpoch);
      return res.errorCode;
    });
  }

  private async endTxn(committed: boolean): Promise<void> {
    await this.untilDone(committed ? 'commit the transaction' : 'abort the transaction', async () => {
      const node = await this.coordinatorNode();
      const res = await this.cluster.request(node, Api.EndTxn, {
        transactionalId: this.opts.transactionalId,
        producerId: this.idempotence.producerId,
        producerEpoch: this.idempotence.epoch,
        committed,
      });
      return res.errorCode;
    });
  }

  /** TxnOffsetCommit to the group's coordinator; partitions answered with a waited-out error are sent again. */
  private async txnOffsetCommit(offsets: readonly OffsetToCommit[], g: TransactionGroupMetadata): Promise<void> {
    type Part = Item<Item<RequestInput<typeof Api.TxnOffsetCommit>['topics']>['partitions']>;
    let todo = offsets;
    let groupCoordinator = -1;
    await this.untilDone(`commit offsets of group ${g.groupId} in the transaction`, async () => {
      if (groupCoordinator < 0) {
        groupCoordinator = (await findCoordinators(this.cluster, [g.groupId], COORDINATOR_KEY_GROUP)).get(g.groupId)!;
      }
      const byTopic = new Map<string, Part[]>();
      for (const o of todo) {
        let l = byTopic.get(o.topic);
        if (!l) {
          l = [];
          byTopic.set(o.topic, l);
        }
        l.push({
          partitionIndex: o.partition,
          committedOffset: BigInt(o.offset),
          committedLeaderEpoch: o.leaderEpoch ?? -1,
          committedMetadata: o.metadata ?? '',
        });
      }
      let res: ResponseOf<typeof Api.TxnOffsetCommit>;
      try {
        res = await this.cluster.request(groupCoordinator, Api.TxnOffsetCommit, {
          transactionalId: this.opts.transactionalId,
          groupId: g.groupId,
          producerId: this.idempotence.producerId,
          producerEpoch: this.idempotence.epoch,
          generationId: g.generationId ?? -1,
          memberId: g.memberId ?? '',
          groupInstanceId: g.groupInstanceId ?? null,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
        });
      } catch (e) {
        groupCoordinator = -1;
        throw e;
      }
      const failed = new Map<string, number>();
      for (const t of res.topics) {
        for (const p of t.partitions)
          if (p.errorCode !== 0) failed.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
      }
      if (failed.size === 0) return 0;
      todo = todo.filter((o) => failed.has(`${o.topic}\u0000${o.partition}`));
      const codes = [...failed.values()];
      // A non-retriable one stands for all; else the first (a coordinator error: look it up again).
      const code = codes.find((c) => !waitedOut(new KafkaError(c))) ?? codes[0]!;
      if (isCoordinatorError(code)) groupCoordinator = -1;
      return code;
    });
  }
}
