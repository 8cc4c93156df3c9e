/**
 * The record browser: a page of one partition's records (offset, time, key, headers, value on one line), and
 * `enter` on one: its key, headers and value in full, the value pretty-printed as JSON, as text, or as a hex
 * dump for binary data (`v` cycles auto → text → json → hex).
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { ConsumerRecord } from '../../client/index.js';
import { showInline, showLines } from '../../services/browse.js';
import { type Column, Table } from '../components/table.js';
import type { RecordsData } from '../hooks/use-records.js';
import type { UiState } from '../state/reducer.js';
import { theme } from '../theme.js';

/** Local date and time with milliseconds: 2026-11-25 10:00:00.123. */
export function timestamp(ms: bigint | number): string {
  const d = new Date(Number(ms));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function columns(view: UiState['browse']['view']): Column<ConsumerRecord>[] {
  return [
    { title: 'OFFSET', priority: 0, align: 'right', cell: (r) => String(r.offset) },
    { title: 'TIMESTAMP', priority: 2, cell: (r) => timestamp(r.timestamp) },
    {
      title: 'KEY',
      priority: 1,
      kind: 'name',
      min: 6,
      cell: (r) => (r.key === null ? '-' : showInline(r.key, 'auto', 60)),
    },
    { title: 'HDRS', priority: 3, align: 'right', cell: (r) => String(r.headers.length) },
    { title: 'VALUE', priority: 0, kind: 'text', min: 12, cell: (r) => showInline(r.value, view) },
  ];
}

function where(ui: UiState): string {
  const f = ui.browse.from;
  if (f.kind === 'end') return 'the last page';
  if (f.kind === 'start') return 'the first page';
  if (f.kind === 'offset') return `from offset ${f.offset}`;
  return `from ${f.text}`;
}

function Detail({ record, ui, height }: { record: ConsumerRecord; ui: UiState; height: number }): ReactNode {
  const value = showLines(record.value, ui.browse.view);
  const key = record.key === null ? '(null)' : showInline(record.key, 'auto', 200);
  const headers = record.headers.map(
    (h) => `${h.key}=${h.value === null ? '(null)' : showInline(h.value, 'auto', 80)}`,
  );
  const room = Math.max(1, height - 5);
  const lines =
    value.lines.length > room
      ? [...value.lines.slice(0, room - 1), `… ${value.lines.length - room + 1} more lines`]
      : value.lines;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>offset {String(record.offset)}</Text>
        <Text color={theme.dim}>
          {' '}
          · {timestamp(record.timestamp)} · {record.topic}-{record.partition} · esc: back to the list
        </Text>
      </Text>
      <Text wrap="truncate">
        <Text color={theme.accent}>key </Text>
        {key}
      </Text>
      <Text wrap="truncate">
        <Text color={theme.accent}>headers </Text>
        {headers.length === 0 ? '-' : headers.join(', ')}
      </Text>
      <Text color={theme.accent}>
        value ({value.as}
        {ui.browse.view === 'auto' ? ', auto' : ''}, {record.value?.length ?? 0} bytes)
      </Text>
      {lines.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
        <Text key={i} wrap="truncate">
          {l || ' '}
        </Text>
      ))}
    </Box>
  );
}

export function RecordsScreen({
  ui,
  data,
  width,
  height,
}: {
  ui: UiState;
  data: RecordsData;
  width: number;
  height: number;
}): ReactNode {
  const page = data.page;
  const rows = page?.records ?? [];
  const selected = Math.min(ui.cursor.records, rows.length - 1);
  const title = (
    <Text wrap="truncate">
      <Text bold>
        {ui.topic}-{ui.partition}
      </Text>
      <Text color={theme.dim}>
        {page
          ? ` · offsets ${page.low}-${page.high > 0n ? page.high - 1n : 0n} · ${rows.length > 0 ? `showing ${rows[0]!.offset}-${rows[rows.length - 1]!.offset}` : 'no records here'} · ${where(ui)}${page.timeNotFound ? ' (nothing that late: the last page)' : ''} · values: ${ui.browse.view}`
          : ' · reading…'}
        {data.loading && page ? ' · reading…' : ''}
      </Text>
    </Text>
  );
  if (ui.browse.detail && rows[selected])
    return (
      <Box flexDirection="column">
        <Detail record={rows[selected]!} ui={ui} height={height} />
      </Box>
    );
  return (
    <Box flexDirection="column">
      {title}
      {data.error ? (
        <Text color={theme.bad} wrap="truncate">
          {data.error}
        </Text>
      ) : null}
      <Table
        columns={columns(ui.browse.view)}
        rows={rows}
        rowKey={(r) => String(r.offset)}
        selected={selected}
        height={Math.max(1, height - 2 - (data.error ? 1 : 0))}
        width={width}
        empty={page ? '(no records in this range)' : 'reading…'}
      />
    </Box>
  );
}
