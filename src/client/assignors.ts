/**
 * Partition assignors for consumer groups (run by the group leader), named as in the Java client and
 * librdkafka so mixed groups agree on a protocol: "range", "roundrobin", "sticky", "cooperative-sticky".
 *
 * - range: per topic, the subscribed members in order get consecutive ranges (the first n % m get one more).
 * - roundrobin: all partitions (topics sorted) dealt in turn to the members subscribed to the topic.
 * - sticky: balanced (partition counts differ by at most one where subscriptions allow) while keeping as many
 *   partitions as possible with their previous owner. Eager: members revoke everything before rejoining.
 * - cooperative-sticky: the same assignment with the cooperative protocol: members keep their partitions during
 *   a rebalance, and a partition moving between members is first revoked (one rebalance) then assigned (the
 *   next). The group member (group.ts) applies that two-phase rule; the assignor only computes the target.
 *
 * Members are ordered as the Java client orders them: by group instance id when both have one, members with one
 * first, then by member id.
 */
import { Reader } from '../protocol/codec/reader.js';
import { Writer } from '../protocol/codec/writer.js';
import type { TopicPartitions } from './consumer-protocol.js';

export type RebalanceProtocol = 'eager' | 'cooperative';

export interface GroupMemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartitions[];
  generationId: number;
}

/** memberId → topic → partitions (sorted). */
export type GroupAssignment = Map<string, Map<string, number[]>>;

export interface Assignor {
  readonly name: string;
  readonly protocol: RebalanceProtocol;
  /** User data to put in this member's subscription. */
  userData?(owned: TopicPartitions[], generationId: number): Buffer | null;
  assign(members: GroupMemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): GroupAssignment;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The Java client's member order. */
export function compareMembers(a: GroupMemberSubscription, b: GroupMemberSubscription): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) {
    return cmp(a.groupInstanceId, b.groupInstanceId) || cmp(a.memberId, b.memberId);
  }
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return cmp(a.memberId, b.memberId);
}

function emptyAssignment(members: GroupMemberSubscription[]): GroupAssignment {
  return new Map(members.map((m) => [m.memberId, new Map<string, number[]>()]));
}

function add(a: GroupAssignment, memberId: string, topic: string, partition: number): void {
  const byTopic = a.get(memberId)!;
  let list = byTopic.get(topic);
  if (!list) {
    list = [];
    byTopic.set(topic, list);
  }
  list.push(partition);
}

function sortLists(a: GroupAssignment): GroupAssignment {
  for (const byTopic of a.values()) for (const list of byTopic.values()) list.sort((x, y) => x - y);
  return a;
}

/** Convert to the ConsumerProtocol list form (topics sorted). */
export function toTopicPartitions(byTopic: ReadonlyMap<string, number[]> | undefined): TopicPartitions[] {
  if (!byTopic) return [];
  return [...byTopic]
    .filter(([, ps]) => ps.length > 0)
    .sort(([a], [b]) => cmp(a, b))
    .map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((x, y) => x - y) }));
}

export const rangeAssignor: Assignor = {
  name: 'range',
  protocol: 'eager',
  assign(members, partitionsPerTopic) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(compareMembers);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort(cmp);
    for (const topic of topics) {
      const n = partitionsPerTopic.get(topic);
      if (n === undefined) continue;
      const consumers = sorted.filter((m) => m.topics.includes(topic));
      const per = Math.floor(n / consumers.length);
      const extra = n % consumers.length;
      consumers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const count = per + (i + 1 > extra ? 0 : 1);
        for (let p = start; p < start + count; p++) add(out, m.memberId, topic, p);
      });
    }
    return out;
  },
};

export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  protocol: 'eager',
  assign(members, partitionsPerTopic) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(compareMembers);
    if (sorted.length === 0) return out;
    const topics = [...new Set(members.flatMap((m) => m.topics))].filter((t) => partitionsPerTopic.has(t)).sort(cmp);
    let next = 0;
    for (const topic of topics) {
      const n = partitionsPerTopic.get(topic)!;
      for (let p = 0; p < n; p++) {
        // Skip members not subscribed to the topic (at least one is: the topic came from a subscription).
        while (!sorted[next % sorted.length]!.topics.includes(topic)) next++;
        add(out, sorted[next % sorted.length]!.memberId, topic, p);
        next++;
      }
    }
    return out;
  },
};

/**
 * The Java StickyAssignor's user data: the member's previous assignment (and generation), used when an eager
 * member has revoked everything and so reports no owned partitions.
 *   v0: previous_assignment [topic string, partitions [int32]]   v1: + generation int32
 */
export function encodeStickyUserData(owned: TopicPartitions[], generationId: number): Buffer {
  const w = new Writer(64);
  w.int32(owned.length);
  for (const tp of owned) {
    w.string(tp.topic);
    w.int32(tp.partitions.length);
    for (const p of tp.partitions) w.int32(p);
  }
  w.int32(generationId);
  return Buffer.from(w.finish());
}

export function decodeStickyUserData(buf: Buffer): { owned: TopicPartitions[]; generationId: number } | null {
  const r = new Reader(buf);
  const n = r.int32();
  if (n < 0 || n > buf.length) return null;
  const owned: TopicPartitions[] = [];
  for (let i = 0; i < n && !r.bad; i++) {
    const len = r.int16();
    const topic = r.utf8(len);
    const count = r.int32();
    if (count < 0 || count > r.remaining / 4) return null;
    const partitions: number[] = [];
    for (let j = 0; j < count; j++) partitions.push(r.int32());
    owned.push({ topic, partitions });
  }
  const generationId = r.remaining >= 4 ? r.int32() : -1;
  return r.bad ? null : { owned, generationId };
}

/**
 * Balanced and sticky: every member keeps the valid partitions it owned (the highest generation wins a
 * partition claimed twice), unowned partitions go to the least loaded eligible member, then partitions move
 * from the most to the least loaded eligible members until no move can narrow a gap of more than one.
 */
export function stickyAssign(
  members: GroupMemberSubscription[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): GroupAssignment {
  const sorted = [...members].sort(compareMembers);
  const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]));
  const current = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]));
  const owner = new Map<string, string>();
  const key = (t: string, p: number) => `${t}\u0000${p}`;
  const parse = (k: string): [string, number] => {
    const i = k.lastIndexOf('\u0000');
    return [k.slice(0, i), Number(k.slice(i + 1))];
  };

  const all: string[] = [];
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].filter((t) => partitionsPerTopic.has(t)).sort(cmp);
  for (const t of topics) for (let p = 0; p < partitionsPerTopic.get(t)!; p++) all.push(key(t, p));
  const valid = new Set(all);

  // 1. Previous owners keep their partitions (highest generation first).
  const claimants = sorted
    .map((m) => {
      let owned = m.ownedPartitions;
      let generationId = m.generationId;
      if (owned.length === 0 && m.userData && m.userData.length > 0) {
        const ud = decodeStickyUserData(m.userData);
        if (ud) {
          owned = ud.owned;
          generationId = ud.generationId;
        }
      }
      return { m, owned, generationId };
    })
    .sort((a, b) => b.generationId - a.generationId);
  for (const { m, owned } of claimants) {
    const subs = subscribed.get(m.memberId)!;
    for (const tp of owned) {
      if (!subs.has(tp.topic)) continue;
      for (const p of tp.partitions) {
        const k = key(tp.topic, p);
        if (!valid.has(k) || owner.has(k)) continue;
        owner.set(k, m.memberId);
        current.get(m.memberId)!.push(k);
      }
    }
  }

  const countOf = (id: string) => current.get(id)!.length;
  const leastLoaded = (topic: string, below = Number.POSITIVE_INFINITY): string | null => {
    let best: string | null = null;
    for (const m of sorted) {
      if (!subscribed.get(m.memberId)!.has(topic)) continue;
      const c = countOf(m.memberId);
      if (c >= below) continue;
      if (best === null || c < countOf(best)) best = m.memberId;
    }
    return best;
  };

  // 2. Unowned partitions to the least loaded eligible member.
  for (const k of all) {
    if (owner.has(k)) continue;
    const [t] = parse(k);
    const m = leastLoaded(t);
    if (m === null) continue;
    owner.set(k, m);
    current.get(m)!.push(k);
  }

  // 3. Balance: move from the most loaded while a move narrows a gap of more than one.
  for (let guard = 0; guard < all.length * sorted.length + 1; guard++) {
    let moved = false;
    const byLoad = [...sorted].sort((a, b) => countOf(b.memberId) - countOf(a.memberId) || compareMembers(a, b));
    for (const over of byLoad) {
      const list = current.get(over.memberId)!;
      for (let i = list.length - 1; i >= 0; i--) {
        const k = list[i]!;
        const [t] = parse(k);
        const to = leastLoaded(t, list.length - 1);
        if (to === null) continue;
        list.splice(i, 1);
        current.get(to)!.push(k);
        owner.set(k, to);
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) break;
  }

  const out = emptyAssignment(sorted);
  for (const [m, list] of current) {
    for (const k of list) {
      const [t, p] = parse(k);
      add(out, m, t, p);
    }
  }
  return sortLists(out);
}

export const stickyAssignor: Assignor = {
  name: 'sticky',
  protocol: 'eager',
  userData: (owned, generationId) => encodeStickyUserData(owned, generationId),
  assign: stickyAssign,
};

export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  protocol: 'cooperative',
  assign: stickyAssign,
};

export type AssignorName = 'range' | 'roundrobin' | 'sticky' | 'cooperative-sticky';

export const ASSIGNORS: Readonly<Record<AssignorName, Assignor>> = {
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
  sticky: stickyAssignor,
  'cooperative-sticky': cooperativeStickyAssignor,
};

export function resolveAssignor(a: AssignorName | Assignor): Assignor {
  if (typeof a !== 'string') return a;
  const found = ASSIGNORS[a];
  if (!found)
    throw new TypeError(`unknown partition assignor ${JSON.stringify(a)} (${Object.keys(ASSIGNORS).join(', ')})`);
  return found;
}

/**
 * The cooperative protocol's two-phase rule: a partition assigned to a member while another member still owns
 * it is withheld this round (its owner is told to give it up and rejoins; the next rebalance hands it over).
 */
export function withholdOwnedElsewhere(
  target: GroupAssignment,
  members: readonly GroupMemberSubscription[],
): GroupAssignment {
  const ownedBy = new Map<string, string>();
  for (const m of members) {
    for (const tp of m.ownedPartitions) for (const p of tp.partitions) ownedBy.set(`${tp.topic}\u0000${p}`, m.memberId);
  }
  const out: GroupAssignment = new Map();
  for (const [memberId, byTopic] of target) {
    const kept = new Map<string, number[]>();
    for (const [topic, partitions] of byTopic) {
      const ps = partitions.filter((p) => {
        const prev = ownedBy.get(`${topic}\u0000${p}`);
        return prev === undefined || prev === memberId;
      });
      if (ps.length > 0) kept.set(topic, ps);
    }
    out.set(memberId, kept);
  }
  return out;
}
