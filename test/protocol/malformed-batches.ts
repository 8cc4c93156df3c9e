/**
 * Record batches whose CRC is valid but whose records are not (issue 23, defect 4), built byte by byte, for the
 * validator's unit test (test/protocol/validate.test.ts) and the broker test over a raw socket
 * (test/broker/record-validation.test.ts). Also a seeded mutator for the fuzz tests and a reference verdict.
 */
import { ATTR_CONTROL, BATCH_HEADER_SIZE, Compression, OFF, rewriteCrc } from '../../src/protocol/records/batch.js';
import { compress, decompress } from '../../src/protocol/records/compression.js';
import { encodeRecordsUncompressed, type RecordInput } from '../../src/protocol/records/record.js';

/** Kafka's error codes these cases expect. */
export const INVALID_RECORD = 87;
export const CORRUPT_MESSAGE = 2;
export const INVALID_TIMESTAMP = 32;

/** Zig-zag varint bytes of a 32-bit value. */
export function varint(v: number): number[] {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  const out: number[] = [];
  while (u >= 0x80) {
    out.push((u & 0x7f) | 0x80);
    u >>>= 7;
  }
  out.push(u);
  return out;
}

/** Zig-zag varlong bytes of a 64-bit value. */
export function varlong(v: bigint): number[] {
  let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

function field(v: Buffer | string | null): number[] {
  if (v === null) return varint(-1);
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return [...varint(b.length), ...b];
}

export interface RecordSpec {
  offsetDelta: number;
  timestampDelta?: bigint;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: { key: string; value: string | null }[];
  /** Raw bytes in place of the key field (length varint and bytes). */
  keyRaw?: number[];
  /** Raw bytes in place of the header count and headers. */
  headersRaw?: number[];
  /** Added to the true body length in the record's length varint. */
  lengthAdjust?: number;
  /** Raw bytes in place of the length varint. */
  lengthRaw?: number[];
}

/** One record v2, possibly malformed as `s` says. */
export function recordBytes(s: RecordSpec): Buffer {
  const headers = s.headers ?? [];
  const body = [
    0,
    ...varlong(s.timestampDelta ?? 0n),
    ...varint(s.offsetDelta),
    ...(s.keyRaw ?? field(s.key ?? null)),
    ...field(s.value === undefined ? 'v' : s.value),
    ...(s.headersRaw ?? [...varint(headers.length), ...headers.flatMap((h) => [...field(h.key), ...field(h.value)])]),
  ];
  const len = s.lengthRaw ?? varint(body.length + (s.lengthAdjust ?? 0));
  return Buffer.from([...len, ...body]);
}

export interface BatchSpec {
  /** Records section as sent (compressed already when `attributes` says so). */
  section: Buffer;
  count: number;
  lastOffsetDelta?: number;
  attributes?: number;
  baseTimestamp?: bigint;
  maxTimestamp?: bigint;
  producerId?: bigint;
  baseSequence?: number;
}

/** A RecordBatch v2 around `section` with a valid CRC, whatever the section holds. */
export function rawBatch(s: BatchSpec): Buffer {
  const b = Buffer.alloc(BATCH_HEADER_SIZE + s.section.length);
  b.writeBigInt64BE(0n, OFF.baseOffset);
  b.writeInt32BE(b.length - 12, OFF.batchLength);
  b.writeInt32BE(-1, OFF.partitionLeaderEpoch);
  b.writeInt8(2, OFF.magic);
  b.writeInt16BE(s.attributes ?? 0, OFF.attributes);
  b.writeInt32BE(s.lastOffsetDelta ?? s.count - 1, OFF.lastOffsetDelta);
  const base = s.baseTimestamp ?? 1_700_000_000_000n;
  b.writeBigInt64BE(base, OFF.baseTimestamp);
  b.writeBigInt64BE(s.maxTimestamp ?? base, OFF.maxTimestamp);
  b.writeBigInt64BE(s.producerId ?? -1n, OFF.producerId);
  b.writeInt16BE(-1, OFF.producerEpoch);
  b.writeInt32BE(s.baseSequence ?? -1, OFF.baseSequence);
  b.writeInt32BE(s.count, OFF.recordCount);
  s.section.copy(b, BATCH_HEADER_SIZE);
  rewriteCrc(b, 0, b.length);
  return b;
}

const good = (i: number): Buffer => recordBytes({ offsetDelta: i, key: `k${i}`, value: `value-${i}` });

export interface MalformedCase {
  name: string;
  build: () => Promise<Buffer>;
  code: number;
  /** The record_errors batch_index values expected (empty: none). */
  recordErrors: number[];
  message: RegExp;
  /** The records are well-formed; a rule about the batch refuses it. */
  batchRule?: boolean;
}

/** The cases and their neighbours: each CRC-valid, each to be refused whole. */
export const MALFORMED_CASES: MalformedCase[] = [
  {
    name: 'a record count of 1,000,000 in a batch of one record',
    build: async () => rawBatch({ section: good(0), count: 1_000_000 }),
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /declares 1000000 records but holds 1/,
  },
  {
    name: 'a record count of 3 in a batch of two records',
    build: async () => rawBatch({ section: Buffer.concat([good(0), good(1)]), count: 3 }),
    code: INVALID_RECORD,
    recordErrors: [2],
    message: /declares 3 records but holds 2/,
  },
  {
    name: 'a length varint that runs past the end of the batch',
    build: async () => rawBatch({ section: Buffer.concat([good(0), Buffer.from([0x80])]), count: 2 }),
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /record 1: record length: truncated varint/,
  },
  {
    name: 'a header count varint that runs past the end of its record',
    build: async () =>
      rawBatch({ section: Buffer.concat([good(0), recordBytes({ offsetDelta: 1, headersRaw: [0x80] })]), count: 2 }),
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /record 1: header count: truncated varint/,
  },
  {
    name: 'a varint longer than 5 bytes',
    build: async () =>
      rawBatch({ section: recordBytes({ offsetDelta: 0, keyRaw: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01] }), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /key length: varint beyond 32 bits/,
  },
  {
    name: 'a record length longer than the batch',
    build: async () =>
      rawBatch({ section: Buffer.concat([good(0), recordBytes({ offsetDelta: 1, lengthAdjust: 40 })]), count: 2 }),
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /record 1: invalid record length/,
  },
  {
    name: 'a record length shorter than its fields',
    build: async () =>
      rawBatch({ section: recordBytes({ offsetDelta: 0, value: 'abcdef', lengthAdjust: -3 }), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /record 0: value length 6 exceeds the 4 bytes left in the record/,
  },
  {
    name: 'a record length longer than its fields (the next record starts inside it)',
    build: async () =>
      rawBatch({ section: Buffer.concat([recordBytes({ offsetDelta: 0, lengthAdjust: 2 }), good(1)]), count: 2 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /record 0: its fields end 2 bytes before the record length/,
  },
  {
    name: 'a record length below the smallest record',
    build: async () => rawBatch({ section: Buffer.from([...varint(3), 0, 0, 0]), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /invalid record length 3/,
  },
  {
    name: 'a wrong offset delta',
    build: async () =>
      rawBatch({ section: Buffer.concat([good(0), recordBytes({ offsetDelta: 5 }), good(2)]), count: 3 }),
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /record 1: offset delta 5, expected 1/,
  },
  {
    name: 'offset deltas that do not start at 0',
    build: async () => rawBatch({ section: Buffer.concat([good(1), good(2)]), count: 2 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /record 0: offset delta 1, expected 0/,
  },
  {
    name: 'a lastOffsetDelta that does not match the record count',
    build: async () => rawBatch({ section: Buffer.concat([good(0), good(1)]), count: 2, lastOffsetDelta: 5 }),
    code: INVALID_RECORD,
    recordErrors: [],
    message: /2 records but last offset delta 5/,
  },
  {
    name: 'trailing bytes after the last record',
    build: async () => rawBatch({ section: Buffer.concat([good(0), Buffer.from([0, 0, 0])]), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [],
    message: /3 bytes follow the last of the batch's 1 records/,
  },
  {
    name: 'a key length below -1',
    build: async () => rawBatch({ section: recordBytes({ offsetDelta: 0, keyRaw: varint(-2) }), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /invalid key length -2/,
  },
  {
    name: 'a negative header count',
    build: async () => rawBatch({ section: recordBytes({ offsetDelta: 0, headersRaw: varint(-1) }), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /invalid header count -1/,
  },
  {
    name: 'a header count larger than the record can hold',
    build: async () =>
      rawBatch({ section: recordBytes({ offsetDelta: 0, headersRaw: [...varint(1000), 0, 0] }), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /invalid header count 1000/,
  },
  {
    name: 'a null header key',
    build: async () =>
      rawBatch({
        section: recordBytes({ offsetDelta: 0, headersRaw: [...varint(1), ...varint(-1), ...varint(-1)] }),
        count: 1,
      }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /invalid header key length -1/,
  },
  {
    name: 'record attributes other than 0 (kafka-python reads 0x80 as the start of a varint)',
    build: async () => {
      const r = recordBytes({ offsetDelta: 1 });
      r[varint(r.length - 1).length] = 0x80; // the attributes byte, after the length varint
      return rawBatch({ section: Buffer.concat([good(0), r]), count: 2 });
    },
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /record 1: attributes 128, but they are unused in v2/,
  },
  {
    name: 'a 5-byte varint with bits beyond 32 (Kafka drops them, kafka-python does not)',
    build: async () =>
      rawBatch({ section: recordBytes({ offsetDelta: 0, keyRaw: [0x82, 0x80, 0x80, 0x80, 0x10, 0x61] }), count: 1 }),
    code: INVALID_RECORD,
    recordErrors: [0],
    message: /key length: varint beyond 32 bits/,
  },
  {
    name: 'a header key that is not UTF-8 (kafka-python cannot read past it)',
    build: async () =>
      rawBatch({
        section: Buffer.concat([
          good(0),
          recordBytes({ offsetDelta: 1, headersRaw: [...varint(1), ...varint(2), 0x10, 0xe7, ...varint(-1)] }),
        ]),
        count: 2,
      }),
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /record 1: a header key is not valid UTF-8/,
  },
  ...[Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd].map(
    (codec): MalformedCase => ({
      name: `a compression flag (${Compression[codec]}) on plain records`,
      build: async () => rawBatch({ section: Buffer.concat([good(0), good(1)]), count: 2, attributes: codec }),
      code: CORRUPT_MESSAGE,
      recordErrors: [],
      message: /compressed records do not decompress/,
    }),
  ),
  ...[Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd].map(
    (codec): MalformedCase => ({
      name: `${Compression[codec]}: records inside the compressed payload with a wrong offset delta`,
      build: async () =>
        rawBatch({
          section: await compress(codec, Buffer.concat([good(0), good(1), recordBytes({ offsetDelta: 7 })])),
          count: 3,
          attributes: codec,
        }),
      code: INVALID_RECORD,
      recordErrors: [2],
      message: /record 2: offset delta 7, expected 2/,
    }),
  ),
  {
    name: 'gzip: a compressed payload holding fewer records than declared',
    build: async () =>
      rawBatch({ section: await compress(Compression.Gzip, good(0)), count: 1_000_000, attributes: Compression.Gzip }),
    code: INVALID_RECORD,
    recordErrors: [1],
    message: /declares 1000000 records but holds 1/,
  },
  {
    name: 'a control batch from a client',
    build: async () =>
      rawBatch({
        section: recordBytes({ offsetDelta: 0, key: Buffer.from([0, 0, 0, 1]) }),
        count: 1,
        attributes: ATTR_CONTROL,
      }),
    code: INVALID_RECORD,
    recordErrors: [],
    message: /control batches/,
    batchRule: true,
  },
  {
    name: 'a producer id without a sequence number',
    build: async () => rawBatch({ section: good(0), count: 1, producerId: 7n, baseSequence: -1 }),
    code: INVALID_RECORD,
    recordErrors: [],
    message: /invalid sequence number -1/,
    batchRule: true,
  },
];

// ---------------------------------------------------------------------------------------------------------
// Fuzzing: a seeded generator of CRC-valid batches, many of them malformed.

/** Mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzBatch {
  batch: Buffer;
  /** What was done to it, for the failure message. */
  how: string;
}

function randomRecords(rnd: () => number): RecordInput[] {
  const n = 1 + Math.floor(rnd() * 6);
  const bytes = (max: number): Buffer | null =>
    rnd() < 0.15 ? null : Buffer.from(Array.from({ length: Math.floor(rnd() * max) }, () => Math.floor(rnd() * 256)));
  return Array.from({ length: n }, (_, i) => ({
    key: bytes(20),
    value: bytes(rnd() < 0.1 ? 300 : 40),
    headers:
      rnd() < 0.3
        ? Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, j) => ({ key: `h${j}`, value: bytes(10) }))
        : [],
    // Deltas of one to three bytes mostly, up to 6 bytes sometimes, and 9 bytes (beyond 2^53) rarely.
    timestamp:
      1_700_000_000_000n +
      BigInt(Math.floor(rnd() * (rnd() < 0.1 ? 2 ** 40 : 1000))) +
      BigInt(i) +
      (rnd() < 0.03 ? 2n ** 55n : 0n),
  }));
}

/**
 * A batch built from random records, then (usually) mutated inside its records section before compression:
 * bytes replaced, inserted or removed, the record count or last offset delta changed; the CRC always recomputed.
 */
export async function fuzzBatch(rnd: () => number): Promise<FuzzBatch> {
  const records = randomRecords(rnd);
  const base = records[0]!.timestamp as bigint;
  let section = encodeRecordsUncompressed(records, base);
  let count = records.length;
  let lastOffsetDelta: number | undefined;
  const hows: string[] = [];
  const mutations = rnd() < 0.2 ? 0 : 1 + Math.floor(rnd() * 3);
  for (let m = 0; m < mutations; m++) {
    const at = Math.floor(rnd() * section.length);
    const kind = Math.floor(rnd() * 7);
    if (kind <= 2) {
      const v = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x02, 0x03, Math.floor(rnd() * 256)][Math.floor(rnd() * 8)]!;
      section = Buffer.from(section);
      section[at] = v;
      hows.push(`byte ${at} = ${v}`);
    } else if (kind === 3) {
      const v = Math.floor(rnd() * 256);
      section = Buffer.concat([section.subarray(0, at), Buffer.from([v]), section.subarray(at)]);
      hows.push(`insert ${v} at ${at}`);
    } else if (kind === 4) {
      section = Buffer.concat([section.subarray(0, at), section.subarray(at + 1)]);
      hows.push(`delete byte ${at}`);
    } else if (kind === 5) {
      count = [0, count - 1, count + 1, 1_000_000, -1][Math.floor(rnd() * 5)]!;
      hows.push(`count ${count}`);
    } else {
      lastOffsetDelta = [count, count - 2, 1_000_000][Math.floor(rnd() * 3)]!;
      hows.push(`lastOffsetDelta ${lastOffsetDelta}`);
    }
  }
  const codec = rnd() < 0.6 ? Compression.None : ((1 + Math.floor(rnd() * 4)) as Compression);
  const payload = codec === Compression.None ? section : await compress(codec, section);
  const batch = rawBatch({
    section: payload,
    count,
    lastOffsetDelta: lastOffsetDelta ?? count - 1,
    attributes: codec,
    baseTimestamp: base,
    maxTimestamp: records.reduce((a, r) => ((r.timestamp as bigint) > a ? (r.timestamp as bigint) : a), base),
  });
  return { batch, how: `${Compression[codec]}, ${records.length} records, ${hows.join(', ') || 'intact'}` };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A reference reading of a batch, written plainly and independently of the validator (bigints, one field at a
 * time, exceptions for every fault): true when the records are what a client can read. The rules are the
 * record format's: record length exactly its fields; attributes 0; varints within 32 bits, varlongs within 64;
 * offset deltas 0..n-1; key / value lengths -1 or within the record; header count >= 0; header keys present
 * and UTF-8; exactly `recordCount` records; timestamps within int64. And the batch's: count >= 1 matching
 * lastOffsetDelta, no control batch, a sequence with a producer id. The CRC and batch length are taken as
 * valid (the cases keep them so).
 */
export async function wellFormed(batch: Buffer): Promise<boolean> {
  const count = batch.readInt32BE(OFF.recordCount);
  const attributes = batch.readInt16BE(OFF.attributes);
  if (count < 1 || batch.readInt32BE(OFF.lastOffsetDelta) !== count - 1) return false;
  if ((attributes & ATTR_CONTROL) !== 0) return false;
  if (batch.readBigInt64BE(OFF.producerId) >= 0n && batch.readInt32BE(OFF.baseSequence) < 0) return false;
  const codec = (attributes & 7) as Compression;
  if (codec > Compression.Zstd) return false;
  let data: Buffer;
  try {
    data = await decompress(codec, batch.subarray(BATCH_HEADER_SIZE));
  } catch {
    return false;
  }
  const base = batch.readBigInt64BE(OFF.baseTimestamp);
  let pos = 0;
  const take = (end: number): number => {
    if (pos >= end) throw new Error('past the end');
    return data[pos++]!;
  };
  const unsigned = (end: number, maxBytes: number): bigint => {
    let v = 0n;
    for (let i = 0; i < maxBytes; i++) {
      const b = take(end);
      v += BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return v;
    }
    throw new Error('too long');
  };
  const signed = (end: number, bits: 32 | 64): bigint => {
    const u = unsigned(end, bits === 32 ? 5 : 10);
    if (u >= 2n ** BigInt(bits)) throw new Error('out of range');
    return u % 2n === 0n ? u / 2n : -(u + 1n) / 2n;
  };
  const bytes = (end: number, nullable: boolean): Buffer | null => {
    const len = Number(signed(end, 32));
    if (len === -1 && nullable) return null;
    if (len < 0 || pos + len > end) throw new Error('bad length');
    pos += len;
    return data.subarray(pos - len, pos);
  };
  try {
    for (let i = 0; i < count; i++) {
      const len = Number(signed(data.length, 32));
      const end = pos + len;
      if (len < 0 || end > data.length) return false;
      if (take(end) !== 0) return false;
      const ts = base + signed(end, 64);
      if (ts < INT64_MIN || ts > INT64_MAX) return false;
      if (signed(end, 32) !== BigInt(i)) return false;
      bytes(end, true);
      bytes(end, true);
      const headers = Number(signed(end, 32));
      if (headers < 0) return false;
      for (let j = 0; j < headers; j++) {
        utf8.decode(bytes(end, false) as Buffer);
        bytes(end, true);
      }
      if (pos !== end) return false;
    }
    return pos === data.length;
  } catch {
    return false;
  }
}
