/**
 * A scrolling table that fits its width: the columns that fit by priority (layout.ts), a bold header, the
 * selected row in inverse video, and a window of `height` rows that follows the cursor. Cells are text or
 * coloured segments (e.g. an ISR list with the missing replicas in red). Number columns are as wide as their
 * widest cell, so a number is never cut; names are cut with an ellipsis.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { fit } from '../format.js';
import { type ColumnKind, layout } from '../layout.js';
import { theme } from '../theme.js';

export interface Segment {
  text: string;
  color?: string;
  bold?: boolean;
}

export interface Column<T> {
  title: string;
  align?: 'left' | 'right';
  /** 0 is always shown; higher numbers are left out first when the width runs out. */
  priority: number;
  /** fixed (default): as wide as its widest cell; name / text: cut to fit; spark: a sparkline, min..max wide. */
  kind?: ColumnKind;
  min?: number;
  max?: number;
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
  /** Lines for the rows (the header not included); when there are more rows, one of them says which are shown. */
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

const textOf = (v: string | Segment[]) => (typeof v === 'string' ? v : v.map((s) => s.text).join(''));

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

/** The columns shown and their widths for these rows at this width (exported for tests). */
export function tableLayout<T>(
  columns: Column<T>[],
  rows: readonly T[],
  width: number,
): { column: Column<T>; width: number }[] {
  const widths = layout(
    columns.map((c) => ({
      title: c.title,
      priority: c.priority,
      kind: c.kind ?? 'fixed',
      min: c.min,
      max: c.max,
      natural:
        c.kind === 'spark'
          ? c.title.length
          : rows.reduce((m, r) => Math.max(m, textOf(c.cell(r, Number.MAX_SAFE_INTEGER)).length), c.title.length),
    })),
    width,
  );
  return columns.map((column, i) => ({ column, width: widths[i]! })).filter((c) => c.width > 0);
}

export function Table<T>(props: TableProps<T>): ReactNode {
  const { rows, selected, height, width } = props;
  const cols = tableLayout(props.columns, rows, width);
  // More rows than lines: the last line says which rows are shown.
  const room = rows.length > height ? Math.max(1, height - 1) : height;
  const start = windowStart(selected, rows.length, room);
  const shown = rows.slice(start, start + room);
  return (
    <Box flexDirection="column">
      <Text bold color={theme.accent} wrap="truncate">
        {cols.map((c) => fit(c.column.title, c.width, c.column.align)).join(' ')}
      </Text>
      {rows.length === 0 ? <Text color={theme.dim}>{props.empty ?? '(none)'}</Text> : null}
      {shown.map((row, j) => {
        const rowColor = props.rowColor?.(row);
        return (
          <Text key={props.rowKey(row)} inverse={start + j === selected} wrap="truncate">
            {cols.map(({ column: c, width: w }, i) => {
              const v = c.cell(row, w);
              const color = c.color?.(row) ?? rowColor;
              const segs = fitSegments(typeof v === 'string' ? [{ text: v }] : v, w, c.align ?? 'left');
              return (
                <Text key={c.title}>
                  {segs.map((s, k) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
                    <Text key={k} color={s.color ?? color} bold={s.bold}>
                      {s.text}
                    </Text>
                  ))}
                  {i < cols.length - 1 ? ' ' : ''}
                </Text>
              );
            })}
          </Text>
        );
      })}
      {rows.length > room ? (
        <Text color={theme.dim}>
          rows {start + 1}-{start + shown.length} of {rows.length}
        </Text>
      ) : null}
    </Box>
  );
}
