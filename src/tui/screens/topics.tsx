/**
 * Topics screen: one row per topic (partitions, RF, under-replicated, offline, retained messages, msgs/s,
 * group lag, rate sparkline); enter drills into the topic's partitions: leader, replicas, ISR with the
 * missing replicas in red, log start/end, msgs/s, lag, sparkline. Problem rows are coloured.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { type Column, type Segment, Table } from '../components/table.js';
import { bytes, bytesPerSecond, compact, perSecond, sparkline } from '../format.js';
import type { UiState } from '../state/reducer.js';
import { selectedTopic, visiblePartitions, visibleTopics } from '../state/select.js';
import { theme } from '../theme.js';
import { HISTORY, type PartitionRow, type Snapshot, type TopicRow } from '../types.js';

export interface ScreenProps {
  snapshot: Snapshot | null;
  ui: UiState;
  width: number;
  height: number;
}

const topicColumns: Column<TopicRow>[] = [
  { title: 'TOPIC', priority: 0, kind: 'name', cell: (t) => t.name },
  { title: 'PARTS', priority: 6, align: 'right', cell: (t) => String(t.partitions.length) },
  { title: 'RF', priority: 9, align: 'right', cell: (t) => String(t.replicationFactor) },
  {
    title: 'UNDER-REP',
    priority: 4,
    align: 'right',
    cell: (t) => String(t.underReplicated),
    color: (t) => (t.underReplicated > 0 ? theme.warn : undefined),
  },
  {
    title: 'OFFLINE',
    priority: 5,
    align: 'right',
    cell: (t) => String(t.offline),
    color: (t) => (t.offline > 0 ? theme.bad : undefined),
  },
  { title: 'MESSAGES', priority: 3, align: 'right', cell: (t) => compact(t.messages) },
  { title: 'MSG/S', priority: 1, align: 'right', cell: (t) => perSecond(t.rate) },
  { title: 'BYTES/S', priority: 7, align: 'right', cell: (t) => bytesPerSecond(t.byteRate) },
  { title: 'LAG', priority: 2, align: 'right', cell: (t) => compact(t.lag) },
  { title: 'SIZE', priority: 8, align: 'right', cell: (t) => bytes(t.size) },
  {
    title: 'RATE',
    priority: 10,
    kind: 'spark',
    max: HISTORY,
    cell: (t, w) => [{ text: sparkline(t.rateHistory, w), color: theme.spark }],
  },
];

/** The ISR without the missing replicas, then each missing one marked in red (`3,1 ✗2`). */
function isrCell(p: PartitionRow): Segment[] {
  const isr = p.isr.filter((id) => !p.missing.includes(id));
  const segs: Segment[] = [{ text: isr.join(',') || '-' }];
  for (const id of p.missing) segs.push({ text: ` ✗${id}`, color: theme.bad, bold: true });
  return segs;
}

function status(p: PartitionRow): string {
  if (p.offline) return 'OFFLINE';
  if (p.underReplicated) return 'UNDER-REP';
  return 'ok';
}

// By priority: which partition, its leader and ISR, lag and rate first; the rest as the width allows.
const partitionColumns: Column<PartitionRow>[] = [
  { title: 'P', priority: 0, align: 'right', cell: (p) => String(p.partition) },
  { title: 'LEADER', priority: 1, align: 'right', cell: (p) => (p.leader < 0 ? 'none' : String(p.leader)) },
  { title: 'REPLICAS', priority: 8, cell: (p) => p.replicas.join(',') },
  { title: 'ISR', priority: 2, cell: isrCell },
  { title: 'STATUS', priority: 5, cell: status },
  { title: 'LOG START', priority: 9, align: 'right', cell: (p) => (p.low === null ? '-' : String(p.low)) },
  { title: 'LOG END', priority: 6, align: 'right', cell: (p) => (p.high === null ? '-' : String(p.high)) },
  { title: 'MSG/S', priority: 4, align: 'right', cell: (p) => perSecond(p.rate) },
  { title: 'BYTES/S', priority: 7, align: 'right', cell: (p) => bytesPerSecond(p.byteRate) },
  { title: 'LAG', priority: 3, align: 'right', cell: (p) => compact(p.lag) },
  { title: 'SIZE', priority: 10, align: 'right', cell: (p) => bytes(p.size) },
  {
    title: 'RATE',
    priority: 11,
    kind: 'spark',
    max: HISTORY,
    cell: (p, w) => [{ text: sparkline(p.rateHistory, w), color: theme.spark }],
  },
];

function topicColor(t: TopicRow): string | undefined {
  if (t.offline > 0) return theme.bad;
  if (t.underReplicated > 0) return theme.warn;
  return undefined;
}

function partitionColor(p: PartitionRow): string | undefined {
  if (p.offline) return theme.bad;
  if (p.underReplicated) return theme.warn;
  return undefined;
}

export function TopicsScreen({ snapshot, ui, width, height }: ScreenProps): ReactNode {
  if (ui.topic !== null) {
    const topic = selectedTopic(snapshot, ui);
    const rows = visiblePartitions(snapshot, ui);
    return (
      <Box flexDirection="column">
        <Text wrap="truncate">
          <Text bold>topic {ui.topic}</Text>
          {topic ? (
            <Text color={theme.dim}>
              {' '}
              · {topic.partitions.length} partitions · RF {topic.replicationFactor} · {perSecond(topic.rate)} msg/s ·{' '}
              {topic.underReplicated} under-replicated · {topic.offline} offline · esc: back
            </Text>
          ) : (
            <Text color={theme.warn}> (topic no longer exists) · esc: back</Text>
          )}
        </Text>
        <Table
          columns={partitionColumns}
          rows={rows}
          rowKey={(p) => String(p.partition)}
          selected={Math.min(ui.cursor.partitions, rows.length - 1)}
          height={Math.max(1, height - 2)}
          width={width}
          rowColor={partitionColor}
          empty="(no partitions)"
        />
      </Box>
    );
  }
  const rows = visibleTopics(snapshot, ui);
  return (
    <Table
      columns={topicColumns}
      rows={rows}
      rowKey={(t) => t.name}
      selected={Math.min(ui.cursor.topics, rows.length - 1)}
      height={Math.max(1, height - 1)}
      width={width}
      rowColor={topicColor}
      empty={snapshot ? '(no topics)' : 'connecting…'}
    />
  );
}
