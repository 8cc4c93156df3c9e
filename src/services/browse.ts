/**
 * A page of a partition's records, for `kstream top`'s record browser: from an offset, a time, the start or
 * the end (the last page), at most `limit` records. Built on the client's public API (Admin for offsets,
 * Consumer in assign mode for the records), so it works against any Kafka-compatible cluster.
 */
import type { Admin, ConsumerRecord } from '../client/index.js';
import { type ConnectOptions, clusterOptions } from './connect.js';

export type PageFrom =
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'time'; ms: number };

export interface RecordPage {
  topic: string;
  partition: number;
  /** The partition's log start and end (high watermark) when the page was read. */
  low: bigint;
  high: bigint;
  /** Where the page starts (the first record's offset, or where it would be). */
  start: bigint;
  records: ConsumerRecord[];
  /** For a time: no record at or after it (the page is the last one). */
  timeNotFound?: boolean;
}

/** The offset a page starts at, and the partition's log start and end. */
export async function pageStart(
  admin: Admin,
  topic: string,
  partition: number,
  from: PageFrom,
  limit: number,
): Promise<{ low: bigint; high: bigint; start: bigint; timeNotFound?: boolean }> {
  const offsets = await admin.fetchTopicOffsets([topic]);
  const o = offsets.find((x) => x.partition === partition);
  if (!o) throw new Error(`topic ${topic} has no partition ${partition}`);
  if (o.error) throw o.error;
  const { low, high } = o;
  const clamp = (x: bigint) => (x < low ? low : x > high ? high : x);
  switch (from.kind) {
    case 'start':
      return { low, high, start: low };
    case 'end':
      return { low, high, start: clamp(high - BigInt(limit)) };
    case 'offset':
      return { low, high, start: clamp(from.offset) };
    case 'time': {
      const [found] = await admin.listOffsets([{ topic, partition, spec: { timestamp: from.ms } }]);
      if (!found || found.offset < 0n) return { low, high, start: clamp(high - BigInt(limit)), timeNotFound: true };
      return { low, high, start: clamp(found.offset) };
    }
  }
}

/**
 * Up to `limit` records of a partition from `start`, stopping at the high watermark (never waiting for new
 * ones).
 */
export async function readRange(
  conn: ConnectOptions,
  topic: string,
  partition: number,
  start: bigint,
  high: bigint,
  limit: number,
): Promise<ConsumerRecord[]> {
  if (start >= high || limit <= 0) return [];
  const { Consumer } = await import('../client/index.js');
  const consumer = new Consumer({ ...clusterOptions(conn), clientId: 'kstream-top' });
  const out: ConsumerRecord[] = [];
  try {
    await consumer.connect();
    consumer.assign([{ topic, partition, offset: start }]);
    for await (const r of consumer.records({ untilEnd: true })) {
      if (r.offset >= high) break;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  } finally {
    await consumer.close().catch(() => {});
  }
}

/** A page: where it starts, then its records. */
export async function readPage(
  admin: Admin,
  conn: ConnectOptions,
  topic: string,
  partition: number,
  from: PageFrom,
  limit: number,
): Promise<RecordPage> {
  const where = await pageStart(admin, topic, partition, from, limit);
  const records = await readRange(conn, topic, partition, where.start, where.high, limit);
  return { topic, partition, ...where, records };
}

// ---------------------------------------------------------------------------------------------------------
// How a value (or key) is shown: JSON pretty-printed, text, or a hex dump.

export type ShowAs = 'json' | 'text' | 'hex';

function utf8(b: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** Text with no control characters but tab and newline. */
function printable(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
  return !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s);
}

/** What `auto` shows a value as: JSON when it parses as an object or array, text when printable, else hex. */
export function detect(b: Buffer): ShowAs {
  const s = utf8(b);
  if (s === null || !printable(s)) return 'hex';
  const t = s.trim();
  if ((t.startsWith('{') || t.startsWith('[')) && parsesAsJson(t)) return 'json';
  return 'text';
}

function parsesAsJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** The lines of a hex dump: offset, 16 bytes in hex, the printable ones as text (`00000000  7b 22 …  |{"…|`). */
export function hexDump(b: Buffer, max = 4096): string[] {
  const lines: string[] = [];
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i += 16) {
    const chunk = b.subarray(i, Math.min(i + 16, n));
    const hex = [...chunk].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const text = [...chunk].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${text}|`);
  }
  if (b.length > max) lines.push(`… ${b.length - max} more bytes`);
  return lines;
}

/**
 * A value as lines to show in full (the record's details): as asked, or as detect() picks for 'auto'. JSON that
 * does not parse, or text that is not UTF-8, falls back to what it can be.
 */
export function showLines(b: Buffer | null, as: ShowAs | 'auto'): { as: ShowAs | 'null'; lines: string[] } {
  if (b === null) return { as: 'null', lines: ['(null)'] };
  const kind = as === 'auto' ? detect(b) : as;
  const s = utf8(b);
  if (kind === 'json' && s !== null && parsesAsJson(s))
    return { as: 'json', lines: JSON.stringify(JSON.parse(s), null, 2).split('\n') };
  if ((kind === 'text' || kind === 'json') && s !== null) return { as: 'text', lines: s.split('\n') };
  return { as: 'hex', lines: hexDump(b) };
}

/** A value on one line (the record list): compact JSON, text with newlines as ⏎, or hex bytes. */
export function showInline(b: Buffer | null, as: ShowAs | 'auto', max = 400): string {
  if (b === null) return '(null)';
  const kind = as === 'auto' ? detect(b) : as;
  const s = utf8(b);
  if (kind === 'json' && s !== null && parsesAsJson(s)) return JSON.stringify(JSON.parse(s)).slice(0, max);
  if ((kind === 'text' || kind === 'json') && s !== null) return s.replace(/\r?\n/g, '⏎').slice(0, max);
  return [...b.subarray(0, Math.ceil(max / 3))].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}
