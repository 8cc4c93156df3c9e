/**
 * xxHash32, the checksum of the LZ4 frame format (header checksum, block and content checksums).
 */
const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

function u32le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function round(acc: number, input: number): number {
  acc = (acc + Math.imul(input, P2)) | 0;
  acc = (acc << 13) | (acc >>> 19);
  return Math.imul(acc, P1);
}

/** xxHash32 of buf[start, end) with `seed`; an unsigned 32-bit value. */
export function xxhash32(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  const len = end - start;
  let i = start;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = round(v1, u32le(buf, i));
      v2 = round(v2, u32le(buf, i + 4));
      v3 = round(v3, u32le(buf, i + 8));
      v4 = round(v4, u32le(buf, i + 12));
      i += 16;
    }
    h =
      (((v1 << 1) | (v1 >>> 31)) +
        ((v2 << 7) | (v2 >>> 25)) +
        ((v3 << 12) | (v3 >>> 20)) +
        ((v4 << 18) | (v4 >>> 14))) |
      0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  for (; i + 4 <= end; i += 4) {
    h = (h + Math.imul(u32le(buf, i), P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
  }
  for (; i < end; i++) {
    h = (h + Math.imul(buf[i]!, P5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), P1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
