/**
 * The group coordinator: Kafka's classic group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup with
 * client-side assignment, generations, member ids, static membership) and committed offsets.
 *
 * Every group is a {@link Group} whose state changes go through the transition table of state.ts. Requests
 * that must wait (JoinGroup until the rebalance completes, SyncGroup until the leader's assignment) hold a
 * callback in the member; timers drive session expiry, the rebalance timeout and the initial rebalance delay.
 *
 * Durability: committed offsets and group metadata are written as records (records.ts) through a
 * {@link GroupStore} — in the broker, appends to the compacted `__consumer_offsets` topic — and a response is
 * sent only once the write is durable. On start the store replays the topic into {@link loadRecord}, so a
 * restarted broker has every group's offsets, generation and members back.
 *
 * Transactional offset commits (TxnOffsetCommit, KIP-98/447) are written as the producer's transactional records
 * and held pending per producer; the producer's COMMIT marker in this partition makes them the group's committed
 * offsets, its ABORT marker drops them (completeTransaction, and loadMarker on replay). OffsetFetch with
 * require_stable answers UNSTABLE_OFFSET_COMMIT for a partition with a commit pending.
 *
 * All methods return Kafka error codes; none throws across to the broker.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Logger } from '../util/logger.js';
import type { CoordinatorConfig } from './config.js';
import {
  type CommittedOffset,
  Group,
  type JoinResult,
  type Member,
  offsetKeyOf,
  type Protocol,
  type SyncResult,
} from './group.js';
import {
  BadRecordError,
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  type GroupValue,
  groupKey,
  groupValue,
  offsetKey,
  offsetValue,
} from './records.js';
import { GroupState, parseGroupState } from './state.js';

export interface GroupRecord {
  key: Buffer;
  /** null = tombstone */
  value: Buffer | null;
}

/** Where the coordinator's records go. */
export interface GroupStore {
  /**
   * Append the records of one group. The append itself happens synchronously (so records reach the log in
   * call order) and throws a KafkaError if it fails; the promise resolves once the records are durable.
   */
  append(groupId: string, records: GroupRecord[], txn?: ProducerOfTxn): Promise<void>;
}

/** The producer a transactional offset commit belongs to (TxnOffsetCommit). */
export interface ProducerOfTxn {
  producerId: bigint;
  producerEpoch: number;
}

export interface JoinRequest {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+: an unknown member first gets MEMBER_ID_REQUIRED with its id. */
  requireKnownMemberId: boolean;
}

export interface SyncRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface LeaveMember {
  memberId: string;
  groupInstanceId: string | null;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
}

export interface FetchedOffset {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface GroupDescription {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

const EMPTY = Buffer.alloc(0);

function joinError(memberId: string, errorCode: number): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

/** A failed transactional offset commit: the producer's fencing as it is, the rest as for OffsetCommit. */
function txnStoreErrorCode(e: unknown): number {
  if (e instanceof KafkaError && e.code === ErrorCode.INVALID_PRODUCER_EPOCH) return e.code;
  return storeErrorCode(e);
}

/** Map a failed write to the error code Kafka's coordinator answers with. */
function storeErrorCode(e: unknown): number {
  if (e instanceof KafkaError) {
    switch (e.code) {
      case ErrorCode.MESSAGE_TOO_LARGE:
      case ErrorCode.RECORD_LIST_TOO_LARGE:
        return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
      case ErrorCode.NOT_LEADER_OR_FOLLOWER:
      case ErrorCode.KAFKA_STORAGE_ERROR:
        return ErrorCode.NOT_COORDINATOR;
      default:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Protocol;
    const y = b[i] as Protocol;
    if (x.name !== y.name || !x.metadata.equals(y.metadata)) return false;
  }
  return true;
}

export class GroupCoordinator {
  readonly groups = new Map<string, Group>();
  private expiryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Numbers offset-commit writes (Group.pendingCommits). */
  private commitWrites = 0;
  /** For tests and metrics: groups removed by offset expiry so far. */
  expiredGroups = 0;
  /** Transactional offset commits waiting for their producer's marker: producer id → group → offset key → offset. */
  private readonly txnOffsets = new Map<bigint, Map<string, Map<string, CommittedOffset>>>();

  constructor(
    readonly config: CoordinatorConfig,
    private readonly store: GroupStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Begin periodic offset expiry. Call after loading. */
  start(): void {
    this.stopped = false;
    this.expiryTimer = setInterval(() => {
      this.expireOffsets().catch((e: unknown) => this.log.error('offset expiry failed', { error: e }));
    }, this.config.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
  }

  /** Stop timers and answer every waiting JoinGroup / SyncGroup with NOT_COORDINATOR. */
  stop(): void {
    this.stopped = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.expiryTimer = null;
    for (const g of this.groups.values()) {
      this.clearGroupTimers(g);
      for (const m of g.members.values()) {
        if (m.heartbeatTimer) clearTimeout(m.heartbeatTimer);
        m.heartbeatTimer = null;
        this.answerJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        this.answerSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }

  private clearGroupTimers(g: Group): void {
    if (g.joinTimer) clearTimeout(g.joinTimer);
    if (g.syncTimer) clearTimeout(g.syncTimer);
    g.joinTimer = null;
    g.syncTimer = null;
    for (const t of g.pendingMembers.values()) clearTimeout(t);
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      if (this.stopped) return;
      try {
        fn();
      } catch (e) {
        this.log.error('group coordinator timer failed', { error: e instanceof Error ? (e.stack ?? e.message) : e });
      }
    }, ms);
    // Not unref'd: a waiting JoinGroup is real work. stop() clears every timer.
    return t;
  }

  // ---- JoinGroup ----------------------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> {
    if (this.stopped) return Promise.resolve(joinError(req.memberId, ErrorCode.NOT_COORDINATOR));
    if (req.groupId === '') return Promise.resolve(joinError(req.memberId, ErrorCode.INVALID_GROUP_ID));
    if (
      req.sessionTimeoutMs < this.config.minSessionTimeoutMs ||
      req.sessionTimeoutMs > this.config.maxSessionTimeoutMs
    ) {
      return Promise.resolve(joinError(req.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const unknown = req.memberId === '';
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (!unknown) return Promise.resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new Group(req.groupId, this.now());
      this.groups.set(req.groupId, group);
    }
    const g = group;
    return new Promise<JoinResult>((resolve) => {
      if (unknown) this.newMemberJoin(g, req, resolve);
      else this.currentMemberJoin(g, req, resolve);
    }).then((r) => {
      if (r.errorCode !== ErrorCode.NONE) this.dropIfUnused(g);
      return r;
    });
  }

  /** A group created by a JoinGroup that failed, with nothing in it, is forgotten (it was never written). */
  private dropIfUnused(g: Group): void {
    if (
      g.is(GroupState.Empty) &&
      g.generationId === 0 &&
      g.members.size === 0 &&
      g.pendingMembers.size === 0 &&
      g.offsets.size === 0 &&
      this.groups.get(g.groupId) === g
    ) {
      this.groups.delete(g.groupId);
    }
  }

  private newMemberJoin(g: Group, req: JoinRequest, cb: (r: JoinResult) => void): void {
    if (g.is(GroupState.Dead)) {
      cb(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!g.supportsProtocols(req.protocolType, req.protocols)) {
      cb(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const replacing = req.groupInstanceId !== null && g.staticMembers.has(req.groupInstanceId);
    if (!replacing && g.members.size + g.pendingMembers.size >= this.config.maxSize) {
      cb(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
      return;
    }
    const memberId = `${req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const old = g.staticMembers.get(req.groupInstanceId);
      if (old !== undefined) this.replaceStaticMember(g, old, memberId, req.groupInstanceId, req, cb);
      else this.addMemberAndRebalance(g, memberId, req, cb);
    } else if (req.requireKnownMemberId) {
      // KIP-394: hand out the id; the member must rejoin with it (within a session timeout).
      g.pendingMembers.set(
        memberId,
        this.timer(req.sessionTimeoutMs, () => this.expirePendingMember(g, memberId)),
      );
      cb(joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(g, memberId, req, cb);
    }
  }

  private expirePendingMember(g: Group, memberId: string): void {
    if (!g.pendingMembers.delete(memberId)) return;
    this.log.debug('pending member expired', { group: g.groupId, member: memberId });
    if (g.is(GroupState.PreparingRebalance)) this.tryCompleteJoin(g);
  }

  private currentMemberJoin(g: Group, req: JoinRequest, cb: (r: JoinResult) => void): void {
    const id = req.memberId;
    if (g.is(GroupState.Dead)) {
      cb(joinError(id, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!g.supportsProtocols(req.protocolType, req.protocols)) {
      cb(joinError(id, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const pending = g.pendingMembers.get(id);
    if (pending !== undefined) {
      clearTimeout(pending);
      g.pendingMembers.delete(id);
      this.addMemberAndRebalance(g, id, req, cb);
      return;
    }
    if (g.isStaticMemberFenced(req.groupInstanceId, id)) {
      cb(joinError(id, ErrorCode.FENCED_INSTANCE_ID));
      return;
    }
    const m = g.members.get(id);
    if (!m) {
      cb(joinError(id, ErrorCode.UNKNOWN_MEMBER_ID));
      return;
    }
    switch (g.state) {
      case GroupState.PreparingRebalance:
        this.updateMemberAndRebalance(g, m, req, cb);
        return;
      case GroupState.CompletingRebalance:
        // Same metadata: it probably missed the JoinGroup response; give it the current generation again.
        if (sameProtocols(m.protocols, req.protocols)) {
          cb(this.currentGeneration(g, m));
          return;
        }
        this.updateMemberAndRebalance(g, m, req, cb);
        return;
      case GroupState.Stable:
        if (g.isLeader(id) || !sameProtocols(m.protocols, req.protocols)) {
          this.updateMemberAndRebalance(g, m, req, cb);
          return;
        }
        this.scheduleHeartbeat(g, m);
        cb(this.currentGeneration(g, m));
        return;
      default:
        cb(joinError(id, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  private currentGeneration(g: Group, m: Member, skipAssignment = false): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? '',
      skipAssignment,
      memberId: m.memberId,
      members: g.isLeader(m.memberId) ? this.memberList(g) : [],
    };
  }

  private memberList(g: Group): JoinResult['members'] {
    return [...g.members.values()].map((x) => ({
      memberId: x.memberId,
      groupInstanceId: x.groupInstanceId,
      metadata: g.metadataFor(x, g.protocolName),
    }));
  }

  private addMemberAndRebalance(g: Group, memberId: string, req: JoinRequest, cb: (r: JoinResult) => void): void {
    const m: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      awaitingJoin: cb,
      awaitingSync: null,
      isNew: true,
      lastHeartbeatMs: this.now(),
      heartbeatTimer: null,
    };
    if (g.is(GroupState.PreparingRebalance) && g.generationId === 0) g.newMemberAdded = true;
    g.add(m);
    this.scheduleHeartbeat(g, m);
    this.log.debug('member joined', { group: g.groupId, member: memberId, state: g.state });
    this.maybePrepareRebalance(g, `member ${memberId} joined`);
    this.tryCompleteJoin(g);
  }

  private updateMemberAndRebalance(g: Group, m: Member, req: JoinRequest, cb: (r: JoinResult) => void): void {
    m.protocols = req.protocols;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    this.setAwaitingJoin(m, cb);
    this.maybePrepareRebalance(g, `member ${m.memberId} rejoined`);
    this.tryCompleteJoin(g);
  }

  private setAwaitingJoin(m: Member, cb: (r: JoinResult) => void): void {
    // A superseded JoinGroup must still be answered: responses on a connection go out in request order.
    this.answerJoin(m, joinError(m.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    m.awaitingJoin = cb;
  }

  private answerJoin(m: Member, r: JoinResult): void {
    const cb = m.awaitingJoin;
    m.awaitingJoin = null;
    cb?.(r);
  }

  private answerSync(m: Member, r: SyncResult): void {
    const cb = m.awaitingSync;
    m.awaitingSync = null;
    cb?.(r);
  }

  /** A static member rejoined without its member id: it takes over the old member's place. */
  private replaceStaticMember(
    g: Group,
    oldId: string,
    newId: string,
    instanceId: string,
    req: JoinRequest,
    cb: (r: JoinResult) => void,
  ): void {
    const old = g.members.get(oldId)!;
    if (old.heartbeatTimer) clearTimeout(old.heartbeatTimer);
    this.answerJoin(old, joinError(oldId, ErrorCode.FENCED_INSTANCE_ID));
    this.answerSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const wasLeader = g.isLeader(oldId);
    const wasPendingSync = g.pendingSync.delete(oldId);
    g.members.delete(oldId);
    const m: Member = {
      ...old,
      memberId: newId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      protocols: req.protocols,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      awaitingJoin: null,
      awaitingSync: null,
      isNew: false,
      heartbeatTimer: null,
    };
    g.members.set(newId, m);
    g.staticMembers.set(instanceId, newId);
    if (wasLeader) g.leaderId = newId;
    if (wasPendingSync) g.pendingSync.add(newId);
    this.scheduleHeartbeat(g, m);
    this.log.info('static member replaced', {
      group: g.groupId,
      instance: req.groupInstanceId,
      old: oldId,
      new: newId,
    });
    switch (g.state) {
      case GroupState.Stable: {
        if (g.selectProtocol() === g.protocolName) {
          // Nothing changes for the others: persist the new member id and give it the current generation.
          const result = this.currentGeneration(g, m, g.isLeader(newId));
          this.persistGroup(g).then(
            (code) => cb(code === ErrorCode.NONE ? result : joinError(newId, code)),
            () => cb(joinError(newId, ErrorCode.UNKNOWN_SERVER_ERROR)),
          );
          return;
        }
        m.awaitingJoin = cb;
        this.maybePrepareRebalance(g, `static member ${req.groupInstanceId} changed protocols`);
        return;
      }
      case GroupState.CompletingRebalance:
        m.awaitingJoin = cb;
        this.prepareRebalance(g, `static member ${req.groupInstanceId} rejoined during CompletingRebalance`);
        return;
      case GroupState.PreparingRebalance:
        m.awaitingJoin = cb;
        this.tryCompleteJoin(g);
        return;
      default:
        cb(joinError(newId, ErrorCode.UNKNOWN_SERVER_ERROR));
    }
  }

  private maybePrepareRebalance(g: Group, reason: string): void {
    if (g.is(GroupState.Stable) || g.is(GroupState.CompletingRebalance) || g.is(GroupState.Empty)) {
      this.prepareRebalance(g, reason);
    }
  }

  private prepareRebalance(g: Group, reason: string): void {
    if (g.is(GroupState.CompletingRebalance)) this.resetAndPropagateAssignmentError(g, ErrorCode.REBALANCE_IN_PROGRESS);
    if (g.syncTimer) clearTimeout(g.syncTimer);
    g.syncTimer = null;
    g.pendingSync.clear();
    if (g.joinTimer) clearTimeout(g.joinTimer);
    const rebalanceTimeout = g.rebalanceTimeoutMs;
    if (g.is(GroupState.Empty)) {
      const delay = Math.min(this.config.initialRebalanceDelayMs, rebalanceTimeout);
      g.newMemberAdded = false;
      this.scheduleInitialJoin(g, delay, Math.max(rebalanceTimeout - delay, 0));
    } else {
      g.joinTimer = this.timer(rebalanceTimeout, () => this.completeJoin(g));
    }
    g.transitionTo(GroupState.PreparingRebalance, this.now());
    this.log.info('preparing to rebalance group', {
      group: g.groupId,
      generation: g.generationId,
      members: g.members.size,
      reason,
    });
  }

  /** The first rebalance of an empty group waits for more members, extending while they keep coming. */
  private scheduleInitialJoin(g: Group, delay: number, remaining: number): void {
    g.joinTimer = this.timer(delay, () => {
      g.joinTimer = null;
      if (!g.is(GroupState.PreparingRebalance)) return;
      if (g.newMemberAdded && remaining > 0) {
        g.newMemberAdded = false;
        const next = Math.min(this.config.initialRebalanceDelayMs, remaining);
        this.scheduleInitialJoin(g, next, Math.max(remaining - next, 0));
      } else {
        this.completeJoin(g);
      }
    });
    (g.joinTimer as NodeJS.Timeout & { initial?: boolean }).initial = true;
  }

  /** Complete the join phase early once every known member has rejoined (not during the initial delay). */
  private tryCompleteJoin(g: Group): void {
    if (!g.is(GroupState.PreparingRebalance)) return;
    const t = g.joinTimer as (NodeJS.Timeout & { initial?: boolean }) | null;
    if (t?.initial) return;
    if (g.hasAllMembersJoined()) this.completeJoin(g);
  }

  private completeJoin(g: Group): void {
    if (g.joinTimer) clearTimeout(g.joinTimer);
    g.joinTimer = null;
    if (!g.is(GroupState.PreparingRebalance)) return;
    // Dynamic members that did not rejoin in time leave; static ones stay until their session expires.
    for (const m of [...g.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) {
        this.log.info('member did not rejoin in time; removing it', { group: g.groupId, member: m.memberId });
        if (m.heartbeatTimer) clearTimeout(m.heartbeatTimer);
        this.answerSync(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        g.remove(m.memberId);
      }
    }
    if (!this.electJoinedLeader(g) && g.members.size > 0) {
      // Nobody rejoined: wait another rebalance timeout for session expiry to remove the silent members.
      this.log.warn('no member rejoined; waiting for sessions to expire', { group: g.groupId });
      g.joinTimer = this.timer(g.rebalanceTimeoutMs, () => this.completeJoin(g));
      return;
    }
    const now = this.now();
    g.generationId++;
    if (g.members.size > 0) {
      g.protocolName = g.selectProtocol();
      g.transitionTo(GroupState.CompletingRebalance, now);
    } else {
      g.protocolName = null;
      g.transitionTo(GroupState.Empty, now);
    }
    this.log.info('group rebalanced', {
      group: g.groupId,
      generation: g.generationId,
      state: g.state,
      protocol: g.protocolName,
      members: g.members.size,
    });
    if (g.is(GroupState.Empty)) {
      void this.persistGroup(g);
      return;
    }
    for (const m of g.members.values()) {
      if (!m.awaitingJoin) continue;
      const r = this.currentGeneration(g, m);
      m.isNew = false;
      this.answerJoin(m, r);
      this.scheduleHeartbeat(g, m);
    }
    // Members must send SyncGroup within the rebalance timeout, or they are removed.
    for (const id of g.members.keys()) g.pendingSync.add(id);
    const generation = g.generationId;
    g.syncTimer = this.timer(g.rebalanceTimeoutMs, () => this.expirePendingSync(g, generation));
  }

  private electJoinedLeader(g: Group): boolean {
    if (g.leaderId !== null && g.members.get(g.leaderId)?.awaitingJoin) return true;
    for (const m of g.members.values()) {
      if (m.awaitingJoin) {
        g.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private expirePendingSync(g: Group, generation: number): void {
    g.syncTimer = null;
    if (g.generationId !== generation || g.pendingSync.size === 0) return;
    if (!g.is(GroupState.CompletingRebalance) && !g.is(GroupState.Stable)) return;
    const late = [...g.pendingSync];
    this.log.info('members did not send SyncGroup in time; removing them', { group: g.groupId, members: late });
    for (const id of late) {
      const m = g.members.get(id);
      if (!m) continue;
      if (m.heartbeatTimer) clearTimeout(m.heartbeatTimer);
      this.answerJoin(m, joinError(id, ErrorCode.UNKNOWN_MEMBER_ID));
      this.answerSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      g.remove(id);
    }
    g.pendingSync.clear();
    this.maybePrepareRebalance(g, 'members did not sync in time');
  }

  private resetAndPropagateAssignmentError(g: Group, errorCode: number): void {
    for (const m of g.members.values()) {
      m.assignment = EMPTY;
      this.answerSync(m, syncError(errorCode));
    }
  }

  // ---- heartbeats and session expiry ---------------------------------------------------------------------

  private scheduleHeartbeat(g: Group, m: Member): void {
    m.lastHeartbeatMs = this.now();
    if (m.heartbeatTimer) clearTimeout(m.heartbeatTimer);
    const timeout = m.isNew && m.awaitingJoin ? this.config.newMemberJoinTimeoutMs : m.sessionTimeoutMs;
    m.heartbeatTimer = this.timer(timeout, () => this.expireHeartbeat(g, m));
  }

  private expireHeartbeat(g: Group, m: Member): void {
    m.heartbeatTimer = null;
    if (g.members.get(m.memberId) !== m) return;
    // A known member waiting in JoinGroup is alive: the join completes (or times out) on its own.
    if (m.awaitingJoin && !m.isNew) return;
    this.log.info('member session expired; removing it', {
      group: g.groupId,
      member: m.memberId,
      sessionTimeoutMs: m.sessionTimeoutMs,
    });
    this.removeMemberAndUpdateGroup(g, m);
  }

  private removeMemberAndUpdateGroup(g: Group, m: Member): void {
    if (m.heartbeatTimer) clearTimeout(m.heartbeatTimer);
    m.heartbeatTimer = null;
    this.answerJoin(m, joinError(m.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    this.answerSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    g.remove(m.memberId);
    switch (g.state) {
      case GroupState.Stable:
      case GroupState.CompletingRebalance:
        this.maybePrepareRebalance(g, `member ${m.memberId} left`);
        break;
      case GroupState.PreparingRebalance:
        this.tryCompleteJoin(g);
        break;
      default:
        break;
    }
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const g = this.groups.get(groupId);
    if (!g) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (g.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (g.isStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    const m = g.members.get(memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (g.state) {
      case GroupState.Empty:
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case GroupState.CompletingRebalance:
      case GroupState.Stable:
        this.scheduleHeartbeat(g, m);
        return ErrorCode.NONE;
      case GroupState.PreparingRebalance:
        this.scheduleHeartbeat(g, m);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
  }

  // ---- SyncGroup -----------------------------------------------------------------------------------------

  sync(req: SyncRequest): Promise<SyncResult> {
    const fail = (code: number) => Promise.resolve(syncError(code));
    if (this.stopped) return fail(ErrorCode.NOT_COORDINATOR);
    if (req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    const g = this.groups.get(req.groupId);
    if (!g) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (g.is(GroupState.Dead)) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (g.isStaticMemberFenced(req.groupInstanceId, req.memberId)) return fail(ErrorCode.FENCED_INSTANCE_ID);
    const m = g.members.get(req.memberId);
    if (!m) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== g.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    if (
      (req.protocolType !== null && req.protocolType !== g.protocolType) ||
      (req.protocolName !== null && req.protocolName !== g.protocolName)
    ) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (g.state) {
      case GroupState.Empty:
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      case GroupState.PreparingRebalance:
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case GroupState.Stable:
        g.pendingSync.delete(m.memberId);
        this.scheduleHeartbeat(g, m);
        return Promise.resolve({
          errorCode: ErrorCode.NONE,
          protocolType: g.protocolType,
          protocolName: g.protocolName,
          assignment: m.assignment,
        });
      case GroupState.CompletingRebalance:
        break;
      default:
        return fail(ErrorCode.UNKNOWN_SERVER_ERROR);
    }
    g.pendingSync.delete(m.memberId);
    this.scheduleHeartbeat(g, m);
    const result = new Promise<SyncResult>((resolve) => {
      this.answerSync(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      m.awaitingSync = resolve;
    });
    if (g.isLeader(m.memberId)) this.leaderSync(g, req.assignments);
    return result;
  }

  private leaderSync(g: Group, assignments: { memberId: string; assignment: Buffer }[]): void {
    const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    const generation = g.generationId;
    const planned = new Map<string, Buffer>();
    for (const id of g.members.keys()) planned.set(id, given.get(id) ?? EMPTY);
    this.persistGroup(g, planned).then(
      (code) => {
        if (g.generationId !== generation || !g.is(GroupState.CompletingRebalance)) return;
        if (code !== ErrorCode.NONE) {
          this.resetAndPropagateAssignmentError(g, code);
          this.maybePrepareRebalance(g, 'storing the group failed');
          return;
        }
        for (const m of g.members.values()) m.assignment = planned.get(m.memberId) ?? EMPTY;
        g.transitionTo(GroupState.Stable, this.now());
        for (const m of g.members.values()) {
          this.answerSync(m, {
            errorCode: ErrorCode.NONE,
            protocolType: g.protocolType,
            protocolName: g.protocolName,
            assignment: m.assignment,
          });
        }
        this.log.info('group stable', { group: g.groupId, generation: g.generationId, members: g.members.size });
      },
      (e: unknown) => this.log.error('leader sync failed', { group: g.groupId, error: e }),
    );
  }

  // ---- LeaveGroup ----------------------------------------------------------------------------------------

  leave(
    groupId: string,
    members: LeaveMember[],
  ): { errorCode: number; members: (LeaveMember & { errorCode: number })[] } {
    if (this.stopped) return { errorCode: ErrorCode.NOT_COORDINATOR, members: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const g = this.groups.get(groupId);
    if (!g)
      return {
        errorCode: ErrorCode.NONE,
        members: members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    if (g.is(GroupState.Dead)) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const out = members.map((lm) => ({ ...lm, errorCode: this.leaveOne(g, lm) }));
    return { errorCode: ErrorCode.NONE, members: out };
  }

  private leaveOne(g: Group, lm: LeaveMember): number {
    let memberId = lm.memberId;
    if (lm.groupInstanceId !== null) {
      const current = g.staticMembers.get(lm.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== '' && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = current;
    } else {
      const pending = g.pendingMembers.get(memberId);
      if (pending !== undefined) {
        clearTimeout(pending);
        g.pendingMembers.delete(memberId);
        if (g.is(GroupState.PreparingRebalance)) this.tryCompleteJoin(g);
        return ErrorCode.NONE;
      }
    }
    const m = g.members.get(memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.log.info('member left group', { group: g.groupId, member: memberId });
    this.removeMemberAndUpdateGroup(g, m);
    return ErrorCode.NONE;
  }

  // ---- describe / list / delete -------------------------------------------------------------------------

  describe(groupId: string): GroupDescription {
    const g = this.groups.get(groupId);
    if (this.stopped) {
      return {
        errorCode: ErrorCode.NOT_COORDINATOR,
        groupId,
        state: '',
        protocolType: '',
        protocolData: '',
        members: [],
      };
    }
    if (!g || g.is(GroupState.Dead)) {
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        state: GroupState.Dead,
        protocolType: '',
        protocolData: '',
        members: [],
      };
    }
    const stable = g.is(GroupState.Stable);
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? g.metadataFor(m, g.protocolName) : EMPTY,
        assignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  /** Groups, optionally only those in the given states (names compared case-insensitively). */
  list(statesFilter: string[]): { groupId: string; protocolType: string; state: string }[] {
    const states = new Set(statesFilter.map(parseGroupState));
    const out: { groupId: string; protocolType: string; state: string }[] = [];
    for (const g of this.groups.values()) {
      if (g.is(GroupState.Dead)) continue;
      if (states.size > 0 && !states.has(g.state)) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
    }
    return out;
  }

  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const out: { groupId: string; errorCode: number }[] = [];
    const writes: Promise<number>[] = [];
    for (const groupId of groupIds) {
      const g = this.groups.get(groupId);
      if (this.stopped) {
        out.push({ groupId, errorCode: ErrorCode.NOT_COORDINATOR });
        writes.push(Promise.resolve(ErrorCode.NONE));
        continue;
      }
      let code: number = ErrorCode.NONE;
      if (!g || g.is(GroupState.Dead)) code = ErrorCode.GROUP_ID_NOT_FOUND;
      else if (!g.is(GroupState.Empty)) code = ErrorCode.NON_EMPTY_GROUP;
      out.push({ groupId, errorCode: code });
      if (code !== ErrorCode.NONE || !g) {
        writes.push(Promise.resolve(ErrorCode.NONE));
        continue;
      }
      writes.push(this.removeGroup(g, 'deleted'));
    }
    const codes = await Promise.all(writes);
    codes.forEach((c, i) => {
      if (c !== ErrorCode.NONE) (out[i] as { errorCode: number }).errorCode = c;
    });
    return out;
  }

  /** Move the group to Dead, forget it, and write tombstones for its offsets and metadata. */
  private removeGroup(g: Group, why: string): Promise<number> {
    this.clearGroupTimers(g);
    g.transitionTo(GroupState.Dead, this.now());
    this.groups.delete(g.groupId);
    const records: GroupRecord[] = [];
    for (const o of g.offsets.values()) records.push({ key: offsetKey(g.groupId, o.topic, o.partition), value: null });
    records.push({ key: groupKey(g.groupId), value: null });
    g.offsets.clear();
    this.log.info(`group ${why}`, { group: g.groupId });
    return this.write(g.groupId, records).then(
      () => ErrorCode.NONE,
      (e: unknown) => storeErrorCode(e),
    );
  }

  /**
   * Topics were deleted: every group forgets (and tombstones) its committed offsets for them, so a topic
   * created again under the same name starts without stale positions. An empty group left with no offsets is
   * removed, as Kafka's coordinator does. Returns the number of offsets removed.
   */
  async forgetTopics(topics: ReadonlySet<string>): Promise<number> {
    if (this.stopped || topics.size === 0) return 0;
    let removed = 0;
    const writes: Promise<unknown>[] = [];
    for (const g of [...this.groups.values()]) {
      const records: GroupRecord[] = [];
      // Commits still on their way to the ISR: the tombstone follows them in the log, so they never show.
      for (const k of g.pendingCommits.keys()) {
        const [topic, partition] = k.split('\u0000') as [string, string];
        if (!topics.has(topic)) continue;
        if (!g.offsets.has(k)) records.push({ key: offsetKey(g.groupId, topic, Number(partition)), value: null });
        g.pendingCommits.delete(k);
      }
      for (const [k, o] of g.offsets) {
        if (!topics.has(o.topic)) continue;
        records.push({ key: offsetKey(g.groupId, o.topic, o.partition), value: null });
        g.offsets.delete(k);
      }
      if (records.length === 0) continue;
      removed += records.length;
      if (g.is(GroupState.Empty) && g.offsets.size === 0) {
        writes.push(this.write(g.groupId, records).then(() => this.removeGroup(g, 'removed: no offsets left')));
      } else {
        writes.push(this.write(g.groupId, records));
      }
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) {
      if (r.status === 'rejected') this.log.warn('could not remove offsets of deleted topics', { error: r.reason });
    }
    if (removed > 0) this.log.info('removed committed offsets of deleted topics', { topics: [...topics], removed });
    return removed;
  }

  // ---- offsets -------------------------------------------------------------------------------------------

  /**
   * Commit offsets (already checked by the caller for unknown partitions and metadata size). Returns one
   * error code for all of them: the group-level check's, or the write's.
   */
  async commitOffsets(
    groupId: string,
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
    offsets: OffsetToCommit[],
  ): Promise<number> {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    let g = this.groups.get(groupId);
    if (!g) {
      // A group that does not use the coordinator for membership (generation -1) may commit; others are stale.
      if (generationId >= 0) return ErrorCode.ILLEGAL_GENERATION;
      g = new Group(groupId, this.now());
      this.groups.set(groupId, g);
    }
    const code = this.validateCommit(g, generationId, memberId, groupInstanceId);
    if (code !== ErrorCode.NONE) return code;
    const m = g.members.get(memberId);
    if (m) this.scheduleHeartbeat(g, m);
    if (offsets.length === 0) return ErrorCode.NONE;
    const ts = BigInt(this.now());
    const entries: CommittedOffset[] = offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      offset: o.offset,
      leaderEpoch: o.leaderEpoch,
      metadata: o.metadata,
      commitTimestamp: ts,
      expireTimestamp: -1n,
    }));
    const records = entries.map((e) => ({
      key: offsetKey(groupId, e.topic, e.partition),
      value: offsetValue(e),
    }));
    let durable: Promise<void>;
    try {
      durable = this.store.append(groupId, records);
    } catch (e) {
      this.log.warn('offset commit write failed', { group: groupId, error: e });
      return storeErrorCode(e);
    }
    // The records are in this node's log, not yet committed: until the ISR has them (acks=all) this node can
    // lose them with its leadership, so the cache takes them only once they are durable, as Kafka's pending
    // offset commits. An OffsetFetch meanwhile answers the previous commit; answering this one would let a
    // group's committed offset go backwards when the leadership moves (found by test/fault).
    const seq = ++this.commitWrites;
    for (const e of entries) g.pendingCommits.set(offsetKeyOf(e.topic, e.partition), seq);
    try {
      await durable;
    } catch (e) {
      for (const x of entries) {
        const k = offsetKeyOf(x.topic, x.partition);
        if (g.pendingCommits.get(k) === seq) g.pendingCommits.delete(k);
      }
      this.log.warn('offset commit flush failed', { group: groupId, error: e });
      return storeErrorCode(e);
    }
    // Durable in log order; a later write of the same offset key (commit or delete) supersedes this one.
    for (const e of entries) {
      const k = offsetKeyOf(e.topic, e.partition);
      if (g.pendingCommits.get(k) !== seq) continue;
      g.pendingCommits.delete(k);
      g.offsets.set(k, e);
    }
    return ErrorCode.NONE;
  }

  /**
   * TxnOffsetCommit: offsets committed as part of `txn`'s transaction, written to the log as its transactional
   * records and held pending until its marker (completeTransaction). Fencing as Kafka's (KIP-447): a static
   * member replaced since is FENCED_INSTANCE_ID, a member id the group does not know UNKNOWN_MEMBER_ID, a
   * generation other than the group's ILLEGAL_GENERATION; a producer (no member id, generation -1) may commit to
   * any group. An older producer epoch than the partition knows is refused by the log (INVALID_PRODUCER_EPOCH).
   */
  async commitTxnOffsets(
    groupId: string,
    txn: ProducerOfTxn,
    generationId: number,
    memberId: string,
    groupInstanceId: string | null,
    offsets: OffsetToCommit[],
  ): Promise<number> {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    let g = this.groups.get(groupId);
    if (!g) {
      g = new Group(groupId, this.now());
      this.groups.set(groupId, g);
    }
    if (g.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (g.isStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (memberId !== '' && !g.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId >= 0 && generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (offsets.length === 0) return ErrorCode.NONE;
    const ts = BigInt(this.now());
    const entries: CommittedOffset[] = offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      offset: o.offset,
      leaderEpoch: o.leaderEpoch,
      metadata: o.metadata,
      commitTimestamp: ts,
      expireTimestamp: -1n,
    }));
    const records = entries.map((e) => ({ key: offsetKey(groupId, e.topic, e.partition), value: offsetValue(e) }));
    let durable: Promise<void>;
    try {
      durable = this.store.append(groupId, records, txn);
    } catch (e) {
      this.log.warn('transactional offset commit write failed', { group: groupId, error: e });
      return txnStoreErrorCode(e);
    }
    // Pending from the append on (the marker comes only after the producer has this answer).
    let byGroup = this.txnOffsets.get(txn.producerId);
    if (!byGroup) {
      byGroup = new Map();
      this.txnOffsets.set(txn.producerId, byGroup);
    }
    let pending = byGroup.get(groupId);
    if (!pending) {
      pending = new Map();
      byGroup.set(groupId, pending);
    }
    for (const e of entries) pending.set(offsetKeyOf(e.topic, e.partition), e);
    try {
      await durable;
    } catch (e) {
      for (const x of entries) {
        const k = offsetKeyOf(x.topic, x.partition);
        if (pending.get(k) === x) pending.delete(k);
      }
      this.log.warn('transactional offset commit flush failed', { group: groupId, error: e });
      return txnStoreErrorCode(e);
    }
    return ErrorCode.NONE;
  }

  /** The producer's marker was written to this partition: its pending offset commits apply (commit) or go. */
  completeTransaction(producerId: bigint, commit: boolean): void {
    const byGroup = this.txnOffsets.get(producerId);
    if (!byGroup) return;
    this.txnOffsets.delete(producerId);
    if (!commit) return;
    for (const [groupId, pending] of byGroup) {
      const g = this.groups.get(groupId);
      if (!g || g.is(GroupState.Dead)) continue;
      for (const [k, o] of pending) g.offsets.set(k, o);
    }
  }

  /** Whether an offset commit of the group's partition (transactional or not) is not settled yet. */
  private hasPendingCommit(g: Group, key: string): boolean {
    if (g.pendingCommits.has(key)) return true;
    for (const byGroup of this.txnOffsets.values()) if (byGroup.get(g.groupId)?.has(key)) return true;
    return false;
  }

  private validateCommit(g: Group, generationId: number, memberId: string, groupInstanceId: string | null): number {
    if (g.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      if (g.isStaticMemberFenced(groupInstanceId, memberId)) return ErrorCode.FENCED_INSTANCE_ID;
      if (!g.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
      // It has the new generation from JoinGroup but no assignment yet: let it finish the rebalance first.
      if (g.is(GroupState.CompletingRebalance)) return ErrorCode.REBALANCE_IN_PROGRESS;
      return ErrorCode.NONE;
    }
    // Without member id or generation, only groups without members may commit (simple consumers, admin).
    if (!g.is(GroupState.Empty)) return ErrorCode.UNKNOWN_MEMBER_ID;
    return ErrorCode.NONE;
  }

  /**
   * Committed offsets of a group: for the given partitions (offset -1 where none), or all of them (null).
   */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[] | null,
    requireStable = false,
  ): { errorCode: number; topics: { name: string; partitions: FetchedOffset[] }[] } {
    if (this.stopped) return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] };
    const g = this.groups.get(groupId);
    const lookup = (topic: string, partition: number): FetchedOffset => {
      // require_stable (KIP-447): a partition with a commit not yet settled has no answer yet.
      if (requireStable && g && this.hasPendingCommit(g, offsetKeyOf(topic, partition))) {
        return { partition, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
      }
      const o = g?.offsets.get(offsetKeyOf(topic, partition));
      return o
        ? { partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: 0 }
        : { partition, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: 0 };
    };
    if (topics !== null) {
      return {
        errorCode: ErrorCode.NONE,
        topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => lookup(t.name, p)) })),
      };
    }
    const byTopic = new Map<string, FetchedOffset[]>();
    for (const o of g?.offsets.values() ?? []) {
      let list = byTopic.get(o.topic);
      if (!list) {
        list = [];
        byTopic.set(o.topic, list);
      }
      list.push(lookup(o.topic, o.partition));
    }
    for (const list of byTopic.values()) list.sort((a, b) => a.partition - b.partition);
    return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
  }

  /**
   * OffsetDelete: remove committed offsets a group no longer needs. Not allowed for topics the members of a
   * live consumer group subscribe to (GROUP_SUBSCRIBED_TO_TOPIC).
   */
  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{
    errorCode: number;
    topics: { name: string; partitions: { partition: number; errorCode: number }[] }[];
  }> {
    if (this.stopped) return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] };
    const g = this.groups.get(groupId);
    if (!g || g.is(GroupState.Dead)) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    let subscribed: Set<string> | null = new Set();
    if (!g.is(GroupState.Empty)) {
      if (g.protocolType !== 'consumer') return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
      subscribed = g.subscribedTopics();
    }
    const records: GroupRecord[] = [];
    const out = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (subscribed === null || subscribed.has(t.name)) {
          return { partition: p, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        }
        const k = offsetKeyOf(t.name, p);
        if (g.offsets.has(k) || g.pendingCommits.has(k))
          records.push({ key: offsetKey(groupId, t.name, p), value: null });
        return { partition: p, errorCode: ErrorCode.NONE };
      }),
    }));
    if (records.length === 0) return { errorCode: ErrorCode.NONE, topics: out };
    let durable: Promise<void>;
    try {
      durable = this.store.append(groupId, records);
    } catch (e) {
      return { errorCode: storeErrorCode(e), topics: [] };
    }
    for (const t of out) {
      for (const p of t.partitions)
        if (p.errorCode === ErrorCode.NONE) {
          g.offsets.delete(offsetKeyOf(t.name, p.partition));
          g.pendingCommits.delete(offsetKeyOf(t.name, p.partition));
        }
    }
    try {
      await durable;
    } catch (e) {
      return { errorCode: storeErrorCode(e), topics: [] };
    }
    return { errorCode: ErrorCode.NONE, topics: out };
  }

  /**
   * Delete expired offsets (offsets.retention.minutes): all offsets of a consumer group that has been empty
   * that long; offsets of a group without a protocol (simple consumers) once they are that old. A group left
   * empty with no offsets is removed (tombstoned).
   */
  async expireOffsets(nowMs: number = this.now()): Promise<void> {
    const retention = this.config.offsetsRetentionMs;
    const writes: Promise<unknown>[] = [];
    for (const g of [...this.groups.values()]) {
      if (!g.is(GroupState.Empty)) continue;
      const records: GroupRecord[] = [];
      const usesProtocol = g.protocolType !== null && g.protocolType !== '';
      for (const [k, o] of g.offsets) {
        const expired =
          o.expireTimestamp >= 0n
            ? Number(o.expireTimestamp) <= nowMs
            : usesProtocol
              ? g.stateTimestampMs + retention <= nowMs
              : Number(o.commitTimestamp) + retention <= nowMs;
        if (!expired) continue;
        g.offsets.delete(k);
        g.pendingCommits.delete(k);
        records.push({ key: offsetKey(g.groupId, o.topic, o.partition), value: null });
      }
      if (records.length > 0) this.log.info('expired committed offsets', { group: g.groupId, count: records.length });
      if (g.offsets.size === 0 && g.pendingMembers.size === 0 && g.members.size === 0) {
        this.clearGroupTimers(g);
        g.transitionTo(GroupState.Dead, nowMs);
        this.groups.delete(g.groupId);
        this.expiredGroups++;
        records.push({ key: groupKey(g.groupId), value: null });
        this.log.info('removed expired empty group', { group: g.groupId });
      }
      if (records.length > 0) writes.push(this.write(g.groupId, records).catch(() => {}));
    }
    await Promise.all(writes);
  }

  // ---- persistence ---------------------------------------------------------------------------------------

  private write(groupId: string, records: GroupRecord[]): Promise<void> {
    try {
      return this.store.append(groupId, records);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Write the group's metadata (with `assignments`, else the members' current ones); resolves to an error code. */
  private persistGroup(g: Group, assignments?: Map<string, Buffer>): Promise<number> {
    const value: GroupValue = {
      protocolType: g.protocolType ?? '',
      generation: g.generationId,
      protocol: g.protocolName,
      leader: g.members.size > 0 ? g.leaderId : null,
      currentStateTimestamp: BigInt(g.stateTimestampMs),
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeout: m.rebalanceTimeoutMs,
        sessionTimeout: m.sessionTimeoutMs,
        subscription: g.metadataFor(m, g.protocolName),
        assignment: assignments?.get(m.memberId) ?? m.assignment,
      })),
    };
    return this.write(g.groupId, [{ key: groupKey(g.groupId), value: groupValue(value) }]).then(
      () => ErrorCode.NONE,
      (e: unknown) => {
        this.log.warn('storing group metadata failed', { group: g.groupId, error: e });
        return storeErrorCode(e);
      },
    );
  }

  // ---- loading -------------------------------------------------------------------------------------------

  private loading: {
    offsets: Map<string, Map<string, CommittedOffset>>;
    groups: Map<string, GroupValue>;
    /** Transactional offset commits not yet decided by a marker: producer id → group → key → offset. */
    txn: Map<bigint, Map<string, Map<string, CommittedOffset>>>;
    bad: number;
  } | null = null;

  private loadState(): NonNullable<GroupCoordinator['loading']> {
    if (!this.loading) this.loading = { offsets: new Map(), groups: new Map(), txn: new Map(), bad: 0 };
    return this.loading;
  }

  /**
   * Replay one record of `__consumer_offsets` (in log order); `txn`: the producer id of a transactional batch's
   * record (held until its marker). Call {@link finishLoad} after the last one.
   */
  loadRecord(key: Buffer | null, value: Buffer | null, txn: bigint | null = null): void {
    const st = this.loadState();
    if (key === null) {
      st.bad++;
      return;
    }
    try {
      const k = decodeKey(key);
      if (k.kind === 'offset' && txn !== null && value !== null) {
        let byGroup = st.txn.get(txn);
        if (!byGroup) {
          byGroup = new Map();
          st.txn.set(txn, byGroup);
        }
        let pending = byGroup.get(k.group);
        if (!pending) {
          pending = new Map();
          byGroup.set(k.group, pending);
        }
        pending.set(offsetKeyOf(k.topic, k.partition), {
          topic: k.topic,
          partition: k.partition,
          ...decodeOffsetValue(value),
        });
      } else if (k.kind === 'offset') {
        let offsets = st.offsets.get(k.group);
        if (!offsets) {
          offsets = new Map();
          st.offsets.set(k.group, offsets);
        }
        const id = offsetKeyOf(k.topic, k.partition);
        if (value === null) offsets.delete(id);
        else offsets.set(id, { topic: k.topic, partition: k.partition, ...decodeOffsetValue(value) });
      } else if (value === null) {
        st.groups.delete(k.group);
        // A group tombstone follows the tombstones of its offsets; anything still here was deleted too.
        st.offsets.delete(k.group);
      } else {
        st.groups.set(k.group, decodeGroupValue(value));
      }
    } catch (e) {
      if (!(e instanceof BadRecordError)) throw e;
      st.bad++;
    }
  }

  /** Replay a transaction marker of producer `producerId`: its pending offset commits apply (commit) or go. */
  loadMarker(producerId: bigint, commit: boolean): void {
    const st = this.loadState();
    const byGroup = st.txn.get(producerId);
    if (!byGroup) return;
    st.txn.delete(producerId);
    if (!commit) return;
    for (const [groupId, pending] of byGroup) {
      let offsets = st.offsets.get(groupId);
      if (!offsets) {
        offsets = new Map();
        st.offsets.set(groupId, offsets);
      }
      for (const [k, o] of pending) offsets.set(k, o);
    }
  }

  /** Build the groups from the replayed records: members come back Stable with fresh session timers. */
  finishLoad(): { groups: number; offsets: number; skipped: number } {
    const st = this.loadState();
    this.loading = null;
    const now = this.now();
    let offsetCount = 0;
    // Commits whose transaction is still undecided stay pending (the transaction coordinator sends the marker).
    for (const [pid, byGroup] of st.txn) this.txnOffsets.set(pid, byGroup);
    const pendingGroups = [...st.txn.values()].flatMap((byGroup) => [...byGroup.keys()]);
    const ids = new Set([...st.groups.keys(), ...st.offsets.keys(), ...pendingGroups]);
    for (const id of ids) {
      const v = st.groups.get(id);
      const g = new Group(id, now);
      if (v) {
        g.generationId = v.generation;
        g.protocolType = v.protocolType === '' && v.members.length === 0 ? null : v.protocolType;
        g.protocolName = v.protocol;
        if (v.currentStateTimestamp >= 0n) g.stateTimestampMs = Number(v.currentStateTimestamp);
        for (const sm of v.members) {
          const m: Member = {
            memberId: sm.memberId,
            groupInstanceId: sm.groupInstanceId,
            clientId: sm.clientId,
            clientHost: sm.clientHost,
            rebalanceTimeoutMs: sm.rebalanceTimeout >= 0 ? sm.rebalanceTimeout : sm.sessionTimeout,
            sessionTimeoutMs: sm.sessionTimeout,
            protocolType: v.protocolType,
            protocols: [{ name: v.protocol ?? '', metadata: sm.subscription }],
            assignment: sm.assignment,
            awaitingJoin: null,
            awaitingSync: null,
            isNew: false,
            lastHeartbeatMs: now,
            heartbeatTimer: null,
          };
          g.add(m);
        }
        g.leaderId = v.leader !== null && g.members.has(v.leader) ? v.leader : g.leaderId;
        if (g.members.size > 0) {
          // Empty → Stable is not a protocol transition: a loaded group starts in the state it was stored in.
          g.state = GroupState.Stable;
          for (const m of g.members.values()) this.scheduleHeartbeat(g, m);
        }
      }
      for (const [k, o] of st.offsets.get(id) ?? []) {
        g.offsets.set(k, o);
        offsetCount++;
      }
      this.groups.set(id, g);
    }
    return { groups: ids.size, offsets: offsetCount, skipped: st.bad };
  }
}
