/**
 * Portable topic archives (`kstream topic export` / `topic import`): a gzipped tar holding `manifest.json`
 * first, then one records file per partition (`records/<topic index>-<partition>.bin`).
 *
 * Records file format "kstream-records-v1", binary-safe, one frame per record, all integers big-endian:
 *   int32 frameLength (bytes after this field)
 *   int64 offset, int64 timestamp
 *   int32 keyLength (-1 = null) + bytes, int32 valueLength (-1 = null) + bytes
 *   int32 headerCount, then per header: int32 keyLength + UTF-8 bytes, int32 valueLength (-1 = null) + bytes
 *
 * The manifest lists per partition the file, its size, sha256 and record count, so an import can verify the
 * whole archive before it creates or produces anything. Reading uses node:zlib and the small streaming tar
 * reader below (ustar headers are 512-byte blocks; the header checksum is verified too).
 */
import type { RecordHeader } from '../client/index.js';

export const ARCHIVE_FORMAT = 'kstream-topic-archive';
export const ARCHIVE_VERSION = 1;
export const RECORDS_FORMAT = 'kstream-records-v1';

export interface PartitionEntry {
  partition: number;
  file: string;
  records: number;
  bytes: number;
  sha256: string;
  /** Offsets of the first and last exported record (null when none). */
  firstOffset: string | null;
  lastOffset: string | null;
  /** The partition's log start and end offsets when exported. */
  logStartOffset: string;
  logEndOffset: string;
}

export interface TopicEntry {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Only the configs set on the topic (its overrides). */
  configs: Record<string, string>;
  files: PartitionEntry[];
}

export interface Manifest {
  format: typeof ARCHIVE_FORMAT;
  version: number;
  recordsFormat: string;
  kstreamVersion: string;
  createdAt: string;
  window: { fromTime: number | null; toTime: number | null };
  topics: TopicEntry[];
}

export interface ArchivedRecord {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

// ---------------------------------------------------------------------------------------------------------
// Records codec

export function encodeRecord(r: ArchivedRecord): Buffer {
  const hk = r.headers.map((h) => Buffer.from(h.key, 'utf8'));
  let size = 8 + 8 + 4 + (r.key?.length ?? 0) + 4 + (r.value?.length ?? 0) + 4;
  r.headers.forEach((h, i) => {
    size += 4 + hk[i]!.length + 4 + (h.value?.length ?? 0);
  });
  const b = Buffer.allocUnsafe(4 + size);
  let o = b.writeInt32BE(size, 0);
  o = b.writeBigInt64BE(r.offset, o);
  o = b.writeBigInt64BE(r.timestamp, o);
  const bytes = (v: Buffer | null) => {
    if (v === null) {
      o = b.writeInt32BE(-1, o);
      return;
    }
    o = b.writeInt32BE(v.length, o);
    o += v.copy(b, o);
  };
  bytes(r.key);
  bytes(r.value);
  o = b.writeInt32BE(r.headers.length, o);
  r.headers.forEach((h, i) => {
    bytes(hk[i]!);
    bytes(h.value);
  });
  return b;
}

function decodeFrame(b: Buffer): ArchivedRecord {
  let o = 0;
  const need = (n: number) => {
    if (o + n > b.length) throw new Error('a record frame is shorter than its fields');
  };
  const bytes = (): Buffer | null => {
    need(4);
    const n = b.readInt32BE(o);
    o += 4;
    if (n === -1) return null;
    if (n < 0) throw new Error('a record field has a negative length');
    need(n);
    const v = Buffer.from(b.subarray(o, o + n));
    o += n;
    return v;
  };
  need(16);
  const offset = b.readBigInt64BE(0);
  const timestamp = b.readBigInt64BE(8);
  o = 16;
  const key = bytes();
  const value = bytes();
  need(4);
  const n = b.readInt32BE(o);
  o += 4;
  if (n < 0) throw new Error('a record has a negative header count');
  const headers: RecordHeader[] = [];
  for (let i = 0; i < n; i++) {
    const k = bytes();
    headers.push({ key: (k ?? Buffer.alloc(0)).toString('utf8'), value: bytes() });
  }
  if (o !== b.length) throw new Error('a record frame is longer than its fields');
  return { offset, timestamp, key, value, headers };
}

/** Splits a records file fed in arbitrary chunks into records. */
export class RecordReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onRecord: (r: ArchivedRecord) => void): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let o = 0;
    while (buf.length - o >= 4) {
      const n = buf.readInt32BE(o);
      if (n < 20) throw new Error('a record frame has an invalid length');
      if (buf.length - o - 4 < n) break;
      onRecord(decodeFrame(buf.subarray(o + 4, o + 4 + n)));
      o += 4 + n;
    }
    buf = buf.subarray(o);
    this.pending = Buffer.from(buf);
  }

  /** Throws if the file ended inside a record. */
  end(): void {
    if (this.pending.length) throw new Error('the records file ends inside a record');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tar reader

export interface TarEntryHeader {
  name: string;
  size: number;
  type: string;
}

export interface TarEntryHandler {
  data(chunk: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

export class ArchiveError extends Error {}

function octal(b: Buffer, start: number, len: number): number {
  const s = b
    .subarray(start, start + len)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new ArchiveError('a tar header has an invalid number field');
  return Number.parseInt(s, 8);
}

function cstring(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString('utf8');
}

function parseHeader(block: Buffer): TarEntryHeader | null {
  if (block.every((x) => x === 0)) return null;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (sum !== octal(block, 148, 8)) throw new ArchiveError('a tar header checksum does not match');
  let name = cstring(block, 0, 100);
  if (block.subarray(257, 262).toString('latin1') === 'ustar') {
    const prefix = cstring(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, size: octal(block, 124, 12), type: String.fromCharCode(block[156] || 48) };
}

/**
 * Reads a tar stream (already decompressed), calling `onEntry` for each regular file; its handler gets the
 * file's bytes in chunks and `end()` once it is complete. Throws ArchiveError when the stream ends inside an
 * entry (truncated) or a header is damaged.
 */
export async function readTar(
  source: AsyncIterable<Buffer>,
  onEntry: (h: TarEntryHeader) => TarEntryHandler | null,
): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  let header: TarEntryHeader | null = null;
  let handler: TarEntryHandler | null = null;
  let remaining = 0;
  let padding = 0;
  let paxName: string | null = null;
  let meta: Buffer[] | null = null;
  let ended = false;
  for await (const chunk of source) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (ended) break;
      if (header) {
        if (remaining > 0) {
          if (buf.length === 0) break;
          const piece = buf.subarray(0, Math.min(remaining, buf.length));
          buf = buf.subarray(piece.length);
          remaining -= piece.length;
          if (meta) meta.push(Buffer.from(piece));
          else if (handler) await handler.data(piece);
          if (remaining > 0) break;
        }
        if (buf.length < padding) break;
        buf = buf.subarray(padding);
        if (meta) {
          const text = Buffer.concat(meta).toString('utf8');
          const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
          if (header.type === 'L') paxName = text.replace(/\0+$/, '');
          else if (m && header.type === 'x') paxName = m[1]!;
          meta = null;
        } else if (handler) await handler.end();
        header = null;
        handler = null;
        continue;
      }
      if (buf.length < 512) break;
      const h = parseHeader(buf.subarray(0, 512));
      buf = buf.subarray(512);
      if (!h) {
        ended = true;
        break;
      }
      header = h;
      remaining = h.size;
      padding = (512 - (h.size % 512)) % 512;
      if (h.type === 'x' || h.type === 'g' || h.type === 'L') {
        meta = [];
        continue;
      }
      if (paxName) h.name = paxName;
      paxName = null;
      handler = h.type === '0' ? onEntry(h) : null;
    }
    if (ended) break;
    if (buf.length) buf = Buffer.from(buf);
  }
  if (header) throw new ArchiveError(`the archive is truncated (it ends inside ${header.name})`);
  if (!ended) throw new ArchiveError('the archive is truncated (no end-of-archive marker)');
}

export function validateManifest(m: unknown): Manifest {
  const bad = (why: string): never => {
    throw new ArchiveError(`manifest.json is not valid: ${why}`);
  };
  if (!m || typeof m !== 'object') bad('not an object');
  const o = m as Manifest;
  if (o.format !== ARCHIVE_FORMAT) bad(`format is not "${ARCHIVE_FORMAT}"`);
  if (o.version !== ARCHIVE_VERSION) bad(`version ${String(o.version)} is not supported (expected ${ARCHIVE_VERSION})`);
  if (o.recordsFormat !== RECORDS_FORMAT) bad(`records format ${String(o.recordsFormat)} is not supported`);
  if (!Array.isArray(o.topics) || o.topics.length === 0) bad('no topics');
  for (const t of o.topics) {
    if (typeof t.name !== 'string' || !t.name) bad('a topic has no name');
    if (!Number.isInteger(t.partitions) || t.partitions < 1) bad(`topic ${t.name} has no partition count`);
    if (!t.configs || typeof t.configs !== 'object') bad(`topic ${t.name} has no configs`);
    if (!Array.isArray(t.files)) bad(`topic ${t.name} lists no files`);
    for (const f of t.files) {
      if (typeof f.file !== 'string' || typeof f.sha256 !== 'string' || !Number.isInteger(f.records))
        bad(`topic ${t.name} has an invalid file entry`);
      if (!Number.isInteger(f.partition) || f.partition < 0 || f.partition >= t.partitions)
        bad(`topic ${t.name} has a file for partition ${String(f.partition)}`);
    }
  }
  return o;
}
