/**
 * A scrolling table: fixed-width columns (one may take the remaining width), a bold header, the selected row
 * in inverse video, and a window of `height` rows that follows the cursor. Cells are text or coloured
 * segments (e.g. an ISR list with the missing replicas in red).
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { fit } from '../format.js';
import { theme } from '../theme.js';

export interface Segment {
  text: string;
  color?: string;
  bold?: boolean;
}

export interface Column<T> {
  title: string;
  width: number;
  align?: 'left' | 'right';
  /** Takes the width left over by the other columns (`width` is then its minimum, down to 4 when narrow). */
  grow?: boolean;
  /** The cell's text; `width` is the column's actual width (for sparklines that fill it). */
  cell: (row: T, width: number) => string | Segment[];
  color?: (row: T) => string | undefined;
}

export interface TableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  /** Index of the selected row, -1 for none. */
  selected: number;
  /** Rows visible at once (the header not included). */
  height: number;
  width: number;
  empty?: string;
  /** Colour of a whole row (e.g. red for offline partitions); a column's own colour wins. */
  rowColor?: (row: T) => string | undefined;
}

/** First row of the window showing `selected` among `count` rows, `height` at a time. */
export function windowStart(selected: number, count: number, height: number): number {
  if (count <= height || selected < 0) return 0;
  return Math.max(0, Math.min(selected - Math.floor(height / 2), count - height));
}

function fitSegments(segs: Segment[], width: number, align: 'left' | 'right'): Segment[] {
  const total = segs.reduce((n, s) => n + s.text.length, 0);
  if (total <= width) {
    const pad = ' '.repeat(width - total);
    return align === 'left' ? [...segs, { text: pad }] : [{ text: pad }, ...segs];
  }
  const out: Segment[] = [];
  let left = width - 1;
  for (const s of segs) {
    if (left <= 0) break;
    out.push({ ...s, text: s.text.slice(0, left) });
    left -= s.text.length;
  }
  out.push({ text: '…' });
  return out;
}

export function Table<T>(props: TableProps<T>): ReactNode {
  const { columns, rows, selected, height, width } = props;
  // Separators included; the growing column gets what is left (so the line never wraps).
  const fixed = columns.reduce((n, c) => n + (c.grow ? 0 : c.width) + 1, -1);
  const widths = columns.map((c) => (c.grow ? Math.max(4, width - fixed) : c.width));
  const start = windowStart(selected, rows.length, height);
  const shown = rows.slice(start, start + height);
  return (
    <Box flexDirection="column">
      <Text bold color={theme.accent}>
        {columns.map((c, i) => fit(c.title, widths[i]!, c.align)).join(' ')}
      </Text>
      {rows.length === 0 ? <Text color={theme.dim}>{props.empty ?? '(none)'}</Text> : null}
      {shown.map((row, j) => {
        const rowColor = props.rowColor?.(row);
        return (
          <Text key={props.rowKey(row)} inverse={start + j === selected} wrap="truncate">
            {columns.map((c, i) => {
              const v = c.cell(row, widths[i]!);
              const color = c.color?.(row) ?? rowColor;
              const segs = fitSegments(typeof v === 'string' ? [{ text: v }] : v, widths[i]!, c.align ?? 'left');
              return (
                <Text key={c.title}>
                  {segs.map((s, k) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
                    <Text key={k} color={s.color ?? color} bold={s.bold}>
                      {s.text}
                    </Text>
                  ))}
                  {i < columns.length - 1 ? ' ' : ''}
                </Text>
              );
            })}
          </Text>
        );
      })}
      {rows.length > height ? (
        <Text color={theme.dim}>
          rows {start + 1}-{start + shown.length} of {rows.length}
        </Text>
      ) : null}
    </Box>
  );
}
