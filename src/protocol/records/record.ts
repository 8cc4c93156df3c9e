/**
 * Records inside a RecordBatch v2, building whole batches, and decoding batches and record sets.
 *
 * Record v2 (every length and count a zig-zag varint; -1 = null):
 *   length | attributes int8 | timestampDelta varlong | offsetDelta varint | keyLength, key |
 *   valueLength, value | headerCount | [headerKeyLength, headerKey (utf8), headerValueLength, headerValue]
 *
 * The broker's hot path never comes here (DESIGN.md decision 2): this is for clients, tools, compaction and
 * tests. Decoded keys, values and header values are views into the decoded buffer (the input buffer itself
 * for uncompressed batches), not copies.
 */
import { Writer } from '../codec/writer.js';
import { ErrorCode, KafkaError } from '../errors.js';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  type BatchHeader,
  batchCrcOk,
  Compression,
  LOG_OVERHEAD,
  OFF,
  readBatchHeader,
  rewriteCrc,
} from './batch.js';
import { compress, decompress } from './compression.js';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression-error.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** A record to write. Strings are written as UTF-8; a missing key or value is null. */
export interface RecordInput {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: ReadonlyArray<{ key: string; value?: Buffer | string | null }>;
  /** Milliseconds since the epoch; default: the batch's default timestamp (Date.now() when it was started). */
  timestamp?: bigint | number;
}

export interface BatchOptions {
  baseOffset?: bigint;
  compression?: Compression;
  /** Codec level (gzip 1-9, zstd); default: the codec's Kafka default. */
  compressionLevel?: number;
  /** -1 (no producer id) unless idempotent / transactional. */
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  /** Clients write -1; the leader stamps its epoch. */
  partitionLeaderEpoch?: number;
  timestampType?: 'create' | 'logAppend';
  /** Extra attribute bits, e.g. ATTR_TRANSACTIONAL | ATTR_CONTROL (the compression bits are ignored). */
  attributesExtra?: number;
  /** Timestamp of records that carry none; default Date.now() when the batch is started. */
  defaultTimestamp?: bigint;
}

export interface DecodedBatch {
  header: BatchHeader;
  /** Empty for a control batch skipped with `skipControlBatches`. */
  records: KafkaRecord[];
}

export interface DecodeOptions {
  /** Largest decompressed records section accepted (default 256 MiB). */
  maxDecompressedBytes?: number;
}

export interface RecordSetOptions extends DecodeOptions {
  /** Do not decode control batches (transaction markers): leave them out of the result. */
  skipControlBatches?: boolean;
}

export interface RecordSet {
  batches: DecodedBatch[];
  /** Offset after the last complete batch (skipped control batches included); null if there was none. */
  nextOffset: bigint | null;
  /** Bytes of an incomplete batch at the end (a fetch response may end with one); 0 if none. */
  partialBytes: number;
}

// ---------------------------------------------------------------------------------------------------------
// Sizes

function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

function uvarintSize(u: number): number {
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

/** Encoded size of a zig-zag varint (32-bit). */
export function varintSize(v: number): number {
  return uvarintSize(zigzag32(v));
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

/** Encoded size of a zig-zag varlong (64-bit). */
export function varlongSize(v: bigint): number {
  if (v >= INT32_MIN && v <= INT32_MAX) return varintSize(Number(v));
  let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

function byteLen(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return -1;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

function fieldSize(len: number): number {
  return varintSize(len) + Math.max(len, 0);
}

function bodySize(rec: RecordInput, offsetDelta: number, timestampDelta: bigint): number {
  return bodySizeOf(byteLen(rec.key), byteLen(rec.value), rec.headers, varlongSize(timestampDelta), offsetDelta);
}

type Headers = RecordInput['headers'];

function bodySizeOf(
  keyLen: number,
  valueLen: number,
  headers: Headers,
  timestampDeltaSize: number,
  offsetDelta: number,
): number {
  let n = 1 + timestampDeltaSize + varintSize(offsetDelta);
  n += fieldSize(keyLen) + fieldSize(valueLen);
  if (!headers) return n + 1;
  n += varintSize(headers.length);
  for (const h of headers) n += fieldSize(Buffer.byteLength(h.key)) + fieldSize(byteLen(h.value));
  return n;
}

/** Exact encoded size of a record, its length prefix included. */
export function recordSize(rec: RecordInput, offsetDelta = 0, timestampDelta = 0n): number {
  const body = bodySize(rec, offsetDelta, timestampDelta);
  return varintSize(body) + body;
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

function toBigint(ts: bigint | number): bigint {
  return typeof ts === 'bigint' ? ts : BigInt(Math.trunc(ts));
}

function writeVarlong(w: Writer, v: bigint): void {
  // For values within int32, the 64-bit zig-zag varint is byte-for-byte the 32-bit one.
  if (v >= INT32_MIN && v <= INT32_MAX) w.varint(Number(v));
  else w.varlong(v);
}

function writeField(w: Writer, v: Buffer | string | null | undefined, len: number): void {
  w.varint(len);
  if (len <= 0 || v === null || v === undefined) return;
  if (typeof v === 'string') {
    const at = w.reserve(len);
    w.slice(at, at + len).write(v, 'utf8');
  } else {
    w.raw(v);
  }
}

/** Append one record (length prefix included) to `w`. */
export function writeRecord(w: Writer, rec: RecordInput, offsetDelta: number, timestampDelta: bigint): void {
  w.varint(bodySize(rec, offsetDelta, timestampDelta));
  w.int8(0);
  writeVarlong(w, timestampDelta);
  w.varint(offsetDelta);
  writeField(w, rec.key, byteLen(rec.key));
  writeField(w, rec.value, byteLen(rec.value));
  writeHeaders(w, rec.headers);
}

function writeHeaders(w: Writer, headers: Headers): void {
  if (!headers) {
    w.varint(0);
    return;
  }
  w.varint(headers.length);
  for (const h of headers) {
    writeField(w, h.key, Buffer.byteLength(h.key));
    writeField(w, h.value, byteLen(h.value));
  }
}

/** writeRecord for a timestamp delta within int32, from the fields (no RecordInput object, no bigint). */
function writeRecordFields(
  w: Writer,
  key: Buffer | string | null | undefined,
  value: Buffer | string | null | undefined,
  headers: Headers,
  offsetDelta: number,
  timestampDelta: number,
): void {
  const keyLen = byteLen(key);
  const valueLen = byteLen(value);
  w.varint(bodySizeOf(keyLen, valueLen, headers, varintSize(timestampDelta), offsetDelta));
  w.int8(0);
  w.varint(timestampDelta);
  w.varint(offsetDelta);
  writeField(w, key, keyLen);
  writeField(w, value, valueLen);
  writeHeaders(w, headers);
}

/**
 * Encode records as the (uncompressed) records section of a batch: offset deltas 0..n-1, timestamp deltas
 * relative to `baseTimestamp` (default: the first record's timestamp).
 */
export function encodeRecordsUncompressed(
  records: readonly RecordInput[],
  baseTimestamp?: bigint,
  defaultTimestamp: bigint = BigInt(Date.now()),
): Buffer {
  const first = records[0];
  const base = baseTimestamp ?? (first?.timestamp !== undefined ? toBigint(first.timestamp) : defaultTimestamp);
  let size = 0;
  records.forEach((r, i) => {
    size += recordSize(r, i, (r.timestamp !== undefined ? toBigint(r.timestamp) : defaultTimestamp) - base);
  });
  const w = new Writer(Math.max(16, size));
  records.forEach((r, i) => {
    writeRecord(w, r, i, (r.timestamp !== undefined ? toBigint(r.timestamp) : defaultTimestamp) - base);
  });
  return w.finish();
}

/**
 * Builds one RecordBatch v2 incrementally: records are encoded as they are appended (into one growing
 * buffer, headroom for the batch header included), so a producer can keep appending while `sizeInBytes`
 * stays under `batch.size`, then `build()`.
 */
export class BatchBuilder {
  private readonly w: Writer;
  private readonly opts: BatchOptions;
  private readonly defaultTimestamp: bigint;
  private count = 0;
  private baseTimestamp = 0n;
  private maxTimestamp = -1n;
  /** The same two as numbers, for appendFields (exact while every timestamp is a safe integer). */
  private baseTs = 0;
  private maxTs = -1;
  private exactTs = true;
  private built = false;

  /** `reuse`: a buffer to encode into (see Writer), instead of allocating `initialCapacity` bytes. */
  constructor(opts: BatchOptions = {}, initialCapacity = 1024, reuse?: Buffer) {
    this.opts = opts;
    this.defaultTimestamp = opts.defaultTimestamp ?? BigInt(Date.now());
    this.w = new Writer(Math.max(BATCH_HEADER_SIZE + 16, initialCapacity), reuse);
    this.w.reserve(BATCH_HEADER_SIZE);
  }

  get recordCount(): number {
    return this.count;
  }

  /** Size of the batch so far if it were built uncompressed. */
  get sizeInBytes(): number {
    return this.w.length;
  }

  append(rec: RecordInput): this {
    if (this.built) throw new Error('batch already built');
    const ts = rec.timestamp !== undefined ? toBigint(rec.timestamp) : this.defaultTimestamp;
    if (this.count === 0) {
      this.baseTimestamp = ts;
      this.maxTimestamp = ts;
    } else if (ts > this.maxTimestamp) {
      this.maxTimestamp = ts;
    }
    this.baseTs = Number(this.baseTimestamp);
    this.maxTs = Number(this.maxTimestamp);
    if (!Number.isSafeInteger(this.maxTs) || !Number.isSafeInteger(this.baseTs)) this.exactTs = false;
    writeRecord(this.w, rec, this.count, ts - this.baseTimestamp);
    this.count++;
    return this;
  }

  /**
   * append() from the fields, with the timestamp in milliseconds as a number: the producer's per-record path,
   * which allocates nothing (no RecordInput, no bigint) for timestamps within ±2^31 ms of the batch's first.
   */
  appendFields(
    key: Buffer | string | null | undefined,
    value: Buffer | string | null | undefined,
    headers: Headers,
    timestampMs: number,
  ): this {
    if (this.built) throw new Error('batch already built');
    if (!this.exactTs || !Number.isSafeInteger(timestampMs)) {
      return this.append({ key, value, headers, timestamp: BigInt(Math.trunc(timestampMs)) });
    }
    if (this.count === 0) {
      this.baseTs = timestampMs;
      this.maxTs = timestampMs;
      this.baseTimestamp = BigInt(timestampMs);
      this.maxTimestamp = this.baseTimestamp;
    } else if (timestampMs > this.maxTs) {
      this.maxTs = timestampMs;
      this.maxTimestamp = BigInt(timestampMs);
    }
    const delta = timestampMs - this.baseTs;
    if (delta < -0x80000000 || delta > 0x7fffffff) {
      writeRecord(this.w, { key, value, headers }, this.count, BigInt(delta));
    } else {
      writeRecordFields(this.w, key, value, headers, this.count, delta);
    }
    this.count++;
    return this;
  }

  /** Finish the batch: compress the records section if asked, fill in the header, compute the CRC. */
  async build(): Promise<Buffer> {
    const codec = this.opts.compression ?? Compression.None;
    if (codec === Compression.None) return this.buildUncompressed();
    const raw = this.finishRecords();
    const level = this.opts.compressionLevel;
    const packed = await compress(codec, raw.subarray(BATCH_HEADER_SIZE), level === undefined ? {} : { level });
    const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + packed.length);
    packed.copy(batch, BATCH_HEADER_SIZE);
    this.writeHeader(batch, codec);
    return batch;
  }

  /**
   * Synchronous build for batches without compression. `trim` (default): a batch much smaller than the buffer
   * behind it is copied out, so it does not pin that buffer; false when the caller reuses the buffer once the
   * batch is done (the producer's spare batch buffers).
   */
  buildUncompressed(trim = true): Buffer {
    const codec = this.opts.compression ?? Compression.None;
    if (codec !== Compression.None) throw new Error('buildUncompressed() on a batch configured with compression');
    let batch = this.finishRecords();
    // The writer grows by doubling: do not pin a buffer up to twice the batch's size behind it.
    if (trim && batch.length > 8192 && batch.buffer.byteLength > batch.length * 1.5) batch = Buffer.from(batch);
    this.writeHeader(batch, Compression.None);
    return batch;
  }

  private finishRecords(): Buffer {
    if (this.built) throw new Error('batch already built');
    if (this.count === 0) throw new RangeError('a record batch needs at least one record');
    this.built = true;
    return this.w.finish();
  }

  private writeHeader(batch: Buffer, codec: Compression): void {
    const o = this.opts;
    let attributes = codec | ((o.attributesExtra ?? 0) & ~ATTR_COMPRESSION_MASK & 0xffff);
    if (o.timestampType === 'logAppend') attributes |= ATTR_LOG_APPEND_TIME;
    batch.writeBigInt64BE(o.baseOffset ?? 0n, OFF.baseOffset);
    batch.writeInt32BE(batch.length - LOG_OVERHEAD, OFF.batchLength);
    batch.writeInt32BE(o.partitionLeaderEpoch ?? -1, OFF.partitionLeaderEpoch);
    batch.writeInt8(2, OFF.magic);
    batch.writeInt16BE((attributes << 16) >> 16, OFF.attributes);
    batch.writeInt32BE(this.count - 1, OFF.lastOffsetDelta);
    batch.writeBigInt64BE(this.baseTimestamp, OFF.baseTimestamp);
    batch.writeBigInt64BE(this.maxTimestamp, OFF.maxTimestamp);
    batch.writeBigInt64BE(o.producerId ?? -1n, OFF.producerId);
    batch.writeInt16BE(o.producerEpoch ?? -1, OFF.producerEpoch);
    batch.writeInt32BE(o.baseSequence ?? -1, OFF.baseSequence);
    batch.writeInt32BE(this.count, OFF.recordCount);
    rewriteCrc(batch, 0, batch.length);
  }
}

/** Build one complete RecordBatch v2 (CRC32C, offsets and timestamps filled in). */
export async function buildBatch(opts: BatchOptions & { records: readonly RecordInput[] }): Promise<Buffer> {
  const defaultTimestamp = opts.defaultTimestamp ?? BigInt(Date.now());
  const first = opts.records[0];
  const base = first?.timestamp !== undefined ? toBigint(first.timestamp) : defaultTimestamp;
  let size = BATCH_HEADER_SIZE;
  opts.records.forEach((r, i) => {
    size += recordSize(r, i, (r.timestamp !== undefined ? toBigint(r.timestamp) : defaultTimestamp) - base);
  });
  const b = new BatchBuilder({ ...opts, defaultTimestamp }, size);
  for (const r of opts.records) b.append(r);
  return b.build();
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

function corrupt(detail: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, detail);
}

/** Minimal record: length, attributes, timestamp delta, offset delta, key, value, header count. */
const MIN_RECORD_SIZE = 7;

/** A cursor over buf[pos, end); throws CORRUPT_MESSAGE when a field would pass `end`. */
class Cursor {
  pos: number;
  end: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    end: number,
  ) {
    this.pos = start;
    this.end = end;
  }

  varint(): number {
    const b = this.buf;
    let u = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw corrupt('record truncated in a varint');
      const x = b[this.pos++]!;
      u |= (x & 0x7f) << shift;
      if ((x & 0x80) === 0) return (u >>> 1) ^ -(u & 1);
    }
    throw corrupt('varint longer than 5 bytes');
  }

  /** A varlong as a number when it fits 7 bytes (49 bits, exact in a double); else null, position unchanged. */
  varlongSmall(): number | null {
    const b = this.buf;
    let u = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw corrupt('record truncated in a varlong');
      const x = b[this.pos++]!;
      u += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      mul *= 128;
    }
    this.pos = start;
    return null;
  }

  varlong(): bigint {
    const small = this.varlongSmall();
    if (small !== null) return BigInt(small);
    const b = this.buf;
    let big = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw corrupt('record truncated in a varlong');
      const x = b[this.pos++]!;
      big |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) {
        big = BigInt.asUintN(64, big);
        return (big >> 1n) ^ -(big & 1n);
      }
    }
    throw corrupt('varlong longer than 10 bytes');
  }

  bytes(what: string): Buffer | null {
    const len = this.varint();
    if (len === -1) return null;
    if (len < -1 || len > this.end - this.pos) throw corrupt(`invalid ${what} length ${len}`);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }
}

/** Decode the (uncompressed) records section of a batch whose header is `h`. */
export function decodeRecords(data: Buffer, h: BatchHeader): KafkaRecord[] {
  const n = h.recordCount;
  if (n < 0 || n > data.length / MIN_RECORD_SIZE) {
    throw corrupt(`batch declares ${n} records in ${data.length} bytes`);
  }
  const logAppend = (h.attributes & ATTR_LOG_APPEND_TIME) !== 0;
  const records: KafkaRecord[] = new Array(n);
  const r = new Cursor(data, 0, data.length);
  // Offsets and timestamps as one bigint allocation per record where the batch's base values are exact as
  // numbers (always, in practice); a timestamp equal to the base shares the header's bigint.
  const baseOffset = Number(h.baseOffset);
  const exactOffsets = Number.isSafeInteger(baseOffset) && Number.isSafeInteger(baseOffset + n + 0x7fffffff);
  const baseTs = Number(h.baseTimestamp);
  const exactTs = Number.isSafeInteger(baseTs);
  for (let i = 0; i < n; i++) {
    if (r.pos >= data.length) throw corrupt(`batch declares ${n} records but holds ${i}`);
    r.end = data.length;
    const len = r.varint();
    if (len < MIN_RECORD_SIZE - 1 || len > data.length - r.pos) throw corrupt(`invalid record length ${len}`);
    r.end = r.pos + len;
    r.pos++; // attributes: unused in v2
    const smallDelta = r.varlongSmall();
    const timestampDelta = smallDelta === null ? r.varlong() : smallDelta;
    const offsetDelta = r.varint();
    const key = r.bytes('key');
    const value = r.bytes('value');
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > (r.end - r.pos) / 2) throw corrupt(`invalid header count ${headerCount}`);
    const headers: RecordHeader[] = new Array(headerCount);
    for (let j = 0; j < headerCount; j++) {
      const k = r.bytes('header key');
      if (k === null) throw corrupt('null header key');
      headers[j] = { key: k.toString('utf8'), value: r.bytes('header value') };
    }
    if (r.pos !== r.end) throw corrupt(`record ${i} has ${r.end - r.pos} bytes beyond its fields`);
    let timestamp: bigint;
    if (logAppend) timestamp = h.maxTimestamp;
    else if (timestampDelta === 0) timestamp = h.baseTimestamp;
    else if (typeof timestampDelta === 'number' && exactTs && Number.isSafeInteger(baseTs + timestampDelta)) {
      timestamp = BigInt(baseTs + timestampDelta);
    } else timestamp = h.baseTimestamp + BigInt(timestampDelta);
    records[i] = {
      offset: exactOffsets ? BigInt(baseOffset + offsetDelta) : h.baseOffset + BigInt(offsetDelta),
      timestamp,
      key,
      value,
      headers,
    };
  }
  if (r.pos !== data.length) throw corrupt(`${data.length - r.pos} bytes after the batch's ${n} records`);
  return records;
}

/** Validate the header of a complete batch at `pos` (length, magic, CRC); throws CORRUPT_MESSAGE. */
function completeHeader(buf: Buffer, pos: number): BatchHeader {
  const remaining = buf.length - pos;
  if (remaining < BATCH_HEADER_SIZE) throw corrupt(`truncated batch: ${remaining} bytes at byte ${pos}`);
  const magic = buf.readInt8(pos + OFF.magic);
  if (magic !== 2) throw corrupt(`record batch magic ${magic} is not supported (only v2)`);
  const h = readBatchHeader(buf, pos);
  if (!h) throw corrupt(`invalid batch length at byte ${pos}`);
  if (h.size > remaining) throw corrupt(`truncated batch: ${h.size} bytes declared, ${remaining} present`);
  if (!batchCrcOk(buf, h)) throw corrupt(`CRC mismatch in batch at byte ${pos}`);
  if ((h.attributes & ATTR_COMPRESSION_MASK) > Compression.Zstd) {
    throw corrupt(`unknown compression codec ${h.attributes & ATTR_COMPRESSION_MASK}`);
  }
  return h;
}

/**
 * Decode the complete batch at `pos`: validates length, magic and CRC, decompresses, decodes every record
 * and checks the record count. Throws KafkaError(CORRUPT_MESSAGE) on bad input.
 */
export async function decodeBatch(buf: Buffer, pos = 0, opts: DecodeOptions = {}): Promise<DecodedBatch> {
  return decodeValidated(buf, completeHeader(buf, pos), opts);
}

async function decodeValidated(buf: Buffer, header: BatchHeader, opts: DecodeOptions): Promise<DecodedBatch> {
  const pos = header.position;
  let data = buf.subarray(pos + BATCH_HEADER_SIZE, pos + header.size);
  const codec = (header.attributes & ATTR_COMPRESSION_MASK) as Compression;
  if (codec !== Compression.None) {
    data = await decompress(codec, data, opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  }
  return { header, records: decodeRecords(data, header) };
}

export function isControlBatch(h: BatchHeader): boolean {
  return (h.attributes & ATTR_CONTROL) !== 0;
}

export function isTransactionalBatch(h: BatchHeader): boolean {
  return (h.attributes & ATTR_TRANSACTIONAL) !== 0;
}

export function batchCompression(h: BatchHeader): Compression {
  return (h.attributes & ATTR_COMPRESSION_MASK) as Compression;
}

/** Offset of the batch's last record (kept by compaction even when that record is gone). */
export function batchLastOffset(h: BatchHeader): bigint {
  return h.baseOffset + BigInt(h.lastOffsetDelta);
}

/** The type of a control record (key: int16 version, int16 type): 'abort', 'commit', or the raw type number. */
export function controlRecordType(r: KafkaRecord): 'abort' | 'commit' | number {
  if (!r.key || r.key.length < 4) throw corrupt('control record key too short');
  const type = r.key.readInt16BE(2);
  return type === 0 ? 'abort' : type === 1 ? 'commit' : type;
}

/**
 * Decode a buffer holding consecutive batches, e.g. the records of a fetch response, one batch at a time.
 * An incomplete batch at the end is skipped silently; anything malformed before it throws.
 */
export async function* iterateBatches(buf: Buffer, opts: RecordSetOptions = {}): AsyncGenerator<DecodedBatch> {
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const size = buf.readInt32BE(pos + OFF.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) throw corrupt(`invalid batch length at byte ${pos}`);
    if (size > buf.length - pos) return;
    const header = completeHeader(buf, pos);
    if (opts.skipControlBatches && isControlBatch(header)) {
      pos += size;
      continue;
    }
    yield await decodeValidated(buf, header, opts);
    pos += size;
  }
}

/** Decode every complete batch in `buf` (see iterateBatches), with the offset to fetch next. */
export async function decodeBatches(buf: Buffer, opts: RecordSetOptions = {}): Promise<RecordSet> {
  const batches: DecodedBatch[] = [];
  let nextOffset: bigint | null = null;
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const size = buf.readInt32BE(pos + OFF.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) throw corrupt(`invalid batch length at byte ${pos}`);
    if (size > buf.length - pos) break;
    const header = completeHeader(buf, pos);
    nextOffset = batchLastOffset(header) + 1n;
    if (!(opts.skipControlBatches && isControlBatch(header))) batches.push(await decodeValidated(buf, header, opts));
    pos += size;
  }
  return { batches, nextOffset, partialBytes: buf.length - pos };
}

/**
 * All records of all complete batches in `buf`, in order. Control batches (transaction markers) are left
 * out unless `skipControlBatches: false` is passed.
 */
export async function decodeRecordSet(buf: Buffer, opts: RecordSetOptions = {}): Promise<KafkaRecord[]> {
  const set = await decodeBatches(buf, { ...opts, skipControlBatches: opts.skipControlBatches ?? true });
  if (set.batches.length === 1) return set.batches[0]!.records;
  return set.batches.flatMap((b) => b.records);
}
