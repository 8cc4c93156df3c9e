/**
 * LZ4 frame format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) as Kafka uses it since
 * KIP-57: magic 0x184D2204, FLG (version 01, block independence), BD (max block size), header checksum
 * = second byte of xxHash32 over FLG..end of descriptor, blocks [uint32 LE size, high bit = stored
 * uncompressed][data][optional block checksum], end mark 0, optional content checksum.
 *
 * We write what the Java client (Lz4BlockOutputStream) and librdkafka write: independent 64 KiB blocks, no
 * checksums beyond the header's, no content size. The Java reader refuses frames without the
 * block-independence flag ("Dependent block stream is unsupported"), which is why lz4js's frame writer
 * (FLG 0x40) cannot be used. Block compression and decompression are implemented here too: the decoder checks
 * every length and offset against its buffers (a corrupt block can never read or write out of bounds), and the
 * compressor follows the block format's end-of-block rules (last 5 bytes literals, last match starting at
 * least 12 bytes before the end) that strict decoders enforce.
 *
 * Reading accepts everything the frame format allows except dictionaries: 64 KiB..4 MiB blocks, linked or
 * independent blocks, block checksums, content size and content checksum (all verified), concatenated and
 * skippable frames.
 */
import { CompressionError, DEFAULT_MAX_DECOMPRESSED_BYTES, limitExceeded } from './compression-error.js';
import { xxhash32 } from './xxhash32.js';

const MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const UNCOMPRESSED_BIT = 0x80000000;

const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;

const MIN_MATCH = 4;
/** The last match must start at least this many bytes before the end of a block. */
const MF_LIMIT = 12;
/** The last this many bytes of a block are always literals. */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
const HASH_LOG = 16;
const SKIP_TRIGGER = 6;

/** Block sizes by BD block-size id. */
const BLOCK_SIZES: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

export type Lz4BlockSize = 65536 | 262144 | 1048576 | 4194304;

/**
 * Positions (+1) of recently seen 4-byte sequences. Never cleared: a stale entry is only a candidate, accepted
 * after checking that it lies inside the current block, before the current position, within 64 KiB, and that
 * its bytes really match.
 */
const table = new Int32Array(1 << HASH_LOG);

function u32le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function putU32le(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

function hash4(seq: number): number {
  return Math.imul(seq, 0x9e3779b1) >>> (32 - HASH_LOG);
}

/** Worst-case size of one compressed block of `n` bytes. */
function _blockBound(n: number): number {
  return n + ((n / 255) | 0) + 16;
}

/** Write one sequence (literals, then a match unless `matchLen` < 0); returns the new output position. */
function writeSequence(
  src: Uint8Array,
  litStart: number,
  litLen: number,
  dst: Uint8Array,
  d: number,
  offset: number,
  matchLen: number,
): number {
  const tokenPos = d++;
  let token: number;
  if (litLen >= 15) {
    token = 0xf0;
    let rest = litLen - 15;
    while (rest >= 255) {
      dst[d++] = 255;
      rest -= 255;
    }
    dst[d++] = rest;
  } else {
    token = litLen << 4;
  }
  if (litLen > 32) {
    dst.set(src.subarray(litStart, litStart + litLen), d);
    d += litLen;
  } else {
    for (let i = 0; i < litLen; i++) dst[d++] = src[litStart + i]!;
  }
  if (matchLen >= 0) {
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    if (matchLen >= 15) {
      token |= 15;
      let rest = matchLen - 15;
      while (rest >= 255) {
        dst[d++] = 255;
        rest -= 255;
      }
      dst[d++] = rest;
    } else {
      token |= matchLen;
    }
  }
  dst[tokenPos] = token;
  return d;
}

/**
 * Compress src[start, end) as one independent LZ4 block into dst at `d` (dst must have blockBound room).
 * Returns the output position after the block.
 */
function compressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number): number {
  let anchor = start;
  if (end - start > MF_LIMIT) {
    const mfLimit = end - MF_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    const t = table;
    let ip = start;
    let searches = 1 << SKIP_TRIGGER;
    while (ip <= mfLimit) {
      const seq = u32le(src, ip);
      const h = hash4(seq);
      const ref = t[h]! - 1;
      t[h] = ip + 1;
      if (ref < start || ref >= ip || ip - ref > MAX_OFFSET || u32le(src, ref) !== seq) {
        ip += searches++ >> SKIP_TRIGGER;
        continue;
      }
      searches = 1 << SKIP_TRIGGER;
      // Extend the match backwards over pending literals, then forwards.
      let mStart = ip;
      let rStart = ref;
      while (mStart > anchor && rStart > start && src[mStart - 1] === src[rStart - 1]) {
        mStart--;
        rStart--;
      }
      let mEnd = ip + MIN_MATCH;
      let r = ref + MIN_MATCH;
      while (mEnd < matchLimit && src[mEnd] === src[r]) {
        mEnd++;
        r++;
      }
      d = writeSequence(src, anchor, mStart - anchor, dst, d, mStart - rStart, mEnd - mStart - MIN_MATCH);
      anchor = mEnd;
      ip = mEnd;
      if (ip <= mfLimit) t[hash4(u32le(src, ip - 2))] = ip - 2 + 1;
    }
  }
  return writeSequence(src, anchor, end - anchor, dst, d, 0, -1);
}

/** Compress `src` as one LZ4 frame with independent blocks of `blockSize` (Kafka clients use 64 KiB). */
export function lz4CompressFrame(src: Uint8Array, blockSize: Lz4BlockSize = 65536): Buffer {
  const bsId = Number(Object.keys(BLOCK_SIZES).find((k) => BLOCK_SIZES[Number(k)] === blockSize));
  if (!bsId) throw new RangeError(`invalid LZ4 block size ${blockSize}`);
  const len = src.length;
  const blocks = Math.ceil(len / blockSize);
  const bound = 7 + blocks * 4 + len + ((len / 255) | 0) + blocks * 16 + 4;
  const out = Buffer.allocUnsafe(bound);
  putU32le(out, 0, MAGIC);
  out[4] = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENT;
  out[5] = bsId << 4;
  out[6] = (xxhash32(out, 4, 6) >>> 8) & 0xff;
  let d = 7;
  for (let s = 0; s < len; s += blockSize) {
    const e = Math.min(len, s + blockSize);
    const sizePos = d;
    const end = compressBlock(src, s, e, out, d + 4);
    const csize = end - (d + 4);
    if (csize >= e - s) {
      putU32le(out, sizePos, (e - s) | UNCOMPRESSED_BIT);
      out.set(src.subarray(s, e), d + 4);
      d += 4 + (e - s);
    } else {
      putU32le(out, sizePos, csize);
      d = end;
    }
  }
  putU32le(out, d, 0);
  d += 4;
  // Do not pin a large scratch allocation behind a small result.
  return d < bound >>> 1 ? Buffer.from(out.subarray(0, d)) : out.subarray(0, d);
}

const OVERFLOW = -1;

/**
 * Decode one LZ4 block src[s, sEnd) into dst at `d`, writing nothing at or past `dEnd` and referencing nothing
 * before `dMin`. Returns the new output position, or OVERFLOW if the output would pass `dEnd`.
 * Throws CompressionError on malformed input.
 */
function decodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Buffer,
  d: number,
  dEnd: number,
  dMin: number,
): number {
  for (;;) {
    if (s >= sEnd) throw new CompressionError('lz4', 'block ends inside a sequence');
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new CompressionError('lz4', 'block ends inside a literal length');
        b = src[s++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > sEnd - s) throw new CompressionError('lz4', 'literal run passes the end of the block');
    if (lit > dEnd - d) return OVERFLOW;
    if (lit > 32) {
      dst.set(src.subarray(s, s + lit), d);
      s += lit;
      d += lit;
    } else {
      for (let i = 0; i < lit; i++) dst[d++] = src[s++]!;
    }
    if (s === sEnd) return d;
    if (sEnd - s < 2) throw new CompressionError('lz4', 'block ends inside a match offset');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d - dMin) throw new CompressionError('lz4', `match offset ${offset} out of range`);
    let ml = token & 15;
    if (ml === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw new CompressionError('lz4', 'block ends inside a match length');
        b = src[s++]!;
        ml += b;
      } while (b === 255);
    }
    ml += MIN_MATCH;
    if (ml > dEnd - d) return OVERFLOW;
    let r = d - offset;
    if (ml < 32) {
      for (let i = 0; i < ml; i++) dst[d++] = dst[r++]!;
    } else {
      // Copy in growing runs: [r, d) is periodic with period `offset`, so it can be replicated without overlap.
      let span = offset;
      while (ml > 0) {
        const n = Math.min(ml, span);
        dst.copyWithin(d, r, r + n);
        d += n;
        ml -= n;
        span += n;
      }
    }
  }
}

/**
 * Decompress one or more concatenated LZ4 frames (skippable frames are skipped). Throws CompressionError
 * on malformed input or when the output would exceed `maxOutput` bytes.
 * With `scratch`, the output goes there while it fits (the result is then a view of it, valid until the
 * caller reuses it): a caller that only reads the output, like the produce path's validation, allocates
 * nothing per call. Frames rarely declare their size, so without it the output grows by doubling.
 */
export function lz4DecompressFrame(
  src: Uint8Array,
  maxOutput = DEFAULT_MAX_DECOMPRESSED_BYTES,
  scratch: Buffer | null = null,
): Buffer {
  const len = src.length;
  let out = scratch ?? Buffer.allocUnsafe(Math.min(maxOutput, Math.max(1024, len * 4)));
  let d = 0;
  const ensure = (n: number): void => {
    if (n <= out.length) return;
    const next = Buffer.allocUnsafe(Math.max(n, Math.min(out.length * 2, maxOutput)));
    out.copy(next, 0, 0, d);
    out = next;
  };
  const need = (pos: number, n: number, what: string): void => {
    if (len - pos < n) throw new CompressionError('lz4', `input truncated in ${what}`);
  };
  let pos = 0;
  let frames = 0;
  while (pos < len) {
    need(pos, 4, 'frame magic');
    const magic = u32le(src, pos) >>> 0;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(pos, 8, 'skippable frame header');
      const size = u32le(src, pos + 4) >>> 0;
      pos += 8;
      need(pos, size, 'skippable frame');
      pos += size;
      continue;
    }
    if (magic !== MAGIC) {
      throw new CompressionError('lz4', frames === 0 ? 'not an LZ4 frame (bad magic)' : 'bad data after LZ4 frame');
    }
    pos += 4;
    const descStart = pos;
    need(pos, 3, 'frame descriptor');
    const flg = src[pos]!;
    const bd = src[pos + 1]!;
    pos += 2;
    if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) throw new CompressionError('lz4', `unsupported frame version`);
    if (flg & FLG_RESERVED || bd & 0x8f) throw new CompressionError('lz4', 'reserved frame descriptor bits are set');
    if (flg & FLG_DICT_ID) throw new CompressionError('lz4', 'frames with a dictionary are not supported');
    const maxBlock = BLOCK_SIZES[(bd >>> 4) & 7];
    if (maxBlock === undefined) throw new CompressionError('lz4', `invalid block size id ${(bd >>> 4) & 7}`);
    let contentSize = -1;
    if (flg & FLG_CONTENT_SIZE) {
      need(pos, 9, 'frame descriptor');
      contentSize = (u32le(src, pos) >>> 0) + (u32le(src, pos + 4) >>> 0) * 2 ** 32;
      pos += 8;
    }
    if (src[pos] !== ((xxhash32(src, descStart, pos) >>> 8) & 0xff)) {
      throw new CompressionError('lz4', 'frame descriptor checksum mismatch');
    }
    pos++;
    if (contentSize >= 0) {
      if (contentSize > maxOutput - d) throw limitExceeded('lz4', maxOutput);
      ensure(d + contentSize);
    }
    const independent = (flg & FLG_BLOCK_INDEPENDENT) !== 0;
    const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
    const frameStart = d;
    for (;;) {
      need(pos, 4, 'block header');
      const word = u32le(src, pos) >>> 0;
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > maxBlock) throw new CompressionError('lz4', `block of ${size} bytes exceeds the frame's ${maxBlock}`);
      need(pos, size + (blockChecksum ? 4 : 0), 'block');
      if (blockChecksum && xxhash32(src, pos, pos + size) !== u32le(src, pos + size) >>> 0) {
        throw new CompressionError('lz4', 'block checksum mismatch');
      }
      if (word & UNCOMPRESSED_BIT) {
        if (size > maxOutput - d) throw limitExceeded('lz4', maxOutput);
        ensure(d + size);
        out.set(src.subarray(pos, pos + size), d);
        d += size;
      } else {
        const cap = Math.min(d + maxBlock, maxOutput);
        ensure(cap);
        const next = decodeBlock(src, pos, pos + size, out, d, cap, independent ? d : frameStart);
        if (next === OVERFLOW) {
          if (cap === maxOutput) throw limitExceeded('lz4', maxOutput);
          throw new CompressionError('lz4', `block decompresses to more than the frame's ${maxBlock} bytes`);
        }
        d = next;
      }
      pos += size + (blockChecksum ? 4 : 0);
    }
    if (flg & FLG_CONTENT_CHECKSUM) {
      need(pos, 4, 'content checksum');
      if (xxhash32(out, frameStart, d) !== u32le(src, pos) >>> 0) {
        throw new CompressionError('lz4', 'content checksum mismatch');
      }
      pos += 4;
    }
    if (contentSize >= 0 && d - frameStart !== contentSize) {
      throw new CompressionError('lz4', `frame declares ${contentSize} bytes but holds ${d - frameStart}`);
    }
    frames++;
  }
  if (frames === 0) throw new CompressionError('lz4', 'no LZ4 frame in input');
  if (scratch !== null) return out.subarray(0, d);
  return d < out.length >>> 1 ? Buffer.from(out.subarray(0, d)) : out.subarray(0, d);
}
