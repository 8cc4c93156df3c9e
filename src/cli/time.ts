/** Times as users type them: ISO 8601 (`2026-11-25T10:00Z`), epoch milliseconds, or relative (`-10m`, `-2h`, `-1d`). */
import { CliError, EXIT_USAGE } from './base.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds since the epoch; `now` for relative times (tests). */
export function parseTime(text: string, flag: string, now = Date.now()): number {
  const t = text.trim();
  const rel = /^-(\d+)(ms|s|m|h|d)$/.exec(t);
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  if (/^\d{10,}$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new CliError(
    `invalid ${flag} ${JSON.stringify(text)}: use an ISO time (2026-11-25T10:00:00Z), epoch ms, or -10m / -2h / -1d`,
    EXIT_USAGE,
  );
}
