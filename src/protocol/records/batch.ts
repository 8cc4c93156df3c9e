/**
 * RecordBatch v2 headers: reading, validating and rewriting them in place, without touching records.
 *
 *   baseOffset: int64 | batchLength: int32 | partitionLeaderEpoch: int32 | magic: int8 (2) | crc: uint32 |
 *   attributes: int16 | lastOffsetDelta: int32 | baseTimestamp: int64 | maxTimestamp: int64 |
 *   producerId: int64 | producerEpoch: int16 | baseSequence: int32 | recordCount: int32 | records...
 *
 * batchLength counts the bytes after itself; the CRC32C covers attributes through the end of the batch.
 * attributes: bits 0-2 compression, bit 3 timestamp type (1 = LogAppendTime), bit 4 transactional,
 * bit 5 control, bit 6 delete horizon set.
 */
import { ErrorCode } from '../errors.js';
import { crc32c } from './crc32c.js';

export const BATCH_HEADER_SIZE = 61;
/** Offset of the batchLength field's end: batchLength counts bytes from here. */
export const LOG_OVERHEAD = 12;

export const OFF = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

export enum Compression {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

export interface BatchHeader {
  /** Byte position of the batch within the buffer it was read from. */
  position: number;
  /** Total size in bytes, LOG_OVERHEAD included. */
  size: number;
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Read the header of the batch at `pos`; null if fewer than a header's bytes remain or the size is impossible. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader | null {
  if (pos + BATCH_HEADER_SIZE > buf.length) return null;
  const batchLength = buf.readInt32BE(pos + OFF.batchLength);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) return null;
  return {
    position: pos,
    size: batchLength + LOG_OVERHEAD,
    baseOffset: buf.readBigInt64BE(pos + OFF.baseOffset),
    partitionLeaderEpoch: buf.readInt32BE(pos + OFF.partitionLeaderEpoch),
    magic: buf.readInt8(pos + OFF.magic),
    crc: buf.readUInt32BE(pos + OFF.crc),
    attributes: buf.readInt16BE(pos + OFF.attributes),
    lastOffsetDelta: buf.readInt32BE(pos + OFF.lastOffsetDelta),
    baseTimestamp: buf.readBigInt64BE(pos + OFF.baseTimestamp),
    maxTimestamp: buf.readBigInt64BE(pos + OFF.maxTimestamp),
    producerId: buf.readBigInt64BE(pos + OFF.producerId),
    producerEpoch: buf.readInt16BE(pos + OFF.producerEpoch),
    baseSequence: buf.readInt32BE(pos + OFF.baseSequence),
    recordCount: buf.readInt32BE(pos + OFF.recordCount),
  };
}

/** Whether the CRC32C stored in the batch at `pos` matches its content. */
export function batchCrcOk(buf: Buffer, h: BatchHeader): boolean {
  const start = h.position + OFF.attributes;
  const end = h.position + h.size;
  if (end > buf.length) return false;
  return crc32c(buf, start, end) === h.crc;
}

/** Recompute and store the CRC of a batch after its covered fields changed. */
export function rewriteCrc(buf: Buffer, pos: number, size: number): void {
  buf.writeUInt32BE(crc32c(buf, pos + OFF.attributes, pos + size), pos + OFF.crc);
}

export type ValidationResult =
  | { ok: true; batches: BatchHeader[]; records: number }
  | { ok: false; errorCode: number; message: string };

/**
 * Validate the record batches a producer sent for one partition: whole v2 batches only, lengths and CRC
 * consistent, offset deltas consistent with the record count, each within `maxBatchBytes`.
 * Records themselves are not decoded.
 */
export function validateProducedBatches(buf: Buffer, maxBatchBytes: number): ValidationResult {
  const batches: BatchHeader[] = [];
  let records = 0;
  let pos = 0;
  if (buf.length === 0) return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: 'empty record set' };
  while (pos < buf.length) {
    if (buf.length - pos >= 17 && buf.readInt8(pos + OFF.magic) !== 2) {
      return {
        ok: false,
        errorCode: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        message: `record batch magic ${buf.readInt8(pos + OFF.magic)} is not supported (only v2)`,
      };
    }
    const h = readBatchHeader(buf, pos);
    if (!h) return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: `truncated batch at byte ${pos}` };
    if (h.size > maxBatchBytes) {
      return {
        ok: false,
        errorCode: ErrorCode.MESSAGE_TOO_LARGE,
        message: `batch of ${h.size} bytes exceeds message.max.bytes ${maxBatchBytes}`,
      };
    }
    if (pos + h.size > buf.length) {
      return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: `batch at byte ${pos} runs past the end` };
    }
    if (!batchCrcOk(buf, h)) {
      return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: `CRC mismatch in batch at byte ${pos}` };
    }
    if (h.recordCount <= 0 || h.lastOffsetDelta !== h.recordCount - 1) {
      return {
        ok: false,
        errorCode: ErrorCode.INVALID_RECORD,
        message: `batch has ${h.recordCount} records but last offset delta ${h.lastOffsetDelta}`,
      };
    }
    if ((h.attributes & ATTR_COMPRESSION_MASK) > Compression.Zstd) {
      return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE, message: 'unknown compression codec' };
    }
    batches.push(h);
    records += h.recordCount;
    pos += h.size;
  }
  return { ok: true, batches, records };
}

/**
 * Assign offsets to a validated batch in place (base offset and leader epoch lie outside the CRC), and for
 * LogAppendTime topics set the timestamp type and max timestamp (inside the CRC, so it is recomputed).
 */
export function assignOffsets(
  buf: Buffer,
  h: BatchHeader,
  baseOffset: bigint,
  leaderEpoch: number,
  logAppendTime: bigint | null,
): void {
  buf.writeBigInt64BE(baseOffset, h.position + OFF.baseOffset);
  buf.writeInt32BE(leaderEpoch, h.position + OFF.partitionLeaderEpoch);
  if (logAppendTime !== null) {
    buf.writeInt16BE(h.attributes | ATTR_LOG_APPEND_TIME, h.position + OFF.attributes);
    buf.writeBigInt64BE(logAppendTime, h.position + OFF.maxTimestamp);
    rewriteCrc(buf, h.position, h.size);
  }
}
