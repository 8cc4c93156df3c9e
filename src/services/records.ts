/**
 * The JSON form of a record, shared by `produce --format json` (input) and `consume -o json` (output):
 *   {"key": "k", "value": "v", "headers": [{"key": "h", "value": "x"}], "partition": 0, "timestamp": 1700000000000}
 * Key, value and header values are UTF-8 text; when any of them is not valid UTF-8 they are all base64 and the
 * object has "encoding": "base64". null stays null (a null key, a tombstone).
 */

export interface JsonRecordIn {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
  partition?: number;
  timestamp?: number;
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Whether every part of a record is valid UTF-8 text (else the JSON form uses base64). */
export function allText(parts: readonly (Buffer | null)[]): boolean {
  return parts.every((p) => p === null || isUtf8(p));
}

export function encodePart(b: Buffer | null, base64: boolean): string | null {
  return b === null ? null : b.toString(base64 ? 'base64' : 'utf8');
}

/** Parse one line of `produce --format json`; throws an Error saying what is wrong (the caller adds the line). */
export function parseJsonRecord(line: string): JsonRecordIn {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new Error(`invalid JSON (${(e as Error).message})`);
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error('expected a JSON object');
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!['key', 'value', 'headers', 'partition', 'timestamp', 'encoding', 'topic', 'offset'].includes(k))
      throw new Error(`unknown field "${k}" (use key, value, headers, partition, timestamp, encoding)`);
  }
  if (r.encoding !== undefined && r.encoding !== 'base64' && r.encoding !== 'utf8')
    throw new Error('"encoding" must be "base64" or "utf8"');
  const enc: BufferEncoding = r.encoding === 'base64' ? 'base64' : 'utf8';
  const part = (v: unknown, what: string): Buffer | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw new Error(`"${what}" must be a string or null`);
    if (enc === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new Error(`"${what}" is not valid base64`);
    return Buffer.from(v, enc);
  };
  const headers: { key: string; value: Buffer | null }[] = [];
  if (Array.isArray(r.headers)) {
    for (const h of r.headers) {
      if (h === null || typeof h !== 'object' || typeof (h as { key?: unknown }).key !== 'string')
        throw new Error('"headers" entries must be {"key": string, "value": string|null}');
      headers.push({ key: (h as { key: string }).key, value: part((h as { value?: unknown }).value, 'headers value') });
    }
  } else if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object') throw new Error('"headers" must be an array or an object');
    for (const [k, v] of Object.entries(r.headers)) headers.push({ key: k, value: part(v, 'headers value') });
  }
  const out: JsonRecordIn = { key: part(r.key, 'key'), value: part(r.value, 'value'), headers };
  if (r.partition !== undefined && r.partition !== null) {
    if (typeof r.partition !== 'number' || !Number.isInteger(r.partition) || r.partition < 0)
      throw new Error('"partition" must be an integer >= 0');
    out.partition = r.partition;
  }
  if (r.timestamp !== undefined && r.timestamp !== null) {
    const t = typeof r.timestamp === 'string' ? Date.parse(r.timestamp) : r.timestamp;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0)
      throw new Error('"timestamp" must be epoch milliseconds or an ISO time');
    out.timestamp = t;
  }
  return out;
}
