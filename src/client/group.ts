/**
 * Consumer-group membership with Kafka's classic protocol (protocol type "consumer"): find the coordinator,
 * JoinGroup (retrying with the member id the broker hands out on MEMBER_ID_REQUIRED), the leader computes the
 * assignment with the chosen assignor, SyncGroup, then heartbeats until a rebalance is needed.
 *
 * Eager assignors (range, roundrobin, sticky): everything is revoked before rejoining. Cooperative-sticky
 * (used when every configured assignor is cooperative, as in the Java client): members keep their partitions
 * while rejoining; after the sync a member revokes only what it lost and rejoins at once, so partitions move
 * in two rebalances without a stop-the-world pause.
 *
 * The consumer (the GroupHost) is told about assigned / revoked / lost partitions; it commits on revoke.
 *
 * A coordinator that moves or goes away (its broker stopped, killed or restarting: NOT_COORDINATOR,
 * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, a lost or refused connection, a broker gone from the
 * metadata, REQUEST_TIMED_OUT) is looked up again and the operation retried after a jittered backoff that grows
 * while it keeps failing; a member fenced meanwhile (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION) rejoins. Only a
 * non-retriable error (e.g. GROUP_AUTHORIZATION_FAILED) stops the member.
 */
import type { Struct } from '../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import { Backoff } from '../util/backoff.js';
import {
  type Assignor,
  type GroupMemberSubscription,
  type RebalanceProtocol,
  toTopicPartitions,
  withholdOwnedElsewhere,
} from './assignors.js';
import type { Cluster } from './cluster.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type TopicPartitions,
} from './consumer-protocol.js';
import { errorFor } from './errors.js';
import { commitOffsets, findCoordinator, isCoordinatorError, type OffsetToCommit } from './group-api.js';
import { backoff, sleep } from './retry.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface GroupHost {
  /** Partitions now assigned to this member (all of them for eager; the added ones for cooperative). */
  onAssigned(partitions: TopicPartition[]): Promise<void>;
  /** Partitions to give up; called before they are released (commit here). */
  onRevoked(partitions: TopicPartition[]): Promise<void>;
  /** Partitions lost without a chance to commit (the member was fenced or fell out of the group). */
  onLost(partitions: TopicPartition[]): Promise<void>;
  /** A non-retriable group error: the consumer stops. */
  onFatal(err: Error): void;
}

export interface GroupOptions {
  groupId: string;
  /** Static membership (KIP-345). */
  groupInstanceId?: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  assignors: Assignor[];
  /** How often the member checks whether its subscribed topics changed (partitions added, pattern matches). */
  metadataCheckMs: number;
  rackId?: string | null;
}

const POOL = 'group';

/** The key of a partition in maps. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class GroupMember {
  memberId = '';
  generationId = -1;
  protocolName: string | null = null;
  leaderId = '';
  /** True between a completed SyncGroup and the next rebalance. */
  stable = false;
  private coordinator = -1;
  private readonly owned = new Map<string, TopicPartition>();
  private topics: string[] = [];
  private pattern: RegExp | null = null;
  private needsJoin = true;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private partitionCounts = new Map<string, number>();
  private lastMetadataCheck = 0;
  readonly protocol: RebalanceProtocol;

  constructor(
    private readonly cluster: Cluster,
    private readonly host: GroupHost,
    private readonly opts: GroupOptions,
  ) {
    if (opts.assignors.length === 0) throw new TypeError('at least one partition assignor is needed');
    this.protocol = opts.assignors.every((a) => a.protocol === 'cooperative') ? 'cooperative' : 'eager';
  }

  /** Partitions currently owned. */
  assignment(): TopicPartition[] {
    return [...this.owned.values()];
  }

  /** Start (or change the subscription of) the membership. */
  subscribe(topics: string[] | RegExp): void {
    if (topics instanceof RegExp) {
      this.pattern = topics;
      this.cluster.trackAllTopics(true);
      this.topics = [];
    } else {
      this.pattern = null;
      this.topics = [...new Set(topics)].sort();
      this.cluster.addTopics(this.topics);
    }
    this.requestRejoin();
    if (!this.loop) {
      this.stopped = false;
      this.loop = this.run().finally(() => {
        this.loop = null;
      });
    }
  }

  requestRejoin(): void {
    this.needsJoin = true;
    this.stable = false;
    this.wake?.();
  }

  /** Revoke (letting the host commit), leave the group and stop. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    if (this.loop) {
      // A JoinGroup can be pending for up to the rebalance timeout: give the loop a moment, then cut it off.
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (this.coordinator >= 0) this.cluster.closeConnection(this.coordinator, POOL);
          resolve();
        }, 2000);
      });
      await Promise.race([this.loop.catch(() => {}), cut]);
      clearTimeout(timer);
      await this.loop?.catch(() => {});
    }
    if (this.owned.size > 0) {
      const all = this.assignment();
      this.owned.clear();
      await this.host.onRevoked(all).catch(() => {});
    }
    if (this.memberId && !this.opts.groupInstanceId) await this.leave();
    this.stable = false;
  }

  /**
   * Commit offsets as this member (current generation). Coordinator moves and other retriable errors are
   * retried, for up to the request timeout (a coordinator failing over takes seconds) and at least `retries`
   * times; REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID fail the commit (the partitions
   * may have moved).
   */
  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    const retries = this.cluster.retry.retries ?? 5;
    const deadline = Date.now() + this.cluster.requestTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      let err: KafkaError | null = null;
      try {
        const coordinator = await this.ensureCoordinator();
        const results = await commitOffsets(
          this.cluster,
          coordinator,
          {
            groupId: this.opts.groupId,
            generationId: this.generationId,
            memberId: this.memberId,
            groupInstanceId: this.opts.groupInstanceId ?? null,
          },
          offsets,
          { pool: POOL },
        );
        err = results.find((r) => r.error)?.error ?? null;
      } catch (e) {
        if (!(e instanceof KafkaError)) throw e;
        err = e;
      }
      if (!err) return;
      if (isCoordinatorError(err.code)) this.coordinator = -1;
      if (
        err.code === ErrorCode.REBALANCE_IN_PROGRESS ||
        err.code === ErrorCode.ILLEGAL_GENERATION ||
        err.code === ErrorCode.UNKNOWN_MEMBER_ID
      ) {
        this.requestRejoin();
        throw err;
      }
      const retriable = err.retriable || err.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      if (!retriable || (attempt >= retries && Date.now() >= deadline) || this.cluster.isClosed) throw err;
      await sleep(backoff(attempt + 1, this.cluster.retry));
    }
  }

  async ensureCoordinator(): Promise<number> {
    if (this.coordinator < 0) this.coordinator = await findCoordinator(this.cluster, this.opts.groupId);
    return this.coordinator;
  }

  /** The coordinator answered as if it were not (any more) the group's: look it up again before the next call. */
  coordinatorMoved(): void {
    this.coordinator = -1;
  }

  // -------------------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const failures = new Backoff({ initialMs: 100, maxMs: 2000 });
    while (!this.stopped) {
      try {
        await this.ensureCoordinator();
        if (this.needsJoin) await this.joinAndSync();
        else await this.heartbeatOnce();
        failures.succeeded(this.cluster.logger, `group ${this.opts.groupId}`);
      } catch (e) {
        if (this.stopped) break;
        const err = e instanceof KafkaError ? e : null;
        if (!err || (!err.retriable && !isRetriableGroupError(err.code))) {
          this.host.onFatal(e as Error);
          this.stopped = true;
          break;
        }
        // The coordinator moved or its broker is gone: find it again (the refresh of the metadata comes with
        // the next request to a broker that is not in it).
        if (isCoordinatorError(err.code) || err.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
          this.coordinator = -1;
        }
        await this.pause(failures.failed(this.cluster.logger, `group ${this.opts.groupId}`, err.message));
      }
    }
  }

  /** Sleep that a rejoin request or stop() interrupts. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  private async heartbeatOnce(): Promise<void> {
    await this.pause(this.opts.heartbeatIntervalMs);
    if (this.stopped || this.needsJoin) return;
    await this.checkMetadata();
    if (this.needsJoin) return;
    const res = await this.cluster.request(
      this.coordinator,
      ApiKey.Heartbeat,
      {
        groupId: this.opts.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
      },
      { pool: POOL, timeoutMs: Math.min(this.cluster.requestTimeoutMs, this.opts.sessionTimeoutMs) },
    );
    const code = res.errorCode as number;
    if (code === 0 || this.stopped) return;
    if (code === ErrorCode.REBALANCE_IN_PROGRESS) {
      this.requestRejoin();
      return;
    }
    if (code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.UNKNOWN_MEMBER_ID) {
      await this.loseAll(code === ErrorCode.UNKNOWN_MEMBER_ID);
      return;
    }
    throw errorFor(code, `heartbeat in group ${this.opts.groupId}`);
  }

  /** Rejoin when a subscribed topic's partition count changed or a pattern matches other topics. */
  private async checkMetadata(): Promise<void> {
    if (Date.now() - this.lastMetadataCheck < this.opts.metadataCheckMs) return;
    this.lastMetadataCheck = Date.now();
    this.cluster.markStale();
    await this.cluster.refreshMetadata().catch(() => {});
    const topics = this.currentTopics();
    if (this.pattern && topics.join('\n') !== [...this.partitionCounts.keys()].sort().join('\n')) {
      this.requestRejoin();
      return;
    }
    for (const t of topics) {
      const n = this.cluster.partitionCount(t);
      if (n > 0 && n !== this.partitionCounts.get(t)) {
        this.requestRejoin();
        return;
      }
    }
  }

  private currentTopics(): string[] {
    if (!this.pattern) return this.topics;
    const re = this.pattern;
    return [...this.cluster.topics.values()]
      .filter((t) => !t.isInternal && re.test(t.name))
      .map((t) => t.name)
      .sort();
  }

  private async loseAll(resetMemberId: boolean): Promise<void> {
    this.generationId = -1;
    if (resetMemberId) this.memberId = '';
    this.stable = false;
    this.needsJoin = true;
    if (this.owned.size > 0) {
      const lost = this.assignment();
      this.owned.clear();
      await this.host.onLost(lost).catch(() => {});
    }
  }

  private ownedTopicPartitions(): TopicPartitions[] {
    const m = new Map<string, number[]>();
    for (const tp of this.owned.values()) {
      let l = m.get(tp.topic);
      if (!l) {
        l = [];
        m.set(tp.topic, l);
      }
      l.push(tp.partition);
    }
    return toTopicPartitions(m);
  }

  private async joinAndSync(): Promise<void> {
    try {
      await this.joinAndSyncOnce();
    } catch (e) {
      // A JoinGroup or SyncGroup that failed (the coordinator went away mid-rebalance) is not a membership:
      // join again, or the member would heartbeat on in its old generation owning nothing.
      this.needsJoin = true;
      this.stable = false;
      throw e;
    }
  }

  private async joinAndSyncOnce(): Promise<void> {
    this.stable = false;
    if (this.protocol === 'eager' && this.owned.size > 0) {
      const all = this.assignment();
      this.owned.clear();
      await this.host.onRevoked(all).catch(() => {});
    }
    if (this.pattern) {
      await this.cluster.refreshMetadata();
    }
    const topics = this.currentTopics();
    if (this.pattern) this.cluster.addTopics(topics);
    const owned = this.ownedTopicPartitions();
    const protocols = this.opts.assignors.map((a) => ({
      name: a.name,
      metadata: encodeSubscription({
        topics,
        ownedPartitions: owned,
        generationId: this.generationId,
        userData: a.userData?.(owned, this.generationId) ?? null,
        rackId: this.opts.rackId ?? null,
      }),
    }));
    this.needsJoin = false;
    const join = await this.cluster.request(
      this.coordinator,
      ApiKey.JoinGroup,
      {
        groupId: this.opts.groupId,
        sessionTimeoutMs: this.opts.sessionTimeoutMs,
        rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols,
        reason: null,
      },
      { pool: POOL, timeoutMs: Math.max(this.cluster.requestTimeoutMs, this.opts.rebalanceTimeoutMs + 5000) },
    );
    const code = join.errorCode as number;
    if (code !== 0) {
      this.needsJoin = true;
      if (code === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId;
        return;
      }
      if (code === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        return;
      }
      if (code === ErrorCode.REBALANCE_IN_PROGRESS) return;
      if (code === ErrorCode.ILLEGAL_GENERATION) {
        this.generationId = -1;
        return;
      }
      throw errorFor(code, `join group ${this.opts.groupId}`);
    }
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    this.protocolName = join.protocolName ?? null;
    this.leaderId = join.leader;
    const assignor = this.opts.assignors.find((a) => a.name === this.protocolName);
    if (!assignor) {
      throw new KafkaError(
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
        `group ${this.opts.groupId} chose assignor ${this.protocolName}, which this member does not have`,
      );
    }
    let assignments: Struct[] = [];
    if (join.leader === join.memberId) {
      assignments = await this.leaderAssign(assignor, join.members as Struct[]);
    }
    const sync = await this.cluster.request(
      this.coordinator,
      ApiKey.SyncGroup,
      {
        groupId: this.opts.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: this.protocolName,
        assignments,
      },
      { pool: POOL, timeoutMs: Math.max(this.cluster.requestTimeoutMs, this.opts.rebalanceTimeoutMs + 5000) },
    );
    const syncCode = sync.errorCode as number;
    if (syncCode !== 0) {
      this.needsJoin = true;
      if (syncCode === ErrorCode.REBALANCE_IN_PROGRESS) return;
      if (syncCode === ErrorCode.UNKNOWN_MEMBER_ID || syncCode === ErrorCode.ILLEGAL_GENERATION) {
        await this.loseAll(syncCode === ErrorCode.UNKNOWN_MEMBER_ID);
        return;
      }
      throw errorFor(syncCode, `sync group ${this.opts.groupId}`);
    }
    const assigned = decodeAssignment(sync.assignment as Buffer);
    const next = new Map<string, TopicPartition>();
    for (const tp of assigned.assignedPartitions) {
      for (const p of tp.partitions) next.set(tpKey(tp.topic, p), { topic: tp.topic, partition: p });
    }
    this.partitionCounts = new Map(topics.map((t) => [t, this.cluster.partitionCount(t)]));
    this.lastMetadataCheck = Date.now();
    if (this.protocol === 'cooperative') {
      const revoked = [...this.owned].filter(([k]) => !next.has(k)).map(([, tp]) => tp);
      const added = [...next].filter(([k]) => !this.owned.has(k)).map(([, tp]) => tp);
      if (revoked.length > 0) {
        for (const tp of revoked) this.owned.delete(tpKey(tp.topic, tp.partition));
        await this.host.onRevoked(revoked).catch(() => {});
        // Partitions given up go to their new owner in the next rebalance: rejoin now.
        this.needsJoin = true;
      }
      for (const [k, tp] of next) this.owned.set(k, tp);
      if (added.length > 0) await this.host.onAssigned(added).catch(() => {});
    } else {
      this.owned.clear();
      for (const [k, tp] of next) this.owned.set(k, tp);
      await this.host.onAssigned([...next.values()]).catch(() => {});
    }
    this.stable = !this.needsJoin;
  }

  private async leaderAssign(assignor: Assignor, members: Struct[]): Promise<Struct[]> {
    const subs: GroupMemberSubscription[] = members.map((m) => {
      const s = decodeSubscription(m.metadata as Buffer);
      return {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId ?? null,
        topics: s.topics,
        userData: s.userData,
        ownedPartitions: s.ownedPartitions,
        generationId: s.generationId,
      };
    });
    const allTopics = [...new Set(subs.flatMap((s) => s.topics))];
    const md = await this.cluster.metadataFor(allTopics, { refresh: true });
    const counts = new Map<string, number>();
    for (const [t, info] of md) if (info.partitions.length > 0) counts.set(t, info.partitions.length);
    let target = assignor.assign(subs, counts);
    if (assignor.protocol === 'cooperative') target = withholdOwnedElsewhere(target, subs);
    return subs.map((s) => ({
      memberId: s.memberId,
      assignment: encodeAssignment({ assignedPartitions: toTopicPartitions(target.get(s.memberId)) }),
    }));
  }

  /** LeaveGroup (retried once on a moved coordinator); errors are logged: the session timeout ends us anyway. */
  private async leave(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let code = 0;
      try {
        const coordinator = await this.ensureCoordinator();
        const conn = await this.cluster.connection(coordinator, POOL);
        const body =
          conn.version(ApiKey.LeaveGroup) >= 3
            ? {
                groupId: this.opts.groupId,
                members: [
                  { memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null, reason: null },
                ],
              }
            : { groupId: this.opts.groupId, memberId: this.memberId };
        const res = await conn.request(ApiKey.LeaveGroup, body, { timeoutMs: 5000 });
        code = (res.errorCode as number) || ((res.members as Struct[] | undefined)?.[0]?.errorCode ?? 0);
      } catch (e) {
        code = e instanceof KafkaError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      }
      if (code === 0) break;
      this.cluster.logger.warn('leave group failed', {
        group: this.opts.groupId,
        error: errorFor(code, 'leave').message,
      });
      if (!isCoordinatorError(code)) break;
      this.coordinator = -1;
    }
    this.memberId = '';
    this.generationId = -1;
  }
}

/** Group errors worth another attempt (besides the retriable ones). */
function isRetriableGroupError(code: number): boolean {
  return (
    code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ||
    code === ErrorCode.REBALANCE_IN_PROGRESS ||
    code === ErrorCode.UNKNOWN_MEMBER_ID ||
    code === ErrorCode.ILLEGAL_GENERATION ||
    code === ErrorCode.MEMBER_ID_REQUIRED
  );
}
