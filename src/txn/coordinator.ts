/**
 * The transaction coordinator of one `__transaction_state` partition (KIP-98; Kafka's TransactionCoordinator
 * and TransactionStateManager): the transactional ids that hash to the partition, each with its producer id,
 * epoch, timeout, state and the partitions of its current transaction.
 *
 * The two-phase state machine (the table VALID_PREVIOUS below):
 *
 *   Empty ──AddPartitions──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers written──▶ CompleteCommit
 *     ▲                        │ EndTxn(abort), fenced by InitProducerId, timed out                 │
 *     │                        ▼                                                                     │
 *     │                   PrepareAbort ──markers written──▶ CompleteAbort ◀─────────── AddPartitions ─┘ (Ongoing)
 *     └──────── InitProducerId (epoch bump) from Empty / CompleteCommit / CompleteAbort
 *
 * Every transition is written to the partition (a record keyed by the transactional id) and durable before
 * it is acted on: the answer to the client, the markers of a Prepare state. EndTxn answers once its
 * PrepareCommit/PrepareAbort is durable, as Kafka's coordinator does; the markers and the Complete state
 * follow in the background. The Complete record is the one transition not waited for: it is taken into
 * memory once appended, and made durable by the next write of the partition (the next transition of the id,
 * appended after it, is durable only once it is: the two share one fsync or one replication round) or the
 * log's own flush. Losing it costs nothing: the replay finds the Prepare state and sends its markers again,
 * which the partitions take as the no-op of a marker they have.
 *
 * A request for an id whose write or completion is under way is held until it settles (at most HOLD_MS),
 * then answered as the state is then; only one that outlasts the hold answers CONCURRENT_TRANSACTIONS, as
 * Kafka answers at once (its clients back off for that: librdkafka 100 ms per retry).
 * A coordinator that takes over a partition replays it (loadRecord) and resumes every transaction it finds in
 * a Prepare state: it writes its markers again and completes it.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Logger } from '../util/logger.js';
import type { TxnConfig } from './config.js';
import { STATE_NAMES, type TxnLogValue, TxnState } from './records.js';

/** The coordinator's writes: one record per transition, resolved once durable (acks=all). */
export interface TxnStore {
  /** The coordinator epoch: the leader epoch of the partition this coordinator leads. */
  readonly coordinatorEpoch: number;
  /**
   * Append the record now (value null: a tombstone), after every record appended before; throws when it is
   * not appended (NOT_COORDINATOR once leadership is lost). `durable` resolves once it is durable, which
   * makes every record appended before it durable too; it rejects with NOT_COORDINATOR once leadership is
   * lost. `lazy`: `durable` resolves once appended; a later record's durability (or the log's flush) covers it.
   */
  append(transactionalId: string, value: TxnLogValue | null, lazy?: boolean): { durable: Promise<void> };
}

/** A transaction's end to write to its partitions. */
export interface TxnMarker {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  partitions: Map<string, number[]>;
}

/** Writes COMMIT/ABORT markers to the leaders of a transaction's partitions (WriteTxnMarkers). */
export interface MarkerWriter {
  /**
   * Resolves once every partition has the marker (or no longer exists); retries until then. Rejects only
   * when `cancelled()` turns true (this coordinator stopped: the next one resumes the transaction).
   */
  write(marker: TxnMarker, cancelled: () => boolean): Promise<void>;
}

export interface TxnMetadata {
  readonly transactionalId: string;
  producerId: bigint;
  /** The producer id before the last rotation (an exhausted epoch), -1n if none. */
  previousProducerId: bigint;
  producerEpoch: number;
  /**
   * The epoch before the last bump a producer asked for with its own id and epoch (KIP-360), so a retry of that
   * InitProducerId gets the same answer; -1 after a new instance or the coordinator bumped it (fenced).
   */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  partitions: Map<string, Set<number>>;
  /** When the current transaction started; -1 without one. */
  startMs: number;
  lastUpdateMs: number;
  /** A transition is being written, or the markers of a Prepare state are being sent. */
  pending: boolean;
}

/** Allowed predecessors of each state, as Kafka's TransactionState.validPreviousStates. */
const VALID_PREVIOUS: Readonly<Record<TxnState, readonly TxnState[]>> = {
  [TxnState.Empty]: [TxnState.Empty, TxnState.CompleteCommit, TxnState.CompleteAbort],
  [TxnState.Ongoing]: [TxnState.Ongoing, TxnState.Empty, TxnState.CompleteCommit, TxnState.CompleteAbort],
  [TxnState.PrepareCommit]: [TxnState.Ongoing],
  [TxnState.PrepareAbort]: [TxnState.Ongoing, TxnState.PrepareEpochFence],
  [TxnState.CompleteCommit]: [TxnState.PrepareCommit],
  [TxnState.CompleteAbort]: [TxnState.PrepareAbort],
  [TxnState.Dead]: [TxnState.Empty, TxnState.CompleteCommit, TxnState.CompleteAbort],
  [TxnState.PrepareEpochFence]: [TxnState.Ongoing],
};

export class IllegalTxnTransition extends Error {}

/**
 * How long a request for a transactional id waits for the id's write or completion under way (its previous
 * transaction's markers, usually a few milliseconds) before it answers CONCURRENT_TRANSACTIONS.
 */
const HOLD_MS = 500;

/** Resolve when `p` settles or after `ms`, whichever is first. */
function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The most an epoch may reach before the producer id is replaced (Kafka: Short.MAX_VALUE - 1). */
const MAX_EPOCH = 32766;

export interface InitResult {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface TxnDescription {
  errorCode: number;
  state: string;
  timeoutMs: number;
  startMs: number;
  producerId: bigint;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnMetadata>();
  /**
   * The ids with a write (a transition until durable; a completion until its Complete record is appended)
   * under way: settles (never rejects) when it ended. Requests for the id wait for it (settled()).
   */
  private readonly busy = new Map<TxnMetadata, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private loaded = false;

  constructor(
    private readonly cfg: TxnConfig,
    private readonly store: TxnStore,
    private readonly markers: MarkerWriter,
    private readonly newProducerId: () => Promise<bigint>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- loading ------------------------------------------------------------------------------------------

  /** One record of the partition, in log order (value null: a tombstone). */
  loadRecord(transactionalId: string, v: TxnLogValue | null): void {
    if (v === null) {
      this.txns.delete(transactionalId);
      return;
    }
    const old = this.txns.get(transactionalId);
    this.txns.set(transactionalId, {
      transactionalId,
      producerId: v.producerId,
      previousProducerId: old && old.producerId !== v.producerId ? old.producerId : (old?.previousProducerId ?? -1n),
      producerEpoch: v.producerEpoch,
      // Not in the record (as in Kafka's v0 value): a retried InitProducerId across a failover is fenced.
      lastProducerEpoch: -1,
      timeoutMs: v.timeoutMs,
      state: v.state,
      partitions: new Map([...v.partitions].map(([t, ps]) => [t, new Set(ps)])),
      startMs: v.startMs,
      lastUpdateMs: v.lastUpdateMs,
      pending: false,
    });
  }

  /** Loading done: resume every transaction left in a Prepare state (its markers, then its completion). */
  finishLoad(): { ids: number; resumed: number } {
    this.loaded = true;
    let resumed = 0;
    for (const t of this.txns.values()) {
      if (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort) {
        resumed++;
        void this.completeTransaction(t);
      }
    }
    return { ids: this.txns.size, resumed };
  }

  start(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.cfg.abortIntervalMs, () => this.abortTimedOut());
    every(this.cfg.removeExpiredIntervalMs, () => this.removeExpired());
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  // ---- InitProducerId ----------------------------------------------------------------------------------

  /**
   * InitProducerId with a transactional id: a producer id and a bumped epoch (older instances are fenced).
   * A transaction the previous instance left open is aborted first (CONCURRENT_TRANSACTIONS meanwhile: the
   * client retries). `expected` is the id and epoch a v3+ producer recovering from an error gives (KIP-360).
   */
  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected: { producerId: bigint; producerEpoch: number } | null,
  ): Promise<InitResult> {
    const fail = (errorCode: number): InitResult => ({ errorCode, producerId: -1n, producerEpoch: -1 });
    if (timeoutMs <= 0 || timeoutMs > this.cfg.maxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    await this.settled(transactionalId);
    let t = this.txns.get(transactionalId);
    if (!t) {
      let producerId: bigint;
      try {
        producerId = await this.newProducerId();
      } catch (e) {
        return fail(e instanceof KafkaError ? e.code : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      }
      // Another request may have created it meanwhile.
      t = this.txns.get(transactionalId);
      if (!t) {
        t = {
          transactionalId,
          producerId,
          previousProducerId: -1n,
          producerEpoch: -1,
          lastProducerEpoch: -1,
          timeoutMs,
          state: TxnState.Empty,
          partitions: new Map(),
          startMs: -1,
          lastUpdateMs: this.now(),
          pending: false,
        };
        this.txns.set(transactionalId, t);
      }
    }
    if (t.pending) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== null) {
      const valid =
        t.producerEpoch === -1 ||
        expected.producerId === t.producerId ||
        (expected.producerId === t.previousProducerId && expected.producerEpoch >= MAX_EPOCH);
      if (!valid) return fail(ErrorCode.PRODUCER_FENCED);
    }
    switch (t.state) {
      case TxnState.PrepareCommit:
      case TxnState.PrepareAbort:
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case TxnState.Ongoing: {
        // Fence the producer of the open transaction: abort it with a bumped epoch; the client retries.
        const err = await this.fenceAndAbort(t, 'fenced by a new producer instance');
        return fail(err === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : err);
      }
      case TxnState.Dead:
      case TxnState.PrepareEpochFence:
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        break;
    }
    // Empty, CompleteCommit, CompleteAbort: bump the epoch (or a new producer id once it is exhausted).
    let producerId = t.producerId;
    let epoch: number;
    let lastEpoch: number;
    let previousProducerId = t.previousProducerId;
    if (t.producerEpoch >= MAX_EPOCH && (expected === null || expected.producerEpoch === t.producerEpoch)) {
      t.pending = true;
      try {
        producerId = await this.newProducerId();
      } catch (e) {
        t.pending = false;
        return fail(e instanceof KafkaError ? e.code : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      }
      t.pending = false;
      previousProducerId = t.producerId;
      epoch = 0;
      lastEpoch = expected === null ? -1 : t.producerEpoch;
    } else if (expected === null) {
      // A new instance: every older one is fenced.
      epoch = t.producerEpoch + 1;
      lastEpoch = -1;
    } else if (t.producerEpoch === -1 || expected.producerEpoch === t.producerEpoch) {
      // The producer goes on after an error (KIP-360): its epoch is bumped.
      epoch = t.producerEpoch + 1;
      lastEpoch = t.producerEpoch;
    } else if (expected.producerEpoch === t.lastProducerEpoch) {
      // A retry of that call whose answer was lost: the same epoch again.
      epoch = t.producerEpoch;
      lastEpoch = t.lastProducerEpoch;
    } else {
      return fail(ErrorCode.PRODUCER_FENCED);
    }
    const err = await this.transit(t, {
      producerId,
      previousProducerId,
      producerEpoch: epoch,
      lastProducerEpoch: lastEpoch,
      timeoutMs,
      state: TxnState.Empty,
      partitions: new Map(),
      startMs: -1,
    });
    if (err !== ErrorCode.NONE) return fail(err);
    this.log.info('initialized transactional id', {
      transactionalId,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
    });
    return { errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.producerEpoch };
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ------------------------------------------------------------

  /** The error for a request naming (producerId, epoch) of `t`, or NONE when it may go on. */
  private checkProducer(t: TxnMetadata | undefined, producerId: bigint, producerEpoch: number): number {
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (t.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (t.pending) return ErrorCode.CONCURRENT_TRANSACTIONS;
    return ErrorCode.NONE;
  }

  /** Add partitions to the producer's transaction (starting one): an error code for all of them. */
  async addPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: Map<string, number[]>,
  ): Promise<number> {
    // The producer's previous transaction may still be completing (EndTxn answered at Prepare*; its markers
    // are being written): the next one waits for it instead of being refused.
    await this.settled(transactionalId);
    const t = this.txns.get(transactionalId);
    const err = this.checkProducer(t, producerId, producerEpoch);
    if (err !== ErrorCode.NONE || !t) return err;
    if (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort) {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    if (t.state === TxnState.Dead || t.state === TxnState.PrepareEpochFence) return ErrorCode.INVALID_TXN_STATE;
    const fresh = t.state !== TxnState.Ongoing;
    const next = new Map<string, Set<number>>();
    if (!fresh) for (const [topic, ps] of t.partitions) next.set(topic, new Set(ps));
    let added = false;
    for (const [topic, ps] of partitions) {
      const set = next.get(topic) ?? new Set<number>();
      next.set(topic, set);
      for (const p of ps) {
        if (!set.has(p)) added = true;
        set.add(p);
      }
    }
    if (!fresh && !added) return ErrorCode.NONE;
    const now = this.now();
    return this.transit(t, {
      state: TxnState.Ongoing,
      partitions: next,
      startMs: fresh ? now : t.startMs,
    });
  }

  /** AddPartitionsToTxn v4 verifyOnly (KIP-890): whether the partitions are in the producer's transaction. */
  verifyPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): number {
    const t = this.txns.get(transactionalId);
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (t.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (t.state !== TxnState.Ongoing || !t.partitions.get(topic)?.has(partition)) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  // ---- EndTxn ------------------------------------------------------------------------------------------

  /**
   * Commit or abort the producer's transaction: PrepareCommit/PrepareAbort is written (and durable) before
   * the answer, as Kafka answers; the markers and the Complete state follow in the background (a read_committed
   * consumer sees the records once the marker is on their partition: the last stable offset moved past them).
   */
  async endTxn(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean): Promise<number> {
    // A retry while the transaction completes is answered once it completed (NONE for the same decision).
    await this.settled(transactionalId);
    const t = this.txns.get(transactionalId);
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (t.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    const preparing = t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort;
    if (t.pending && !preparing) return ErrorCode.CONCURRENT_TRANSACTIONS;
    switch (t.state) {
      case TxnState.Ongoing: {
        // The decision is durable: answered now, as Kafka answers; the markers and the Complete state follow,
        // and the producer's next request waits for them (settled()).
        return this.transit(
          t,
          { state: commit ? TxnState.PrepareCommit : TxnState.PrepareAbort },
          { afterwards: () => this.completeTransaction(t) },
        );
      }
      case TxnState.CompleteCommit:
        // A retry of the commit that completed is answered as it was.
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case TxnState.CompleteAbort:
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case TxnState.PrepareCommit:
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case TxnState.PrepareAbort:
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
  }

  /**
   * Abort `t`'s open transaction with a bumped epoch, so its producer can neither write nor end it any more
   * (PRODUCER_FENCED, as Kafka's coordinator fences). NONE once PrepareAbort is durable.
   */
  private async fenceAndAbort(t: TxnMetadata, why: string): Promise<number> {
    const exhausted = t.producerEpoch >= MAX_EPOCH;
    const err = await this.transit(
      t,
      {
        state: TxnState.PrepareAbort,
        // An exhausted epoch is not bumped; the next InitProducerId replaces the producer id.
        producerEpoch: exhausted ? t.producerEpoch : t.producerEpoch + 1,
        lastProducerEpoch: -1,
      },
      { afterwards: () => this.completeTransaction(t) },
    );
    if (err !== ErrorCode.NONE) return err;
    this.log.info('aborting transaction', {
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      reason: why,
    });
    return ErrorCode.NONE;
  }

  /**
   * Send the markers of `t`'s Prepare state, then write its Complete state (in the background): the marker
   * on every partition is durable before the Complete record is appended, so a crash never leaves a Complete
   * state whose markers are lost. Requests for the id wait (settled()) until the Complete record is appended
   * (not durable: see the file comment) or the attempt ended.
   */
  private completeTransaction(t: TxnMetadata): void {
    const settled = this.sendMarkersAndComplete(t).finally(() => {
      if (this.busy.get(t) === settled) this.busy.delete(t);
    });
    this.busy.set(t, settled);
  }

  /**
   * Wait until `transactionalId` has no write or completion under way, at most HOLD_MS (then the caller
   * finds it busy and answers CONCURRENT_TRANSACTIONS).
   */
  private async settled(transactionalId: string): Promise<void> {
    const deadline = Date.now() + HOLD_MS;
    for (;;) {
      const t = this.txns.get(transactionalId);
      const busy = t && this.busy.get(t);
      const left = deadline - Date.now();
      if (!busy || left <= 0 || this.stopped) return;
      await waitAtMost(busy, left);
    }
  }

  private sendMarkersAndComplete(t: TxnMetadata): Promise<void> {
    const commit = t.state === TxnState.PrepareCommit;
    const marker: TxnMarker = {
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      commit,
      coordinatorEpoch: this.store.coordinatorEpoch,
      partitions: new Map([...t.partitions].map(([topic, ps]) => [topic, [...ps].sort((a, b) => a - b)])),
    };
    t.pending = true;
    const cancelled = () => this.stopped;
    // Started on the next turn of the event loop: the EndTxn answer (sent once the Prepare record is durable) is
    // written first, and the markers' appends and fsyncs overlap its way to the producer and the producer's
    // next transaction, instead of delaying the answer (issue 17). The id is pending from now on all the same.
    return new Promise<void>((r) => setImmediate(r))
      .then(() => this.markers.write(marker, cancelled))
      .then(async () => {
        t.pending = false;
        if (this.stopped) return;
        // Lazy: taken once appended (see the file comment).
        const err = await this.transit(
          t,
          { state: commit ? TxnState.CompleteCommit : TxnState.CompleteAbort, partitions: new Map() },
          { lazy: true },
        );
        if (err !== ErrorCode.NONE && !this.stopped) {
          // Not written (leadership lost, or the ISR is short): the next coordinator or a retry completes it.
          this.log.warn('transaction completion not written', { transactionalId: t.transactionalId, errorCode: err });
          setTimeout(() => {
            if (!this.stopped && (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort)) {
              this.completeTransaction(t);
            }
          }, 500).unref();
        }
      })
      .catch((e: unknown) => {
        t.pending = false;
        if (!this.stopped)
          this.log.error('transaction markers failed', { transactionalId: t.transactionalId, error: e });
      });
  }

  // ---- writes ------------------------------------------------------------------------------------------

  /**
   * Move `t` to the state `change` describes: written and durable first (`lazy`, the Complete states alone:
   * appended; see the file comment), then taken into memory, then `afterwards` is called (before requests held for
   * `t` go on: a completion it starts holds them further). Requests for `t` meanwhile wait (settled()).
   * Returns an error code (NONE when applied).
   */
  private async transit(
    t: TxnMetadata,
    change: Partial<Omit<TxnMetadata, 'transactionalId' | 'pending'>> & { state: TxnState },
    opts: { lazy?: boolean; afterwards?: () => void } = {},
  ): Promise<number> {
    if (!VALID_PREVIOUS[change.state].includes(t.state)) {
      throw new IllegalTxnTransition(
        `transactional id ${t.transactionalId}: ${STATE_NAMES[t.state]} -> ${STATE_NAMES[change.state]}`,
      );
    }
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    const lazy = opts.lazy === true;
    const next: TxnMetadata = { ...t, ...change, lastUpdateMs: this.now(), pending: false };
    const wasPending = t.pending;
    t.pending = true;
    let written: () => void = () => {};
    const writing = new Promise<void>((r) => {
      written = r;
    });
    // A completion under way stands for the id's busy state already (it ends with this write).
    if (!lazy) this.busy.set(t, writing);
    let code: number = ErrorCode.NONE;
    try {
      await this.store.append(t.transactionalId, toValue(next), lazy).durable;
      if (this.stopped) code = ErrorCode.NOT_COORDINATOR;
    } catch (e) {
      t.pending = wasPending;
      code = e instanceof KafkaError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      this.log.warn('transaction state not written', { transactionalId: t.transactionalId, error: e });
      // As Kafka maps a failed append of the transaction log for the client.
      if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.NOT_COORDINATOR) {
        code = ErrorCode.NOT_COORDINATOR;
      } else if (code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE) {
        code = ErrorCode.UNKNOWN_SERVER_ERROR;
      } else {
        code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    if (code === ErrorCode.NONE) {
      Object.assign(t, change, { lastUpdateMs: next.lastUpdateMs, pending: false });
      opts.afterwards?.();
    }
    if (this.busy.get(t) === writing) this.busy.delete(t);
    written();
    return code;
  }

  // ---- background: time-outs and expiry ----------------------------------------------------------------

  /** Abort every transaction open longer than its timeout, with an epoch bump that fences its producer (as Kafka). */
  abortTimedOut(now: number = this.now()): void {
    if (this.stopped || !this.loaded) return;
    for (const t of this.txns.values()) {
      if (t.state !== TxnState.Ongoing || t.pending || t.startMs < 0) continue;
      if (t.startMs + t.timeoutMs >= now) continue;
      void this.fenceAndAbort(t, `open longer than its timeout of ${t.timeoutMs} ms`).catch((e: unknown) =>
        this.log.error('aborting a timed-out transaction failed', { transactionalId: t.transactionalId, error: e }),
      );
    }
  }

  /** Forget transactional ids without a transaction for transactional.id.expiration.ms (a tombstone). */
  removeExpired(now: number = this.now()): void {
    if (this.stopped || !this.loaded) return;
    for (const t of [...this.txns.values()]) {
      const idle =
        t.state === TxnState.Empty || t.state === TxnState.CompleteCommit || t.state === TxnState.CompleteAbort;
      if (!idle || t.pending || t.lastUpdateMs + this.cfg.idExpirationMs > now) continue;
      let durable: Promise<void>;
      try {
        durable = this.store.append(t.transactionalId, null).durable;
      } catch {
        continue;
      }
      t.pending = true;
      durable.then(
        () => {
          if (this.txns.get(t.transactionalId) === t) this.txns.delete(t.transactionalId);
          t.state = TxnState.Dead;
          t.pending = false;
        },
        () => {
          t.pending = false;
        },
      );
    }
  }

  // ---- DescribeTransactions / ListTransactions ---------------------------------------------------------

  describe(transactionalId: string): TxnDescription {
    const t = this.txns.get(transactionalId);
    if (!t || t.state === TxnState.Dead) {
      return {
        errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
        state: '',
        timeoutMs: 0,
        startMs: -1,
        producerId: -1n,
        producerEpoch: -1,
        topics: [],
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      state: STATE_NAMES[t.state],
      timeoutMs: t.timeoutMs,
      startMs: t.startMs,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      topics: [...t.partitions].map(([topic, ps]) => ({ topic, partitions: [...ps].sort((a, b) => a - b) })),
    };
  }

  /** Transactional ids, filtered by state names and producer ids (empty filter: all) and running time (v1). */
  list(
    states: ReadonlySet<string>,
    producerIds: ReadonlySet<bigint>,
    minDurationMs: number,
  ): { transactionalId: string; producerId: bigint; state: string }[] {
    const now = this.now();
    const out: { transactionalId: string; producerId: bigint; state: string }[] = [];
    for (const t of this.txns.values()) {
      if (t.state === TxnState.Dead) continue;
      const name = STATE_NAMES[t.state];
      if (states.size > 0 && !states.has(name)) continue;
      if (producerIds.size > 0 && !producerIds.has(t.producerId)) continue;
      // As Kafka: the time since the transaction started (an id without one started at -1: always long enough).
      if (minDurationMs >= 0 && now - t.startMs < minDurationMs) continue;
      out.push({ transactionalId: t.transactionalId, producerId: t.producerId, state: name });
    }
    return out;
  }
}

function toValue(t: TxnMetadata): TxnLogValue {
  return {
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    timeoutMs: t.timeoutMs,
    state: t.state,
    partitions: new Map([...t.partitions].map(([topic, ps]) => [topic, [...ps].sort((a, b) => a - b)])),
    lastUpdateMs: t.lastUpdateMs,
    startMs: t.startMs,
  };
}
