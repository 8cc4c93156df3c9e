/**
 * Which columns of a table fit a terminal's width, and how wide each is (pure, so it is tested alone).
 *
 * Every column has a priority: when the width runs out the least important go first, whatever their place in
 * the table, so at 80 or 60 columns the name, the rates and the lag stay and RF or a sparkline go. A number
 * column is as wide as its widest cell (numbers are never cut); a name column shrinks down to `min` (its text
 * is then cut with an ellipsis); a text column (events, out-of-ISR lists) takes what is left; a sparkline
 * takes what is left up to its `max` (the history it has), so at 250 columns it stays under its title.
 */

export type ColumnKind = 'fixed' | 'name' | 'text' | 'spark';

export interface LayoutInput {
  title: string;
  /** 0 is always shown; higher numbers go first when the width runs out. */
  priority: number;
  kind: ColumnKind;
  /** The widest cell or the title (fixed, name and text columns). */
  natural: number;
  /** Narrowest a name, text or spark column gets. */
  min?: number;
  /** Widest a spark column gets. */
  max?: number;
}

export const SPARK_MIN = 8;
export const NAME_MIN = 10;

function minimum(c: LayoutInput): number {
  if (c.kind === 'spark') return Math.max(c.min ?? SPARK_MIN, c.title.length);
  if (c.kind === 'name' || c.kind === 'text') return Math.min(c.natural, Math.max(c.min ?? NAME_MIN, c.title.length));
  return c.natural;
}

/** Each column's width for a line of `width` characters (one space between columns); 0: not shown. */
export function layout(columns: readonly LayoutInput[], width: number): number[] {
  const order = columns.map((_, i) => i).sort((a, b) => columns[a]!.priority - columns[b]!.priority || a - b);
  const widths = columns.map(() => 0);
  let used = -1; // no separator before the first column
  for (const i of order) {
    const c = columns[i]!;
    const need = minimum(c) + 1;
    if (used + need <= width || c.priority === 0) {
      widths[i] = minimum(c);
      used += need;
    }
  }
  let extra = width - used;
  // What is left: names first (cut names are the worst), then text, then sparklines up to their history.
  for (const kind of ['name', 'text', 'spark'] as const) {
    for (const i of order) {
      const c = columns[i]!;
      if (extra <= 0 || widths[i] === 0 || c.kind !== kind) continue;
      const target = kind === 'spark' ? Math.max(c.max ?? SPARK_MIN, widths[i]!) : c.natural;
      const add = Math.min(extra, Math.max(0, target - widths[i]!));
      widths[i]! += add;
      extra -= add;
    }
  }
  return widths;
}

export interface Part {
  text: string;
  /** 0 is always kept; higher numbers are dropped first when the line is too long. */
  priority: number;
}

/**
 * The parts of a line (header, footer) that fit `width`, in their order: the least important are dropped
 * first, so what matters (the keys of `?` help and `q` quit, the problem counts) is always on screen.
 */
export function fitParts<P extends Part>(parts: readonly P[], width: number, separator: string): P[] {
  const keep = new Set(parts.map((_, i) => i));
  const length = () =>
    [...keep].reduce((n, i) => n + parts[i]!.text.length, 0) + Math.max(0, keep.size - 1) * separator.length;
  const order = parts.map((_, i) => i).sort((a, b) => parts[b]!.priority - parts[a]!.priority || b - a);
  for (const i of order) {
    if (length() <= width) break;
    if (parts[i]!.priority > 0) keep.delete(i);
  }
  return parts.filter((_, i) => keep.has(i));
}
