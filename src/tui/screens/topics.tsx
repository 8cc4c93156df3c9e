/**
 * Topics screen: one row per topic (partitions, RF, under-replicated, offline, retained messages, msgs/s,
 * group lag, rate sparkline); enter drills into the topic's partitions: leader, replicas, ISR with the
 * missing replicas in red, log start/end, msgs/s, lag, sparkline. Problem rows are coloured.
 *
 * When the cluster has open transactions (issue 17): a TXN-HELD column (records read_committed consumers
 * cannot read yet: high watermark - last stable offset) and, below the table, the open transactions (all of
 * them, or the topic's when drilled in): id, state, producer id/epoch, how long open, timeout, partitions.
 * Without open transactions (or against a Kafka that does not answer them) the screen is as before.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { type Column, type Segment, Table } from '../components/table.js';
import { bytes, bytesPerSecond, compact, duration, perSecond, sparkline } from '../format.js';
import type { UiState } from '../state/reducer.js';
import { selectedTopic, visiblePartitions, visibleTopics } from '../state/select.js';
import { theme } from '../theme.js';
import { HISTORY, type PartitionRow, type Snapshot, type TopicRow, type TransactionRow } from '../types.js';

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

const heldColumn = <R extends { heldBack?: number | null }>(): Column<R> => ({
  title: 'TXN-HELD',
  priority: 3,
  align: 'right',
  cell: (r) => (r.heldBack == null ? '-' : compact(r.heldBack)),
  color: (r) => (r.heldBack ? theme.warn : undefined),
});

/** The columns, with TXN-HELD after LAG while there are open transactions. */
function withHeld<R extends { heldBack?: number | null }>(columns: Column<R>[], on: boolean): Column<R>[] {
  if (!on) return columns;
  const i = columns.findIndex((c) => c.title === 'LAG');
  return [...columns.slice(0, i + 1), heldColumn<R>(), ...columns.slice(i + 1)];
}

/** At most this many lines of open transactions under the table (the table keeps the rest). */
const MAX_TXN_LINES = 6;

/** The lines the open transactions get under a table of `height` lines (0 when there are none). */
function txnLines(txns: readonly TransactionRow[], height: number): number {
  const n = Math.min(1 + txns.length, MAX_TXN_LINES, height - 3);
  return txns.length === 0 || n < 2 ? 0 : n;
}

/**
 * The open transactions in `lines` lines: a title, then one line each (id, state, producer id/epoch, open for,
 * timeout, partitions), the last line saying how many more there are when they do not fit.
 */
function OpenTransactions(props: { txns: TransactionRow[]; at: number; width: number; lines: number }): ReactNode {
  const { txns, at, width, lines } = props;
  const room = lines - 1;
  const shown = txns.length <= room ? txns : txns.slice(0, Math.max(0, room - 1));
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        OPEN TRANSACTIONS{' '}
        <Text color={theme.dim}>({txns.length}: read_committed consumers wait at their first record)</Text>
      </Text>
      {shown.map((t) => {
        const age = t.startTimeMs === null ? null : Math.max(0, (at - t.startTimeMs) / 1000);
        const late = age !== null && age * 1000 > t.timeoutMs;
        const parts = t.partitions.map((p) => `${p.topic}-${p.partition}`).join(',');
        const line = `${t.transactionalId}  ${t.state}  pid ${t.producerId}/${t.producerEpoch}  open ${duration(age)} of ${duration(t.timeoutMs / 1000)}  ${parts}`;
        return (
          <Text key={t.transactionalId} color={late ? theme.bad : theme.warn} wrap="truncate">
            {line}
          </Text>
        );
      })}
      {shown.length < txns.length ? <Text color={theme.dim}>… {txns.length - shown.length} more</Text> : null}
    </Box>
  );
}

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
  const allTxns = snapshot?.transactions ?? [];
  const held = allTxns.length > 0;
  if (ui.topic !== null) {
    const topic = selectedTopic(snapshot, ui);
    const rows = visiblePartitions(snapshot, ui);
    const txns = allTxns.filter((t) => t.partitions.some((p) => p.topic === ui.topic));
    const extra = txnLines(txns, height - 1);
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
          columns={withHeld(partitionColumns, held)}
          rows={rows}
          rowKey={(p) => String(p.partition)}
          selected={Math.min(ui.cursor.partitions, rows.length - 1)}
          height={Math.max(1, height - 2 - extra)}
          width={width}
          rowColor={partitionColor}
          empty="(no partitions)"
        />
        {extra > 0 && snapshot ? <OpenTransactions txns={txns} at={snapshot.at} width={width} lines={extra} /> : null}
      </Box>
    );
  }
  const rows = visibleTopics(snapshot, ui);
  const extra = txnLines(allTxns, height);
  const table = (
    <Table
      columns={withHeld(topicColumns, held)}
      rows={rows}
      rowKey={(t) => t.name}
      selected={Math.min(ui.cursor.topics, rows.length - 1)}
      height={Math.max(1, height - 1 - extra)}
      width={width}
      rowColor={topicColor}
      empty={snapshot ? '(no topics)' : 'connecting…'}
    />
  );
  if (extra === 0 || !snapshot) return table;
  return (
    <Box flexDirection="column">
      {table}
      <OpenTransactions txns={allTxns} at={snapshot.at} width={width} lines={extra} />
    </Box>
  );
}
