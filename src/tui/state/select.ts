/** Pure selectors: the rows each view shows for a snapshot and the UI state (filter + sort applied). */
import type { ClusterEvent } from '../events.js';
import type { BrokerRow, GroupPartitionRow, GroupRow, PartitionRow, Snapshot, TopicRow } from '../types.js';
import type { SortKey, UiState } from './model.js';

function matches(text: string, filter: string): boolean {
  return filter === '' || text.toLowerCase().includes(filter.toLowerCase());
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortBy<T>(rows: T[], sort: SortKey, name: (r: T) => string, rate: (r: T) => number, lag: (r: T) => number) {
  return rows.sort((a, b) => {
    if (sort === 'rate') return rate(b) - rate(a) || byName(name(a), name(b));
    if (sort === 'lag') return lag(b) - lag(a) || byName(name(a), name(b));
    return byName(name(a), name(b));
  });
}

export function visibleTopics(s: Snapshot | null, ui: UiState): TopicRow[] {
  const rows = (s?.topics ?? []).filter((t) => matches(t.name, ui.filter));
  return sortBy(
    rows,
    ui.sort,
    (t) => t.name,
    (t) => t.rate ?? 0,
    (t) => t.lag,
  );
}

export function selectedTopic(s: Snapshot | null, ui: UiState): TopicRow | null {
  return s?.topics.find((t) => t.name === ui.topic) ?? null;
}

export function visiblePartitions(s: Snapshot | null, ui: UiState): PartitionRow[] {
  const rows = (selectedTopic(s, ui)?.partitions ?? []).filter((p) =>
    matches(`${p.partition} ${p.leader} ${p.replicas.join(',')}`, ui.filter),
  );
  return sortBy(
    rows,
    ui.sort,
    (p) => String(p.partition).padStart(10, '0'),
    (p) => p.rate ?? 0,
    (p) => p.lag,
  );
}

export function visibleGroups(s: Snapshot | null, ui: UiState): GroupRow[] {
  const rows = (s?.groups ?? []).filter((g) => matches(g.groupId, ui.filter));
  return sortBy(
    rows,
    ui.sort,
    (g) => g.groupId,
    (g) => g.consumeRate ?? 0,
    (g) => g.totalLag,
  );
}

export function selectedGroup(s: Snapshot | null, ui: UiState): GroupRow | null {
  return s?.groups.find((g) => g.groupId === ui.group) ?? null;
}

export function visibleGroupPartitions(s: Snapshot | null, ui: UiState): GroupPartitionRow[] {
  const rows = (selectedGroup(s, ui)?.partitions ?? []).filter((p) => matches(`${p.topic}-${p.partition}`, ui.filter));
  return sortBy(
    rows,
    ui.sort === 'rate' ? 'name' : ui.sort,
    (p) => `${p.topic}\u0000${String(p.partition).padStart(10, '0')}`,
    () => 0,
    (p) => p.lag ?? 0,
  );
}

export function visibleBrokers(s: Snapshot | null, ui: UiState): BrokerRow[] {
  return (s?.brokers ?? []).filter((b) => matches(`${b.nodeId} ${b.host}:${b.port}`, ui.filter));
}

/** The event history, newest first, filtered. */
export function visibleEvents<E extends ClusterEvent>(events: readonly E[], ui: UiState): E[] {
  return events.filter((e) => matches(e.text, ui.filter)).reverse();
}

/** Number of rows in the current view and the name `enter` drills into (null: nothing to drill into). */
export function currentRows(
  s: Snapshot | null,
  ui: UiState,
  events: readonly ClusterEvent[] = [],
): { count: number; drill: (i: number) => string | null } {
  if (ui.screen === 'events') return { count: visibleEvents(events, ui).length, drill: () => null };
  if (ui.screen === 'topics' && ui.topic === null) {
    const rows = visibleTopics(s, ui);
    return { count: rows.length, drill: (i) => rows[i]?.name ?? null };
  }
  if (ui.screen === 'topics' && ui.partition === null) {
    const rows = visiblePartitions(s, ui);
    return { count: rows.length, drill: (i) => (rows[i] ? String(rows[i].partition) : null) };
  }
  // The records view counts its page (the key handler gets it from the app).
  if (ui.screen === 'topics') return { count: 0, drill: () => null };
  if (ui.screen === 'groups' && ui.group === null) {
    const rows = visibleGroups(s, ui);
    return { count: rows.length, drill: (i) => rows[i]?.groupId ?? null };
  }
  if (ui.screen === 'groups') return { count: visibleGroupPartitions(s, ui).length, drill: () => null };
  return { count: visibleBrokers(s, ui).length, drill: () => null };
}
