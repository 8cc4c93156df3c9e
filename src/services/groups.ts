/**
 * Consumer group administration for the CLI (and later the TUI): list, describe with lag, seek (reset
 * committed offsets, with a plan first), delete. Plain async functions over an Admin.
 */
import type { Admin } from '../client/index.js';
import { errorText } from './connect.js';

/** Kafka's error code for a group the coordinator does not know. */
const GROUP_ID_NOT_FOUND = 69;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const NON_EMPTY_GROUP = 68;

export interface GroupSummary {
  group: string;
  state: string;
  protocolType: string;
  coordinator: number;
}

export async function listGroups(admin: Admin): Promise<GroupSummary[]> {
  const gs = await admin.listGroups();
  return gs.map((g) => ({
    group: g.groupId,
    state: g.state,
    protocolType: g.protocolType,
    coordinator: g.coordinator,
  }));
}

export interface MemberDetail {
  memberId: string;
  clientId: string;
  host: string;
  partitions: string[];
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** null: nothing committed. */
  committed: bigint | null;
  logEnd: bigint;
  /** null when nothing is committed. */
  lag: bigint | null;
  memberId: string | null;
}

export interface GroupDetail {
  group: string;
  state: string;
  protocol: string;
  coordinator: number;
  members: MemberDetail[];
  partitions: PartitionLag[];
  /** Sum of the partitions' lag; null when no partition has a committed offset (no lag is known). */
  totalLag: bigint | null;
}

/** State, members and per-partition committed offset / end / lag; throws for a group that does not exist. */
export async function describeGroup(admin: Admin, group: string): Promise<GroupDetail> {
  const [d] = await admin.describeGroups([group]);
  if (!d || d.error) throw new Error(`group ${group}: ${d?.error ? errorText(d.error) : 'no answer'}`);
  if (d.state === 'Dead') throw new Error(`group ${group} does not exist`);
  const committed = await admin.listConsumerGroupOffsets(group);
  const owner = new Map<string, string>();
  const members = d.members.map((m) => {
    const parts = (m.assignment ?? []).flatMap((a) => a.partitions.map((p) => `${a.topic}/${p}`));
    for (const p of parts) owner.set(p, m.memberId);
    return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost, partitions: parts };
  });
  const tps = new Map<string, { topic: string; partition: number; committed: bigint | null }>();
  for (const c of committed)
    tps.set(`${c.topic}/${c.partition}`, {
      topic: c.topic,
      partition: c.partition,
      committed: c.offset >= 0n ? c.offset : null,
    });
  for (const p of owner.keys()) {
    if (!tps.has(p)) {
      const i = p.lastIndexOf('/');
      tps.set(p, { topic: p.slice(0, i), partition: Number(p.slice(i + 1)), committed: null });
    }
  }
  const topics = [...new Set([...tps.values()].map((t) => t.topic))];
  const ends = topics.length ? await admin.fetchTopicOffsets(topics) : [];
  const end = new Map(ends.map((e) => [`${e.topic}/${e.partition}`, e.high]));
  const partitions = [...tps.entries()]
    .map(([k, t]) => {
      const logEnd = end.get(k) ?? -1n;
      const lag = t.committed === null || logEnd < 0n ? null : logEnd - t.committed > 0n ? logEnd - t.committed : 0n;
      return { ...t, logEnd, lag, memberId: owner.get(k) ?? null };
    })
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return {
    group,
    state: d.state,
    protocol: d.protocol,
    coordinator: d.coordinator,
    members,
    partitions,
    totalLag: partitions.some((p) => p.lag !== null) ? partitions.reduce((s, p) => s + (p.lag ?? 0n), 0n) : null,
  };
}

export type SeekTo =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'time'; ms: number };

export interface SeekPlanRow {
  topic: string;
  partition: number;
  current: bigint | null;
  new: bigint;
  status: string;
}

/**
 * Reset a group's committed offsets for its topics (or `topics`). The group must be empty (no members): a
 * running consumer would overwrite them. With dryRun only the plan is returned.
 */
export async function seekGroup(
  admin: Admin,
  group: string,
  to: SeekTo,
  opts: { topics?: string[]; dryRun?: boolean } = {},
): Promise<SeekPlanRow[]> {
  const [d] = await admin.describeGroups([group]);
  if (d?.error) throw new Error(`group ${group}: ${errorText(d.error)}`);
  if (d && d.members.length > 0)
    throw new Error(
      `group ${group} has ${d.members.length} active member${d.members.length === 1 ? '' : 's'} (state ${d.state}): stop its consumers first`,
    );
  const committed = await admin.listConsumerGroupOffsets(group);
  const topics = opts.topics ?? [...new Set(committed.map((c) => c.topic))].sort();
  if (topics.length === 0) throw new Error(`group ${group} has no committed offsets: name the topics with --topic`);
  const offsets = await admin.fetchTopicOffsets(topics);
  const bad = offsets.find((o) => o.error);
  if (bad) {
    // Was "topic x: topic x: This server does not host this topic-partition." for a typo in --topic.
    if ((bad.error as { code?: unknown }).code === UNKNOWN_TOPIC_OR_PARTITION)
      throw new Error(`topic ${bad.topic} does not exist`);
    const t = errorText(bad.error);
    const prefix = `topic ${bad.topic}: `;
    throw new Error(`${prefix}${t.startsWith(prefix) ? t.slice(prefix.length) : t}`);
  }
  const current = new Map(committed.map((c) => [`${c.topic}/${c.partition}`, c.offset >= 0n ? c.offset : null]));
  let targets: bigint[];
  // Why NEW is not what was asked for, for the row's STATUS (a clamped offset used to pass silently).
  const notes: (string | null)[] = offsets.map(() => null);
  if (to.kind === 'time') {
    const found = await admin.listOffsets(
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, spec: { timestamp: to.ms } })),
    );
    targets = found.map((f, i) => {
      if (f.offset >= 0n) return f.offset;
      notes[i] = 'no record at or after that time: the log end';
      return offsets[i]!.high;
    });
  } else {
    targets = offsets.map((o, i) => {
      if (to.kind === 'earliest') return o.low;
      if (to.kind === 'latest') return o.high;
      if (to.offset < o.low) notes[i] = `${to.offset} is before the log start`;
      if (to.offset > o.high) notes[i] = `${to.offset} is past the log end`;
      return to.offset < o.low ? o.low : to.offset > o.high ? o.high : to.offset;
    });
  }
  const withNote = (status: string, i: number) => (notes[i] ? `${status} (${notes[i]})` : status);
  const plan: SeekPlanRow[] = offsets.map((o, i) => ({
    topic: o.topic,
    partition: o.partition,
    current: current.get(`${o.topic}/${o.partition}`) ?? null,
    new: targets[i]!,
    status: withNote(opts.dryRun ? 'planned' : 'OK', i),
  }));
  if (opts.dryRun) return plan;
  const res = await admin.alterConsumerGroupOffsets(
    group,
    plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.new })),
  );
  const errs = new Map(res.map((r) => [`${r.topic}/${r.partition}`, r.error]));
  for (const p of plan) {
    const e = errs.get(`${p.topic}/${p.partition}`);
    if (e) p.status = errorText(e);
  }
  return plan;
}

export interface GroupDeletePlan {
  name: string;
  state: string;
  members: number;
  /** Partitions with a committed offset (what the delete removes). */
  partitions: number;
  status: string;
  ok: boolean;
}

/** What deleting these groups would remove: per group its state and committed offsets, or why it cannot. */
export async function planDeleteGroups(admin: Admin, groups: string[]): Promise<GroupDeletePlan[]> {
  const described = await admin.describeGroups(groups);
  return Promise.all(
    described.map(async (d): Promise<GroupDeletePlan> => {
      const row = { name: d.groupId, state: d.state, members: d.members.length, partitions: 0 };
      if (d.error) return { ...row, status: errorText(d.error), ok: false };
      if (d.state === 'Dead') return { ...row, state: '-', status: 'GROUP_ID_NOT_FOUND: no such group', ok: false };
      if (d.members.length > 0)
        return {
          ...row,
          status: 'NON_EMPTY_GROUP: the group has active members (stop its consumers first)',
          ok: false,
        };
      const committed = await admin.listConsumerGroupOffsets(d.groupId);
      return { ...row, partitions: committed.filter((c) => c.offset >= 0n).length, status: 'planned', ok: true };
    }),
  );
}

export async function deleteGroups(
  admin: Admin,
  groups: string[],
): Promise<{ name: string; status: string; ok: boolean }[]> {
  const res = await admin.deleteGroups(groups);
  return res.map((r) => {
    if (!r.error) return { name: r.groupId, status: 'OK', ok: true };
    // Like topic rows' "UNKNOWN_TOPIC_OR_PARTITION: no such topic" (the bare text was "The group id does not exist.").
    if ((r.error as { code?: unknown }).code === GROUP_ID_NOT_FOUND)
      return { name: r.groupId, status: 'GROUP_ID_NOT_FOUND: no such group', ok: false };
    if ((r.error as { code?: unknown }).code === NON_EMPTY_GROUP)
      return {
        name: r.groupId,
        status: 'NON_EMPTY_GROUP: the group has active members (stop its consumers first)',
        ok: false,
      };
    const t = errorText(r.error);
    const prefix = `group ${r.groupId}: `;
    return { name: r.groupId, status: t.startsWith(prefix) ? t.slice(prefix.length) : t, ok: false };
  });
}
