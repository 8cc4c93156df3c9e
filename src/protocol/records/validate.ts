/**
 * Record-level validation of produced batches: what a leader checks before it appends, after the batch headers
 * and CRCs (validateProducedBatches in batch.ts) passed. Kafka's broker does the same in its LogValidator; a
 * batch whose records are malformed is refused whole and never stored, because one such batch can make the
 * partition unreadable for every client that later fetches past it.
 *
 * For each batch — its records section decompressed first when it is compressed (into one buffer, which is
 * then walked like an uncompressed one) — the walk reads every record's varints in place:
 *   - the length varint: at least the smallest record body (6 bytes), at most the bytes left in the batch;
 *   - the record's attributes byte: 0 (it is unused in v2; kafka-python reads it as a varint, so a byte of
 *     0x80 or more makes it misread every record after it);
 *   - the timestamp delta (varlong, at most 10 bytes, within 64 bits) and the offset delta (varint, at most 5
 *     bytes, within 32 bits: Kafka's broker drops higher bits, kafka-python keeps them and misreads);
 *   - key and value lengths: -1 (null) or within the record; the header count: >= 0 and at most one header per
 *     2 bytes left; each header key length >= 0 and within the record, each header value length -1 or within;
 *   - each header key is UTF-8 (the protocol's header key is a string; Kafka's broker does not check it, but
 *     kafka-python stops reading a partition at a key that does not decode);
 *   - the fields end exactly where the record's length says;
 *   - offset deltas are 0, 1, … n-1 (Kafka rebuilds a batch whose inner offsets are not consecutive; kstream
 *     stores batches as received, so it refuses one);
 *   - the declared record count matches the records present, and no bytes follow the last record;
 *   - every record's timestamp (base + delta) is an int64 (Kafka's clients would wrap, kstream's would not).
 * Per batch, before the walk: no control batch from a client, and a producer id comes with a sequence.
 * Per record, by the topic's configuration (Kafka's checks): a compacted topic refuses a record without a key;
 * a CreateTime topic refuses a timestamp further than message.timestamp.difference.max.ms from now; the
 * LogAppendTime bit set by a producer is refused on a LogAppendTime topic (and, as Kafka does, on a CreateTime
 * topic when the batch carries no timestamp).
 * Then, as Kafka does, a CreateTime batch's maxTimestamp is set to the largest timestamp of its records (the
 * CRC is recomputed only when that changed the header).
 *
 * Error codes, as Kafka answers them:
 *   INVALID_RECORD (87)    malformed records (framing, attributes, varint ranges, header keys), count / offset /
 *                          length mismatches, trailing bytes, timestamps beyond int64, control batches from
 *                          clients, a missing sequence, a record without a key on a compacted topic.
 *   INVALID_TIMESTAMP (32) a timestamp out of range, or the LogAppendTime bit set by a producer (see above).
 *   CORRUPT_MESSAGE (2)    a compressed records section that does not decompress (a compression flag on plain
 *                          bytes, a truncated stream) or decompresses to more than the limit. (Kafka answers
 *                          UNKNOWN_SERVER_ERROR there.)
 *   UNSUPPORTED_COMPRESSION_TYPE (76) zstd while its module cannot be loaded.
 * Each failure names the record it found at fault in `recordErrors` (Produce v8+ record_errors: batch_index is
 * the record's index within its batch) where one record is at fault; at most MAX_RECORD_ERRORS are listed.
 *
 * This runs on the produce path for every record (DESIGN.md decision 2): no JavaScript object per record. A fast
 * walk (fastWalk: one- and two-byte varints read inline, no messages) accepts a well-formed batch; only when it
 * does not — an error to describe, a record a topic rule refuses, a 9-byte timestamp delta — does the careful
 * walk (a Walker over the same bytes, one per process) run, and errors are built only there.
 * Everything is synchronous: the produce handler validates and appends without yielding, which keeps appends
 * in request order. The one asynchronous step, loading zstd's module, happens before (codecsPending).
 */
import { isUtf8 } from 'node:buffer';
import { ErrorCode, KafkaError } from '../errors.js';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  BATCH_HEADER_SIZE,
  type BatchHeader,
  Compression,
  LOG_OVERHEAD,
  OFF,
  rewriteCrc,
  validateProducedBatches,
} from './batch.js';
import { decompressSync } from './compression.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression-error.js';
import { zstdLoaded, zstdReady } from './zstd.js';

/** Smallest record body: attributes, timestamp delta, offset delta, key length, value length, header count. */
const MIN_RECORD_BODY = 6;
/** At most this many per-record errors are listed in a response (Kafka lists all; the message gives the total). */
export const MAX_RECORD_ERRORS = 100;
/** Kafka's RecordBatch.NO_TIMESTAMP. */
const NO_TIMESTAMP = -1n;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export interface RecordError {
  /** Index of the record within its batch. */
  batchIndex: number;
  message: string;
}

/** What the topic's configuration asks of each record. */
export interface RecordRules {
  /** message.timestamp.type is LogAppendTime. */
  logAppendTime: boolean;
  /** cleanup.policy includes compact: every record needs a key. */
  compacted: boolean;
  /** message.timestamp.difference.max.ms (CreateTime topics); >= Number.MAX_SAFE_INTEGER = no limit. */
  timestampDifferenceMaxMs: number;
  /** Now, in ms since the epoch (for the timestamp check). */
  now: number;
  /** Largest decompressed records section accepted (default 256 MiB). */
  maxDecompressedBytes?: number;
}

export const NO_RULES: Readonly<RecordRules> = Object.freeze({
  logAppendTime: false,
  compacted: false,
  timestampDifferenceMaxMs: Number.MAX_SAFE_INTEGER,
  now: 0,
});

export type ProducedValidation =
  | { ok: true; batches: BatchHeader[]; records: number }
  | { ok: false; errorCode: number; message: string; recordErrors: RecordError[] };

/**
 * Validate the batches a producer sent for one partition: headers and CRCs, then every record (see the file
 * comment). Synchronous, so that the caller can append right after it without yielding; a batch compressed
 * with zstd needs the zstd module loaded first (see codecsPending). On success, CreateTime batches' maxTimestamp
 * fields (and CRCs) may have been corrected in `buf` and in the returned headers.
 */
export function validateProduced(
  buf: Buffer,
  maxBatchBytes: number,
  rules: RecordRules = NO_RULES,
): ProducedValidation {
  const v = validateProducedBatches(buf, maxBatchBytes);
  if (!v.ok) return { ok: false, errorCode: v.errorCode, message: v.message, recordErrors: [] };
  const multi = v.batches.length > 1;
  for (let b = 0; b < v.batches.length; b++) {
    const failure = validateBatchRecords(buf, v.batches[b] as BatchHeader, rules);
    if (failure !== null) {
      if (multi) failure.message = `batch ${b}: ${failure.message}`;
      return failure;
    }
  }
  return v;
}

type Failure = { ok: false; errorCode: number; message: string; recordErrors: RecordError[] };

function fail(errorCode: number, message: string, recordIndex = -1): Failure {
  return {
    ok: false,
    errorCode,
    message,
    recordErrors: recordIndex >= 0 ? [{ batchIndex: recordIndex, message }] : [],
  };
}

/** Validate the records of one batch whose header passed validateProducedBatches; null if they are fine. */
export function validateBatchRecords(buf: Buffer, h: BatchHeader, rules: RecordRules = NO_RULES): Failure | null {
  if ((h.attributes & ATTR_CONTROL) !== 0) {
    return fail(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
  }
  if (h.producerId >= 0n && h.baseSequence < 0) {
    return fail(
      ErrorCode.INVALID_RECORD,
      `invalid sequence number ${h.baseSequence} in a batch with producer id ${h.producerId}`,
    );
  }
  const start = h.position + BATCH_HEADER_SIZE;
  const end = h.position + h.size;
  const codec = (h.attributes & ATTR_COMPRESSION_MASK) as Compression;
  let data = buf;
  let from = start;
  let to = end;
  if (codec !== Compression.None) {
    if (codec === Compression.Zstd && !zstdLoaded()) {
      // codecsPending loads it before; here only when that load failed.
      return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd is not available: its module could not be loaded');
    }
    try {
      data = decompressSync(
        codec,
        buf.subarray(start, end),
        rules.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
        scratch,
      );
      const scratchCodec = codec === Compression.Lz4 || codec === Compression.Snappy;
      if (scratchCodec && data.length > scratch.length && data.length <= SCRATCH_MAX) {
        // Next time the output fits: keep one buffer of the largest size seen (up to SCRATCH_MAX).
        scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, 2 ** Math.ceil(Math.log2(data.length))));
      }
    } catch (e) {
      const detail = e instanceof KafkaError ? e.detail : e instanceof Error ? e.message : String(e);
      return fail(
        e instanceof KafkaError ? e.code : ErrorCode.CORRUPT_MESSAGE,
        `the compressed records do not decompress: ${detail}`,
      );
    }
    from = 0;
    to = data.length;
  }
  // The fast walk accepts what is well-formed and needs no per-record answer; anything else (an error to
  // describe, a record refused by the topic's rules, an 8-byte timestamp delta) takes the careful walk.
  const logAppendBatch = (h.attributes & ATTR_LOG_APPEND_TIME) !== 0;
  const refuseLogAppend = logAppendBatch && (rules.logAppendTime || h.maxTimestamp === NO_TIMESTAMP);
  if (!refuseLogAppend && fastWalk(data, from, to, h.recordCount, rules.compacted)) {
    const checkTimestamps = !rules.logAppendTime && rules.timestampDifferenceMaxMs < Number.MAX_SAFE_INTEGER;
    if (!checkTimestamps || timestampsInRange(h, logAppendBatch, rules)) {
      return fixMaxTimestamp(buf, h, rules, BigInt(fastMin), BigInt(fastMax));
    }
  }
  const w = walker;
  w.reset(data, from, to);
  try {
    return walk(w, buf, h, rules);
  } finally {
    w.reset(EMPTY, 0, 0); // keep no reference to the request's bytes
  }
}

// ---------------------------------------------------------------------------------------------------------
// The fast walk: the same checks as `walk` below, with one- and two-byte varints read inline and no error
// messages. It answers only "all well-formed" (true, with the smallest and largest timestamp delta in
// fastMin / fastMax) or "let the careful walk look" (false).

let fastMin = 0;
let fastMax = 0;
/** Position after the varint varintAt / varlongAt read; -1 when it was truncated or too long. */
let vpos = 0;

/** A zig-zag varint of up to 5 bytes at b[p, end). */
function varintAt(b: Uint8Array, p: number, end: number): number {
  let u = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (p >= end) break;
    const x = b[p++] as number;
    if (shift === 28 && x > 0x0f) break; // bits beyond 32
    u |= (x & 0x7f) << shift;
    if (x < 0x80) {
      vpos = p;
      return (u >>> 1) ^ -(u & 1);
    }
  }
  vpos = -1;
  return 0;
}

/** A zig-zag varlong of up to 7 bytes at b[p, end) (exact as a number); longer ones are left to the careful walk. */
function varlongAt(b: Uint8Array, p: number, end: number): number {
  let u = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    if (p >= end) break;
    const x = b[p++] as number;
    u += (x & 0x7f) * mul;
    if (x < 0x80) {
      vpos = p;
      return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    }
    mul *= 128;
  }
  vpos = -1;
  return 0;
}

/**
 * Records b[start, end) hold exactly `n` well-formed records with offset deltas 0..n-1 (and keys, if
 * `keysRequired`). Reads may look past a record's end (never past `end` through varintAt, and an indexed read
 * past the buffer is undefined, which no check accepts); a record whose fields run past its end leaves `p`
 * beyond it, and p only grows, so the `p !== recordEnd` check refuses it.
 */
function fastWalk(b: Uint8Array, start: number, end: number, n: number, keysRequired: boolean): boolean {
  let p = start;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let x: number;
  let y: number;
  let u: number;
  for (let i = 0; i < n; i++) {
    if (p >= end) return false;
    let len: number;
    x = b[p] as number;
    if (x < 0x80) {
      len = (x >>> 1) ^ -(x & 1);
      p++;
    } else {
      y = b[p + 1] as number;
      if (y < 0x80) {
        u = (x & 0x7f) | (y << 7);
        len = (u >>> 1) ^ -(u & 1);
        p += 2;
      } else {
        len = varintAt(b, p, end);
        p = vpos;
        if (p < 0) return false;
      }
    }
    if (len < MIN_RECORD_BODY || len > end - p) return false;
    const recordEnd = p + len;
    if (b[p] !== 0) return false; // attributes
    p++;
    let delta: number;
    x = b[p] as number;
    if (x < 0x80) {
      delta = (x >>> 1) ^ -(x & 1);
      p++;
    } else {
      delta = varlongAt(b, p, end);
      p = vpos;
      if (p < 0) return false;
    }
    let offsetDelta: number;
    x = b[p] as number;
    if (x < 0x80) {
      offsetDelta = (x >>> 1) ^ -(x & 1);
      p++;
    } else {
      y = b[p + 1] as number;
      if (y < 0x80) {
        u = (x & 0x7f) | (y << 7);
        offsetDelta = (u >>> 1) ^ -(u & 1);
        p += 2;
      } else {
        offsetDelta = varintAt(b, p, end);
        p = vpos;
        if (p < 0) return false;
      }
    }
    if (offsetDelta !== i) return false;
    let keyLen: number;
    x = b[p] as number;
    if (x < 0x80) {
      keyLen = (x >>> 1) ^ -(x & 1);
      p++;
    } else {
      y = b[p + 1] as number;
      if (y < 0x80) {
        u = (x & 0x7f) | (y << 7);
        keyLen = (u >>> 1) ^ -(u & 1);
        p += 2;
      } else {
        keyLen = varintAt(b, p, end);
        p = vpos;
        if (p < 0) return false;
      }
    }
    if (keyLen >= 0) {
      if (keyLen > recordEnd - p) return false;
      p += keyLen;
    } else if (keyLen !== -1 || keysRequired) return false;
    let valueLen: number;
    x = b[p] as number;
    if (x < 0x80) {
      valueLen = (x >>> 1) ^ -(x & 1);
      p++;
    } else {
      y = b[p + 1] as number;
      if (y < 0x80) {
        u = (x & 0x7f) | (y << 7);
        valueLen = (u >>> 1) ^ -(u & 1);
        p += 2;
      } else {
        valueLen = varintAt(b, p, end);
        p = vpos;
        if (p < 0) return false;
      }
    }
    if (valueLen >= 0) {
      if (valueLen > recordEnd - p) return false;
      p += valueLen;
    } else if (valueLen !== -1) return false;
    x = b[p] as number;
    if (x !== 0) {
      // Headers: rare enough to read through varintAt.
      const headers = varintAt(b, p, end);
      p = vpos;
      if (p < 0 || headers < 0 || headers > (recordEnd - p) / 2) return false;
      for (let j = 0; j < headers; j++) {
        const kl = varintAt(b, p, end);
        p = vpos;
        if (p < 0 || kl < 0 || kl > recordEnd - p) return false;
        // ASCII keys here; any other byte: the careful walk checks the UTF-8.
        for (const keyEnd = p + kl; p < keyEnd; p++) if ((b[p] as number) >= 0x80) return false;
        const vl = varintAt(b, p, end);
        p = vpos;
        if (p < 0 || vl < -1 || vl > recordEnd - p) return false;
        if (vl > 0) p += vl;
      }
    } else {
      p++;
    }
    if (p !== recordEnd) return false;
    if (delta > max) max = delta;
    if (delta < min) min = delta;
  }
  if (p !== end) return false;
  fastMin = min;
  fastMax = max;
  return true;
}

/** Every record's timestamp is within message.timestamp.difference.max.ms of now (after a fast walk). */
function timestampsInRange(h: BatchHeader, logAppendBatch: boolean, rules: RecordRules): boolean {
  const now = BigInt(rules.now);
  const max = BigInt(rules.timestampDifferenceMaxMs);
  const inRange = (ts: bigint): boolean => ts === NO_TIMESTAMP || (now - ts <= max && ts - now <= max);
  if (logAppendBatch) return inRange(h.maxTimestamp);
  if (fastMax === Number.NEGATIVE_INFINITY) return true;
  // Timestamps between the smallest and the largest are in range when both ends are (a record at exactly
  // NO_TIMESTAMP in between is exempt anyway); otherwise the careful walk finds which records are not.
  return inRange(h.baseTimestamp + BigInt(fastMin)) && inRange(h.baseTimestamp + BigInt(fastMax));
}

const EMPTY = Buffer.alloc(0);
/** Where lz4 and snappy decompress a batch being validated (its output is only read, then dropped). */
const SCRATCH_MAX = 8 << 20;
let scratch: Buffer = Buffer.allocUnsafeSlow(64 << 10);

/**
 * A cursor over buf[pos, end) reading zig-zag varints. A read past `end` or an over-long varint sets `fault`
 * (the first one is kept), returns 0 and leaves `pos` at most at `end`: the caller checks `fault` once per record.
 */
class Walker {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;
  fault: string | null = null;
  /** The value of the last varlong that needed more than 7 bytes (varlong returned NaN). */
  big = 0n;

  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.fault = null;
  }

  bad(why: string): number {
    if (this.fault === null) this.fault = why;
    this.pos = this.end;
    return 0;
  }

  varint(what: string): number {
    const b = this.buf;
    let p = this.pos;
    if (p >= this.end) return this.bad(`${what}: truncated varint`);
    let x = b[p++] as number;
    if (x < 0x80) {
      this.pos = p;
      return (x >>> 1) ^ -(x & 1);
    }
    let u = x & 0x7f;
    for (let shift = 7; ; shift += 7) {
      if (p >= this.end) return this.bad(`${what}: truncated varint`);
      x = b[p++] as number;
      // The 5th byte holds bits 28-31 and ends the varint: more (or a 6th byte) is beyond 32 bits.
      if (shift === 28 && x > 0x0f) return this.bad(`${what}: varint beyond 32 bits`);
      u |= (x & 0x7f) << shift;
      if (x < 0x80) break;
    }
    this.pos = p;
    return (u >>> 1) ^ -(u & 1);
  }

  /** A zig-zag varlong as a number when it has at most 7 bytes (exact); else NaN with the value in `big`. */
  varlong(what: string): number {
    const b = this.buf;
    let p = this.pos;
    if (p >= this.end) return this.bad(`${what}: truncated varlong`);
    let x = b[p++] as number;
    if (x < 0x80) {
      this.pos = p;
      return (x >>> 1) ^ -(x & 1);
    }
    let u = x & 0x7f;
    let mul = 128;
    for (let i = 1; i < 7; i++) {
      if (p >= this.end) return this.bad(`${what}: truncated varlong`);
      x = b[p++] as number;
      u += (x & 0x7f) * mul;
      if (x < 0x80) {
        this.pos = p;
        return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      }
      mul *= 128;
    }
    // 8 to 10 bytes: rare (a delta beyond 2^48 ms), read as a bigint.
    let big = BigInt(u);
    for (let shift = 49n; ; shift += 7n) {
      if (shift > 63n) return this.bad(`${what}: varlong longer than 10 bytes`);
      if (p >= this.end) return this.bad(`${what}: truncated varlong`);
      x = b[p++] as number;
      if (shift === 63n && x > 0x01) return this.bad(`${what}: varlong beyond 64 bits`);
      big |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) break;
    }
    big = BigInt.asUintN(64, big);
    this.big = BigInt.asIntN(64, (big >> 1n) ^ -(big & 1n));
    this.pos = p;
    return Number.NaN;
  }

  /** Skip a length-prefixed field of `len` bytes (-1 = null when `nullable`) within the current end. */
  skip(len: number, what: string, nullable: boolean): void {
    if (len < 0) {
      if (len !== -1 || !nullable) this.bad(`invalid ${what} length ${len}`);
      return;
    }
    if (len > this.end - this.pos) {
      this.bad(`${what} length ${len} exceeds the ${this.end - this.pos} bytes left in the record`);
      return;
    }
    this.pos += len;
  }
}

const walker = new Walker();

/** The bytes of the header key field that ends at `end` (its length varint starts at `start`) are UTF-8. */
function utf8(b: Buffer, start: number, end: number): boolean {
  // Skip the length varint: at most 5 bytes, the last one below 0x80.
  let p = start;
  while ((b[p] as number) >= 0x80) p++;
  p++;
  for (let i = p; i < end; i++) if ((b[i] as number) >= 0x80) return isUtf8(b.subarray(p, end));
  return true;
}

/** Walk the records of `h` in w's range; `buf` holds the batch itself (its header may be corrected). */
function walk(w: Walker, buf: Buffer, h: BatchHeader, rules: RecordRules): Failure | null {
  const n = h.recordCount;
  const batchEnd = w.end;
  const logAppendBatch = (h.attributes & ATTR_LOG_APPEND_TIME) !== 0;
  // Per-record checks by the topic's configuration (Kafka's validateKey / validateTimestamp).
  const checkKeys = rules.compacted;
  // Kafka refuses the LogAppendTime bit from a producer on a LogAppendTime topic, and on a CreateTime topic when
  // the batch carries no timestamp.
  const refuseLogAppend = logAppendBatch && (rules.logAppendTime || h.maxTimestamp === NO_TIMESTAMP);
  const diffMax = rules.timestampDifferenceMaxMs;
  const checkTimestamps = !rules.logAppendTime && diffMax < Number.MAX_SAFE_INTEGER;
  let semantic: RecordError[] | null = null;
  let semanticCount = 0;
  let timestampErrors = 0;
  // Smallest and largest timestamp delta, as numbers while every delta fits 7 bytes, else also as bigints.
  let minDelta = Number.POSITIVE_INFINITY;
  let maxDelta = Number.NEGATIVE_INFINITY;
  let minBigDelta: bigint | null = null;
  let maxBigDelta: bigint | null = null;

  for (let i = 0; i < n; i++) {
    w.end = batchEnd;
    if (w.pos >= batchEnd) {
      return fail(ErrorCode.INVALID_RECORD, `the batch declares ${n} records but holds ${i}`, i);
    }
    const len = w.varint('record length');
    if (w.fault !== null) return fail(ErrorCode.INVALID_RECORD, `record ${i}: ${w.fault}`, i);
    if (len < MIN_RECORD_BODY || len > batchEnd - w.pos) {
      return fail(
        ErrorCode.INVALID_RECORD,
        `record ${i}: invalid record length ${len} (${batchEnd - w.pos} bytes left in the batch)`,
        i,
      );
    }
    const recordEnd = w.pos + len;
    w.end = recordEnd;
    const attributes = w.buf[w.pos] as number;
    if (attributes !== 0) {
      return fail(ErrorCode.INVALID_RECORD, `record ${i}: attributes ${attributes}, but they are unused in v2 (0)`, i);
    }
    w.pos++;
    const delta = w.varlong('timestamp delta');
    const offsetDelta = w.varint('offset delta');
    const keyLen = w.varint('key length');
    w.skip(keyLen, 'key', true);
    w.skip(w.varint('value length'), 'value', true);
    const headers = w.varint('header count');
    if (headers < 0 || headers > (recordEnd - w.pos) / 2) {
      w.bad(`invalid header count ${headers}`);
    } else {
      for (let j = 0; j < headers; j++) {
        const keyAt = w.pos;
        w.skip(w.varint('header key length'), 'header key', false);
        if (w.fault === null && !utf8(w.buf, keyAt, w.pos)) w.bad('a header key is not valid UTF-8');
        w.skip(w.varint('header value length'), 'header value', true);
      }
    }
    if (w.fault !== null) return fail(ErrorCode.INVALID_RECORD, `record ${i}: ${w.fault}`, i);
    if (w.pos !== recordEnd) {
      return fail(
        ErrorCode.INVALID_RECORD,
        `record ${i}: its fields end ${recordEnd - w.pos} bytes before the record length ${len} says`,
        i,
      );
    }
    if (offsetDelta !== i) {
      return fail(ErrorCode.INVALID_RECORD, `record ${i}: offset delta ${offsetDelta}, expected ${i}`, i);
    }
    const exact = !Number.isNaN(delta);
    if (exact) {
      if (delta > maxDelta) maxDelta = delta;
      if (delta < minDelta) minDelta = delta;
    } else {
      if (maxBigDelta === null || w.big > maxBigDelta) maxBigDelta = w.big;
      if (minBigDelta === null || w.big < minBigDelta) minBigDelta = w.big;
    }
    if (checkKeys || refuseLogAppend || checkTimestamps) {
      let why: string | null = null;
      let isTimestamp = false;
      if (checkKeys && keyLen < 0) {
        why = 'a compacted topic does not accept a record without a key';
      } else if (refuseLogAppend) {
        why = 'the producer set the timestamp type LogAppendTime, which only the broker sets';
        isTimestamp = true;
      } else if (checkTimestamps) {
        const ts = logAppendBatch ? h.maxTimestamp : h.baseTimestamp + (exact ? BigInt(delta) : w.big);
        if (ts !== NO_TIMESTAMP) {
          const diff = BigInt(rules.now) - ts;
          const max = BigInt(diffMax);
          if (diff > max || -diff > max) {
            why = `timestamp ${ts} is out of range: more than message.timestamp.difference.max.ms ${diffMax} from ${rules.now}`;
            isTimestamp = true;
          }
        }
      }
      if (why !== null) {
        semanticCount++;
        if (isTimestamp) timestampErrors++;
        semantic ??= [];
        if (semantic.length < MAX_RECORD_ERRORS) semantic.push({ batchIndex: i, message: why });
      }
    }
  }
  w.end = batchEnd;
  if (w.pos !== batchEnd) {
    return fail(ErrorCode.INVALID_RECORD, `${batchEnd - w.pos} bytes follow the last of the batch's ${n} records`);
  }
  if (semantic !== null) {
    const first = semantic.slice(0, 3).map((e) => `record ${e.batchIndex}: ${e.message}`);
    return {
      ok: false,
      errorCode: timestampErrors > 0 ? ErrorCode.INVALID_TIMESTAMP : ErrorCode.INVALID_RECORD,
      message: `${semanticCount} of ${n} records refused (the first ${first.length}: ${first.join('; ')})`,
      recordErrors: semantic,
    };
  }
  // n >= 1 (the header check), so each pair has at least one side set.
  let lo = minDelta === Number.POSITIVE_INFINITY ? (minBigDelta as bigint) : BigInt(minDelta);
  if (minBigDelta !== null && minBigDelta < lo) lo = minBigDelta;
  let hi = maxDelta === Number.NEGATIVE_INFINITY ? (maxBigDelta as bigint) : BigInt(maxDelta);
  if (maxBigDelta !== null && maxBigDelta > hi) hi = maxBigDelta;
  return fixMaxTimestamp(buf, h, rules, lo, hi);
}

/**
 * Every record's timestamp (base + delta, deltas within [minDelta, maxDelta]) must be an int64: Kafka's
 * clients would wrap around, kstream's decoder would not. Then, as Kafka does, a CreateTime batch's
 * maxTimestamp is set to its records' largest timestamp (NO_TIMESTAMP at least). On a LogAppendTime topic the
 * append sets it to the append time anyway; a batch with the LogAppendTime bit keeps its own.
 */
function fixMaxTimestamp(
  buf: Buffer,
  h: BatchHeader,
  rules: RecordRules,
  minDelta: bigint,
  maxDelta: bigint,
): Failure | null {
  if ((h.attributes & ATTR_LOG_APPEND_TIME) !== 0) return null;
  let maxTs = h.baseTimestamp + maxDelta;
  const minTs = h.baseTimestamp + minDelta;
  if (maxTs > INT64_MAX || minTs < INT64_MIN) {
    return fail(
      ErrorCode.INVALID_RECORD,
      `record timestamps overflow 64 bits: base timestamp ${h.baseTimestamp}, deltas ${minDelta} to ${maxDelta}`,
    );
  }
  if (rules.logAppendTime) return null;
  if (maxTs < NO_TIMESTAMP) maxTs = NO_TIMESTAMP;
  if (maxTs !== h.maxTimestamp) {
    buf.writeBigInt64BE(maxTs, h.position + OFF.maxTimestamp);
    rewriteCrc(buf, h.position, h.size);
    h.maxTimestamp = maxTs;
    h.crc = buf.readUInt32BE(h.position + OFF.crc);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// zstd's module is loaded asynchronously, once; validation itself must not yield (see codecsPending).

let loading: Promise<void> | null = null;

/** Whether the batches in `buf` need a codec whose module is not loaded yet. */
export function needsCodecLoad(buf: Buffer | null): boolean {
  if (buf === null || zstdLoaded()) return false;
  let pos = 0;
  while (buf.length - pos > OFF.attributes + 1) {
    if (((buf[pos + OFF.attributes + 1] as number) & ATTR_COMPRESSION_MASK) === Compression.Zstd) return true;
    const size = buf.readInt32BE(pos + OFF.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) return false;
    pos += size;
  }
  return false;
}

/**
 * Null when every record set can be validated now; otherwise a promise to await first: it loads the zstd
 * module. While a load is under way every caller gets the same promise, also callers that need no codec, so
 * that requests resume in the order they arrived (a produce handler validates and appends without yielding).
 */
export function codecsPending(recordSets: Iterable<Buffer | null>): Promise<void> | null {
  if (loading !== null) return loading;
  if (zstdLoaded()) return null;
  for (const buf of recordSets) {
    if (needsCodecLoad(buf)) {
      const done = (): void => {
        loading = null;
      };
      // A failed load is answered per batch (UNSUPPORTED_COMPRESSION_TYPE); the next zstd batch tries again.
      loading = zstdReady().then(done, done);
      return loading;
    }
  }
  return null;
}
