/**
 * CRC32C (Castagnoli), the checksum of RecordBatch v2, checked on every produced batch and computed for every
 * batch the client sends. Two implementations of one function:
 *  - the CPU's CRC32C instruction (SSE4.2 on x86-64, the CRC extension on ARMv8) through @node-rs/crc32, a
 *    prebuilt N-API module: ~6 GB/s on 8-32 KB batches on the 2 vCPU EPYC VM against ~2.1 GB/s for the table
 *    code below, which was a fifth of the broker's CPU under kcat into 1,000 partitions (issue 22;
 *    docs/benchmarks.md). Used for inputs of NATIVE_MIN bytes or more, where its call cost is repaid;
 *  - slicing-by-16 tables (`crc32cTable`): sixteen table look-ups per 16 bytes, reading the input as aligned
 *    32-bit little-endian words (one load instead of four byte loads), ~2.3 GB/s against ~1.45 GB/s for
 *    slicing-by-8 with byte loads. Short inputs, and every input where the module's binary for this platform
 *    is missing or fails its check value. Big-endian hosts take its byte-at-a-time path.
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';

const POLY = 0x82f63b78;
const T = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n] as number;
  for (let k = 1; k < 16; k++) {
    c = (T[c & 0xff] as number) ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** The table code: CRC32C of buf[start, end), continuing from `crc` (0 to start); an unsigned 32-bit value. */
export function crc32cTable(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  const t = T;
  if (LITTLE_ENDIAN && end - i >= 64) {
    // Bytes up to a 4-byte boundary of the underlying memory, then 16 bytes per round as four words.
    while (((buf.byteOffset + i) & 3) !== 0) c = t[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
    const words = (end - i) >>> 4;
    const w = new Int32Array(buf.buffer, buf.byteOffset + i, words * 4);
    for (let j = 0; j < w.length; j += 4) {
      const a = c ^ w[j]!;
      const b = w[j + 1]!;
      const d = w[j + 2]!;
      const e = w[j + 3]!;
      c =
        t[3840 + (a & 0xff)]! ^
        t[3584 + ((a >>> 8) & 0xff)]! ^
        t[3328 + ((a >>> 16) & 0xff)]! ^
        t[3072 + (a >>> 24)]! ^
        t[2816 + (b & 0xff)]! ^
        t[2560 + ((b >>> 8) & 0xff)]! ^
        t[2304 + ((b >>> 16) & 0xff)]! ^
        t[2048 + (b >>> 24)]! ^
        t[1792 + (d & 0xff)]! ^
        t[1536 + ((d >>> 8) & 0xff)]! ^
        t[1280 + ((d >>> 16) & 0xff)]! ^
        t[1024 + (d >>> 24)]! ^
        t[768 + (e & 0xff)]! ^
        t[512 + ((e >>> 8) & 0xff)]! ^
        t[256 + ((e >>> 16) & 0xff)]! ^
        t[e >>> 24]!;
    }
    i += words * 16;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type NativeCrc32c = (input: Uint8Array, initialState?: number | null) => number;

/** Below this many bytes the table code is as fast as the N-API call (measured: equal at ~150 B). */
const NATIVE_MIN = 256;

/**
 * @node-rs/crc32's crc32c when it loads and gives the check value of CRC32C ("123456789" → 0xe3069283, and the
 * same continued from a split); else null. In the single executable the package is shipped next to the bundle
 * (scripts/build-binary.js), so the same require finds it there. Loaded at the first input of NATIVE_MIN bytes,
 * not with this module: every CLI start (`--help` too) imports it, and loading the module costs 6-11 ms.
 */
function loadNative(): NativeCrc32c | null {
  try {
    const f = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: unknown }).crc32c;
    if (typeof f !== 'function') return null;
    const native = f as NativeCrc32c;
    const check = Buffer.from('123456789');
    return native(check) === 0xe3069283 && native(check.subarray(4), native(check.subarray(0, 4))) === 0xe3069283
      ? native
      : null;
  } catch {
    return null;
  }
}

/** undefined until the first input of NATIVE_MIN bytes or more tried to load it. */
let native: NativeCrc32c | null | undefined;

/** Which implementation serves inputs of NATIVE_MIN bytes and more (loading the module if not yet tried). */
export function crc32cImplementation(): 'instruction' | 'table' {
  if (native === undefined) native = loadNative();
  return native === null ? 'table' : 'instruction';
}

/** CRC32C of buf[start, end), continuing from `crc` (0 to start). Returns an unsigned 32-bit value. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  if (end - start >= NATIVE_MIN) {
    if (native === undefined) native = loadNative();
    if (native !== null) return native(start === 0 && end === buf.length ? buf : buf.subarray(start, end), crc);
  }
  return crc32cTable(buf, start, end, crc);
}

// Type feedback for every path before V8 optimizes the table code. Without it the first call over a large batch
// (a producer's first 100 KB) gets its word loop compiled on-stack (OSR) before the byte loop after it ever
// ran; that code then deoptimized on every later call at the byte loop ("insufficient type feedback"): 128
// times in one `bench produce` of 1,000 transactions, each call falling back to the interpreter (issue 17).
{
  const b = Buffer.alloc(160); // a Buffer, as every caller passes (a plain Uint8Array has another map)
  for (let round = 0; round < 4; round++) {
    crc32cTable(b);
    crc32cTable(b, 1, 131, round);
    crc32cTable(b, 3, 70);
    crc32cTable(b, 0, 9);
  }
}
