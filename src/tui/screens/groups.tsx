/**
 * Groups screen: state, members, total lag, consumption rate, time to catch up, lag trend; enter drills into
 * one group: committed offset, log end, lag and lag trend per partition, and the owning member.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { type Column, type Segment, Table } from '../components/table.js';
import { bytesPerSecond, compact, duration, perSecond, sparkline } from '../format.js';
import { selectedGroup, visibleGroupPartitions, visibleGroups } from '../state/select.js';
import { theme } from '../theme.js';
import { type GroupPartitionRow, type GroupRow, HISTORY, type ThrottledClient } from '../types.js';
import type { ScreenProps } from './topics.js';

function stateColor(g: GroupRow): string | undefined {
  if (g.error) return theme.bad;
  if (g.state === 'Stable') return theme.ok;
  if (g.state === 'Dead') return theme.bad;
  if (g.state === 'Empty') return theme.dim;
  return theme.warn;
}

/**
 * The group's name and marks: ⏱ its members' client id has a consumer_byte_rate quota (the broker throttles them
 * past it); THROTTLED a client quota throttled its members since the previous poll (known from a kstream
 * cluster's throttle metrics; against Kafka only the quota mark is shown).
 */
function groupCell(g: GroupRow): string | Segment[] {
  const quota = g.quota == null ? '' : ' ⏱';
  if (g.throttled == null || g.throttled <= 0) return `${g.groupId}${quota}`;
  return [{ text: `${g.groupId}${quota} ` }, { text: 'THROTTLED', color: theme.bad, bold: true }];
}

/** `fetch client-id=slow 0.9s` for each client throttled since the previous poll. */
function throttledText(list: readonly ThrottledClient[]): string {
  return list
    .map((t) => {
      const who = [t.user !== '' ? `user=${t.user}` : '', t.clientId !== '' ? `client-id=${t.clientId}` : '']
        .filter((x) => x !== '')
        .join(' ');
      return `${t.quota} ${who} ${t.seconds.toFixed(1)}s`;
    })
    .join(' · ');
}

const groupColumns: Column<GroupRow>[] = [
  { title: 'GROUP', priority: 0, kind: 'name', cell: groupCell },
  { title: 'STATE', priority: 1, cell: (g) => g.state || '?', color: stateColor },
  { title: 'MEMBERS', priority: 5, align: 'right', cell: (g) => String(g.members) },
  { title: 'PARTS', priority: 6, align: 'right', cell: (g) => String(g.partitions.length) },
  { title: 'LAG', priority: 2, align: 'right', cell: (g) => compact(g.totalLag) },
  { title: 'CONSUMED/S', priority: 4, align: 'right', cell: (g) => perSecond(g.consumeRate) },
  { title: 'CATCH-UP', priority: 3, align: 'right', cell: (g) => duration(g.catchUp) },
  {
    title: 'LAG TREND',
    priority: 7,
    kind: 'spark',
    max: HISTORY,
    cell: (g, w) => [{ text: sparkline(g.lagHistory, w), color: theme.spark }],
  },
];

const partitionColumns: Column<GroupPartitionRow>[] = [
  { title: 'TOPIC', priority: 0, kind: 'name', cell: (p) => p.topic },
  { title: 'P', priority: 0, align: 'right', cell: (p) => String(p.partition) },
  {
    title: 'COMMITTED',
    priority: 3,
    align: 'right',
    cell: (p) => (p.committed === null ? '-' : String(p.committed)),
  },
  { title: 'LOG END', priority: 4, align: 'right', cell: (p) => (p.end === null ? '-' : String(p.end)) },
  {
    title: 'LAG',
    priority: 1,
    align: 'right',
    cell: (p) => (p.lag === null ? '-' : String(p.lag)),
    color: (p) => (p.lag && p.lag > 0 ? theme.warn : undefined),
  },
  { title: 'OWNER', priority: 2, kind: 'name', cell: (p) => p.owner ?? '-' },
  {
    title: 'LAG TREND',
    priority: 5,
    kind: 'spark',
    max: HISTORY,
    cell: (p, w) => [{ text: sparkline(p.lagHistory, w), color: theme.spark }],
  },
];

export function GroupsScreen({ snapshot, ui, width, height }: ScreenProps): ReactNode {
  if (snapshot?.groupsError) {
    return <Text color={theme.warn}>groups: unavailable ({snapshot.groupsError})</Text>;
  }
  if (ui.group !== null) {
    const g = selectedGroup(snapshot, ui);
    const rows = visibleGroupPartitions(snapshot, ui);
    return (
      <Box flexDirection="column">
        <Text wrap="truncate">
          <Text bold>group {ui.group}</Text>
          {g ? (
            <Text color={theme.dim}>
              {' '}
              · <Text color={stateColor(g)}>{g.state}</Text> · {g.members} {g.members === 1 ? 'member' : 'members'}
              {g.quota == null ? '' : ` · ⏱ quota ${bytesPerSecond(g.quota)}/s`}
              {g.throttled != null && g.throttled > 0 ? (
                <Text color={theme.bad}> · THROTTLED {g.throttled.toFixed(1)}s since the last poll</Text>
              ) : (
                ''
              )}{' '}
              · lag {compact(g.totalLag)} · {perSecond(g.consumeRate)} consumed/s · catch-up {duration(g.catchUp)} ·
              esc: back
            </Text>
          ) : (
            <Text color={theme.warn}> (group no longer exists) · esc: back</Text>
          )}
        </Text>
        {g?.error ? <Text color={theme.bad}>{g.error}</Text> : null}
        <Table
          columns={partitionColumns}
          rows={rows}
          rowKey={(p) => `${p.topic}-${p.partition}`}
          selected={Math.min(ui.cursor.group, rows.length - 1)}
          height={Math.max(1, height - 2)}
          width={width}
          empty="(no committed offsets or assignments)"
        />
      </Box>
    );
  }
  const rows = visibleGroups(snapshot, ui);
  const throttled = snapshot?.throttled ?? [];
  const table = (
    <Table
      columns={groupColumns}
      rows={rows}
      rowKey={(g) => g.groupId}
      selected={Math.min(ui.cursor.groups, rows.length - 1)}
      height={Math.max(1, height - 1 - (throttled.length > 0 ? 1 : 0))}
      width={width}
      empty={snapshot ? '(no consumer groups)' : 'connecting…'}
    />
  );
  if (throttled.length === 0) return table;
  // Every client throttled now, also those a user-wide quota throttles (not tied to a group).
  return (
    <Box flexDirection="column">
      {table}
      <Text wrap="truncate" color={theme.bad}>
        throttled now: {throttledText(throttled)}
      </Text>
    </Box>
  );
}
