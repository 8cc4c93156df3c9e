/**
 * One log segment: `<base offset, 20 digits>.log` holding whole record batches exactly as they were appended,
 * plus its sparse `.index` and `.timeindex` (see indexes.ts).
 *
 * The `.log` file is opened on use and may be closed again by the process-wide LRU of open files
 * (file-handles.ts) while the segment is idle. Whoever uses the descriptor across an await pins the segment
 * first (acquire/release) and asks for the descriptor after (fdSync); a pinned segment's file is never
 * closed, and a deleted segment's file is closed and removed only after its pins are released.
 *
 * Reading is strict about the bytes it walks (BatchCursor, scanBatches): an impossible length, a batch
 * running past the end of the file, a partial header, a wrong magic or offsets going backwards is damage
 * (CorruptSegmentError), never the end of the data.
 */
import {
  close as closeCb,
  closeSync,
  fdatasync as fdatasyncCb,
  ftruncateSync,
  open as openCb,
  openSync,
  read as readCb,
  readSync,
  renameSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, OFF } from '../protocol/records/batch.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { readFileIfExists, readFileIfExistsSync, writeFileAtomic } from './checkpoint.js';
import { openFiles, type PooledFile, transientFiles } from './file-handles.js';
import { OFFSET_ENTRY_SIZE, OffsetIndex, TIME_ENTRY_SIZE, TimeIndex } from './indexes.js';

const openP = promisify(openCb);
const closeP = promisify(closeCb);
const fdatasyncP = promisify(fdatasyncCb);

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const DELETED_SUFFIX = '.deleted';
export const TXN_INDEX_SUFFIX = '.txnindex';

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

/**
 * What can be wrong with the bytes of a segment file:
 *   bad-length        a batch length below the smallest batch (a negative length, zero, …)
 *   truncated         a batch or batch header that runs past the end of the file (the file was cut, or the
 *                     length field is damaged)
 *   bad-magic         a batch whose magic byte is not 2 (kstream stores RecordBatch v2 only)
 *   bad-offsets       a batch whose last offset is below its base offset, or too far from the segment base
 *   offsets-backwards a batch starting below the offset after the previous one
 *   bad-crc           a batch whose CRC32C does not match its bytes (checked by recovery and check-log only)
 */
export type ProblemKind = 'bad-length' | 'truncated' | 'bad-magic' | 'bad-offsets' | 'offsets-backwards' | 'bad-crc';

/**
 * Problems after which the next batch cannot be trusted to be found: all but a bad CRC. The length, magic and
 * offsets are outside what the CRC covers, so a header with impossible offsets is garbage, length included;
 * a CRC mismatch with a sane header is damage inside one batch's records.
 */
export function isFatalProblem(kind: ProblemKind): boolean {
  return kind !== 'bad-crc';
}

export class CorruptSegmentError extends Error {
  /** The segment it was found in (set by the reader that met it). */
  segment: Segment | null = null;

  constructor(
    message: string,
    readonly kind: ProblemKind,
    /** Byte position in the file of the batch (or header) found damaged. */
    readonly position: number,
  ) {
    super(message);
    this.name = 'CorruptSegmentError';
  }
}

/**
 * Check the header of the batch at file position `p` (its HEADER_PREFIX bytes at `buf[o]`, decoded into
 * `info`) against the end of the readable range and the offset expected next (-1n: not known). Returns the
 * problem, or null. The length must already have decoded (decodeHeader returned true).
 */
function headerProblem(
  buf: Buffer,
  o: number,
  p: number,
  end: number,
  info: BatchInfo,
  expected: bigint,
): CorruptSegmentError | null {
  if (info.size > end - p) {
    return new CorruptSegmentError(
      `batch of ${info.size} bytes at byte ${p} runs past the end of the data (${end - p} bytes left)`,
      'truncated',
      p,
    );
  }
  const magic = buf.readInt8(o + OFF.magic);
  if (magic !== 2) return new CorruptSegmentError(`batch magic ${magic} at byte ${p}`, 'bad-magic', p);
  if (info.lastOffset < info.baseOffset) {
    return new CorruptSegmentError(
      `batch at byte ${p} ends at offset ${info.lastOffset}, below its base offset ${info.baseOffset}`,
      'bad-offsets',
      p,
    );
  }
  if (info.baseOffset < expected) {
    return new CorruptSegmentError(
      `offset ${info.baseOffset} out of order at byte ${p} (expected >= ${expected})`,
      'offsets-backwards',
      p,
    );
  }
  return null;
}

/**
 * Walks batch headers of one segment file from a position with chunked reads (never one read per batch).
 * The buffer of the last read is exposed so a caller can slice batches out of it without reading again.
 * `end` must be a batch boundary (the file size, or an index entry's position): anything that does not add
 * up to whole batches up to it throws CorruptSegmentError. The caller pins the segment while it walks.
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
  /** The offset the next batch must not start below (-1n until a batch was seen). */
  private expected = -1n;

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

  /** Advance to the next batch header; false at the end. Throws CorruptSegmentError on damage. */
  async next(): Promise<boolean> {
    const p = this.pos;
    const end = this.end;
    if (p === end) return false;
    if (p > end || p + BATCH_HEADER_SIZE > end) {
      throw new CorruptSegmentError(`partial batch header at byte ${p} (${end - p} bytes left)`, 'truncated', p);
    }
    if (!this.covers(p, p + HEADER_PREFIX)) {
      await this.fill(p, this.chunk);
      if (this.bufLen < HEADER_PREFIX) {
        throw new CorruptSegmentError(`short read at byte ${p}: the file ends early`, 'truncated', p);
      }
    }
    const o = p - this.bufPos;
    const info = this.info;
    if (!decodeHeader(this.buf, o, p, info)) {
      const len = this.buf.readInt32BE(o + OFF.batchLength);
      throw new CorruptSegmentError(`impossible batch length ${len} at byte ${p}`, 'bad-length', p);
    }
    const problem = headerProblem(this.buf, o, p, end, info, this.expected);
    if (problem) throw problem;
    this.expected = info.lastOffset + 1n;
    this.pos = p + info.size;
    return true;
  }
}

export interface ScanProblem {
  kind: ProblemKind;
  /** Byte position of the damaged batch (or header) in the file. */
  position: number;
  /** The offset expected at that position (after the last intact batch). */
  offset: bigint;
  message: string;
}

export interface ScanResult {
  /** Bytes of whole, valid batches from the start of the file (up to the first problem). */
  validBytes: number;
  /** Offset after the last valid batch (the expected first offset when none). */
  nextOffset: bigint;
  /** Whole valid batches before the first problem. */
  batches: number;
  /** Why the scan stopped before the end of the file, or null. */
  error: string | null;
  /** Every problem met (the scan goes on after a non-fatal one only when the caller asks). */
  problems: ScanProblem[];
  /** Signs of compaction: offsets skip between batches, or a batch holds fewer records than its offsets span. */
  compacted: boolean;
}

const SCAN_CHUNK = 1024 * 1024;

export interface ScanOptions {
  /** File bytes to scan. */
  size: number;
  /** File position to start at (a batch boundary; default 0). */
  start?: number;
  segmentBase: bigint;
  /** The first batch must not start below this offset. */
  expectedFirstOffset: bigint;
  validateCrc: boolean;
  /** Go on after a bad CRC (the only problem after which the next batch can be trusted) instead of stopping. */
  continueAfterProblems?: boolean;
  /**
   * Every batch that passed its checks (in order); `crcOk` is false only for a bad-CRC batch scanned past. Its
   * whole header is at `buf[at]` (valid only during the call).
   */
  onBatch?: (b: BatchInfo, crcOk: boolean, buf: Buffer, at: number) => void;
}

/** Walk every batch of a segment file (reading in large chunks), checking each one; see ScanResult. */
export async function scanBatches(fd: number, opts: ScanOptions): Promise<ScanResult> {
  const end = opts.size;
  const info = newBatchInfo();
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(end, BATCH_HEADER_SIZE)));
  let bufPos = 0;
  let bufLen = 0;
  let pos = opts.start ?? 0;
  let next = opts.expectedFirstOffset;
  let batches = 0;
  let validBytes = -1;
  let compacted = false;
  const problems: ScanProblem[] = [];
  const fill = async (at: number, want: number): Promise<void> => {
    const len = Math.min(Math.max(want, SCAN_CHUNK), end - at);
    if (buf.length < len) buf = Buffer.allocUnsafe(len);
    bufPos = at;
    bufLen = await readAt(fd, buf, 0, len, at);
  };
  /** Record a problem; true when the scan stops here. */
  const problem = (kind: ProblemKind, message: string): boolean => {
    problems.push({ kind, position: pos, offset: next, message });
    if (validBytes < 0) validBytes = pos;
    return isFatalProblem(kind) || !opts.continueAfterProblems;
  };
  while (pos < end) {
    if (end - pos < BATCH_HEADER_SIZE) {
      problem('truncated', `partial batch header (${end - pos} bytes)`);
      break;
    }
    if (pos < bufPos || pos + BATCH_HEADER_SIZE > bufPos + bufLen) await fill(pos, BATCH_HEADER_SIZE);
    if (pos + BATCH_HEADER_SIZE > bufPos + bufLen) {
      problem('truncated', 'short read: the file ends early');
      break;
    }
    const o = pos - bufPos;
    if (!decodeHeader(buf, o, pos, info)) {
      problem('bad-length', `impossible batch length ${buf.readInt32BE(o + OFF.batchLength)}`);
      break;
    }
    const magic = buf.readInt8(o + OFF.magic);
    if (magic !== 2) {
      problem('bad-magic', `unsupported magic ${magic}`);
      break;
    }
    if (pos + info.size > end) {
      problem('truncated', `partial batch (${end - pos} of ${info.size} bytes)`);
      break;
    }
    const records = buf.readInt32BE(o + OFF.recordCount);
    if (info.lastOffset < info.baseOffset || info.lastOffset - opts.segmentBase > 0x7fffffffn) {
      const what =
        info.lastOffset < info.baseOffset
          ? `last offset ${info.lastOffset} below base offset ${info.baseOffset}`
          : `offset ${info.lastOffset} too far from segment base ${opts.segmentBase}`;
      problem('bad-offsets', what);
      break;
    }
    if (info.baseOffset < next) {
      problem('offsets-backwards', `offset ${info.baseOffset} out of order (expected >= ${next})`);
      break;
    }
    let crcOk = true;
    if (opts.validateCrc) {
      if (pos + info.size > bufPos + bufLen) await fill(pos, info.size);
      const s = pos - bufPos;
      if (s + info.size > bufLen) {
        problem('truncated', 'short read: the file ends early');
        break;
      }
      const stored = buf.readUInt32BE(s + OFF.crc);
      if (crc32c(buf, s + OFF.attributes, s + info.size) !== stored) {
        crcOk = false;
        if (problem('bad-crc', `CRC mismatch in batch at offset ${info.baseOffset}`)) break;
      }
    }
    if (info.baseOffset > next) compacted = true;
    if (records >= 0 && BigInt(records) < info.lastOffset - info.baseOffset + 1n) compacted = true;
    opts.onBatch?.(info, crcOk, buf, pos - bufPos);
    if (crcOk && validBytes < 0) batches++;
    next = info.lastOffset + 1n;
    pos += info.size;
  }
  const first = problems[0];
  return {
    validBytes: validBytes < 0 ? pos : validBytes,
    nextOffset: first ? first.offset : next,
    batches,
    error: first ? first.message : null,
    problems,
    compacted,
  };
}

export interface SegmentOptions {
  indexIntervalBytes: number;
}

/** Where a segment is damaged: reads of offsets at or above `offset` in it answer CORRUPT_MESSAGE. */
export interface SegmentDamage {
  kind: ProblemKind | 'gap';
  /** Byte position of the damage; nothing at or after it is served from this segment. */
  position: number;
  /** The first offset that cannot be served. */
  offset: bigint;
  reason: string;
}

export class Segment implements PooledFile {
  readonly baseOffset: bigint;
  readonly dir: string;
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
  /** Damage found by a read (null while none is known); see PartitionLog's read path. */
  damage: SegmentDamage | null = null;
  /** The open descriptor of the .log file, -1 while closed. */
  private fd = -1;
  /** The .log file was renamed to .log.deleted (retire): reopen it there. */
  private renamed = false;
  /** Closed for good (close / retire finished): never reopened. */
  private gone = false;
  private refs = 0;
  private drain: (() => void) | null = null;
  private indexWriteChain: Promise<void> = Promise.resolve();
  private loading: Promise<void> | null = null;
  private verifying: Promise<ScanResult> | null = null;
  private verifiedSize = -1;
  /**
   * Changes of the in-memory indexes (see indexesChanged) and the change the index files on disk hold
   * (-1: not known to hold any): a clean stop writes the active segment's index files only when they differ.
   */
  private indexSeq = 0;
  private writtenIndexSeq = -1;
  /** Truncations of the file: an index write requested before one is dropped (it would bring back cut entries). */
  private cuts = 0;

  private constructor(dir: string, baseOffset: bigint, size: number, createdMs: number, mtimeMs: number) {
    this.dir = dir;
    this.baseOffset = baseOffset;
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

  /** The aborted-transaction index of the segment (txn-index.ts), if any transaction aborted in it. */
  get txnIndexPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, TXN_INDEX_SUFFIX));
  }

  /** Create a new empty segment (synchronous: used when rolling on the append path). */
  static create(dir: string, baseOffset: bigint): Segment {
    const now = Date.now();
    const seg = new Segment(dir, baseOffset, 0, now, now);
    seg.fd = openSync(seg.logPath, 'w+');
    openFiles.opened(seg);
    seg.offsetIndex = new OffsetIndex();
    seg.timeIndex = new TimeIndex();
    return seg;
  }

  /** The in-memory indexes changed (entries appended or cut): the files on disk no longer hold them. */
  indexesChanged(): void {
    this.indexSeq++;
  }

  /** Whether the index files on disk hold exactly the in-memory indexes (written or loaded since the last change). */
  get indexFilesCurrent(): boolean {
    return this.indexesLoaded && this.writtenIndexSeq === this.indexSeq;
  }

  /**
   * An empty segment's indexes, without reading its index files (a clean start of a log with nothing in its
   * active segment): they hold no entry, and the files are written when the segment first gets one.
   */
  emptyIndexes(): void {
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.writtenIndexSeq = this.indexSeq;
  }

  /** An existing segment file (its size and times; the file is opened on first use); indexes are not loaded. */
  static async open(dir: string, baseOffset: bigint): Promise<Segment> {
    return Segment.fromStats(dir, baseOffset, await stat(join(dir, segmentFileName(baseOffset, LOG_SUFFIX))));
  }

  /** open(), with a synchronous stat: a log's load at start-up (see PartitionLog.load). */
  static openSync(dir: string, baseOffset: bigint): Segment {
    return Segment.fromStats(dir, baseOffset, statSync(join(dir, segmentFileName(baseOffset, LOG_SUFFIX))));
  }

  private static fromStats(dir: string, baseOffset: bigint, st: Stats): Segment {
    const created = st.birthtimeMs > 0 ? st.birthtimeMs : st.mtimeMs;
    return new Segment(dir, baseOffset, st.size, Math.min(created, st.mtimeMs), st.mtimeMs);
  }

  /** In use: the pool must not close the file now. */
  get pinned(): boolean {
    return this.refs > 0;
  }

  /**
   * The open descriptor of the .log file, opening it if the pool closed it. Use it at once, or pin the
   * segment (acquire) before and keep it pinned while the descriptor is in use across awaits.
   */
  fdSync(): number {
    if (this.fd >= 0) {
      openFiles.touch(this);
      return this.fd;
    }
    if (this.gone) throw new Error(`segment ${this.logPath} is closed`);
    this.fd = openSync(this.renamed ? this.logPath + DELETED_SUFFIX : this.logPath, 'r+');
    openFiles.opened(this);
    return this.fd;
  }

  /** Whether the .log file is open now (for tests and stats). */
  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Called by the pool: close the idle file (it is reopened on next use). */
  evict(): void {
    const fd = this.fd;
    this.fd = -1;
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  }

  private closeFd(): void {
    this.gone = true;
    openFiles.closed(this);
    this.evict();
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
      this.indexSeq++;
    }
    this.bytesSinceLastIndexEntry += size;
  }

  /** Make the time index's last entry the segment's max timestamp (on roll and close). */
  finalizeTimeIndex(): void {
    if (this.timeIndex && this.maxTimestamp >= 0n) {
      if (this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset))) {
        this.indexSeq++;
      }
    }
  }

  /** Synchronous positional write of all of `buf` at the end of the file. */
  writeSync(buf: Buffer): void {
    const fd = this.fdSync();
    let done = 0;
    while (done < buf.length) {
      done += writeSync(fd, buf, done, buf.length - done, this.size + done);
    }
    this.dirty = true;
    this.lastModifiedMs = Date.now();
  }

  /** Cut the file (synchronously) to `bytes` and drop index entries past it. */
  truncateFileSync(bytes: number): void {
    ftruncateSync(this.fdSync(), bytes);
    this.size = bytes;
    this.dirty = true;
    this.offsetIndex?.truncateToPosition(bytes);
    this.indexSeq++;
    this.cuts++;
    this.verifying = null;
    if (this.damage && this.damage.position >= bytes) this.damage = null;
  }

  /**
   * fdatasync the .log file. A file the pool closed is reopened among the few short-lived opens allowed at
   * once: a flush of every partition together (a clean stop) must not open them all at the same time.
   */
  fdatasync(): Promise<void> {
    if (this.fd >= 0) return this.syncPinned();
    return transientFiles.run(() => this.syncPinned());
  }

  private async syncPinned(): Promise<void> {
    this.acquire();
    try {
      await fdatasyncP(this.fdSync());
    } finally {
      this.release();
    }
  }

  /** Pin the segment: its file stays open (once opened) and is not removed until release(). */
  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs !== 0) return;
    if (this.drain) {
      const d = this.drain;
      this.drain = null;
      d();
    }
    openFiles.unpinned();
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

  /** Scan the whole file (pinned meanwhile); see scanBatches. */
  async scan(opts: Omit<ScanOptions, 'size' | 'segmentBase'> & { size?: number }): Promise<ScanResult> {
    this.acquire();
    try {
      return await scanBatches(this.fdSync(), { ...opts, size: opts.size ?? this.size, segmentBase: this.baseOffset });
    } finally {
      this.release();
    }
  }

  /**
   * Walk every batch header of the file as it is now (no CRC): where the first damage is, the offset after
   * the last batch, and whether compaction left gaps. Done once per size (concurrent callers share it).
   */
  verify(): Promise<ScanResult> {
    if (!this.verifying || this.verifiedSize !== this.size) {
      this.verifiedSize = this.size;
      const p = this.scan({ expectedFirstOffset: this.baseOffset, validateCrc: false });
      this.verifying = p;
      p.catch(() => {
        if (this.verifying === p) this.verifying = null;
      });
    }
    return this.verifying;
  }

  /**
   * Rebuild max timestamp and both indexes by scanning the whole file; with `validateCrc`, also check
   * each batch's CRC32C. Stops at the first torn or corrupt batch (reported in `error`, nothing truncated).
   * With `from` (a batch boundary, the position of the last entry of the loaded offset index, see
   * PartitionLog.resumePoint), only the bytes from there are scanned and indexed: the indexes and max timestamp
   * below it are kept as loaded. ScanResult.validBytes is a file position either way.
   */
  async rebuild(
    interval: number,
    validateCrc: boolean,
    onBatch?: (b: BatchInfo, buf: Buffer, at: number) => void,
    expectedFirstOffset: bigint = this.baseOffset,
    from = 0,
  ): Promise<ScanResult> {
    if (from === 0 || !this.indexesLoaded) {
      if (from !== 0) throw new Error(`segment ${this.logPath}: a rebuild from byte ${from} needs its indexes loaded`);
      this.offsetIndex = new OffsetIndex();
      this.timeIndex = new TimeIndex();
      this.maxTimestamp = -1n;
      this.offsetOfMaxTimestamp = -1n;
    }
    this.indexSeq++;
    this.bytesSinceLastIndexEntry = 0;
    return this.scan({
      start: from,
      expectedFirstOffset,
      validateCrc,
      onBatch: (info, _crcOk, buf, at) => {
        this.trackBatch(info.position, info.size, info.baseOffset, info.maxTimestamp, interval);
        onBatch?.(info, buf, at);
      },
    });
  }

  /** Write both index files atomically (serialized per segment). Takes a snapshot of the current entries. */
  writeIndexFiles(): Promise<void> {
    const off = this.offsetIndex?.toBuffer();
    const time = this.timeIndex?.toBuffer();
    const seq = this.indexSeq;
    const cuts = this.cuts;
    const p = this.indexWriteChain.then(async () => {
      if (this.retired || this.cuts !== cuts) return;
      if (off) await writeFileAtomic(this.indexPath, off, false);
      if (time) await writeFileAtomic(this.timeIndexPath, time, false);
      if (off && time) this.writtenIndexSeq = seq;
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
      if (st.size === 0) return true;
      return await transientFiles.run(async () => {
        const fd = await openP(this.timeIndexPath, 'r');
        try {
          const b = Buffer.alloc(TIME_ENTRY_SIZE);
          if ((await readAt(fd, b, 0, TIME_ENTRY_SIZE, st.size - TIME_ENTRY_SIZE)) !== TIME_ENTRY_SIZE) return false;
          this.maxTimestamp = b.readBigInt64BE(0);
          this.offsetOfMaxTimestamp = this.baseOffset + BigInt(b.readInt32BE(8));
          return true;
        } finally {
          await closeP(fd);
        }
      });
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
        this.takeIndexFiles(ib, tb);
      })().finally(() => {
        this.loading = null;
      });
    }
    return this.loading.then(() => this.indexesLoaded);
  }

  /**
   * loadIndexFiles(), synchronously: the active segment's indexes at a log's open (PartitionLog.load, before
   * the segment is shared), where thread-pool trips per file were most of a start-up with many partitions.
   */
  loadIndexFilesSync(): boolean {
    if (!this.indexesLoaded)
      this.takeIndexFiles(readFileIfExistsSync(this.indexPath), readFileIfExistsSync(this.timeIndexPath));
    return this.indexesLoaded;
  }

  private takeIndexFiles(ib: Buffer | null, tb: Buffer | null): void {
    const off = ib ? OffsetIndex.fromBuffer(ib, this.size) : null;
    const time = tb ? TimeIndex.fromBuffer(tb) : null;
    if (off && time && !this.indexesLoaded) {
      this.offsetIndex = off;
      this.timeIndex = time;
      this.writtenIndexSeq = this.indexSeq;
      if (time.count > 0) {
        this.maxTimestamp = time.lastTimestamp();
        this.offsetOfMaxTimestamp = this.baseOffset + BigInt(time.lastRel());
      }
    }
  }

  /** Forget in-memory indexes of a closed segment (they are on disk). */
  unloadIndexes(): void {
    this.offsetIndex = null;
    this.timeIndex = null;
    this.indexSeq++;
  }

  /**
   * Take the segment out of the log: rename the .log to .log.deleted now (so a crash never brings it back),
   * then once in-flight reads are done close the fd and remove the files.
   */
  retire(): Promise<void> {
    this.retired = true;
    // Rename them all now: a new segment with the same base offset may be created right away.
    const paths = [this.logPath, this.indexPath, this.timeIndexPath, this.txnIndexPath];
    const renamed: string[] = [];
    for (const p of paths) {
      try {
        renameSync(p, p + DELETED_SUFFIX);
        renamed.push(p + DELETED_SUFFIX);
        if (p === paths[0]) this.renamed = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return (async () => {
      await this.idle();
      await this.indexWriteChain;
      this.closeFd();
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
    this.closeFd();
  }

  /** Close immediately (error paths during open). */
  closeSyncNow(): void {
    this.closeFd();
  }
}
