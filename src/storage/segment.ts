/**
 * One log segment: `<base offset, 20 digits>.log` holding whole record batches exactly as they were appended,
 * plus its sparse `.index` and `.timeindex` (see indexes.ts). The file descriptor stays open for the
 * segment's life; reads hold a reference so a deleted segment's fd is closed only after they finish.
 */
import {
  close as closeCb,
  closeSync,
  fdatasync as fdatasyncCb,
  fstat as fstatCb,
  ftruncateSync,
  open as openCb,
  openSync,
  read as readCb,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, OFF } from '../protocol/records/batch.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { readFileIfExists, writeFileAtomic } from './checkpoint.js';
import { OFFSET_ENTRY_SIZE, OffsetIndex, TIME_ENTRY_SIZE, TimeIndex } from './indexes.js';

const openP = promisify(openCb);
const closeP = promisify(closeCb);
const fstatP = promisify(fstatCb);
const fdatasyncP = promisify(fdatasyncCb);

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const DELETED_SUFFIX = '.deleted';

/** Header bytes needed to know a batch's offsets, length, epoch and max timestamp. */
const HEADER_PREFIX = OFF.maxTimestamp + 8;

export function segmentFileName(baseOffset: bigint, suffix: string): string {
  return baseOffset.toString().padStart(20, '0') + suffix;
}

/** The base offset of `<20 digits><suffix>`, or null. */
export function parseSegmentFileName(name: string, suffix: string): bigint | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, name.length - suffix.length);
  return /^\d{20}$/.test(stem) ? BigInt(stem) : null;
}

/** Read up to `length` bytes at `position`, looping over short reads; returns the bytes read (EOF stops). */
export function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void => {
      readCb(fd, buf, offset + done, length - done, position + done, (err, n) => {
        if (err) return reject(err);
        done += n;
        if (n === 0 || done >= length) resolve(done);
        else step();
      });
    };
    if (length <= 0) resolve(0);
    else step();
  });
}

/**
 * readAt without the thread pool: for small reads of data just appended (the tail of the active segment, in
 * the page cache), where the hop to a libuv thread and back costs more than the copy.
 */
export function readAtSync(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** A batch header's fields the storage layer needs (reused across a scan: copy what you keep). */
export interface BatchInfo {
  position: number;
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  leaderEpoch: number;
}

export function newBatchInfo(): BatchInfo {
  return { position: 0, size: 0, baseOffset: 0n, lastOffset: 0n, maxTimestamp: -1n, leaderEpoch: -1 };
}

/** Fill `out` from the header at `buf[o]` (HEADER_PREFIX bytes must be present). False when the length is impossible. */
function decodeHeader(buf: Buffer, o: number, filePos: number, out: BatchInfo): boolean {
  const batchLength = buf.readInt32BE(o + OFF.batchLength);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) return false;
  out.position = filePos;
  out.size = batchLength + LOG_OVERHEAD;
  out.baseOffset = buf.readBigInt64BE(o + OFF.baseOffset);
  out.lastOffset = out.baseOffset + BigInt(buf.readInt32BE(o + OFF.lastOffsetDelta));
  out.maxTimestamp = buf.readBigInt64BE(o + OFF.maxTimestamp);
  out.leaderEpoch = buf.readInt32BE(o + OFF.partitionLeaderEpoch);
  return true;
}

export class CorruptSegmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptSegmentError';
  }
}

/**
 * Walks batch headers of one segment file from a position with chunked reads (never one read per batch).
 * The buffer of the last read is exposed so a caller can slice batches out of it without reading again.
 */
export class BatchCursor {
  buf: Buffer = Buffer.alloc(0);
  /** File position of buf[0] and the number of valid bytes in buf. */
  bufPos = 0;
  bufLen = 0;
  pos: number;
  /** Total bytes read from the file so far. */
  bytesRead = 0;
  readonly info = newBatchInfo();

  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
    private readonly chunk: number,
    /** Read with readAtSync (small reads at the tail of the log). */
    private readonly sync = false,
  ) {
    this.pos = start;
  }

  /** Bytes [from, to) of the file are in the buffer. */
  covers(from: number, to: number): boolean {
    return from >= this.bufPos && to <= this.bufPos + this.bufLen;
  }

  async fill(at: number, length: number): Promise<void> {
    const len = Math.max(0, Math.min(length, this.end - at));
    if (this.buf.length < len) this.buf = Buffer.allocUnsafe(len);
    this.bufPos = at;
    this.bufLen = this.sync ? readAtSync(this.fd, this.buf, 0, len, at) : await readAt(this.fd, this.buf, 0, len, at);
    this.bytesRead += this.bufLen;
  }

  /** Advance to the next batch header; false at the end (or when fewer than a header's bytes remain). */
  async next(): Promise<boolean> {
    const p = this.pos;
    if (p + BATCH_HEADER_SIZE > this.end) return false;
    if (!this.covers(p, p + HEADER_PREFIX)) {
      await this.fill(p, this.chunk);
      if (this.bufLen < HEADER_PREFIX) return false;
    }
    if (!decodeHeader(this.buf, p - this.bufPos, p, this.info)) {
      throw new CorruptSegmentError(`impossible batch length at position ${p}`);
    }
    this.pos = p + this.info.size;
    return true;
  }
}

export interface ScanResult {
  /** Bytes of whole, valid batches from the start of the file. */
  validBytes: number;
  /** Offset after the last valid batch (the segment base offset when none). */
  nextOffset: bigint;
  batches: number;
  /** Why the scan stopped before the end of the file, or null. */
  error: string | null;
}

const SCAN_CHUNK = 1024 * 1024;

export interface SegmentOptions {
  indexIntervalBytes: number;
}

export class Segment {
  readonly baseOffset: bigint;
  readonly dir: string;
  fd: number;
  /** Bytes in the .log file. */
  size: number;
  offsetIndex: OffsetIndex | null = null;
  timeIndex: TimeIndex | null = null;
  /** Largest batch max timestamp seen (-1 when none) and the base offset of the batch that holds it. */
  maxTimestamp = -1n;
  offsetOfMaxTimestamp = -1n;
  bytesSinceLastIndexEntry = 0;
  /** Wall-clock ms the segment was created (segment.ms roll). */
  createdMs: number;
  /** Wall-clock ms of the last write (retention fallback when no batch has a timestamp). */
  lastModifiedMs: number;
  /** Written since the last fsync began. */
  dirty = false;
  retired = false;
  private refs = 0;
  private drain: (() => void) | null = null;
  private indexWriteChain: Promise<void> = Promise.resolve();
  private loading: Promise<void> | null = null;

  private constructor(dir: string, baseOffset: bigint, fd: number, size: number, createdMs: number, mtimeMs: number) {
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.fd = fd;
    this.size = size;
    this.createdMs = createdMs;
    this.lastModifiedMs = mtimeMs;
  }

  get logPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, LOG_SUFFIX));
  }
  get indexPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, INDEX_SUFFIX));
  }
  get timeIndexPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, TIME_INDEX_SUFFIX));
  }

  /** Create a new empty segment (synchronous: used when rolling on the append path). */
  static create(dir: string, baseOffset: bigint): Segment {
    const fd = openSync(join(dir, segmentFileName(baseOffset, LOG_SUFFIX)), 'w+');
    const now = Date.now();
    const seg = new Segment(dir, baseOffset, fd, 0, now, now);
    seg.offsetIndex = new OffsetIndex();
    seg.timeIndex = new TimeIndex();
    return seg;
  }

  /** Open an existing segment file; indexes are not loaded. */
  static async open(dir: string, baseOffset: bigint): Promise<Segment> {
    const fd = await openP(join(dir, segmentFileName(baseOffset, LOG_SUFFIX)), 'r+');
    const st = await fstatP(fd);
    const created = st.birthtimeMs > 0 ? st.birthtimeMs : st.mtimeMs;
    return new Segment(dir, baseOffset, fd, st.size, Math.min(created, st.mtimeMs), st.mtimeMs);
  }

  /** Relative offset of `offset` in this segment. */
  rel(offset: bigint): number {
    return Number(offset - this.baseOffset);
  }

  /** Newest timestamp for time retention: the max batch timestamp, else the last write time. */
  largestTimestampMs(): number {
    return this.maxTimestamp >= 0n ? Number(this.maxTimestamp) : this.lastModifiedMs;
  }

  get indexesLoaded(): boolean {
    return this.offsetIndex !== null && this.timeIndex !== null;
  }

  /** Update max timestamp and the sparse indexes for a batch written at `position` (indexes must be loaded). */
  trackBatch(position: number, size: number, baseOffset: bigint, maxTimestamp: bigint, interval: number): void {
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    if (this.bytesSinceLastIndexEntry > interval) {
      this.offsetIndex!.append(Number(baseOffset - this.baseOffset), position);
      if (this.maxTimestamp >= 0n) {
        this.timeIndex!.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
      }
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
  }

  /** Make the time index's last entry the segment's max timestamp (on roll and close). */
  finalizeTimeIndex(): void {
    if (this.timeIndex && this.maxTimestamp >= 0n) {
      this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
    }
  }

  /** Synchronous positional write of all of `buf` at the end of the file. */
  writeSync(buf: Buffer): void {
    let done = 0;
    while (done < buf.length) {
      done += writeSync(this.fd, buf, done, buf.length - done, this.size + done);
    }
    this.dirty = true;
    this.lastModifiedMs = Date.now();
  }

  /** Cut the file (synchronously) to `bytes` and drop index entries past it. */
  truncateFileSync(bytes: number): void {
    ftruncateSync(this.fd, bytes);
    this.size = bytes;
    this.dirty = true;
    this.offsetIndex?.truncateToPosition(bytes);
  }

  fdatasync(): Promise<void> {
    return fdatasyncP(this.fd);
  }

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.drain) {
      const d = this.drain;
      this.drain = null;
      d();
    }
  }

  private idle(): Promise<void> {
    if (this.refs === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.drain;
      this.drain = () => {
        prev?.();
        resolve();
      };
    });
  }

  /**
   * Rebuild max timestamp and both indexes by scanning the whole file; with `validateCrc`, also check
   * each batch's CRC32C. Stops at the first torn or corrupt batch (reported in `error`, nothing truncated).
   */
  async rebuild(
    interval: number,
    validateCrc: boolean,
    onBatch?: (b: BatchInfo) => void,
    expectedFirstOffset: bigint = this.baseOffset,
  ): Promise<ScanResult> {
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.maxTimestamp = -1n;
    this.offsetOfMaxTimestamp = -1n;
    this.bytesSinceLastIndexEntry = 0;
    const info = newBatchInfo();
    const end = this.size;
    let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(end, BATCH_HEADER_SIZE)));
    let bufPos = 0;
    let bufLen = 0;
    let pos = 0;
    let next = expectedFirstOffset;
    let batches = 0;
    let error: string | null = null;
    const fill = async (at: number, want: number): Promise<void> => {
      const len = Math.min(Math.max(want, SCAN_CHUNK), end - at);
      if (buf.length < len) buf = Buffer.allocUnsafe(len);
      bufPos = at;
      bufLen = await readAt(this.fd, buf, 0, len, at);
    };
    while (pos < end) {
      if (end - pos < BATCH_HEADER_SIZE) {
        error = `partial batch header (${end - pos} bytes)`;
        break;
      }
      if (pos < bufPos || pos + BATCH_HEADER_SIZE > bufPos + bufLen) await fill(pos, BATCH_HEADER_SIZE);
      if (pos + BATCH_HEADER_SIZE > bufPos + bufLen) {
        error = 'short read';
        break;
      }
      const o = pos - bufPos;
      if (!decodeHeader(buf, o, pos, info)) {
        error = `impossible batch length ${buf.readInt32BE(o + OFF.batchLength)}`;
        break;
      }
      const magic = buf.readInt8(o + OFF.magic);
      if (magic !== 2) {
        error = `unsupported magic ${magic}`;
        break;
      }
      if (pos + info.size > end) {
        error = `partial batch (${end - pos} of ${info.size} bytes)`;
        break;
      }
      if (info.baseOffset < next || info.lastOffset < info.baseOffset) {
        error = `offset ${info.baseOffset} out of order (expected >= ${next})`;
        break;
      }
      if (info.lastOffset - this.baseOffset > 0x7fffffffn) {
        error = `offset ${info.lastOffset} too far from segment base ${this.baseOffset}`;
        break;
      }
      if (validateCrc) {
        if (pos + info.size > bufPos + bufLen) await fill(pos, info.size);
        const s = pos - bufPos;
        if (s + info.size > bufLen) {
          error = 'short read';
          break;
        }
        const stored = buf.readUInt32BE(s + OFF.crc);
        if (crc32c(buf, s + OFF.attributes, s + info.size) !== stored) {
          error = `CRC mismatch in batch at offset ${info.baseOffset}`;
          break;
        }
      }
      this.trackBatch(pos, info.size, info.baseOffset, info.maxTimestamp, interval);
      onBatch?.(info);
      batches++;
      next = info.lastOffset + 1n;
      pos += info.size;
    }
    return { validBytes: pos, nextOffset: next, batches, error };
  }

  /** Write both index files atomically (serialized per segment). Takes a snapshot of the current entries. */
  writeIndexFiles(): Promise<void> {
    const off = this.offsetIndex?.toBuffer();
    const time = this.timeIndex?.toBuffer();
    const p = this.indexWriteChain.then(async () => {
      if (this.retired) return;
      if (off) await writeFileAtomic(this.indexPath, off, false);
      if (time) await writeFileAtomic(this.timeIndexPath, time, false);
    });
    this.indexWriteChain = p.catch(() => {});
    return p;
  }

  /** Resolves when index writes requested so far are done. */
  indexWritesDone(): Promise<void> {
    return this.indexWriteChain;
  }

  /**
   * Check the index files of a closed segment without loading them: both exist with whole entries.
   * Reads the time index's last entry for the segment's max timestamp. False when they must be rebuilt.
   */
  async probeIndexFiles(): Promise<boolean> {
    try {
      const [si, st] = await Promise.all([stat(this.indexPath), stat(this.timeIndexPath)]);
      if (si.size % OFFSET_ENTRY_SIZE !== 0 || st.size % TIME_ENTRY_SIZE !== 0) return false;
      if (st.size > 0) {
        const fd = await openP(this.timeIndexPath, 'r');
        try {
          const b = Buffer.alloc(TIME_ENTRY_SIZE);
          if ((await readAt(fd, b, 0, TIME_ENTRY_SIZE, st.size - TIME_ENTRY_SIZE)) !== TIME_ENTRY_SIZE) return false;
          this.maxTimestamp = b.readBigInt64BE(0);
          this.offsetOfMaxTimestamp = this.baseOffset + BigInt(b.readInt32BE(8));
        } finally {
          await closeP(fd);
        }
      }
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /**
   * Load both index files into memory (once; concurrent callers share the load). Returns false when a file
   * is missing or inconsistent, leaving the indexes unloaded: the caller rebuilds.
   */
  loadIndexFiles(): Promise<boolean> {
    if (this.indexesLoaded) return Promise.resolve(true);
    if (!this.loading) {
      this.loading = (async () => {
        await this.indexWriteChain;
        const [ib, tb] = await Promise.all([readFileIfExists(this.indexPath), readFileIfExists(this.timeIndexPath)]);
        const off = ib ? OffsetIndex.fromBuffer(ib, this.size) : null;
        const time = tb ? TimeIndex.fromBuffer(tb) : null;
        if (off && time && !this.indexesLoaded) {
          this.offsetIndex = off;
          this.timeIndex = time;
          if (time.count > 0) {
            this.maxTimestamp = time.lastTimestamp();
            this.offsetOfMaxTimestamp = this.baseOffset + BigInt(time.lastRel());
          }
        }
      })().finally(() => {
        this.loading = null;
      });
    }
    return this.loading.then(() => this.indexesLoaded);
  }

  /** Forget in-memory indexes of a closed segment (they are on disk). */
  unloadIndexes(): void {
    this.offsetIndex = null;
    this.timeIndex = null;
  }

  /**
   * Take the segment out of the log: rename the .log to .log.deleted now (so a crash never brings it back),
   * then once in-flight reads are done close the fd and remove the files.
   */
  retire(): Promise<void> {
    this.retired = true;
    // Rename all three now: a new segment with the same base offset may be created right away.
    const paths = [this.logPath, this.indexPath, this.timeIndexPath];
    const renamed: string[] = [];
    for (const p of paths) {
      try {
        renameSync(p, p + DELETED_SUFFIX);
        renamed.push(p + DELETED_SUFFIX);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return (async () => {
      await this.idle();
      await this.indexWriteChain;
      await closeP(this.fd).catch(() => {});
      await Promise.all(
        renamed.map((p) =>
          unlink(p).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          }),
        ),
      );
    })();
  }

  /** Close the fd once in-flight reads are done (the files stay). */
  async close(): Promise<void> {
    await this.idle();
    await this.indexWriteChain;
    await closeP(this.fd).catch(() => {});
  }

  /** Close immediately (error paths during open). */
  closeSyncNow(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}
