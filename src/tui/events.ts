/**
 * Cluster events for the event log of `kstream top`, derived by diffing two successive poll snapshots
 * (pure: no clock, no I/O). What changed between polls: brokers down/up/joined, the controller moving, topics
 * created/deleted, partitions changing leader, becoming under-replicated or offline and recovering, groups
 * appearing, changing state, rebalancing (member count) and disappearing, group reads failing; and the
 * cluster becoming unreachable or reachable again.
 *
 * Partition events are one line per topic and kind ("orders: 2 partitions under-replicated (0,3; missing
 * replica 2)"), and when one kind hits many topics in a poll they collapse into one line, so a broker with
 * thousands of replicas dying gives a handful of lines, not thousands.
 */
import type { GroupRow, PartitionRow, Snapshot } from './types.js';

export type EventLevel = 'bad' | 'warn' | 'ok' | 'info';

export interface ClusterEvent {
  /** The poll time that saw the change (Date.now()). */
  at: number;
  level: EventLevel;
  text: string;
}

/** Per-topic lines of one kind beyond which they collapse into one summary line. */
export const MAX_TOPIC_LINES = 8;
/** Partitions listed by number in a line; more are counted ("0,1,2,… +40"). */
const MAX_LISTED = 8;

type PartitionHealth = 'ok' | 'under' | 'offline';

function stateOf(p: PartitionRow): PartitionHealth {
  if (p.offline) return 'offline';
  return p.underReplicated ? 'under' : 'ok';
}

function list(items: readonly (string | number)[], max = MAX_LISTED, sep = ','): string {
  if (items.length <= max) return items.join(sep);
  return `${items.slice(0, max).join(sep)}${sep}… +${items.length - max}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const byId = (a: number, b: number) => a - b;

/** One partition-level change, before it is grouped per topic. */
interface PartitionChange {
  topic: string;
  partition: number;
  kind: 'leader' | 'offline' | 'under' | 'online' | 'recovered';
  /** leader: from → to; under/online: the missing replicas; online: the new leader. */
  from?: number;
  to?: number;
  missing?: number[];
}

const KIND_LEVEL: Record<PartitionChange['kind'], EventLevel> = {
  offline: 'bad',
  under: 'warn',
  online: 'warn',
  leader: 'info',
  recovered: 'ok',
};

function partitionChanges(prev: Snapshot, next: Snapshot): PartitionChange[] {
  const before = new Map<string, PartitionRow>();
  for (const t of prev.topics) for (const p of t.partitions) before.set(`${p.topic}\u0000${p.partition}`, p);
  const out: PartitionChange[] = [];
  for (const t of next.topics) {
    for (const p of t.partitions) {
      const old = before.get(`${p.topic}\u0000${p.partition}`);
      if (!old) continue; // a new topic or partition: reported as such, not per partition
      const [was, is] = [stateOf(old), stateOf(p)];
      const base = { topic: p.topic, partition: p.partition };
      if (was !== is) {
        if (is === 'offline') out.push({ ...base, kind: 'offline', from: old.leader });
        else if (is === 'under' && was === 'ok') out.push({ ...base, kind: 'under', missing: p.missing });
        else if (is === 'under') out.push({ ...base, kind: 'online', to: p.leader, missing: p.missing });
        else out.push({ ...base, kind: 'recovered' });
      }
      // A leader change of a partition that stayed online (coming online is said above).
      if (old.leader >= 0 && p.leader >= 0 && old.leader !== p.leader)
        out.push({ ...base, kind: 'leader', from: old.leader, to: p.leader });
    }
  }
  return out;
}

function topicLine(topic: string, kind: PartitionChange['kind'], cs: PartitionChange[]): string {
  const ids = cs.map((c) => c.partition).sort(byId);
  const missing = [...new Set(cs.flatMap((c) => c.missing ?? []))].sort(byId);
  const miss = missing.length > 0 ? `; missing ${missing.length === 1 ? 'replica' : 'replicas'} ${list(missing)}` : '';
  const parts = plural(cs.length, 'partition');
  switch (kind) {
    case 'leader': {
      const moves = [...cs].sort((a, b) => a.partition - b.partition).map((c) => `${c.partition}: ${c.from}→${c.to}`);
      return `${topic}: new ${cs.length === 1 ? 'leader' : 'leaders'} for ${parts} (${list(moves, 6, ', ')})`;
    }
    case 'offline':
      return `${topic}: ${parts} OFFLINE, no leader (${list(ids)})`;
    case 'under':
      return `${topic}: ${parts} under-replicated (${list(ids)}${miss})`;
    case 'online':
      return `${topic}: ${parts} back online, still under-replicated (${list(ids)}${miss})`;
    case 'recovered':
      return `${topic}: ${parts} fully replicated again (${list(ids)})`;
  }
}

const SUMMARY: Record<PartitionChange['kind'], string> = {
  leader: 'changed leader',
  offline: 'went OFFLINE',
  under: 'became under-replicated',
  online: 'came back online (under-replicated)',
  recovered: 'are fully replicated again',
};

function partitionEvents(at: number, changes: PartitionChange[]): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  // Worst first: offline, then under-replicated, back online, recovered, leader moves.
  for (const kind of ['offline', 'under', 'online', 'recovered', 'leader'] as const) {
    const byTopic = new Map<string, PartitionChange[]>();
    for (const c of changes) {
      if (c.kind !== kind) continue;
      const l = byTopic.get(c.topic) ?? [];
      l.push(c);
      byTopic.set(c.topic, l);
    }
    if (byTopic.size === 0) continue;
    const level = KIND_LEVEL[kind];
    if (byTopic.size > MAX_TOPIC_LINES) {
      const n = [...byTopic.values()].reduce((s, l) => s + l.length, 0);
      out.push({ at, level, text: `${plural(n, 'partition')} of ${plural(byTopic.size, 'topic')} ${SUMMARY[kind]}` });
      continue;
    }
    for (const [topic, cs] of [...byTopic].sort(([a], [b]) => (a < b ? -1 : 1)))
      out.push({ at, level, text: topicLine(topic, kind, cs) });
  }
  return out;
}

function groupStateLevel(state: string): EventLevel {
  if (state === 'Stable') return 'ok';
  if (state === 'Dead') return 'bad';
  if (state === 'PreparingRebalance' || state === 'CompletingRebalance') return 'warn';
  return 'info';
}

function groupEvents(at: number, prev: Snapshot, next: Snapshot): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  if (prev.groupsError === null && next.groupsError !== null)
    out.push({ at, level: 'warn', text: `consumer groups unreadable: ${next.groupsError}` });
  if (prev.groupsError !== null && next.groupsError === null)
    out.push({ at, level: 'ok', text: 'consumer groups readable again' });
  // While groups cannot be read, their absence says nothing.
  if (prev.groupsError !== null || next.groupsError !== null) return out;
  const before = new Map<string, GroupRow>(prev.groups.map((g) => [g.groupId, g]));
  const now = new Set(next.groups.map((g) => g.groupId));
  for (const g of next.groups) {
    const old = before.get(g.groupId);
    if (!old) {
      out.push({ at, level: 'info', text: `group ${g.groupId} appeared (${g.state}, ${plural(g.members, 'member')})` });
      continue;
    }
    if (!old.error && g.error) out.push({ at, level: 'bad', text: `group ${g.groupId}: ${g.error}` });
    else if (old.error && !g.error)
      out.push({
        at,
        level: 'ok',
        text: `group ${g.groupId} readable again (${g.state}, ${plural(g.members, 'member')})`,
      });
    // Its state is unknown while it cannot be described: no state changes across that.
    if (old.error || g.error) continue;
    const rebalance = g.state === 'PreparingRebalance' || g.state === 'CompletingRebalance';
    if (old.state !== g.state) {
      const members = old.members !== g.members ? `, ${old.members} → ${plural(g.members, 'member')}` : '';
      out.push({
        at,
        level: groupStateLevel(g.state),
        text: `group ${g.groupId}: ${old.state} → ${g.state}${rebalance ? ' (rebalancing)' : ''}${members}`,
      });
    } else if (old.members !== g.members) {
      // The state is the same but the membership changed: a rebalance finished between two polls.
      out.push({
        at,
        level: 'info',
        text: `group ${g.groupId} rebalanced: ${old.members} → ${plural(g.members, 'member')} (${g.state})`,
      });
    }
  }
  for (const g of prev.groups)
    if (!now.has(g.groupId)) out.push({ at, level: 'info', text: `group ${g.groupId} is gone (was ${g.state})` });
  return out;
}

/** What changed from `prev` to `next` (the first snapshot: one line saying what top connected to). */
export function diffSnapshots(prev: Snapshot | null, next: Snapshot): ClusterEvent[] {
  const at = next.at;
  const t = next.totals;
  if (prev === null) {
    const down = t.brokersDown > 0 ? ` (${t.brokersDown} down)` : '';
    const problems =
      t.underReplicated + t.offline > 0 ? `, ${t.underReplicated} under-replicated, ${t.offline} offline` : '';
    return [
      {
        at,
        level: t.brokersDown + t.offline > 0 ? 'warn' : 'info',
        text:
          `connected to cluster ${next.clusterId ?? '?'}: ${plural(t.brokersUp, 'broker')}${down}, ` +
          `${plural(t.topics, 'topic')}, ${plural(t.partitions, 'partition')}${problems}, ${plural(t.groups, 'group')}`,
      },
    ];
  }
  const out: ClusterEvent[] = [];

  const oldBrokers = new Map(prev.brokers.map((b) => [b.nodeId, b]));
  for (const b of next.brokers) {
    const old = oldBrokers.get(b.nodeId);
    const addr = b.port ? ` (${b.host}:${b.port})` : '';
    if (old?.up && !b.up) out.push({ at, level: 'bad', text: `broker ${b.nodeId} DOWN${addr}` });
    else if (old && !old.up && b.up) out.push({ at, level: 'ok', text: `broker ${b.nodeId} up again${addr}` });
    else if (!old && b.up) out.push({ at, level: 'info', text: `broker ${b.nodeId} joined${addr}` });
    else if (!old) out.push({ at, level: 'bad', text: `broker ${b.nodeId} DOWN (a replica, never seen up)` });
  }
  if (prev.controllerId !== next.controllerId)
    out.push({
      at,
      level: next.controllerId < 0 ? 'bad' : 'info',
      text:
        next.controllerId < 0
          ? `no controller (was ${prev.controllerId})`
          : `controller moved: ${prev.controllerId < 0 ? 'none' : prev.controllerId} → ${next.controllerId}`,
    });

  const oldTopics = new Map(prev.topics.map((x) => [x.name, x]));
  const newTopics = new Set(next.topics.map((x) => x.name));
  for (const x of next.topics) {
    const old = oldTopics.get(x.name);
    if (!old)
      out.push({
        at,
        level: 'info',
        text: `topic ${x.name} created (${plural(x.partitions.length, 'partition')}, RF ${x.replicationFactor})`,
      });
    else if (x.partitions.length > old.partitions.length)
      out.push({
        at,
        level: 'info',
        text: `topic ${x.name}: ${old.partitions.length} → ${x.partitions.length} partitions`,
      });
  }
  for (const x of prev.topics)
    if (!newTopics.has(x.name)) out.push({ at, level: 'warn', text: `topic ${x.name} deleted` });

  out.push(...partitionEvents(at, partitionChanges(prev, next)));
  out.push(...groupEvents(at, prev, next));
  return out;
}

/** The cluster becoming unreachable (a poll failed after one that worked) or reachable again. */
export function connectivityEvents(prevError: string | null, nextError: string | null, at: number): ClusterEvent[] {
  if (prevError === null && nextError !== null)
    return [{ at, level: 'bad', text: `cluster unreachable: ${nextError}` }];
  if (prevError !== null && nextError === null) return [{ at, level: 'ok', text: 'cluster reachable again' }];
  return [];
}
