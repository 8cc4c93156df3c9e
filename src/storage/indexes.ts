/**
 * Sparse segment indexes, held in memory as typed arrays and written to disk in Kafka's file formats:
 *
 *   .index      entries of (relative offset int32, file position int32), big-endian, 8 bytes each.
 *               The key is the BASE offset of a batch and the position its first byte: a lookup returns the
 *               position of the last indexed batch starting at or before the wanted offset.
 *   .timeindex  entries of (timestamp int64, relative offset int32), 12 bytes each, appended only when the
 *               segment's max timestamp grew: "up to and including the batch at this offset, no batch has a
 *               timestamp above this one"; the offset is the base offset of the batch holding that maximum.
 */

export const OFFSET_ENTRY_SIZE = 8;
export const TIME_ENTRY_SIZE = 12;

export class OffsetIndex {
  /** Interleaved [rel0, pos0, rel1, pos1, ...]. */
  private data: Int32Array;
  private n = 0;

  constructor(capacity = 64) {
    this.data = new Int32Array(Math.max(2, capacity * 2));
  }

  get count(): number {
    return this.n;
  }

  append(rel: number, position: number): void {
    if (this.n * 2 + 2 > this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n * 2] = rel;
    this.data[this.n * 2 + 1] = position;
    this.n++;
  }

  relAt(i: number): number {
    return this.data[i * 2]!;
  }

  positionAt(i: number): number {
    return this.data[i * 2 + 1]!;
  }

  /** Index of the last entry with rel <= target, or -1. */
  floor(target: number): number {
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    const d = this.data;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (d[mid * 2]! <= target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** File position to start a header scan for relative offset `target` (0 when before the first entry). */
  lookup(target: number): number {
    const i = this.floor(target);
    return i < 0 ? 0 : this.data[i * 2 + 1]!;
  }

  /** Position of the first entry whose batch starts after relative offset `target`, or -1 if none. */
  upperPosition(target: number): number {
    const i = this.floor(target) + 1;
    return i < this.n ? this.data[i * 2 + 1]! : -1;
  }

  lastPosition(): number {
    return this.n === 0 ? 0 : this.data[this.n * 2 - 1]!;
  }

  /** Drop entries whose batch starts at or after `position`. */
  truncateToPosition(position: number): void {
    while (this.n > 0 && this.data[this.n * 2 - 1]! >= position) this.n--;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.n * OFFSET_ENTRY_SIZE);
    for (let i = 0; i < this.n; i++) {
      buf.writeInt32BE(this.data[i * 2]!, i * 8);
      buf.writeInt32BE(this.data[i * 2 + 1]!, i * 8 + 4);
    }
    return buf;
  }

  /** Parse an index file; null when it is inconsistent (sizes, order, or positions past the log's end). */
  static fromBuffer(buf: Buffer, logSize: number): OffsetIndex | null {
    if (buf.length % OFFSET_ENTRY_SIZE !== 0) return null;
    const count = buf.length / OFFSET_ENTRY_SIZE;
    const idx = new OffsetIndex(count + 64);
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < count; i++) {
      const rel = buf.readInt32BE(i * 8);
      const pos = buf.readInt32BE(i * 8 + 4);
      if (rel <= prevRel || pos <= prevPos || pos >= logSize) return null;
      idx.append(rel, pos);
      prevRel = rel;
      prevPos = pos;
    }
    return idx;
  }
}

export class TimeIndex {
  private ts: BigInt64Array;
  private rel: Int32Array;
  private n = 0;

  constructor(capacity = 16) {
    this.ts = new BigInt64Array(Math.max(1, capacity));
    this.rel = new Int32Array(Math.max(1, capacity));
  }

  get count(): number {
    return this.n;
  }

  lastTimestamp(): bigint {
    return this.n === 0 ? -1n : this.ts[this.n - 1]!;
  }

  lastRel(): number {
    return this.n === 0 ? -1 : this.rel[this.n - 1]!;
  }

  timestampAt(i: number): bigint {
    return this.ts[i]!;
  }

  relAt(i: number): number {
    return this.rel[i]!;
  }

  /** Append when `timestamp` is above the last entry's; returns whether it did. */
  maybeAppend(timestamp: bigint, rel: number): boolean {
    if (timestamp < 0n || (this.n > 0 && timestamp <= this.ts[this.n - 1]!)) return false;
    if (this.n === this.ts.length) {
      const ts = new BigInt64Array(this.ts.length * 2);
      ts.set(this.ts);
      this.ts = ts;
      const rel2 = new Int32Array(this.rel.length * 2);
      rel2.set(this.rel);
      this.rel = rel2;
    }
    this.ts[this.n] = timestamp;
    this.rel[this.n] = rel;
    this.n++;
    return true;
  }

  /** Relative offset of the last entry whose timestamp is strictly below `timestamp`, or -1. */
  lookupBefore(timestamp: bigint): number {
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < timestamp) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? -1 : this.rel[found]!;
  }

  /** Drop entries pointing at relative offset `rel` or later. */
  truncateToRel(rel: number): void {
    while (this.n > 0 && this.rel[this.n - 1]! >= rel) this.n--;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.n * TIME_ENTRY_SIZE);
    for (let i = 0; i < this.n; i++) {
      buf.writeBigInt64BE(this.ts[i]!, i * 12);
      buf.writeInt32BE(this.rel[i]!, i * 12 + 8);
    }
    return buf;
  }

  static fromBuffer(buf: Buffer): TimeIndex | null {
    if (buf.length % TIME_ENTRY_SIZE !== 0) return null;
    const count = buf.length / TIME_ENTRY_SIZE;
    const idx = new TimeIndex(count + 16);
    let prevRel = -1;
    for (let i = 0; i < count; i++) {
      const ts = buf.readBigInt64BE(i * 12);
      const rel = buf.readInt32BE(i * 12 + 8);
      if (rel < prevRel || rel < 0 || !idx.maybeAppend(ts, rel)) return null;
      prevRel = rel;
    }
    return idx;
  }
}
