/**
 * The consumer: assign mode (explicit partitions, seek by offset / earliest / latest / time / relative to the
 * end) or subscribe mode (a consumer group, see group.ts), and async iterators over records or batches.
 *
 * Built from two parts: the fetcher (consumer/fetcher.ts: the assigned partitions and their positions, one
 * long-poll Fetch in flight per leader broker, offset resolution and OFFSET_OUT_OF_RANGE resets) and iteration
 * (consumer/iteration.ts: records() and batches() over what was fetched, on one loop). This class holds the
 * options' defaults, the group membership and the commits: positions are committed periodically, on rebalance
 * and on close (autoCommit), or on request.
 *
 * Positions: a record counts as consumed when the iterator is asked for the next one (or the loop exits), so
 * a commit, automatic or on rebalance, never covers a record the application is still processing.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type Assignor, type AssignorName, resolveAssignor } from './assignors.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import type { AssignSpec, OffsetResetPolicy, SeekTarget } from './consumer/assigned-partition.js';
import { Fetcher } from './consumer/fetcher.js';
import { type ConsumerBatch, type ConsumerRecord, type IterateOptions, Iteration } from './consumer/iteration.js';
import { type GroupHost, GroupMember, type TopicPartition } from './group.js';
import {
  commitOffsets,
  fetchCommittedOffsets,
  findCoordinator,
  isCoordinatorError,
  type OffsetToCommit,
} from './group-api.js';

const INT32_MAX = 0x7fffffff;

export type { AssignSpec, OffsetResetPolicy, SeekTarget } from './consumer/assigned-partition.js';
export type { ConsumerBatch, ConsumerRecord, IterateOptions } from './consumer/iteration.js';
export type { TopicPartition } from './group.js';

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

/** See Consumer.groupMetadata(). */
export interface ConsumerGroupMetadata {
  groupId: string;
  memberId: string;
  generationId: number;
  groupInstanceId: string | null;
  protocol: string | null;
  leaderId: string;
}

export type RebalanceListener = (partitions: TopicPartition[]) => void | Promise<void>;

export interface ConsumerOptions extends ClusterOptions {
  /** Needed for subscribe() and commits. */
  groupId?: string;
  /** Static membership (KIP-345). */
  groupInstanceId?: string;
  /** Default 45 s. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin. Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Default 3 s. */
  heartbeatIntervalMs?: number;
  /** In order of preference. Default ['range', 'cooperative-sticky'] (the Java default). */
  assignors?: (AssignorName | Assignor)[];
  /** Where to start without a committed offset, or after OFFSET_OUT_OF_RANGE. Default 'latest'. */
  autoOffsetReset?: OffsetResetPolicy;
  /** Commit positions periodically, on rebalance and on close (with groupId). Default true. */
  autoCommit?: boolean;
  /** Default 5 s. */
  autoCommitIntervalMs?: number;
  /** Long-poll wait of a fetch. Default 500 ms. */
  maxWaitMs?: number;
  /** Default 1. */
  minBytes?: number;
  /**
   * 'read_uncommitted' (the default, as in Kafka): every record up to the high watermark, those of open and
   * aborted transactions included. 'read_committed': records up to the last stable offset, without those of
   * aborted transactions (KIP-98); 'latest' and the end of `untilEnd` are then the last stable offset.
   */
  isolation?: IsolationLevel;
  /** Per fetch. Default 50 MiB. */
  maxBytes?: number;
  /** Per partition per fetch. Default 1 MiB. */
  maxPartitionBytes?: number;
  /** How often a group member checks its topics for new partitions / pattern matches. Default 30 s. */
  metadataCheckMs?: number;
  onPartitionsAssigned?: RebalanceListener;
  onPartitionsRevoked?: RebalanceListener;
  /** Default: onPartitionsRevoked. */
  onPartitionsLost?: RebalanceListener;
}

export class Consumer {
  readonly cluster: Cluster;
  private readonly opts: ConsumerOptions;
  private readonly autoOffsetReset: OffsetResetPolicy;
  private readonly autoCommit: boolean;
  private readonly readCommitted: boolean;
  private readonly fetcher: Fetcher;
  private readonly iteration: Iteration;
  private group: GroupMember | null = null;
  private connected: Promise<void> | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private commitChain: Promise<void> = Promise.resolve();

  constructor(opts: ConsumerOptions) {
    this.opts = opts;
    this.cluster = new Cluster({ ...opts, allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false });
    this.autoOffsetReset = opts.autoOffsetReset ?? 'latest';
    this.autoCommit = (opts.autoCommit ?? true) && opts.groupId !== undefined;
    const isolation = opts.isolation ?? 'read_uncommitted';
    if (isolation !== 'read_uncommitted' && isolation !== 'read_committed') {
      throw new TypeError(`isolation must be 'read_uncommitted' or 'read_committed', got ${String(isolation)}`);
    }
    this.readCommitted = isolation === 'read_committed';
    this.fetcher = new Fetcher(
      this.cluster,
      {
        groupId: opts.groupId,
        autoOffsetReset: this.autoOffsetReset,
        maxWaitMs: opts.maxWaitMs ?? 500,
        minBytes: opts.minBytes ?? 1,
        // Both go on the wire as int32: a larger wish (e.g. partitions × per-partition bytes) is capped, not an error.
        maxBytes: Math.min(opts.maxBytes ?? 50 * 1024 * 1024, INT32_MAX),
        maxPartitionBytes: Math.min(opts.maxPartitionBytes ?? 1024 * 1024, INT32_MAX),
        isolationLevel: this.readCommitted ? 1 : 0,
      },
      {
        connecting: () => this.connected !== null,
        connect: () => this.connect(),
        committedOffsets: (partitions) =>
          this.fetchCommitted(this.opts.groupId!, partitions, this.group ? 'group' : 'default'),
      },
    );
    this.iteration = new Iteration(this.fetcher, {
      start: () => {
        this.checkOpen();
        if (!this.connected) this.connect().catch((e: Error) => this.fetcher.fail(e));
        this.fetcher.kick();
      },
      groupStable: () => !this.group || this.group.stable,
    });
  }

  /** Connect to the cluster (optional: assign/subscribe connect). Rejects if no broker can be reached. */
  connect(): Promise<void> {
    this.connected ??= this.cluster.connect().catch((e) => {
      this.connected = null;
      throw e;
    });
    return this.connected;
  }

  // -------------------------------------------------------------------------------------------------------
  // Assignment

  /** Assign mode: consume exactly these partitions (replacing any previous assignment). */
  assign(partitions: readonly AssignSpec[]): void {
    if (this.group) throw new TypeError('assign() cannot be used with subscribe()');
    this.checkOpen();
    this.fetcher.assign(partitions, this.opts.groupId ? 'committed' : this.autoOffsetReset);
    this.cluster.addTopics(partitions.map((p) => p.topic));
    this.startAutoCommit();
    this.fetcher.kick();
  }

  /** Subscribe mode: join the consumer group `groupId` for these topics (or every topic matching a pattern). */
  subscribe(topics: string[] | RegExp): void {
    this.checkOpen();
    if (!this.opts.groupId) throw new TypeError('subscribe() needs a groupId');
    if (this.fetcher.assignedCount > 0 && !this.group) throw new TypeError('subscribe() cannot be used after assign()');
    if (!this.group) {
      const assignors = (this.opts.assignors ?? ['range', 'cooperative-sticky']).map(resolveAssignor);
      this.group = new GroupMember(this.cluster, this.groupHost(), {
        groupId: this.opts.groupId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 45_000,
        rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs ?? 60_000,
        heartbeatIntervalMs: this.opts.heartbeatIntervalMs ?? 3_000,
        assignors,
        metadataCheckMs: this.opts.metadataCheckMs ?? 30_000,
      });
    }
    this.group.subscribe(topics);
    this.startAutoCommit();
  }

  /** Currently assigned partitions. */
  assignment(): TopicPartition[] {
    return [...this.fetcher.assigned()].map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /** Move the position of an assigned partition; buffered records of it are dropped. */
  seek(tp: TopicPartition, target: SeekTarget): void {
    const p = this.fetcher.get(tp);
    if (!p) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${tp.topic}/${tp.partition} is not assigned`);
    p.seek(target);
    this.fetcher.kick();
  }

  /** The next offset to be consumed, or null while it is being resolved. */
  position(tp: TopicPartition): bigint | null {
    return this.fetcher.get(tp)?.position ?? null;
  }

  /** Watermarks seen in the last fetch of a partition (-1 before the first). */
  watermarks(tp: TopicPartition): { highWatermark: bigint; logStartOffset: bigint } | null {
    const p = this.fetcher.get(tp);
    return p ? { highWatermark: p.highWatermark, logStartOffset: p.logStartOffset } : null;
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.fetcher.get(tp);
      if (p) p.paused = true;
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.fetcher.get(tp);
      if (p) p.paused = false;
    }
    this.fetcher.kick();
    this.fetcher.wake();
  }

  paused(): TopicPartition[] {
    return [...this.fetcher.assigned()]
      .filter((p) => p.paused)
      .map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /**
   * This member's group, id, generation and instance id, the group's assignor and leader (subscribe mode): for
   * diagnostics, and for a transactional producer's sendOffsetsToTransaction (KIP-447: the group coordinator
   * fences a zombie member by its generation).
   */
  groupMetadata(): ConsumerGroupMetadata | null {
    const g = this.group;
    return g
      ? {
          groupId: this.opts.groupId!,
          memberId: g.memberId,
          generationId: g.generationId,
          groupInstanceId: this.opts.groupInstanceId ?? null,
          protocol: g.protocolName,
          leaderId: g.leaderId,
        }
      : null;
  }

  // -------------------------------------------------------------------------------------------------------
  // Commits

  /** Commit offsets (default: the position of every assigned partition) and wait for the answer. */
  async commit(offsets?: readonly OffsetToCommit[]): Promise<void> {
    const groupId = this.opts.groupId;
    if (!groupId) throw new TypeError('commit() needs a groupId');
    const list = offsets ?? this.currentPositions();
    if (list.length === 0) return;
    if (this.group) {
      await this.group.commit(list);
    } else {
      const coordinator = await findCoordinator(this.cluster, groupId);
      const results = await commitOffsets(
        this.cluster,
        coordinator,
        { groupId, generationId: -1, memberId: '', groupInstanceId: null },
        list,
      );
      const failed = results.find((r) => r.error);
      if (failed?.error) throw failed.error;
    }
    for (const o of list) {
      const p = this.fetcher.get(o);
      if (p) p.lastCommitted = BigInt(o.offset);
    }
  }

  /**
   * Commit without waiting: commits run one after another in call order. Errors go to `callback` (or are
   * dropped: a later commit supersedes a failed one).
   */
  commitAsync(offsets?: readonly OffsetToCommit[], callback?: (err: Error | null) => void): void {
    const list = offsets ?? this.currentPositions();
    this.commitChain = this.commitChain.then(() =>
      this.commit(list).then(
        () => callback?.(null),
        (e: Error) => {
          if (callback) callback(e);
          else this.cluster.logger.warn('async commit failed', { error: e.message });
        },
      ),
    );
  }

  /** OffsetFetch from the group's coordinator for these partitions, grouped by topic. */
  private async fetchCommitted(
    groupId: string,
    tps: readonly { topic: string; partition: number }[],
    pool?: 'group' | 'default',
  ) {
    const coordinator = this.group
      ? await this.group.ensureCoordinator()
      : await findCoordinator(this.cluster, groupId);
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) {
      const l = byTopic.get(tp.topic) ?? [];
      l.push(tp.partition);
      byTopic.set(tp.topic, l);
    }
    try {
      return await fetchCommittedOffsets(
        this.cluster,
        coordinator,
        groupId,
        [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        // read_committed (KIP-447): offsets a transaction has yet to commit are answered UNSTABLE_OFFSET_COMMIT
        // (retriable), so a consumer taking over never starts before them.
        pool ? { pool, requireStable: this.readCommitted } : { requireStable: this.readCommitted },
      );
    } catch (e) {
      // The coordinator moved or went away: the next lookup (the fetcher retries) finds the new one.
      if (e instanceof KafkaError && (isCoordinatorError(e.code) || e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS))
        this.group?.coordinatorMoved();
      throw e;
    }
  }

  /** The group's committed offsets for partitions (default: the assigned ones). */
  async committed(partitions?: readonly TopicPartition[]): Promise<Map<string, bigint>> {
    const groupId = this.opts.groupId;
    if (!groupId) throw new TypeError('committed() needs a groupId');
    const res = await this.fetchCommitted(groupId, partitions ?? this.assignment());
    const out = new Map<string, bigint>();
    for (const r of res) {
      if (r.error) throw r.error;
      out.set(`${r.topic}/${r.partition}`, r.offset);
    }
    return out;
  }

  private currentPositions(): OffsetToCommit[] {
    const out: OffsetToCommit[] = [];
    for (const p of this.fetcher.assigned()) {
      if (p.position !== null) out.push({ topic: p.topic, partition: p.partition, offset: p.position });
    }
    return out;
  }

  private startAutoCommit(): void {
    if (!this.autoCommit || this.commitTimer) return;
    this.commitTimer = setInterval(() => {
      const changed = this.currentPositions().filter((o) => this.fetcher.get(o)?.lastCommitted !== o.offset);
      if (changed.length > 0 && (!this.group || this.group.stable)) this.commitAsync(changed);
    }, this.opts.autoCommitIntervalMs ?? 5_000);
    this.commitTimer.unref();
  }

  // -------------------------------------------------------------------------------------------------------
  // Iteration

  /** Records one by one: `for await (const r of consumer.records()) …`. */
  records(opts: IterateOptions = {}): AsyncGenerator<ConsumerRecord, void, undefined> {
    return this.iteration.records(opts);
  }

  /** Record batches (as fetched, per partition): fewer objects than records() for high-volume consumers. */
  batches(opts: IterateOptions = {}): AsyncGenerator<ConsumerBatch, void, undefined> {
    return this.iteration.batches(opts);
  }

  [Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    return this.records();
  }

  // -------------------------------------------------------------------------------------------------------
  // Group callbacks

  private groupHost(): GroupHost {
    return {
      onAssigned: async (tps) => {
        this.fetcher.add(tps);
        this.cluster.addTopics(tps.map((t) => t.topic));
        await this.callListener(this.opts.onPartitionsAssigned, tps);
        this.fetcher.kick();
        this.fetcher.wake();
      },
      onRevoked: async (tps) => {
        if (this.autoCommit) {
          const offsets: OffsetToCommit[] = [];
          for (const tp of tps) {
            const p = this.fetcher.get(tp);
            if (p && p.position !== null && p.position !== p.lastCommitted) {
              offsets.push({ topic: p.topic, partition: p.partition, offset: p.position });
            }
          }
          await this.commitChain;
          await this.commit(offsets).catch((e: Error) =>
            this.cluster.logger.warn('commit on revoke failed', { error: e.message }),
          );
        }
        await this.callListener(this.opts.onPartitionsRevoked, tps);
        this.fetcher.drop(tps);
      },
      onLost: async (tps) => {
        await this.callListener(this.opts.onPartitionsLost ?? this.opts.onPartitionsRevoked, tps);
        this.fetcher.drop(tps);
      },
      onFatal: (err) => this.fetcher.fail(err),
    };
  }

  private async callListener(l: RebalanceListener | undefined, tps: TopicPartition[]): Promise<void> {
    if (!l) return;
    try {
      await l(tps);
    } catch (e) {
      this.cluster.logger.warn('rebalance listener failed', { error: (e as Error).message });
    }
  }

  // -------------------------------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.fetcher.closed) throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'the consumer is closed');
  }

  /** Leave the group (committing first with autoCommit) and close connections. Iterators end. */
  async close(): Promise<void> {
    if (this.fetcher.closed) return;
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = null;
    try {
      if (this.group) {
        await this.group.stop();
      } else if (this.autoCommit && this.fetcher.assignedCount > 0 && !this.fetcher.fatal) {
        await this.commitChain;
        await this.commit().catch((e: Error) =>
          this.cluster.logger.warn('commit on close failed', { error: e.message }),
        );
      }
      await this.commitChain;
    } finally {
      this.fetcher.close();
      await this.cluster.close();
    }
  }
}
