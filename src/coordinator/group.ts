/**
 * One consumer group's state: members, generation, chosen protocol, leader, committed offsets. A plain data
 * holder with the small queries Kafka's GroupMetadata answers; the protocol logic (who may do what in which
 * state) lives in coordinator.ts, and every state change goes through {@link Group.transitionTo}, which
 * checks the transition table of state.ts.
 */
import { GroupState, transition } from './state.js';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  assignment: Buffer;
  /** Set while the member's JoinGroup waits for the rebalance to complete. */
  awaitingJoin: ((r: JoinResult) => void) | null;
  /** Set while the member's SyncGroup waits for the leader's assignment. */
  awaitingSync: ((r: SyncResult) => void) | null;
  /** Joined in the current rebalance and has not received a JoinGroup response yet. */
  isNew: boolean;
  /** Wall-clock ms of the last heartbeat (or join/sync/commit, which count as one). */
  lastHeartbeatMs: number;
  heartbeatTimer: NodeJS.Timeout | null;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: bigint;
  /** -1n unless an old client gave a retention time. */
  expireTimestamp: bigint;
}

export function offsetKeyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class Group {
  state = GroupState.Empty;
  /** When the group entered its current state (offset expiry of empty groups counts from here). */
  stateTimestampMs: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id → member id of the static member holding it. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet, with their expiry timers. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** Members that got this generation's JoinGroup response but have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>();
  /** Committed offsets: only commits whose write is durable (what OffsetFetch answers and a rebalance starts from). */
  readonly offsets = new Map<string, CommittedOffset>();
  /**
   * Commits written but not yet durable (Kafka's pending offset commits): offset key → the number of the
   * latest such write, so an earlier write that becomes durable later does not replace a later one.
   */
  readonly pendingCommits = new Map<string, number>();
  /** Rebalances started while coordinated here (kafka_consumergroup_rebalances_total). */
  rebalances = 0;
  /** Timer completing the join phase (rebalance timeout or initial delay). */
  joinTimer: NodeJS.Timeout | null = null;
  syncTimer: NodeJS.Timeout | null = null;
  /** A member joined during the initial rebalance delay (the delay is extended, up to the rebalance timeout). */
  newMemberAdded = false;
  /** Serializes writes of this group's records so they reach the log in the order they were decided. */
  writeChain: Promise<void> = Promise.resolve();

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.stateTimestampMs = nowMs;
  }

  is(s: GroupState): boolean {
    return this.state === s;
  }

  transitionTo(to: GroupState, nowMs: number): void {
    this.state = transition(this.groupId, this.state, to);
    if (to === GroupState.PreparingRebalance) this.rebalances++;
    this.stateTimestampMs = nowMs;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** The rebalance timeout of the group: the largest of its members'. */
  get rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) if (m.rebalanceTimeoutMs > t) t = m.rebalanceTimeoutMs;
    return t;
  }

  add(member: Member): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.leaderId === null) this.leaderId = member.memberId;
  }

  remove(memberId: string): Member | undefined {
    const m = this.members.get(memberId);
    if (!m) return undefined;
    this.members.delete(memberId);
    this.pendingSync.delete(memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    if (this.leaderId === memberId) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    return m;
  }

  /** A static member whose instance id now belongs to another member id is fenced. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  get awaitingJoinCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin) n++;
    return n;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.awaitingJoinCount && this.pendingMembers.size === 0;
  }

  /** Protocols every member supports. */
  candidateProtocols(): Set<string> {
    let out: Set<string> | null = null;
    for (const m of this.members.values()) {
      const names = new Set(m.protocols.map((p) => p.name));
      if (out === null) out = names;
      else for (const n of out) if (!names.has(n)) out.delete(n);
    }
    return out ?? new Set();
  }

  /** Whether a member with this protocol type and protocols may join (Kafka's supportsProtocols). */
  supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (this.members.size === 0) return protocolType !== '' && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    const candidates = this.candidateProtocols();
    return protocols.some((p) => candidates.has(p.name));
  }

  /** Each member votes for its most preferred candidate protocol; the most votes wins (first in order on ties). */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const pick = m.protocols.find((p) => candidates.has(p.name));
      if (pick) votes.set(pick.name, (votes.get(pick.name) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  metadataFor(m: Member, protocol: string | null): Buffer {
    return m.protocols.find((p) => p.name === protocol)?.metadata ?? Buffer.alloc(0);
  }

  /** Topics the members subscribe to, when the group uses the consumer protocol (for OffsetDelete). */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return null;
    const out = new Set<string>();
    for (const m of this.members.values()) {
      const topics = parseSubscriptionTopics(this.metadataFor(m, this.protocolName));
      if (topics === null) return null;
      for (const t of topics) out.add(t);
    }
    return out;
  }
}

/**
 * The topics of a ConsumerProtocolSubscription (version INT16, topics [STRING], user_data BYTES, ...).
 * Versions 0-3 share the prefix read here. Null when the bytes are not one.
 */
export function parseSubscriptionTopics(b: Buffer): string[] | null {
  try {
    let p = 2;
    const n = b.readInt32BE(p);
    p += 4;
    if (n < 0 || n > b.length) return null;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const len = b.readInt16BE(p);
      p += 2;
      if (len < 0 || p + len > b.length) return null;
      out.push(b.toString('utf8', p, p + len));
      p += len;
    }
    return out;
  } catch {
    return null;
  }
}
