/**
 * Snappy as Kafka clients frame it.
 *
 * - Java clients (snappy-java's SnappyOutputStream) and kafka-python write the "xerial" framing: a 16-byte
 *   header (0x82 'SNAPPY' 0x00, int32 BE version 1, int32 BE minimum compatible version 1) followed by chunks
 *   [int32 BE compressed length][raw snappy block], each chunk holding at most 32 KiB of input.
 * - librdkafka and kafkajs-snappy write one raw snappy block (no framing).
 * Every client reads both (librdkafka and kafkajs-snappy detect the 8-byte magic, snappy-java falls back to a
 * raw block when the header is absent), so we write the xerial framing, as the Java client does, and read both.
 *
 * Compression uses snappyjs (pure JS). Decompression is implemented here: snappyjs does not check that a
 * block's output matches its declared length nor that reads stay inside the input, so corrupt input could
 * silently produce garbage. This decoder checks every length and offset.
 */
import SnappyJS from 'snappyjs';
import { CompressionError, DEFAULT_MAX_DECOMPRESSED_BYTES, limitExceeded } from './compression-error.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
/** snappy-java's default block size, also kafka-python's. */
export const XERIAL_CHUNK_SIZE = 32 * 1024;

/** Compress with the xerial framing (what Java clients send). */
export function snappyCompressXerial(data: Uint8Array, chunkSize = XERIAL_CHUNK_SIZE): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  parts.push(header);
  let total = XERIAL_HEADER_SIZE;
  for (let s = 0; s < data.length; s += chunkSize) {
    const block = snappyCompressRaw(data.subarray(s, Math.min(data.length, s + chunkSize)));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
    total += 4 + block.length;
  }
  return Buffer.concat(parts, total);
}

/** Compress as one raw snappy block (what librdkafka and kafkajs-snappy send). */
export function snappyCompressRaw(data: Uint8Array): Buffer {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return SnappyJS.compress(buf);
}

/** Whether `data` starts with the xerial (snappy-java) stream header. */
export function isXerialFramed(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_SIZE) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/**
 * Decompress either framing, detected by the xerial magic. With `scratch`, the output goes there when it fits
 * (the result is then a view of it, valid until the caller reuses it).
 */
export function snappyDecompress(
  data: Uint8Array,
  maxOutput = DEFAULT_MAX_DECOMPRESSED_BYTES,
  scratch: Buffer | null = null,
): Buffer {
  if (isXerialFramed(data)) return decompressXerial(data, maxOutput, scratch);
  const [length, start] = readPreamble(data, 0, data.length);
  if (length > maxOutput) throw limitExceeded('snappy', maxOutput);
  const out = outputBuffer(length, scratch);
  decodeBlock(data, start, data.length, out, 0, length);
  return out;
}

function outputBuffer(length: number, scratch: Buffer | null): Buffer {
  return scratch !== null && length <= scratch.length ? scratch.subarray(0, length) : Buffer.allocUnsafe(length);
}

function decompressXerial(data: Uint8Array, maxOutput: number, scratch: Buffer | null): Buffer {
  // Pass 1: walk the chunks, validate their lengths and sum the declared output sizes, so the limit is enforced
  // and the output allocated once before anything is decoded.
  const chunks: number[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new CompressionError('snappy', 'xerial stream truncated in a chunk length');
    const size = ((data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!) >>> 0;
    pos += 4;
    if (size > data.length - pos) throw new CompressionError('snappy', 'xerial stream truncated in a chunk');
    const [length, start] = readPreamble(data, pos, pos + size);
    total += length;
    if (total > maxOutput) throw limitExceeded('snappy', maxOutput);
    chunks.push(start, pos + size, length);
    pos += size;
  }
  const out = outputBuffer(total, scratch);
  let d = 0;
  for (let i = 0; i < chunks.length; i += 3) {
    decodeBlock(data, chunks[i]!, chunks[i + 1]!, out, d, d + chunks[i + 2]!);
    d += chunks[i + 2]!;
  }
  return out;
}

/** The uncompressed length varint at the start of a raw block: [length, position after it]. */
function readPreamble(src: Uint8Array, pos: number, end: number): [number, number] {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new CompressionError('snappy', 'input truncated in the length preamble');
    const b = src[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      if (result > 0xffffffff) break;
      return [result, pos];
    }
  }
  throw new CompressionError('snappy', 'invalid length preamble');
}

/**
 * Decode the elements of a raw block src[s, sEnd) into dst[dStart, dEnd), which must come out exactly full.
 * Copies may only reference output of this block.
 */
function decodeBlock(src: Uint8Array, s: number, sEnd: number, dst: Buffer, dStart: number, dEnd: number): void {
  let d = dStart;
  while (s < sEnd) {
    const tag = src[s++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          const n = len - 59;
          if (sEnd - s < n) throw new CompressionError('snappy', 'input truncated in a literal length');
          len = 0;
          for (let i = 0; i < n; i++) len += src[s + i]! * 2 ** (8 * i);
          s += n;
        }
        len += 1;
        if (len > sEnd - s) throw new CompressionError('snappy', 'literal passes the end of the input');
        if (len > dEnd - d) throw new CompressionError('snappy', 'output longer than the declared length');
        if (len > 32) {
          dst.set(src.subarray(s, s + len), d);
          s += len;
          d += len;
        } else {
          for (let i = 0; i < len; i++) dst[d++] = src[s++]!;
        }
        continue;
      }
      case 1:
        if (s >= sEnd) throw new CompressionError('snappy', 'input truncated in a copy');
        len = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | src[s++]!;
        break;
      case 2:
        if (sEnd - s < 2) throw new CompressionError('snappy', 'input truncated in a copy');
        len = 1 + (tag >>> 2);
        offset = src[s]! | (src[s + 1]! << 8);
        s += 2;
        break;
      default:
        if (sEnd - s < 4) throw new CompressionError('snappy', 'input truncated in a copy');
        len = 1 + (tag >>> 2);
        offset = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16) | (src[s + 3]! << 24)) >>> 0;
        s += 4;
    }
    if (offset === 0 || offset > d - dStart) throw new CompressionError('snappy', `copy offset ${offset} out of range`);
    if (len > dEnd - d) throw new CompressionError('snappy', 'output longer than the declared length');
    let r = d - offset;
    if (offset >= len) {
      dst.copyWithin(d, r, r + len);
      d += len;
    } else {
      for (let i = 0; i < len; i++) dst[d++] = dst[r++]!;
    }
  }
  if (d !== dEnd) throw new CompressionError('snappy', `output shorter than the declared length (${d - dStart})`);
}
