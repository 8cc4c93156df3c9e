/**
 * The aborted-transaction index of a partition (KIP-98, Kafka's `.txnindex`): one entry per aborted
 * transaction — producer id, first offset, the offset of its ABORT marker, and the last stable offset when the
 * marker was written — in a file per segment named by the segment's base offset (`<base>.txnindex`, the segment
 * holding the marker), so it goes when the segment goes (retention, truncation). A read_committed fetch asks it
 * for the aborted transactions overlapping the offsets it returns; the consumer drops their records.
 *
 * Aborted transactions are rare, so the entries are also held in memory (ordered by marker offset); the files are
 * what survives a restart. An entry is written and fdatasynced when its marker is appended (as leader, as
 * follower, or found again when the producer state is rebuilt at start, which re-adds what a crash lost); entries
 * at or past the log end (a torn tail cut off at recovery) are dropped when loaded.
 *
 * Entry (34 bytes, big-endian, as Kafka's): version i16 (0) | producer id i64 | first offset i64 |
 * last offset i64 | last stable offset i64.
 */
import {
  closeSync,
  fdatasyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { segmentFileName, TXN_INDEX_SUFFIX } from './segment.js';

const ENTRY_SIZE = 34;

export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  /** The offset of the ABORT marker. */
  lastOffset: bigint;
  /** Everything below this was decided when the marker was written (a search may stop at it). */
  lastStableOffset: bigint;
}

interface Entry extends AbortedTxn {
  /** Base offset of the segment whose file holds the entry. */
  segment: bigint;
}

function encode(t: AbortedTxn): Buffer {
  const b = Buffer.alloc(ENTRY_SIZE);
  b.writeInt16BE(0, 0);
  b.writeBigInt64BE(t.producerId, 2);
  b.writeBigInt64BE(t.firstOffset, 10);
  b.writeBigInt64BE(t.lastOffset, 18);
  b.writeBigInt64BE(t.lastStableOffset, 26);
  return b;
}

export class AbortedTxnIndex {
  /** Ordered by lastOffset (markers are appended in offset order). */
  private entries: Entry[] = [];

  constructor(readonly dir: string) {}

  get size(): number {
    return this.entries.length;
  }

  path(segment: bigint): string {
    return join(this.dir, segmentFileName(segment, TXN_INDEX_SUFFIX));
  }

  /** Record an aborted transaction whose marker lies in the segment at `segment` (written and fdatasynced). */
  add(t: AbortedTxn, segment: bigint): void {
    if (this.has(t.producerId, t.lastOffset)) return;
    const fd = openSync(this.path(segment), 'a');
    try {
      writeSync(fd, encode(t));
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const e: Entry = { ...t, segment };
    const last = this.entries[this.entries.length - 1];
    this.entries.push(e);
    if (last !== undefined && last.lastOffset > t.lastOffset) {
      this.entries.sort((a, b) => (a.lastOffset < b.lastOffset ? -1 : a.lastOffset > b.lastOffset ? 1 : 0));
    }
  }

  has(producerId: bigint, lastOffset: bigint): boolean {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i] as Entry;
      if (e.lastOffset < lastOffset) return false;
      if (e.lastOffset === lastOffset && e.producerId === producerId) return true;
    }
    return false;
  }

  /**
   * The aborted transactions a fetch of [from, upTo) must be told about: those with a marker at or after `from`
   * that began below `upTo`. Stops at the first entry whose last stable offset reaches `upTo` (every later
   * transaction began after it). Empty (no allocation beyond the array) when nothing was ever aborted.
   */
  collect(from: bigint, upTo: bigint): { producerId: bigint; firstOffset: bigint }[] {
    const out: { producerId: bigint; firstOffset: bigint }[] = [];
    const es = this.entries;
    if (es.length === 0) return out;
    let lo = 0;
    let hi = es.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((es[mid] as Entry).lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < es.length; i++) {
      const e = es[i] as Entry;
      if (e.firstOffset < upTo) out.push({ producerId: e.producerId, firstOffset: e.firstOffset });
      if (e.lastStableOffset >= upTo) break;
    }
    return out;
  }

  /** Every entry, oldest marker first. */
  all(): readonly AbortedTxn[] {
    return this.entries;
  }

  /** The log was truncated at `offset`: entries whose marker is at or above it go (and their files are rewritten). */
  truncateFrom(offset: bigint): void {
    const keep = this.entries.filter((e) => e.lastOffset < offset);
    if (keep.length === this.entries.length) return;
    const touched = new Set<bigint>();
    for (const e of this.entries) if (e.lastOffset >= offset) touched.add(e.segment);
    this.entries = keep;
    for (const s of touched) this.rewrite(s);
  }

  /** Segments below `firstSegment` are gone (their files went with them): forget their entries. */
  removeBefore(firstSegment: bigint): void {
    if (this.entries.length > 0 && (this.entries[0] as Entry).segment < firstSegment) {
      this.entries = this.entries.filter((e) => e.segment >= firstSegment);
    }
  }

  /**
   * The cleaner rewrote the segment at `segment`: the entries whose markers are at `markerOffsets` leave it (an
   * aborted transaction none of whose batches is left). The file is replaced whole (written, fdatasynced, renamed)
   * so a crash leaves the old or the new list, never a torn one; removed when no entry is left.
   */
  removeCleaned(segment: bigint, markerOffsets: ReadonlySet<bigint>): void {
    if (markerOffsets.size === 0) return;
    const keep = this.entries.filter((e) => !(e.segment === segment && markerOffsets.has(e.lastOffset)));
    if (keep.length === this.entries.length) return;
    this.entries = keep;
    const mine = keep.filter((e) => e.segment === segment);
    const path = this.path(segment);
    if (mine.length === 0) {
      try {
        unlinkSync(path);
      } catch {
        /* absent */
      }
      return;
    }
    const tmp = `${path}.cleaned`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, Buffer.concat(mine.map(encode)));
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  clear(): void {
    this.entries = [];
  }

  private rewrite(segment: bigint): void {
    const mine = this.entries.filter((e) => e.segment === segment);
    const path = this.path(segment);
    if (mine.length === 0) {
      try {
        unlinkSync(path);
      } catch {
        /* absent */
      }
      return;
    }
    writeFileSync(path, Buffer.concat(mine.map(encode)));
  }

  /**
   * Read the files of the segments at `bases` (ascending); entries whose marker is at or past `logEnd`, or
   * outside their segment, are dropped (and the files rewritten without them). A torn last entry is ignored.
   * Pass the largest offset as `logEnd` before recovery has found the log end (then truncateFrom it).
   */
  load(bases: readonly bigint[], logEnd: bigint, warn: (msg: string) => void, present?: ReadonlySet<string>): void {
    const entries: Entry[] = [];
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i] as bigint;
      const next = i + 1 < bases.length ? (bases[i + 1] as bigint) : logEnd;
      let b: Buffer;
      // `present`: the directory's names when the caller has just listed it (a log's open): no failed open
      // per segment that has no transaction index (most have none).
      if (present && !present.has(basename(this.path(base)))) continue;
      try {
        b = readFileSync(this.path(base));
      } catch {
        continue;
      }
      let dropped = b.length % ENTRY_SIZE !== 0;
      for (let p = 0; p + ENTRY_SIZE <= b.length; p += ENTRY_SIZE) {
        const e: Entry = {
          producerId: b.readBigInt64BE(p + 2),
          firstOffset: b.readBigInt64BE(p + 10),
          lastOffset: b.readBigInt64BE(p + 18),
          lastStableOffset: b.readBigInt64BE(p + 26),
          segment: base,
        };
        if (b.readInt16BE(p) !== 0 || e.lastOffset < base || e.lastOffset >= next || e.firstOffset > e.lastOffset) {
          dropped = true;
          continue;
        }
        entries.push(e);
      }
      if (dropped) {
        warn(`Dropped entries of ${this.path(base)} past the log end or damaged`);
        const mine = entries.filter((e) => e.segment === base);
        try {
          if (mine.length === 0) unlinkSync(this.path(base));
          else writeFileSync(this.path(base), Buffer.concat(mine.map(encode)));
        } catch (e) {
          warn(`Cannot rewrite ${this.path(base)}: ${(e as Error).message}`);
        }
      }
    }
    entries.sort((a, b) => (a.lastOffset < b.lastOffset ? -1 : a.lastOffset > b.lastOffset ? 1 : 0));
    // One entry per marker (a file written twice for one marker, e.g. by a replay, counts once).
    this.entries = entries.filter(
      (e, i) =>
        i === 0 || !(entries[i - 1]!.lastOffset === e.lastOffset && entries[i - 1]!.producerId === e.producerId),
    );
  }
}
