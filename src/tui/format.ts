/** Pure text formatting for `kstream top`: numbers, rates, durations, padding. */

/** 999, 1.2k, 3.4M, 5.6G. */
export function compact(n: number | bigint | null): string {
  if (n === null) return '-';
  const v = typeof n === 'bigint' ? Number(n) : n;
  const a = Math.abs(v);
  if (a < 1000) return Number.isInteger(v) ? String(v) : v.toFixed(1);
  if (a < 1e6) return `${(v / 1e3).toFixed(1)}k`;
  if (a < 1e9) return `${(v / 1e6).toFixed(1)}M`;
  return `${(v / 1e9).toFixed(1)}G`;
}

/** A rate in messages/s ("-" before the second poll). */
export function perSecond(r: number | null): string {
  if (r === null) return '-';
  if (r > 0 && r < 10) return r.toFixed(1);
  return compact(Math.round(r));
}

/** Seconds as "0s", "42s", "3m20s", "2h05m", "∞" (never), "-" (unknown); 'steady' as is. */
export function duration(s: number | 'steady' | null): string {
  if (s === 'steady') return s;
  if (s === null || Number.isNaN(s)) return '-';
  if (!Number.isFinite(s)) return '∞';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

/** A refresh interval: "500ms", "1s", "2.5s". */
export function interval(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(1))}s`;
}

/** HH:MM:SS local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}

/** Pad or cut to exactly `width` characters (cut text ends with '…'). */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : `${s.slice(0, width - 1)}…`;
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

const BARS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline of the last `width` values, scaled to their maximum (all zero: a flat baseline). It starts at the
 * left, under its column's title, and grows to the right as values come (the newest is the rightmost).
 */
export function sparkline(values: readonly number[], width: number): string {
  const v = values.slice(-width);
  const max = Math.max(0, ...v);
  const line = v.map((x) => (max <= 0 ? BARS[0] : BARS[Math.min(7, Math.round((x / max) * 7))])).join('');
  return line.padEnd(width, ' ');
}

/** Bytes in few characters: 512B, 3.4KiB, 120MiB, 1.2GiB ("-" unknown). */
export function bytes(n: number | bigint | null): string {
  if (n === null) return '-';
  let v = typeof n === 'bigint' ? Number(n) : n;
  if (v < 1024) return `${Math.round(v)}B`;
  for (const unit of ['KiB', 'MiB', 'GiB', 'TiB']) {
    v /= 1024;
    if (v < 1024 || unit === 'TiB') return `${v < 10 ? v.toFixed(1) : Math.round(v)}${unit}`;
  }
  return `${v}`;
}

/** A byte rate per second ("-" before the second poll). */
export function bytesPerSecond(r: number | null): string {
  return r === null ? '-' : bytes(r);
}
