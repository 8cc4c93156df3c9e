/**
 * One local replica of a partition and all of its state (DESIGN decision 13, Kafka's Partition): its log,
 * its role (leader or follower) in a leader epoch, its replicas and ISR, and as leader each follower's
 * progress, the high watermark (the minimum log end offset of the ISR) and the requests waiting on it: long
 * polls waiting for data, acks=all produces and group coordinator writes waiting for durability.
 *
 * `appendAsLeader` is the one way to write as leader. It appends at once (so writes reach the log in call
 * order) and says when the batch is as durable as `acks` asks: acks=0/1 after the append; acks=all once the
 * high watermark passed it (the ISR has it) and, when the ISR is this replica alone, once an fsync covers it
 * (a single node must not lose an acknowledged write on power loss; the log group-commits: one fsync serves
 * every batch that arrived meanwhile).
 *
 * Only the ReplicaManager changes the role, epoch, replicas and ISR (from the cluster metadata); handlers
 * append, read and wait.
 */
import type { FollowerReplica } from '../cluster/replica-fetcher.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { BatchHeader } from '../protocol/records/batch.js';
import type { AppendInfo, PartitionLog } from '../storage/partition-log.js';

/** Leader side: what a follower's fetches told about it. */
export interface FollowerProgress {
  /** The follower's log end offset, from its last fetch. */
  leo: bigint;
  /** Last time the follower had fetched up to the leader's log end. */
  caughtUpMs: number;
}

export interface AppendOptions {
  /** 0, 1 or -1 (all). */
  acks: number;
  /** How long acks=all waits for the ISR. */
  timeoutMs: number;
  /** acks=all is refused (NOT_ENOUGH_REPLICAS) while the ISR is smaller; omit for no check. */
  minInsyncReplicas?: number;
  /** LogAppendTime topics: the time written into the batches. */
  logAppendTime?: bigint | null;
  /**
   * 'coordinator': a batch the broker writes for a producer (transactional offset commits): its producer epoch
   * is checked, not its sequence (as Kafka's coordinator origin). Default 'client'.
   */
  origin?: 'client' | 'coordinator';
}

export interface LeaderAppend {
  info: AppendInfo;
  /**
   * Resolves when the batch is as durable as acks asked. Rejects with a KafkaError when acks=all was not
   * met (REQUEST_TIMED_OUT, or NOT_LEADER_OR_FOLLOWER once leadership moved), or with the error of a failed
   * fsync.
   */
  durable: Promise<void>;
}

const DURABLE = Promise.resolve();
/** Leader id of a replica whose state the cluster metadata has not given yet. */
export const LEADER_UNKNOWN = -2;

export class Partition implements FollowerReplica {
  leaderEpoch = 0;
  /** The leader's node id; -1: offline (no live ISR member); LEADER_UNKNOWN before the first state. */
  leader = LEADER_UNKNOWN;
  /** Replica node ids, the first the preferred leader. */
  replicas: number[] = [];
  isr: number[] = [];
  /** Leader side: each follower's progress. */
  readonly followers = new Map<number, FollowerProgress>();
  /** Follower side: the leader this replica fetches from, and whether it truncates by epoch first. */
  fetcherLeader: number | undefined;
  /** Follower side: when this replica was handed to its fetcher (Date.now()). */
  followedSinceMs = 0;
  needsTruncation = false;
  /** An ISR change of this partition is being written to the metadata store. */
  isrChanging = false;
  /** Long polls (consumers and followers) waiting for data. */
  private readonly readers = new Set<() => void>();
  /** acks=all waits for the high watermark. */
  private readonly hwWaiters = new Set<() => void>();
  /** Set when leadership is lost: acks=all waits give up. */
  private leadershipLost = false;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly log: PartitionLog,
    /** This node. */
    readonly nodeId: number,
    /**
     * The high watermark to start from: one checkpointed before a restart, else the log start (what the ISR
     * has is learnt again as leader or from the leader: never expose more than was replicated).
     */
    highWatermark: bigint = log.logStartOffset,
  ) {
    log.setHighWatermark(highWatermark);
  }

  get isLeader(): boolean {
    return this.leader === this.nodeId;
  }

  get name(): string {
    return `${this.topic}-${this.index}`;
  }

  // ---- the write path as leader --------------------------------------------------------------------------

  /**
   * Append validated batches as leader (offsets assigned in place, this leader's epoch stamped). Throws a
   * KafkaError when this replica may not take them (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS), or the
   * log's error when the append fails; nothing is appended then.
   */
  appendAsLeader(records: Buffer, batches: BatchHeader[], opts: AppendOptions): LeaderAppend {
    this.checkLeader(opts.acks, opts.minInsyncReplicas);
    const info = this.log.append(records, batches, this.leaderEpoch, opts.logAppendTime ?? null, opts.origin);
    this.advanceHighWatermark();
    this.wakeReaders();
    if (opts.acks !== -1) return { info, durable: DURABLE };
    return { info, durable: this.untilDurable(info.lastOffset + 1n, opts.timeoutMs) };
  }

  /**
   * Whether this replica may take an append with `acks` now (the checks appendAsLeader makes first; a
   * handler may ask before it validates the batches, as Kafka answers these before looking at the records).
   */
  checkLeader(acks: number, minInsyncReplicas?: number): void {
    if (!this.isLeader) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `this node does not lead ${this.name}`);
    }
    if (acks === -1 && minInsyncReplicas !== undefined && this.isr.length < minInsyncReplicas) {
      throw new KafkaError(
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `ISR ${this.isr.join(',')} is smaller than min.insync.replicas ${minInsyncReplicas}`,
      );
    }
  }

  private async untilDurable(end: bigint, timeoutMs: number): Promise<void> {
    if (!(await this.untilHighWatermark(end, timeoutMs))) {
      throw new KafkaError(
        this.isLeader ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_LEADER_OR_FOLLOWER,
        'not replicated to the ISR within the request timeout',
      );
    }
    // Alone in the ISR, replication is no durability: an fsync is (group-committed by the log).
    if (this.isr.length <= 1) await this.log.flush();
  }

  /** Resolves true once the high watermark reaches `end`; false when leadership is lost or `timeoutMs` passes. */
  private untilHighWatermark(end: bigint, timeoutMs: number): Promise<boolean> {
    if (this.log.highWatermark >= end) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const finish = (reached: boolean) => {
        if (timer) clearTimeout(timer);
        timer = null;
        this.hwWaiters.delete(check);
        resolve(reached);
      };
      // Called whenever the high watermark moves or leadership goes; a waiter not yet satisfied stays.
      const check = () => {
        if (this.log.highWatermark >= end) finish(true);
        else if (this.leadershipLost || !this.isLeader) finish(false);
      };
      this.hwWaiters.add(check);
      timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
    });
  }

  // ---- the high watermark and the ISR (leader side) ------------------------------------------------------

  /** HW = the minimum log end offset over the ISR (this leader's own included). Wakes waiters when it moves. */
  advanceHighWatermark(): boolean {
    if (!this.isLeader) return false;
    let hw = this.log.logEndOffset;
    for (const r of this.isr) {
      if (r === this.nodeId) continue;
      const leo = this.followers.get(r)?.leo ?? 0n;
      if (leo < hw) hw = leo;
    }
    if (hw <= this.log.highWatermark) return false;
    this.log.setHighWatermark(hw);
    for (const w of [...this.hwWaiters]) w();
    return true;
  }

  /**
   * A follower fetched from `fetchOffset`: remember how far it got, move the high watermark. Returns whether
   * it caught up enough to join the ISR (the ReplicaManager writes that change).
   */
  followerFetched(replicaId: number, fetchOffset: bigint, nowMs: number): boolean {
    if (!this.isLeader) return false;
    const f = this.followers.get(replicaId);
    if (!f) return false;
    f.leo = fetchOffset;
    const end = this.log.logEndOffset;
    if (fetchOffset >= end) f.caughtUpMs = nowMs;
    if (this.advanceHighWatermark()) this.wakeReaders();
    return !this.isr.includes(replicaId) && fetchOffset >= this.log.highWatermark && fetchOffset >= end;
  }

  /** ISR members (other than this leader) that have not caught up within `lagMaxMs`. */
  laggingReplicas(nowMs: number, lagMaxMs: number): number[] {
    if (!this.isLeader) return [];
    return this.isr.filter((r) => {
      if (r === this.nodeId) return false;
      const f = this.followers.get(r);
      return !f || nowMs - f.caughtUpMs > lagMaxMs;
    });
  }

  /** An ISR change of ours was written: take it, and move the high watermark (a shrink may let it move). */
  isrChanged(isr: number[]): void {
    this.isr = isr;
    if (this.advanceHighWatermark()) this.wakeReaders();
  }

  // ---- role changes (the ReplicaManager, from the cluster metadata) ---------------------------------------

  /** Lead in `epoch`: new epoch start in the log, followers tracked afresh, the high watermark recomputed. */
  becomeLeader(epoch: number, replicas: number[], isr: number[], nowMs: number): void {
    this.leadershipLost = false;
    this.leader = this.nodeId;
    this.leaderEpoch = epoch;
    this.replicas = replicas;
    this.isr = isr;
    this.fetcherLeader = undefined;
    // (An empty log's first epoch is recorded by its first append: a new topic's partitions write no
    // checkpoint each until they get data, as before.)
    if (epoch > 0 || this.log.logEndOffset > 0n) this.log.assignEpochStart(epoch, this.log.logEndOffset);
    this.followers.clear();
    for (const r of replicas) if (r !== this.nodeId) this.followers.set(r, { leo: 0n, caughtUpMs: nowMs });
    if (this.advanceHighWatermark()) this.wakeReaders();
  }

  /** Still the leader in the same epoch: replicas added since (a reassignment) are tracked, removed ones forgotten. */
  updateAsLeader(replicas: number[], isr: number[], nowMs: number): void {
    this.replicas = replicas;
    this.isr = isr;
    for (const r of replicas) {
      if (r !== this.nodeId && !this.followers.has(r)) this.followers.set(r, { leo: 0n, caughtUpMs: nowMs });
    }
    for (const r of [...this.followers.keys()]) if (!replicas.includes(r)) this.followers.delete(r);
    if (this.advanceHighWatermark()) this.wakeReaders();
  }

  /** Follow `leader` (-1: offline) in `epoch`. Waits for acks of a leadership this replica had give up. */
  becomeFollower(leader: number, epoch: number, replicas: number[], isr: number[]): void {
    const wasLeader = this.isLeader;
    this.leader = leader;
    this.leaderEpoch = epoch;
    this.replicas = replicas;
    this.isr = isr;
    this.followers.clear();
    if (wasLeader) this.loseLeadership();
  }

  /** This node no longer serves the replica: every request waiting on it is answered. */
  retire(): void {
    this.loseLeadership();
    this.wakeReaders();
  }

  private loseLeadership(): void {
    this.leadershipLost = true;
    for (const w of [...this.hwWaiters]) w();
  }

  // ---- the follower side (src/cluster/replica-fetcher.ts) -------------------------------------------------

  get logEndOffset(): bigint {
    return this.log.logEndOffset;
  }

  get logStartOffset(): bigint {
    return this.log.logStartOffset;
  }

  get latestEpoch(): number {
    return this.log.latestEpoch;
  }

  /** Batches fetched from the leader, offsets kept; the high watermark the leader sent, up to our log end. */
  appendFromLeader(records: Buffer, leaderHighWatermark: bigint): void {
    if (records.length > 0) this.log.appendAsFollower(records);
    const end = this.log.logEndOffset;
    this.log.setHighWatermark(leaderHighWatermark < end ? leaderHighWatermark : end);
    if (records.length > 0) this.wakeReaders();
  }

  /** Drop a diverged tail: the log ends at `end`. */
  async truncateTo(end: bigint): Promise<void> {
    await this.log.truncateTo(end);
    if (this.log.highWatermark > this.log.logEndOffset) this.log.setHighWatermark(this.log.logEndOffset);
  }

  // ---- long polls ------------------------------------------------------------------------------------------

  /** Call `wake` (once) at the next append or high watermark move; removeReader() takes it back. */
  addReader(wake: () => void): void {
    this.readers.add(wake);
  }

  removeReader(wake: () => void): void {
    this.readers.delete(wake);
  }

  wakeReaders(): void {
    if (this.readers.size === 0) return;
    const ws = [...this.readers];
    this.readers.clear();
    for (const w of ws) w();
  }
}
