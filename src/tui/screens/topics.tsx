/**
 * Topics screen: one row per topic (partitions, RF, under-replicated, offline, retained messages, msgs/s,
 * group lag, rate sparkline); enter drills into the topic's partitions: leader, replicas, ISR with the
 * missing replicas in red, log start/end, msgs/s, lag, sparkline. Problem rows are coloured.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { type Column, type Segment, Table } from '../components/table.js';
import { compact, perSecond, sparkline } from '../format.js';
import type { UiState } from '../state/reducer.js';
import { selectedTopic, visiblePartitions, visibleTopics } from '../state/select.js';
import { theme } from '../theme.js';
import type { PartitionRow, Snapshot, TopicRow } from '../types.js';

export interface ScreenProps {
  snapshot: Snapshot | null;
  ui: UiState;
  width: number;
  height: number;
}

const SPARK = 20;

const topicColumns: Column<TopicRow>[] = [
  { title: 'TOPIC', width: 24, cell: (t) => t.name },
  { title: 'PARTS', width: 5, align: 'right', cell: (t) => String(t.partitions.length) },
  { title: 'RF', width: 3, align: 'right', cell: (t) => String(t.replicationFactor) },
  {
    title: 'UNDER-REP',
    width: 9,
    align: 'right',
    cell: (t) => String(t.underReplicated),
    color: (t) => (t.underReplicated > 0 ? theme.warn : undefined),
  },
  {
    title: 'OFFLINE',
    width: 7,
    align: 'right',
    cell: (t) => String(t.offline),
    color: (t) => (t.offline > 0 ? theme.bad : undefined),
  },
  { title: 'MESSAGES', width: 9, align: 'right', cell: (t) => compact(t.messages) },
  { title: 'MSG/S', width: 8, align: 'right', cell: (t) => perSecond(t.rate) },
  { title: 'LAG', width: 8, align: 'right', cell: (t) => compact(t.lag) },
  {
    title: 'RATE',
    width: SPARK,
    grow: true,
    cell: (t, w) => [{ text: sparkline(t.rateHistory, w), color: theme.spark }],
  },
];

function isrCell(p: PartitionRow): Segment[] {
  const segs: Segment[] = [{ text: p.isr.join(',') || '-' }];
  for (const id of p.missing) segs.push({ text: ` ✗${id}`, color: theme.bad, bold: true });
  return segs;
}

function status(p: PartitionRow): string {
  if (p.offline) return 'OFFLINE';
  if (p.underReplicated) return 'UNDER-REP';
  return 'ok';
}

const partitionColumns: Column<PartitionRow>[] = [
  { title: 'P', width: 4, align: 'right', cell: (p) => String(p.partition) },
  {
    title: 'LEADER',
    width: 6,
    align: 'right',
    cell: (p) => (p.leader < 0 ? 'none' : String(p.leader)),
  },
  { title: 'REPLICAS', width: 10, cell: (p) => p.replicas.join(',') },
  { title: 'ISR', width: 12, cell: isrCell },
  { title: 'STATUS', width: 9, cell: status },
  { title: 'LOG START', width: 10, align: 'right', cell: (p) => (p.low === null ? '-' : String(p.low)) },
  { title: 'LOG END', width: 10, align: 'right', cell: (p) => (p.high === null ? '-' : String(p.high)) },
  { title: 'MSG/S', width: 8, align: 'right', cell: (p) => perSecond(p.rate) },
  { title: 'LAG', width: 8, align: 'right', cell: (p) => compact(p.lag) },
  {
    title: 'RATE',
    width: SPARK,
    grow: true,
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
