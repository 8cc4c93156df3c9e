/**
 * The log of one partition: a directory `<topic>-<partition>` of segments named by base offset, appended to
 * synchronously (one positional write per produce request, so concurrent requests never interleave), read
 * asynchronously as byte ranges of whole batches, fsynced with group commit, recovered after a crash from
 * the recovery-point checkpoint, and trimmed by retention.
 *
 * Batches are stored exactly as received: only their header fields (base offset, leader epoch, and for
 * LogAppendTime the max timestamp) are rewritten by assignOffsets. Nothing here decodes records.
 */
import { mkdirSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  assignOffsets,
  BATCH_HEADER_SIZE,
  type BatchHeader,
  batchCrcOk,
  LOG_OVERHEAD,
  OFF,
  readBatchHeader,
} from '../protocol/records/batch.js';
import {
  CheckpointFile,
  type EpochEntry,
  formatOffsetCheckpoint,
  fsyncDir,
  isNoSpace,
  LeaderEpochCache,
  readOffsetCheckpoint,
  writeFileAtomic,
} from './checkpoint.js';
import type { LogConfig } from './config.js';
import { flushed } from './flush-stats.js';
import { type Logger, noopLogger } from './logger.js';
import {
  type CompletedTxn,
  type DuplicateBatch,
  ProducerStateManager,
  readControlRecord,
  type TxnMarker,
} from './producer-state.js';
import {
  BatchCursor,
  type BatchInfo,
  CorruptSegmentError,
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  parseSegmentFileName,
  readAt,
  readAtSync,
  type ScanProblem,
  type ScanResult,
  Segment,
  type SegmentDamage,
  TIME_INDEX_SUFFIX,
  TXN_INDEX_SUFFIX,
} from './segment.js';
import { AbortedTxnIndex } from './txn-index.js';

export const RECOVERY_POINT_FILE = 'recovery-point';
export const LOG_START_OFFSET_FILE = 'log-start-offset';
export const LEADER_EPOCH_FILE = 'leader-epoch-checkpoint';
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';

const INT32_MAX = 0x7fffffff;
const INT32_MAX_N = 0x7fffffffn;
/** Closed segments whose indexes stay in memory after a lookup loaded them (least recently used evicted). */
const MAX_LOADED_CLOSED_INDEXES = 8;
/** Bytes of a batch header needed to walk batches: base offset through lastOffsetDelta. */
const WALK_PREFIX = OFF.lastOffsetDelta + 4;

function maxOf(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** Damage found by a scan, as recorded on the segment. */
function damageOf(p: ScanProblem): SegmentDamage {
  return { kind: p.kind, position: p.position, offset: p.offset, reason: p.message };
}

/** `e`, tagged with the segment it was met in when it is damage found by a cursor. */
function withSegment(e: unknown, seg: Segment): unknown {
  if (e instanceof CorruptSegmentError && e.segment === null) e.segment = seg;
  return e;
}

export interface AppendInfo {
  baseOffset: bigint;
  lastOffset: bigint;
  /** The log-append time written into the batches, or -1n for CreateTime. */
  logAppendTime: bigint;
  /** Largest max timestamp among the appended batches (-1n if none carried one). */
  maxTimestamp: bigint;
  logStartOffset: bigint;
  /** A retried idempotent batch: nothing was appended, the offsets are those it was stored with. */
  duplicate?: boolean;
}

export interface ReadResult {
  /** Whole batches, or null when there is nothing to return. */
  records: Buffer | null;
  logStartOffset: bigint;
  logEndOffset: bigint;
  highWatermark: bigint;
}

export interface TimestampLookup {
  /** The whole batch, as stored. */
  batch: Buffer;
  baseOffset: bigint;
}

export type DeletionReason = 'retention.ms' | 'retention.bytes' | 'log-start-offset' | 'truncate';

export interface SegmentDeletion {
  baseOffset: bigint;
  /** Offset after the segment (the next segment's base offset, or the log end). */
  endOffset: bigint;
  bytes: number;
  reason: DeletionReason;
}

export interface OpenStats {
  cleanShutdown: boolean;
  /** Segments re-scanned with CRC validation because they lay at or after the recovery point. */
  segmentsRecovered: number;
  /** Bytes those re-scans checked (from the recovery point's last index entry in its segment, see resumePoint). */
  bytesRecovered: number;
  /** Bytes of the segment holding the recovery point below where its re-scan started (trusted, not read). */
  bytesTrusted: number;
  /** Bytes of torn or corrupt tail dropped. */
  truncatedBytes: number;
  indexesRebuilt: number;
  /**
   * Producer state: the snapshot loaded (-1n: none); the batch headers after it read by a walk of their own
   * (and its bytes), and those taken from recovery's pass over the tail after a crash (read once for both).
   */
  producerSnapshot: bigint;
  producerBatchesReplayed: number;
  producerBytesReplayed: number;
  producerBatchesRecovered: number;
}

/** Any snapshot offset (the upper bound when the log end is not known yet). */
const MAX_SNAPSHOT_OFFSET = 0x7fffffffffffffffn;

/** Read size of the header walk that rebuilds producer state at open. */
const PRODUCER_REPLAY_CHUNK = 1024 * 1024;

/** Largest read at the tail of the active segment done synchronously (see readSegment). */
const SYNC_READ_MAX_BYTES = 256 * 1024;

export interface OpenOptions {
  /** The directory is known to exist (the data dir was just listed): no mkdir. */
  exists?: boolean;
  /**
   * The whole data dir was stopped cleanly (its one clean-shutdown marker, see LogManager), whether or not this
   * log's dir holds a marker of its own (older versions wrote one per partition, and close() still does for a
   * log opened without markerInDataDir).
   */
  cleanShutdown?: boolean;
  /**
   * The owner writes one clean-shutdown marker for the data dir once every log has closed (LogManager.closeAll):
   * close() writes none in this log's dir, and makes what it wrote durable itself.
   */
  markerInDataDir?: boolean;
}

export class PartitionLog {
  readonly dir: string;
  /** `<topic>-<partition>`: the directory's name. */
  readonly name: string;
  private cfg: LogConfig;
  private readonly logger: Logger;
  private segments: Segment[] = [];
  private _logStartOffset = 0n;
  private _logEndOffset = 0n;
  private hwOverride: bigint | null = null;
  /** Truncations and segment swaps run one at a time (see {@link exclusive}). */
  private rewriting: Promise<unknown> = Promise.resolve();
  private truncations = 0;
  private _size = 0;
  private _recoveryPoint = 0n;
  private readonly epochs = new LeaderEpochCache();
  private readonly recoveryPointFile: CheckpointFile;
  private readonly logStartFile: CheckpointFile;
  private readonly epochFile: CheckpointFile;
  private readonly dirtySegments = new Set<Segment>();
  private dirDirty = false;
  private flushing: Promise<void> | null = null;
  private flushingTarget = -1n;
  private nextFlush: Promise<void> | null = null;
  private unflushedMessages = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly background = new Set<Promise<unknown>>();
  private readonly loadedClosed: Segment[] = [];
  private readonly indexLoads = new Map<Segment, Promise<void>>();
  private closed = false;
  private fdsClosed = false;
  /** Error codes of failed reads already logged (a failing disk is logged once per code, not per fetch). */
  private readonly readErrorsLogged = new Set<string>();
  private closing: Promise<void> | null = null;
  /** See OpenOptions.markerInDataDir. */
  private markerInDataDir = false;
  /**
   * Idempotent producers' state (producer-state.ts): updated by every append, rebuilt at open from the last
   * `<offset>.snapshot` and the batches after it.
   */
  readonly producers: ProducerStateManager;
  /** Aborted transactions (txn-index.ts): what read_committed fetches are told to skip. */
  readonly abortedTxns: AbortedTxnIndex;
  /** Offset of the last snapshot written or loaded (-1n: none). */
  private lastSnapshot = -1n;
  /** At open after a crash: recovery takes the batches at and after this offset into the producer state. */
  private producerFeedFrom: bigint | null = null;
  /** fdatasync calls made on segment files (group commit makes this far smaller than flush() calls). */
  fsyncCount = 0;
  /** Bytes read from segment files by read() (to check that lookups read little). */
  readBytes = 0;
  openStats: OpenStats = {
    cleanShutdown: false,
    segmentsRecovered: 0,
    bytesRecovered: 0,
    bytesTrusted: 0,
    truncatedBytes: 0,
    indexesRebuilt: 0,
    producerSnapshot: -1n,
    producerBatchesReplayed: 0,
    producerBytesReplayed: 0,
    producerBatchesRecovered: 0,
  };

  private constructor(dir: string, config: LogConfig, logger: Logger) {
    this.dir = dir;
    this.name = basename(dir);
    this.cfg = { ...config };
    this.logger = logger;
    this.recoveryPointFile = new CheckpointFile(join(dir, RECOVERY_POINT_FILE));
    this.logStartFile = new CheckpointFile(join(dir, LOG_START_OFFSET_FILE));
    this.epochFile = new CheckpointFile(join(dir, LEADER_EPOCH_FILE));
    this.producers = new ProducerStateManager(dir);
    this.abortedTxns = new AbortedTxnIndex(dir);
  }

  /** Open the log in `dir`, creating it or recovering it (see the class comment and OpenOptions). */
  static async open(
    dir: string,
    config: LogConfig,
    logger: Logger = noopLogger,
    options: OpenOptions = {},
  ): Promise<PartitionLog> {
    // Synchronous, as the small reads of load(): at start-up a thread-pool trip per call is most of its cost.
    const created = options.exists ? false : mkdirSync(dir, { recursive: true }) !== undefined;
    if (created) await fsyncDir(dirname(dir));
    const log = new PartitionLog(dir, config, logger);
    log.markerInDataDir = options.markerInDataDir ?? false;
    try {
      await log.load(created, options.cleanShutdown ?? false);
    } catch (e) {
      log.producers.listing = null;
      for (const s of log.segments) s.closeSyncNow();
      log.closed = true;
      log.fdsClosed = true;
      throw e;
    }
    return log;
  }

  // ---------------------------------------------------------------------------------------------------------
  // State

  get config(): Readonly<LogConfig> {
    return this.cfg;
  }

  /** Apply a changed topic configuration (takes effect for the next append / retention run). */
  setConfig(config: LogConfig): void {
    this.cfg = { ...config };
  }

  get logStartOffset(): bigint {
    return this._logStartOffset;
  }

  /** The next offset to assign. */
  get logEndOffset(): bigint {
    return this._logEndOffset;
  }

  /** The log end offset unless set with setHighWatermark. */
  get highWatermark(): bigint {
    return this.hwOverride ?? this._logEndOffset;
  }

  /**
   * The last stable offset (KIP-98): the first offset of the earliest transaction not yet decided below the high
   * watermark, else the high watermark. read_committed fetches and ListOffsets read up to it.
   */
  get lastStableOffset(): bigint {
    const hw = this.highWatermark;
    return this.producers.hasUnstable ? this.producers.lastStableOffset(hw) : hw;
  }

  /** The aborted transactions a read_committed fetch of [from, upTo) returns (empty when none ever aborted). */
  abortedTransactions(from: bigint, upTo: bigint): { producerId: bigint; firstOffset: bigint }[] {
    return this.abortedTxns.collect(from, upTo);
  }

  /** Set the high watermark (clamped to [logStartOffset, logEndOffset]); null makes it follow the log end. */
  setHighWatermark(offset: bigint | null): void {
    if (offset === null) {
      this.hwOverride = null;
      return;
    }
    const lo = this._logStartOffset;
    const hi = this._logEndOffset;
    this.hwOverride = offset < lo ? lo : offset > hi ? hi : offset;
  }

  /** Total bytes of all segment files. */
  get size(): number {
    return this._size;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): bigint[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Every offset below this is durable (fsynced). */
  get flushedOffset(): bigint {
    return this._recoveryPoint;
  }

  get recoveryPoint(): bigint {
    return this._recoveryPoint;
  }

  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  get epochEntries(): readonly EpochEntry[] {
    return this.epochs.entries;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private checkOpen(): void {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.name} is closed`);
  }

  /** Index of the last segment whose base offset is <= offset (0 if none). */
  private floorIndex(offset: bigint): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The first segment whose base offset is above `base`, or undefined. */
  private segmentAfter(base: bigint): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found: Segment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.segments[mid]!;
      if (s.baseOffset > base) {
        found = s;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return found;
  }

  private track(p: Promise<unknown>, what: string): void {
    const q = p.catch((e: unknown) => {
      this.logger.error(`${what} failed for ${this.name}: ${(e as Error).message}`, { partition: this.name });
    });
    this.background.add(q);
    void q.finally(() => this.background.delete(q));
  }

  private async drainBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Open and recovery

  /**
   * Open the segments and recover. The checkpoints are validated against the segments, never trusted
   * blindly: a damaged one (strict format, checksum) or a log start past the log end is reported with the
   * file and value and ignored (the log then starts at its first segment; a damaged recovery point means
   * recovering every segment). Writes done here (checkpoints, rebuilt indexes) tolerate a full disk with a
   * warning when the log already existed (`created` false), so a node starts and serves on a full disk.
   */
  private async load(created = false, dataDirClean = false): Promise<void> {
    // The directory listing and the checkpoints are a few hundred bytes: read synchronously (see
    // readFileIfExistsSync; 10,000 partitions at start-up spent most of their time in thread-pool trips).
    const names = readdirSync(this.dir);
    const bases: bigint[] = [];
    const stale: string[] = [];
    for (const n of names) {
      if (n.endsWith('.tmp') || n.endsWith(DELETED_SUFFIX)) stale.push(n);
      else {
        const b = parseSegmentFileName(n, LOG_SUFFIX);
        if (b !== null) bases.push(b);
      }
    }
    const baseSet = new Set(bases.map(String));
    for (const n of names) {
      const b =
        parseSegmentFileName(n, INDEX_SUFFIX) ??
        parseSegmentFileName(n, TIME_INDEX_SUFFIX) ??
        parseSegmentFileName(n, TXN_INDEX_SUFFIX);
      if (b !== null && !baseSet.has(String(b))) stale.push(n);
    }
    await Promise.all(stale.map((n) => unlink(join(this.dir, n)).catch(() => {})));
    // The listing serves the producer state's and the transaction index's loads below (no directory listing or
    // failed open of their own per partition); cleared at the end of load (or by open() on a failure).
    const listing = new Set(names);
    for (const n of stale) listing.delete(n);
    this.producers.listing = listing;
    bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    const ownMarker = names.includes(CLEAN_SHUTDOWN_FILE);
    const clean = ownMarker || dataDirClean;
    this.openStats.cleanShutdown = clean;
    const rpText = this.recoveryPointFile.readSync();
    const lsoText = this.logStartFile.readSync();
    const epochText = this.epochFile.readSync();
    const lso = readOffsetCheckpoint(lsoText);
    const rp = readOffsetCheckpoint(rpText);
    if (lso.kind === 'invalid') {
      this.reportCheckpoint(this.logStartFile.path, lsoText, lso.reason, 'the log starts at its first segment');
    }
    if (rp.kind === 'invalid') {
      this.reportCheckpoint(this.recoveryPointFile.path, rpText, rp.reason, 'every segment is recovered');
    }
    const checkpointedStart = lso.kind === 'ok' ? lso.offset : null;
    const recoveryPoint = rp.kind === 'ok' ? rp.offset : 0n;
    if (epochText !== null) {
      const parsed = LeaderEpochCache.parse(epochText);
      if (parsed) for (const e of parsed.entries) this.epochs.assign(e.epoch, e.startOffset);
      else {
        this.logger.warn(`Ignoring malformed ${this.epochFile.path} (${JSON.stringify(epochText.slice(0, 200))})`, {
          partition: this.name,
        });
      }
    }

    for (const b of bases) this.segments.push(Segment.openSync(this.dir, b));
    if (this.segments.length === 0) {
      this.segments.push(Segment.create(this.dir, checkpointedStart ?? 0n));
      this.dirDirty = true;
    }

    const interval = this.cfg.indexIntervalBytes;
    const recoverFrom = clean ? this.segments.length : this.floorIndex(recoveryPoint);
    const lastIdx = this.segments.length - 1;
    // Closed segments below the recovery point are trusted; only make sure their indexes exist.
    for (let i = 0; i < Math.min(recoverFrom, lastIdx); i++) {
      const seg = this.segments[i]!;
      if (!(await seg.probeIndexFiles())) {
        this.logger.info(`Rebuilding index of segment ${seg.baseOffset} of ${this.name}`, { partition: this.name });
        await seg.rebuild(interval, false);
        seg.finalizeTimeIndex();
        await this.tolerateFullDisk(seg.writeIndexFiles(), created, `the index of segment ${seg.baseOffset}`);
        seg.unloadIndexes();
        this.openStats.indexesRebuilt++;
      }
    }
    let logEnd: bigint | null = null;
    /** The producer snapshot loaded before recovery, which then fed the state (undefined: it did not). */
    let fedFrom: bigint | null | undefined;
    if (recoverFrom <= lastIdx) {
      // The segment holding the recovery point is scanned from its last index entry at or below it, when its
      // index on disk has one that checks out (see resumePoint); from its start otherwise.
      const resume = rp.kind === 'ok' ? this.resumePoint(this.segments[recoverFrom]!, recoveryPoint) : null;
      fedFrom = await this.prepareProducerFeed(resume?.offset ?? this.segments[recoverFrom]!.baseOffset);
      logEnd = await this.recover(recoverFrom, resume);
      this.producerFeedFrom = null;
    } else {
      logEnd = await this.loadActive();
      if (logEnd === null) logEnd = await this.recover(lastIdx);
    }
    this._logEndOffset = logEnd;
    this._size = this.segments.reduce((n, s) => n + s.size, 0);

    let start = this.segments[0]!.baseOffset;
    if (checkpointedStart !== null && checkpointedStart > this._logEndOffset) {
      // Damage, a data dir put together from copies of different times, or an unflushed tail lost after
      // DeleteRecords moved the start there: no segment is deleted for it (records below a lost start may be
      // readable again, nothing acknowledged is lost).
      this.reportCheckpoint(
        this.logStartFile.path,
        lsoText,
        `log start offset ${checkpointedStart} is past the log end ${this._logEndOffset}`,
        `the log starts at its first segment (${start})`,
      );
    } else if (checkpointedStart !== null && checkpointedStart > start) start = checkpointedStart;
    // Segments wholly below the log start (a crash between the checkpoint and the delete).
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= start) {
      const seg = this.segments.shift()!;
      this._size -= seg.size;
      await seg.retire();
      this.dirDirty = true;
    }
    this._logStartOffset = start;
    this.epochs.truncateFromEnd(this._logEndOffset, true);
    this.epochs.truncateFromStart(start);

    if (!clean) {
      // Make what recovery kept durable before calling it recovered.
      await Promise.all(this.segments.slice(Math.min(recoverFrom, lastIdx)).map((s) => s.fdatasync()));
    }
    await this.loadProducerState(fedFrom);
    this.producers.listing = null;
    for (const s of this.segments) s.dirty = false;
    this._recoveryPoint = this._logEndOffset;
    if (this.dirDirty) {
      await fsyncDir(this.dir);
      this.dirDirty = false;
    }
    if (ownMarker) {
      // The marker goes now (a crash from here on recovers), as Kafka deletes its clean-shutdown file at start;
      // making the removal durable is left to this log's next flush (dirDirty), which comes before any record
      // appended from now on is counted as flushed (the recovery point): a directory fsync per partition at
      // start-up was most of a clean start with 10,000 partitions. Should power fail before that flush, the
      // marker may come back; the next start then takes the clean path, whose header scan from the last index
      // entry to the end of the active segment falls back to a full recovery scan when it does not end exactly
      // at the file's end (loadActive).
      unlinkSync(join(this.dir, CLEAN_SHUTDOWN_FILE));
      this.dirDirty = true;
    }
    await this.tolerateFullDisk(
      Promise.all([
        this.recoveryPointFile.write(formatOffsetCheckpoint(this._recoveryPoint)),
        this.logStartFile.write(formatOffsetCheckpoint(this._logStartOffset)),
        this.epochFile.write(this.epochs.serialize()),
      ]),
      created,
      'the checkpoints',
    );
  }

  /**
   * Rebuild the producer state: the newest intact snapshot at or above the first segment (and not past the log
   * end), then the headers of the batches after it. After a clean shutdown the snapshot is at the log end and
   * nothing is read. After a crash recovery has fed the state already (`fedFrom`: the snapshot it started from,
   * null for none; see prepareProducerFeed), in the same pass that re-read the tail since the recovery point;
   * only if recovery cut the log below that snapshot is the state rebuilt here from an older one. A failed read
   * leaves the state as far as it got (logged): producers it misses may start again at any sequence, as unknown
   * producers do.
   */
  private async loadProducerState(fedFrom?: bigint | null): Promise<void> {
    const first = this.segments[0]!.baseOffset;
    const end = this._logEndOffset;
    const warn = (msg: string): void => this.logger.warn(msg, { partition: this.name });
    if (fedFrom !== undefined && (fedFrom === null || fedFrom <= end)) {
      // Recovery's pass over the tail fed the state already (prepareProducerFeed), and the aborted-transaction
      // index it loaded first: entries past the recovered end go.
      this.abortedTxns.truncateFrom(end);
      if (fedFrom !== null) {
        this.lastSnapshot = fedFrom;
        this.openStats.producerSnapshot = fedFrom;
      }
      this.producers.deleteSnapshots((o) => o > end);
      this.producers.removeBefore(this._logStartOffset);
      return;
    }
    // A clean start, or recovery cut the log below the snapshot it started from: the state from the newest
    // snapshot the log still covers, and the batches after it.
    this.openStats.producerBatchesRecovered = 0;
    this.producers.deleteSnapshots((o) => o > end);
    this.abortedTxns.load(
      this.segments.map((s) => s.baseOffset),
      end,
      warn,
      this.producers.listing ?? undefined,
    );
    const loaded = await this.producers.loadLatestSnapshot(first, end, warn);
    if (loaded !== null) {
      this.lastSnapshot = loaded;
      this.openStats.producerSnapshot = loaded;
    }
    const from = loaded ?? first;
    if (from < end) {
      try {
        await this.replayProducers(from);
      } catch (e) {
        warn(`Producer state of ${this.name} rebuilt only in part: ${(e as Error).message}`);
      }
    }
    this.producers.removeBefore(this._logStartOffset);
  }

  /**
   * After a crash, before recovery: the newest intact producer snapshot, then the batches between it and
   * `recoverStart` (segments below the recovery point, which recovery does not read); recovery's one pass over
   * the tail takes the rest into the state (see recover), so the tail is read once, not once for recovery and
   * again for the producer state. Returns the snapshot's offset (null: none, the state starts empty); a snapshot
   * that turns out to lie past the recovered log end is dropped by loadProducerState.
   */
  private async prepareProducerFeed(recoverStart: bigint): Promise<bigint | null> {
    const first = this.segments[0]!.baseOffset;
    const warn = (msg: string): void => this.logger.warn(msg, { partition: this.name });
    // The aborted-transaction index first (the feed re-adds what a crash lost, once).
    this.abortedTxns.load(
      this.segments.map((s) => s.baseOffset),
      MAX_SNAPSHOT_OFFSET,
      warn,
      this.producers.listing ?? undefined,
    );
    const loaded = await this.producers.loadLatestSnapshot(first, MAX_SNAPSHOT_OFFSET, warn);
    const from = loaded ?? first;
    if (from < recoverStart) {
      try {
        await this.replayProducers(from, recoverStart);
      } catch (e) {
        warn(`Producer state of ${this.name} rebuilt only in part: ${(e as Error).message}`);
      }
    }
    this.producerFeedFrom = from > recoverStart ? from : recoverStart;
    return loaded;
  }

  /** Take the batches at and after `from` (and below `to`) into the producer state (headers only). */
  private async replayProducers(from: bigint, to = -1n): Promise<void> {
    for (let i = this.floorIndex(from); i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      if (to >= 0n && seg.baseOffset >= to) break;
      if (seg.size === 0) continue;
      seg.acquire();
      try {
        let start = 0;
        if (from > seg.baseOffset) {
          await this.ensureIndexes(seg);
          start = seg.offsetIndex ? seg.offsetIndex.lookup(seg.rel(from)) : 0;
        }
        const end = seg.damage ? seg.damage.position : seg.size;
        const cursor = new BatchCursor(seg.fdSync(), start, end, PRODUCER_REPLAY_CHUNK);
        const b = cursor.info;
        try {
          while (await cursor.next()) {
            if (b.lastOffset < from) continue;
            if (to >= 0n && b.baseOffset >= to) break;
            if (!cursor.covers(b.position, b.position + BATCH_HEADER_SIZE)) {
              await cursor.fill(b.position, PRODUCER_REPLAY_CHUNK);
            }
            // A control batch (a transaction marker) is read whole: its record says commit or abort.
            const attributes = cursor.buf.readInt16BE(b.position - cursor.bufPos + OFF.attributes);
            if ((attributes & ATTR_CONTROL) !== 0 && !cursor.covers(b.position, b.position + b.size)) {
              await cursor.fill(b.position, Math.max(b.size, PRODUCER_REPLAY_CHUNK));
            }
            this.takeIntoProducerState(cursor.buf, b.position - cursor.bufPos, seg.baseOffset);
            this.openStats.producerBatchesReplayed++;
          }
        } finally {
          this.openStats.producerBytesReplayed += cursor.bytesRead;
        }
      } finally {
        seg.release();
      }
    }
  }

  /** Rebuild the producer state after a truncation to `end`: the newest snapshot at or below it, then the log. */
  private async rebuildProducers(end: bigint): Promise<void> {
    const warn = (msg: string): void => this.logger.warn(msg, { partition: this.name });
    const loaded = await this.producers.loadLatestSnapshot(this.segments[0]!.baseOffset, end, warn);
    this.lastSnapshot = loaded ?? -1n;
    try {
      await this.replayProducers(loaded ?? this.segments[0]!.baseOffset);
    } catch (e) {
      warn(`Producer state of ${this.name} rebuilt only in part: ${(e as Error).message}`);
    }
    this.producers.removeBefore(this._logStartOffset);
  }

  /**
   * Take the stored batch at `buf[o]` (its whole header; a control batch whole) into the producer state, and an
   * aborted transaction its marker closes into the aborted-transaction index (of the segment at `segment`).
   */
  private takeIntoProducerState(buf: Buffer, o: number, segment: bigint): void {
    const done = this.producers.updateFromHeader(buf, o);
    if (done?.isAbort) this.indexAborted(done, segment);
  }

  /** An aborted transaction whose marker is in the segment at `segment`: into the aborted-transaction index. */
  private indexAborted(done: CompletedTxn, segment: bigint): void {
    this.abortedTxns.add(
      {
        producerId: done.producerId,
        firstOffset: done.firstOffset,
        lastOffset: done.lastOffset,
        lastStableOffset: this.producers.firstUndecidedExcept(done),
      },
      segment,
    );
  }

  /**
   * Snapshot the producer state as of `offset` (the log end: every batch below it is in the state). A failed
   * write is logged, not thrown: the state is rebuilt from an older snapshot and more of the log then.
   */
  private snapshotProducers(offset: bigint): void {
    if (offset === this.lastSnapshot) return;
    try {
      this.producers.writeSnapshot(offset);
      this.lastSnapshot = offset;
    } catch (e) {
      this.logger.warn(`Producer snapshot of ${this.name} at ${offset} failed: ${(e as Error).message}`, {
        partition: this.name,
      });
    }
  }

  /** Delete the producer snapshots matching `pred`. */
  private dropSnapshots(pred: (offset: bigint) => boolean): void {
    if (this.lastSnapshot >= 0n && pred(this.lastSnapshot)) this.lastSnapshot = -1n;
    this.producers.deleteSnapshots(pred);
  }

  /** Remove producers silent for `expirationMs` (producer.id.expiration.ms). Returns how many. */
  expireProducers(nowMs: number, expirationMs: number): number {
    if (this.closed) return 0;
    return this.producers.removeExpired(nowMs, expirationMs);
  }

  /** The log start moved up: forget producers whose batches are all below it, and snapshots below the first segment. */
  private producersAfterLogStart(): void {
    this.producers.removeBefore(this._logStartOffset);
    const first = this.segments[0]!.baseOffset;
    this.dropSnapshots((o) => o < first);
    this.abortedTxns.removeBefore(first);
  }

  /**
   * Checkpoint a log start that moved up (DeleteRecords, retention). The segments below it are gone already:
   * on a full disk (which is when space is freed this way) the write is left to the next checkpoint with a
   * warning, not failed (a crash meanwhile only lets the log start at its first remaining segment).
   */
  private async saveLogStart(): Promise<void> {
    try {
      await this.logStartFile.write(formatOffsetCheckpoint(this._logStartOffset));
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      this.logger.warn(
        `Cannot checkpoint the log start ${this._logStartOffset} of ${this.name}: ${(e as Error).message}`,
        {
          partition: this.name,
        },
      );
    }
  }

  /** A checkpoint that cannot be trusted: logged with the file, its content and what is done instead. */
  private reportCheckpoint(path: string, text: string | null, why: string, instead: string): void {
    const value = text === null ? '' : JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
    this.logger.warn(`Ignoring checkpoint ${path} ${value}: ${why}; ${instead}`, {
      partition: this.name,
      file: path,
    });
  }

  /**
   * Start-up writes of a log that already existed must not need free space: on a full disk they are skipped
   * with a warning (checkpoints are written again later, missing indexes rebuilt when read).
   */
  private async tolerateFullDisk(write: Promise<unknown>, created: boolean, what: string): Promise<void> {
    try {
      await write;
    } catch (e) {
      if (created || !isNoSpace(e)) throw e;
      this.logger.warn(`Cannot write ${what} of ${this.name} at start: ${(e as Error).message}; going on without`, {
        partition: this.name,
      });
    }
  }

  /**
   * Clean shutdown: load the active segment's indexes and find the log end with a short header scan from
   * the last index entry. Null when that does not add up (the caller re-scans the segment).
   */
  private async loadActive(): Promise<bigint | null> {
    const seg = this.active;
    if (seg.size === 0) {
      // Nothing in it: no index entry either (a log that never got a record reads no index file).
      seg.emptyIndexes();
      seg.bytesSinceLastIndexEntry = 0;
      return seg.baseOffset;
    }
    if (!seg.loadIndexFilesSync()) return null;
    const idx = seg.offsetIndex!;
    const from = idx.lastPosition();
    let next = seg.baseOffset;
    let cursor: BatchCursor;
    seg.acquire();
    try {
      cursor = new BatchCursor(seg.fdSync(), from, seg.size, Math.max(64 * 1024, this.cfg.indexIntervalBytes * 2));
      while (await cursor.next()) {
        const b = cursor.info;
        next = b.lastOffset + 1n;
        if (b.maxTimestamp > seg.maxTimestamp) {
          seg.maxTimestamp = b.maxTimestamp;
          seg.offsetOfMaxTimestamp = b.baseOffset;
        }
      }
    } catch {
      return null;
    } finally {
      seg.release();
    }
    if (cursor.pos !== seg.size) return null;
    seg.bytesSinceLastIndexEntry = seg.size - from;
    return next;
  }

  /**
   * After a crash: where the scan of `seg`, the segment holding the recovery point `rp`, may start. Every byte
   * below the recovery point was made durable before it was checkpointed, so only what lies past it needs its
   * CRCs checked (Kafka trusts whole segments below it; this goes further, into the segment). The start is the
   * last entry of the segment's offset index on disk at or below `rp` — the on-disk index is written whole and
   * removed when the segment is truncated (truncateToNow), so its entries are a prefix of the segment's — and
   * only when the batch header at that position is there with that entry's offset and a sane length and magic.
   * The indexes are then left loaded, cut to that entry (the scan appends the rest), with the max timestamp of
   * what they keep. Null (scan the whole segment) when there is no such entry or anything does not check out.
   */
  private resumePoint(seg: Segment, rp: bigint): { position: number; offset: bigint } | null {
    if (rp <= seg.baseOffset || seg.size === 0) return null;
    let ok = false;
    try {
      ok = seg.loadIndexFilesSync();
    } catch {
      ok = false;
    }
    if (!ok) return null;
    const idx = seg.offsetIndex!;
    const gap = rp - seg.baseOffset;
    const i = idx.floor(gap > INT32_MAX_N ? INT32_MAX : Number(gap));
    const position = i < 0 ? -1 : idx.positionAt(i);
    const offset = i < 0 ? -1n : seg.baseOffset + BigInt(idx.relAt(i));
    let header: Buffer | null = null;
    if (position > 0) {
      header = Buffer.alloc(BATCH_HEADER_SIZE);
      seg.acquire();
      try {
        if (readAtSync(seg.fdSync(), header, 0, BATCH_HEADER_SIZE, position) < BATCH_HEADER_SIZE) header = null;
      } catch {
        header = null;
      } finally {
        seg.release();
      }
    }
    if (
      header === null ||
      header.readBigInt64BE(OFF.baseOffset) !== offset ||
      header.readInt8(OFF.magic) !== 2 ||
      header.readInt32BE(OFF.batchLength) < BATCH_HEADER_SIZE - LOG_OVERHEAD ||
      header.readInt32BE(OFF.lastOffsetDelta) < 0
    ) {
      seg.unloadIndexes();
      return null;
    }
    idx.truncateToPosition(position + 1);
    const time = seg.timeIndex!;
    time.truncateToRel(idx.relAt(i) + 1);
    seg.indexesChanged();
    seg.maxTimestamp = time.count > 0 ? time.lastTimestamp() : -1n;
    seg.offsetOfMaxTimestamp = time.count > 0 ? seg.baseOffset + BigInt(time.lastRel()) : -1n;
    return { position, offset };
  }

  /**
   * Re-scan segments from index `from` with CRC validation (the first from `resume`, see resumePoint, when
   * given); truncate a torn/corrupt tail. Returns the log end.
   */
  private async recover(from: number, resume: { position: number; offset: bigint } | null = null): Promise<bigint> {
    const interval = this.cfg.indexIntervalBytes;
    let logEnd = resume?.offset ?? this.segments[from]!.baseOffset;
    const feed = this.producerFeedFrom;
    const onBatch = (b: BatchInfo, buf: Buffer, at: number): void => {
      if (b.leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(b.leaderEpoch, b.baseOffset);
      // The producer state from the same pass (prepareProducerFeed).
      if (feed !== null && b.lastOffset >= feed) {
        this.takeIntoProducerState(buf, at, this.segments[this.floorIndex(b.baseOffset)]!.baseOffset);
        this.openStats.producerBatchesRecovered++;
      }
    };
    for (let i = from; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const start = i === from && resume !== null ? resume.position : 0;
      const r = await seg.rebuild(interval, true, onBatch, maxOf(logEnd, seg.baseOffset), start);
      this.openStats.segmentsRecovered++;
      this.openStats.bytesRecovered += r.validBytes - start;
      this.openStats.bytesTrusted += start;
      logEnd = r.nextOffset;
      if (r.error !== null) {
        const dropped = this.segments.slice(i + 1);
        const bytes = seg.size - r.validBytes + dropped.reduce((n, s) => n + s.size, 0);
        this.logger.warn(
          `Truncated torn/corrupt log tail of ${this.name} at offset ${r.nextOffset}: dropped ${bytes} bytes (${r.error})`,
          { partition: this.name, offset: String(r.nextOffset), bytes, reason: r.error },
        );
        this.openStats.truncatedBytes += bytes;
        seg.truncateFileSync(r.validBytes);
        for (const s of this.segments.splice(i + 1)) await s.retire();
        this.dirDirty = true;
      }
      if (i < this.segments.length - 1) {
        seg.finalizeTimeIndex();
        await this.tolerateFullDisk(seg.writeIndexFiles(), false, `the index of segment ${seg.baseOffset}`);
        seg.unloadIndexes();
      } else {
        seg.bytesSinceLastIndexEntry = seg.size - seg.offsetIndex!.lastPosition();
      }
    }
    return logEnd;
  }

  /** Make sure a segment's indexes are in memory (loading or rebuilding them), keeping an LRU of closed ones. */
  private async ensureIndexes(seg: Segment): Promise<void> {
    if (seg.indexesLoaded) {
      this.touchLoaded(seg);
      return;
    }
    let p = this.indexLoads.get(seg);
    if (!p) {
      p = (async () => {
        const truncations = this.truncations;
        if (!(await seg.loadIndexFiles())) {
          this.logger.warn(`Rebuilding missing or corrupt index of segment ${seg.baseOffset} of ${this.name}`, {
            partition: this.name,
          });
          const r = await seg.rebuild(this.cfg.indexIntervalBytes, false);
          seg.finalizeTimeIndex();
          this.track(seg.writeIndexFiles(), 'index write');
          const problem = r.problems[0];
          if (problem && !seg.retired && this.truncations === truncations) this.markDamaged(seg, damageOf(problem));
        }
      })().finally(() => this.indexLoads.delete(seg));
      this.indexLoads.set(seg, p);
    }
    await p;
    this.touchLoaded(seg);
  }

  private touchLoaded(seg: Segment): void {
    if (seg === this.active) return;
    const i = this.loadedClosed.indexOf(seg);
    if (i >= 0) this.loadedClosed.splice(i, 1);
    this.loadedClosed.push(seg);
    while (this.loadedClosed.length > MAX_LOADED_CLOSED_INDEXES) {
      const old = this.loadedClosed.shift()!;
      if (old !== this.active) old.unloadIndexes();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Append

  /**
   * Append validated batches (as returned by validateProducedBatches for `buf`) as leader: assign offsets in
   * place, write them with one synchronous write, update the indexes. `logAppendTime` null = CreateTime
   * (unless the topic is configured LogAppendTime, then now is used).
   */
  append(
    buf: Buffer,
    batches: BatchHeader[],
    leaderEpoch: number,
    logAppendTime: bigint | null,
    origin: 'client' | 'coordinator' = 'client',
  ): AppendInfo {
    this.checkOpen();
    if (batches.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'no record batches to append');
    let lat = logAppendTime;
    if (lat === null && this.cfg.messageTimestampType === 'LogAppendTime') lat = BigInt(Date.now());
    let count = 0;
    let expectPos = 0;
    let idempotent = false;
    for (const h of batches) {
      if (h.position !== expectPos) {
        throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'batch headers do not describe the buffer');
      }
      expectPos += h.size;
      count += h.lastOffsetDelta + 1;
      if (h.producerId >= 0n) idempotent = true;
    }
    if (expectPos !== buf.length) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'batch headers do not describe the buffer');
    }
    // A transaction marker (written by the broker for WriteTxnMarkers, one control batch alone): checked
    // against the producer state (epoch, coordinator epoch) before it is written.
    let marker: TxnMarker | null = null;
    const h0 = batches[0]!;
    if ((h0.attributes & ATTR_CONTROL) !== 0) {
      marker = batches.length === 1 && h0.producerId >= 0n ? readControlRecord(buf, 0) : null;
      if (marker === null)
        throw new KafkaError(ErrorCode.INVALID_RECORD, 'a marker is one control batch of a producer');
      this.producers.checkMarker(h0.producerId, h0.producerEpoch, marker.coordinatorEpoch);
    } else if (idempotent && origin === 'coordinator') {
      for (const h of batches) this.producers.checkEpoch(h.producerId, h.producerEpoch);
    } else if (idempotent) {
      const dup = this.checkIdempotent(batches);
      if (dup !== null) {
        return {
          baseOffset: dup.firstOffset,
          lastOffset: dup.lastOffset,
          logAppendTime: lat !== null ? dup.timestamp : -1n,
          maxTimestamp: dup.timestamp,
          logStartOffset: this._logStartOffset,
          duplicate: true,
        };
      }
    }
    const base = this._logEndOffset;
    const seg = this.maybeRoll(buf.length, base, base + BigInt(count) - 1n);
    let next = base;
    for (const h of batches) {
      assignOffsets(buf, h, next, leaderEpoch, lat);
      next += BigInt(h.lastOffsetDelta + 1);
    }
    const startPos = this.write(seg, buf);
    const interval = this.cfg.indexIntervalBytes;
    let maxTs = -1n;
    let off = base;
    for (const h of batches) {
      const ts = lat ?? h.maxTimestamp;
      if (ts > maxTs) maxTs = ts;
      seg.trackBatch(startPos + h.position, h.size, off, ts, interval);
      if (marker !== null) {
        const done = this.producers.completeTxn(h.producerId, h.producerEpoch, marker, off, ts);
        if (done?.isAbort) this.indexAborted(done, seg.baseOffset);
      } else if (idempotent && h.producerId >= 0n) {
        const txn = (h.attributes & ATTR_TRANSACTIONAL) !== 0;
        this.producers.update(h.producerId, h.producerEpoch, h.baseSequence, h.lastOffsetDelta, off, ts, txn);
      }
      off += BigInt(h.lastOffsetDelta + 1);
    }
    this._logEndOffset = next;
    if (leaderEpoch >= 0 && leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(leaderEpoch, base);
    this.afterAppend(count);
    return {
      baseOffset: base,
      lastOffset: next - 1n,
      logAppendTime: lat ?? -1n,
      maxTimestamp: maxTs,
      logStartOffset: this._logStartOffset,
    };
  }

  /**
   * A client's idempotent batch against the producer state (Kafka's rules, producer-state.ts): the stored
   * batch when it is a retry, null when it is to be appended; a KafkaError when refused. Kafka takes one batch
   * per partition from a client; an idempotent one must come alone (its sequence is checked against the state
   * before anything is written).
   */
  private checkIdempotent(batches: BatchHeader[]): DuplicateBatch | null {
    if (batches.length !== 1) {
      throw new KafkaError(
        ErrorCode.INVALID_RECORD,
        `an idempotent produce must hold one record batch per partition, not ${batches.length}`,
      );
    }
    return this.producers.checkClientBatch(batches[0]!);
  }

  /**
   * Append batches fetched from the leader, keeping their offsets (they must start at or after the log end and
   * increase). CRCs are verified. A partial batch at the end of `buf` is ignored. Null when `buf` holds no
   * whole batch.
   */
  appendAsFollower(buf: Buffer): AppendInfo | null {
    this.checkOpen();
    const headers: BatchHeader[] = [];
    let pos = 0;
    let expected = this._logEndOffset;
    let count = 0;
    let maxTs = -1n;
    while (pos + BATCH_HEADER_SIZE <= buf.length) {
      const h = readBatchHeader(buf, pos);
      if (!h) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `impossible batch length at byte ${pos}`);
      if (pos + h.size > buf.length) break;
      if (h.magic !== 2) throw new KafkaError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `batch magic ${h.magic}`);
      if (!batchCrcOk(buf, h)) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `CRC mismatch at byte ${pos}`);
      if (h.lastOffsetDelta < 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'negative last offset delta');
      if (h.baseOffset < expected) {
        throw new KafkaError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `follower append to ${this.name}: batch offset ${h.baseOffset} is below the expected ${expected}`,
        );
      }
      expected = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
      count += h.lastOffsetDelta + 1;
      if (h.maxTimestamp > maxTs) maxTs = h.maxTimestamp;
      headers.push(h);
      pos += h.size;
    }
    if (headers.length === 0) return null;
    const data = pos === buf.length ? buf : buf.subarray(0, pos);
    const first = headers[0]!.baseOffset;
    const seg = this.maybeRoll(data.length, first, expected - 1n);
    const startPos = this.write(seg, data);
    const interval = this.cfg.indexIntervalBytes;
    for (const h of headers) {
      seg.trackBatch(startPos + h.position, h.size, h.baseOffset, h.maxTimestamp, interval);
      if (h.partitionLeaderEpoch >= 0 && h.partitionLeaderEpoch > this.epochs.latestEpoch) {
        this.epochs.assign(h.partitionLeaderEpoch, h.baseOffset);
      }
      // The leader checked it; take it as it is (Kafka's replication origin), so failover finds the same state
      // (open transactions and the aborted-transaction index included).
      if (h.producerId >= 0n) this.takeIntoProducerState(data, h.position, seg.baseOffset);
    }
    this._logEndOffset = expected;
    this.afterAppend(count);
    return {
      baseOffset: first,
      lastOffset: expected - 1n,
      logAppendTime: -1n,
      maxTimestamp: maxTs,
      logStartOffset: this._logStartOffset,
    };
  }

  /** Write `buf` at the end of `seg`; on failure cut the partial write off. Returns the start position. */
  private write(seg: Segment, buf: Buffer): number {
    const startPos = seg.size;
    if (startPos === 0) seg.createdMs = Date.now();
    try {
      seg.writeSync(buf);
    } catch (e) {
      try {
        seg.truncateFileSync(startPos);
      } catch {
        /* reported below */
      }
      this.logger.error(`Write to ${this.name} failed: ${(e as Error).message}`, { partition: this.name });
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `write to ${this.name} failed: ${(e as Error).message}`);
    }
    seg.size += buf.length;
    this._size += buf.length;
    this.dirtySegments.add(seg);
    return startPos;
  }

  /** The segment to append `bytes` holding offsets [first, last] to, rolling first when needed. */
  private maybeRoll(bytes: number, first: bigint, last: bigint): Segment {
    const seg = this.active;
    const overflow = last - seg.baseOffset > INT32_MAX_N || seg.size + bytes > INT32_MAX;
    if (seg.size === 0 && !overflow) return seg;
    if (
      overflow ||
      seg.size + bytes > this.cfg.segmentBytes ||
      (seg.size > 0 && Date.now() - seg.createdMs >= this.cfg.segmentMs)
    ) {
      if (first <= seg.baseOffset || last - first > INT32_MAX_N) {
        throw new KafkaError(ErrorCode.RECORD_LIST_TOO_LARGE, `append of ${bytes} bytes cannot fit a segment`);
      }
      return this.roll(first);
    }
    return seg;
  }

  /** Close the active segment and start a new one at `baseOffset`; the old one is indexed and fsynced in the background. */
  private roll(baseOffset: bigint): Segment {
    const old = this.active;
    // The state of every batch below the new segment: a restart reads only the segments after the last one.
    this.snapshotProducers(baseOffset);
    old.finalizeTimeIndex();
    const seg = Segment.create(this.dir, baseOffset);
    this.segments.push(seg);
    this.dirDirty = true;
    this.touchLoaded(old);
    this.track(old.writeIndexFiles(), 'index write');
    this.track(
      this.flush().then(() => this.checkpoint()),
      'flush after roll',
    );
    this.logger.debug(`Rolled ${this.name} to segment ${baseOffset}`, { partition: this.name });
    return seg;
  }

  private afterAppend(count: number): void {
    this.unflushedMessages += count;
    if (this.unflushedMessages >= this.cfg.flushMessages) {
      this.backgroundFlush();
    } else if (this.flushTimer === null && this.cfg.flushMs <= INT32_MAX) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.backgroundFlush();
      }, this.cfg.flushMs);
      this.flushTimer.unref();
    }
  }

  private backgroundFlush(): void {
    this.flush().catch((e: unknown) => {
      this.logger.error(`Flush of ${this.name} failed: ${(e as Error).message}`, { partition: this.name });
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Flush (group commit)

  /**
   * Make everything appended before this call durable. If an fsync is already in flight, all callers arriving
   * meanwhile share one following fsync.
   */
  flush(): Promise<void> {
    if (this.fdsClosed) return Promise.resolve();
    if (this.flushing) {
      if (this.flushingTarget >= this._logEndOffset && this.dirtySegments.size === 0 && !this.dirDirty) {
        return this.flushing;
      }
      if (!this.nextFlush) {
        const run = (): Promise<void> => {
          this.nextFlush = null;
          return this.startFlush();
        };
        this.nextFlush = this.flushing.then(run, run);
      }
      return this.nextFlush;
    }
    return this.startFlush();
  }

  private startFlush(): Promise<void> {
    const target = this._logEndOffset;
    const segs = [...this.dirtySegments].filter((s) => !s.retired);
    this.dirtySegments.clear();
    const dir = this.dirDirty;
    this.dirDirty = false;
    this.unflushedMessages = 0;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.fdsClosed || (segs.length === 0 && !dir)) {
      this.markFlushed(target);
      return Promise.resolve();
    }
    for (const s of segs) s.acquire();
    const p = (async () => {
      try {
        const t0 = performance.now();
        await Promise.all(segs.map((s) => s.fdatasync()));
        flushed((performance.now() - t0) / 1000);
        this.fsyncCount += segs.length;
        if (dir) await fsyncDir(this.dir);
        this.markFlushed(target);
      } catch (e) {
        for (const s of segs) if (!s.retired) this.dirtySegments.add(s);
        if (dir) this.dirDirty = true;
        throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `fsync of ${this.name} failed: ${(e as Error).message}`);
      } finally {
        for (const s of segs) s.release();
      }
    })();
    this.flushing = p;
    this.flushingTarget = target;
    const clear = (): void => {
      if (this.flushing === p) this.flushing = null;
    };
    p.then(clear, clear);
    return p;
  }

  private markFlushed(target: bigint): void {
    const t = target < this._logEndOffset ? target : this._logEndOffset;
    if (t > this._recoveryPoint) this._recoveryPoint = t;
  }

  /**
   * Persist the leader epochs, the recovery point and the log start offset (after the index files of closed
   * segments are on disk, so every segment below the checkpointed recovery point has durable indexes). The log manager calls this
   * periodically; close() does it too.
   */
  async checkpoint(): Promise<void> {
    if (this.fdsClosed) return;
    const rp = this._recoveryPoint;
    await Promise.all(this.segments.map((s) => s.indexWritesDone()));
    // The epochs of every batch below the recovery point are on disk before it is (assignEpochStart): a
    // recovery scan from it finds the later ones in the batches. Unchanged content is not written again.
    await this.epochFile.write(this.epochs.serialize());
    await this.recoveryPointFile.write(formatOffsetCheckpoint(rp));
    await this.logStartFile.write(formatOffsetCheckpoint(this._logStartOffset));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Read

  /**
   * Whole batches from the one containing `offset`, up to `maxBytes` (the first batch whole even if larger
   * when `minOneBatch`), none whose last offset is >= `maxOffset`. Stops at the end of a segment.
   * Throws OFFSET_OUT_OF_RANGE for an offset below the log start or above the log end, CORRUPT_MESSAGE for an
   * offset in a damaged stretch of the log (see {@link investigate}), KAFKA_STORAGE_ERROR when the disk fails.
   */
  async read(offset: bigint, maxBytes: number, maxOffset: bigint, minOneBatch = true): Promise<ReadResult> {
    this.checkOpen();
    const leo = this._logEndOffset;
    if (offset < this._logStartOffset || offset > leo) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${offset} is outside [${this._logStartOffset}, ${leo}] of ${this.name}`,
      );
    }
    const limit = maxOffset < leo ? maxOffset : leo;
    let records: Buffer | null = null;
    if (offset < limit) {
      const truncations = this.truncations;
      try {
        records = await this.readRange(offset, maxBytes, limit, minOneBatch, truncations);
      } catch (e) {
        await this.investigate(e, truncations);
        try {
          records = await this.readRange(offset, maxBytes, limit, minOneBatch, truncations);
        } catch (again) {
          throw this.readFailure(again);
        }
      }
    }
    return {
      records,
      logStartOffset: this._logStartOffset,
      logEndOffset: this._logEndOffset,
      highWatermark: this.highWatermark,
    };
  }

  private async readRange(
    offset: bigint,
    maxBytes: number,
    limit: bigint,
    minOneBatch: boolean,
    truncations: number,
  ): Promise<Buffer | null> {
    let seg: Segment | undefined = this.segments[this.floorIndex(offset)];
    while (seg) {
      const r = await this.readSegment(seg, offset, maxBytes, limit, minOneBatch);
      if (r !== undefined) return r;
      const next = this.segmentAfter(seg.baseOffset);
      if (next && offset < next.baseOffset && !this.cfg.cleanupPolicy.includes('compact')) {
        // Nothing at or after `offset` in this segment, yet the next one starts above it.
        await this.checkGap(seg, next, truncations);
        seg = this.segmentAfter(seg.baseOffset);
      } else seg = next;
      if (seg && seg.baseOffset >= limit) break;
    }
    return null;
  }

  /** Batches from one segment; undefined when the segment holds no batch at or after `offset`. */
  private async readSegment(
    seg: Segment,
    offset: bigint,
    maxBytes: number,
    limit: bigint,
    minOneBatch: boolean,
  ): Promise<Buffer | null | undefined> {
    seg.acquire();
    let cursor: BatchCursor | null = null;
    try {
      let end = seg.size;
      if (end === 0) return undefined;
      let start = 0;
      let upper = end;
      if (offset > seg.baseOffset || limit < this._logEndOffset) {
        await this.ensureIndexes(seg);
        const idx = seg.offsetIndex;
        if (idx) {
          if (offset > seg.baseOffset) start = idx.lookup(seg.rel(offset));
          if (limit - seg.baseOffset <= INT32_MAX_N) {
            const u = idx.upperPosition(Number(limit - seg.baseOffset));
            if (u > start) upper = u;
          }
        }
      }
      const damage = seg.damage;
      if (damage !== null) {
        // Serve what lies before the damage; from it on, the offsets cannot be read from this segment.
        if (offset >= damage.offset) throw this.corruptError(seg);
        end = damage.position;
        if (upper > end) upper = end;
      }
      const fd = seg.fdSync();
      const interval = this.cfg.indexIntervalBytes;
      // A consumer or follower at the tail reads a few KiB just appended (page cache): read them synchronously
      // rather than through the thread pool, which would add a thread hop to every fetch's latency. One
      // setImmediate still lets other work run in between, as an I/O callback would (a caller polling the
      // tail in a loop must not starve the event loop).
      const sync = seg === this.segments[this.segments.length - 1] && upper - start <= SYNC_READ_MAX_BYTES;
      if (sync) await new Promise<void>((r) => setImmediate(r));
      const read = (b: Buffer, len: number, at: number) =>
        sync ? Promise.resolve(readAtSync(fd, b, 0, len, at)) : readAt(fd, b, 0, len, at);
      cursor = new BatchCursor(fd, start, upper, interval + BATCH_HEADER_SIZE + Math.max(0, maxBytes), sync);
      const info = cursor.info;
      for (;;) {
        if (!(await cursor.next())) {
          if (upper < end) return null;
          // Walked up to the damage without meeting `offset`, which lies below it: the index misled us.
          if (damage !== null)
            throw new CorruptSegmentError(`offset ${offset} not found before the damage`, 'truncated', end);
          return undefined;
        }
        if (info.lastOffset >= offset) break;
      }
      if (info.lastOffset >= limit) return null;
      const p = info.position;
      const firstSize = info.size;
      if (firstSize > maxBytes) {
        if (!minOneBatch) return null;
        if (cursor.covers(p, p + firstSize))
          return cursor.buf.subarray(p - cursor.bufPos, p - cursor.bufPos + firstSize);
        const one = Buffer.allocUnsafe(firstSize);
        const n = await read(one, firstSize, p);
        this.readBytes += n;
        if (n !== firstSize)
          throw new CorruptSegmentError(`short read at byte ${p}: the file ends early`, 'truncated', p);
        return one;
      }
      const wantEnd = Math.min(upper, p + maxBytes);
      let buf: Buffer;
      let bufPos: number;
      let avail: number;
      if (cursor.covers(p, wantEnd)) {
        buf = cursor.buf;
        bufPos = cursor.bufPos;
        avail = cursor.bufPos + cursor.bufLen;
      } else {
        buf = Buffer.allocUnsafe(wantEnd - p);
        bufPos = p;
        const n = await read(buf, wantEnd - p, p);
        this.readBytes += n;
        avail = p + n;
      }
      if (avail > wantEnd) avail = wantEnd;
      // Whole batches after the first, as far as they fit. One that does not look right (its length, magic or
      // offsets) ends the answer here: the next read starts at it and the cursor reports what is wrong.
      let q = p;
      let expected = -1n;
      while (q + WALK_PREFIX <= avail) {
        const o = q - bufPos;
        const len = buf.readInt32BE(o + OFF.batchLength);
        if (len < BATCH_HEADER_SIZE - LOG_OVERHEAD) break;
        const size = len + LOG_OVERHEAD;
        if (q + size > avail || buf[o + OFF.magic] !== 2) break;
        const base = buf.readBigInt64BE(o + OFF.baseOffset);
        const last = base + BigInt(buf.readInt32BE(o + OFF.lastOffsetDelta));
        if (last >= limit || base < expected || last < base) break;
        expected = last + 1n;
        q += size;
      }
      return q === p ? null : buf.subarray(p - bufPos, q - bufPos);
    } catch (e) {
      throw withSegment(e, seg);
    } finally {
      if (cursor) this.readBytes += cursor.bytesRead;
      seg.release();
    }
  }

  /**
   * Offsets are missing between `seg` and the next segment (a segment deleted or cut short) unless compaction
   * explains it (checked by the caller for the topic's cleanup.policy, here by the segment's own batches).
   * Records the gap as damage of `seg` and throws CORRUPT_MESSAGE; returns when there is no gap (or when the
   * log was truncated meanwhile: what the walk saw may be gone).
   */
  private async checkGap(seg: Segment, next: Segment, truncations: number): Promise<void> {
    let v: ScanResult;
    try {
      v = await seg.verify();
    } catch (e) {
      throw this.readFailure(e);
    }
    if (this.truncations !== truncations || this.closed) return;
    const problem = v.problems[0];
    if (problem) {
      this.markDamaged(seg, damageOf(problem));
      throw this.corruptError(seg);
    }
    if (v.compacted || v.nextOffset >= next.baseOffset || seg.retired || next.retired) return;
    this.markDamaged(seg, {
      kind: 'gap',
      position: seg.size,
      offset: v.nextOffset,
      reason: `offsets ${v.nextOffset} to ${next.baseOffset - 1n} are missing: the next segment starts at ${next.baseOffset}`,
    });
    throw this.corruptError(seg);
  }

  /**
   * A read met bytes that do not add up (CorruptSegmentError) — damage, or an index pointing at the wrong
   * place. Walk the whole segment once (serialized with truncations and segment swaps) to tell: damage is
   * recorded on the segment and logged once (reads below it go on, reads at or above it answer
   * CORRUPT_MESSAGE; an active segment is rolled so new appends stay readable), an index that disagrees with
   * an intact log is rebuilt. Returns so the caller can read again; throws what else went wrong.
   */
  private async investigate(e: unknown, truncations: number): Promise<void> {
    if (!(e instanceof CorruptSegmentError) || e.segment === null) throw this.readFailure(e);
    const seg = e.segment;
    await this.exclusive(async () => {
      if (this.closed || this.truncations !== truncations || seg.retired || seg.damage !== null) return;
      if (!this.segments.includes(seg)) return;
      let v: ScanResult;
      try {
        v = await seg.verify();
      } catch (err) {
        throw this.readFailure(err);
      }
      const problem = v.problems[0];
      const isActive = seg === this.active;
      if (problem) {
        this.markDamaged(seg, damageOf(problem));
        if (isActive && seg.size > 0 && !this.closed) this.roll(this._logEndOffset);
        return;
      }
      this.logger.warn(`Index ${seg.indexPath} disagrees with ${seg.logPath} (${e.message}); rebuilding it`, {
        partition: this.name,
      });
      if (isActive) {
        if (seg.size === 0 || this.closed) return;
        this.roll(this._logEndOffset);
      }
      await seg.rebuild(this.cfg.indexIntervalBytes, false);
      seg.finalizeTimeIndex();
      this.track(seg.writeIndexFiles(), 'index write');
    });
  }

  /** Record damage of `seg` (the earliest found wins) and log it the first time. */
  private markDamaged(seg: Segment, d: SegmentDamage): void {
    const prev = seg.damage;
    if (prev !== null && prev.position <= d.position) return;
    seg.damage = d;
    if (prev !== null) return;
    const next = this.segmentAfter(seg.baseOffset);
    const upTo = next ? `${next.baseOffset - 1n}` : 'the log end';
    this.logger.error(
      `Damaged log segment ${seg.logPath} at byte ${d.position} (offset ${d.offset}): ${d.reason}. Fetches of ` +
        `${this.name} at offsets ${d.offset} to ${upTo} answer CORRUPT_MESSAGE; the rest of the log is served. ` +
        `Check and repair it offline with: kstream debug check-log ${this.dir}`,
      { partition: this.name, file: seg.logPath, position: d.position, offset: String(d.offset), problem: d.kind },
    );
  }

  private corruptError(seg: Segment): KafkaError {
    const d = seg.damage;
    const what = d ? `at offset ${d.offset} (${basename(seg.logPath)}: ${d.reason})` : `in ${basename(seg.logPath)}`;
    return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `log ${this.name} is damaged ${what}`);
  }

  /** What a failed read answers: a Kafka error as is, damage as CORRUPT_MESSAGE, a disk error as KAFKA_STORAGE_ERROR. */
  private readFailure(e: unknown): Error {
    if (e instanceof KafkaError) return e;
    if (e instanceof CorruptSegmentError) {
      if (e.segment?.damage) return this.corruptError(e.segment);
      return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `log ${this.name}: ${e.message}`);
    }
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (typeof code !== 'string') return e as Error;
    const message = (e as Error).message;
    if (!this.readErrorsLogged.has(code)) {
      this.readErrorsLogged.add(code);
      this.logger.error(`Read from ${this.name} failed: ${message}`, { partition: this.name, code });
    }
    return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `read from ${this.name} failed: ${message}`);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Timestamps

  /** The first batch (at or after the log start) whose max timestamp is >= `timestamp`, or null. */
  async findOffsetByTimestamp(timestamp: bigint): Promise<TimestampLookup | null> {
    this.checkOpen();
    const truncations = this.truncations;
    try {
      return await this.findOffsetByTimestampNow(timestamp);
    } catch (e) {
      await this.investigate(e, truncations);
      return this.findOffsetByTimestampNow(timestamp).catch((again: unknown) => {
        throw this.readFailure(again);
      });
    }
  }

  private async findOffsetByTimestampNow(timestamp: bigint): Promise<TimestampLookup | null> {
    const lso = this._logStartOffset;
    let seg: Segment | undefined = this.segments[this.floorIndex(lso)];
    for (; seg; seg = this.segmentAfter(seg.baseOffset)) {
      if (seg.maxTimestamp < timestamp) continue;
      seg.acquire();
      try {
        await this.ensureIndexes(seg);
        const rel = seg.timeIndex ? seg.timeIndex.lookupBefore(timestamp) : -1;
        const start = rel < 0 || !seg.offsetIndex ? 0 : seg.offsetIndex.lookup(rel);
        const end = seg.damage ? seg.damage.position : seg.size;
        const cursor = new BatchCursor(seg.fdSync(), start, end, Math.max(64 * 1024, this.cfg.indexIntervalBytes * 2));
        while (await cursor.next()) {
          const b = cursor.info;
          if (b.maxTimestamp >= timestamp && b.lastOffset >= lso) {
            return { batch: await this.batchBytes(seg, cursor), baseOffset: b.baseOffset };
          }
        }
        if (seg.damage) throw this.corruptError(seg);
      } catch (e) {
        throw withSegment(e, seg);
      } finally {
        seg.release();
      }
    }
    return null;
  }

  /** The first batch holding the log's largest timestamp (ListOffsets MAX_TIMESTAMP), or null. */
  async findMaxTimestampBatch(): Promise<TimestampLookup | null> {
    this.checkOpen();
    const truncations = this.truncations;
    try {
      return await this.findMaxTimestampBatchNow();
    } catch (e) {
      await this.investigate(e, truncations);
      return this.findMaxTimestampBatchNow().catch((again: unknown) => {
        throw this.readFailure(again);
      });
    }
  }

  private async findMaxTimestampBatchNow(): Promise<TimestampLookup | null> {
    let best: Segment | null = null;
    for (let i = this.floorIndex(this._logStartOffset); i < this.segments.length; i++) {
      const s = this.segments[i]!;
      if (s.maxTimestamp >= 0n && (best === null || s.maxTimestamp > best.maxTimestamp)) best = s;
    }
    if (!best) return null;
    const seg = best;
    const target = seg.offsetOfMaxTimestamp;
    seg.acquire();
    try {
      await this.ensureIndexes(seg);
      if (seg.damage && target >= seg.damage.offset) throw this.corruptError(seg);
      const start = seg.offsetIndex ? seg.offsetIndex.lookup(seg.rel(target)) : 0;
      const end = seg.damage ? seg.damage.position : seg.size;
      const cursor = new BatchCursor(seg.fdSync(), start, end, Math.max(64 * 1024, this.cfg.indexIntervalBytes * 2));
      while (await cursor.next()) {
        if (cursor.info.lastOffset >= target) {
          return { batch: await this.batchBytes(seg, cursor), baseOffset: cursor.info.baseOffset };
        }
      }
      return null;
    } catch (e) {
      throw withSegment(e, seg);
    } finally {
      seg.release();
    }
  }

  /** The bytes of the batch the cursor is on (a copy: the cursor's buffer is reused). */
  private async batchBytes(seg: Segment, cursor: BatchCursor): Promise<Buffer> {
    const { position, size } = cursor.info;
    if (cursor.covers(position, position + size)) {
      const o = position - cursor.bufPos;
      return Buffer.from(cursor.buf.subarray(o, o + size));
    }
    const b = Buffer.allocUnsafe(size);
    const n = await readAt(seg.fdSync(), b, 0, size, position);
    if (n !== size) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `short read in ${this.name}`);
    return b;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Leader epochs

  /**
   * Record that leader epoch `epoch` starts at `offset` (checkpointed in the background): a new leader's epoch
   * at its log end (Partition.becomeLeader), which no batch of the log proves yet.
   *
   * An epoch first seen in an appended batch (append, appendAsFollower) is only recorded in memory: the batch
   * carries it, so a recovery after a crash finds it again in the log, and checkpoint() writes the epoch file
   * before the recovery point it writes (the scan after a crash starts there). At 10,000 partitions one file
   * write (create, fsync, rename, directory fsync) per partition at its first append was a third of the broker's
   * CPU under kcat (docs/benchmarks.md, session 11).
   */
  assignEpochStart(epoch: number, offset: bigint): void {
    if (this.epochs.assign(epoch, offset)) this.saveEpochs();
  }

  /** OffsetForLeaderEpoch: end offset of `epoch` and the largest known epoch <= it (-1/-1n when unknown). */
  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: bigint } {
    return this.epochs.endOffsetFor(epoch, this._logEndOffset);
  }

  private saveEpochs(): void {
    this.track(this.epochFile.write(this.epochs.serialize()), 'leader epoch checkpoint');
  }

  // ---------------------------------------------------------------------------------------------------------
  // Deletion: DeleteRecords, retention, truncation

  /** DeleteRecords: move the log start up to `offset` (<= high watermark) and delete segments wholly below it. */
  async deleteRecordsBefore(offset: bigint): Promise<SegmentDeletion[]> {
    this.checkOpen();
    if (offset < 0n || offset > this.highWatermark) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `cannot delete records of ${this.name} before ${offset}: high watermark is ${this.highWatermark}`,
      );
    }
    if (offset <= this._logStartOffset) return [];
    this._logStartOffset = offset;
    if (this.epochs.truncateFromStart(offset)) this.saveEpochs();
    const { deleted, done } = this.deleteBelowLogStart();
    this.producersAfterLogStart();
    await this.saveLogStart();
    await done;
    return deleted;
  }

  private deleteBelowLogStart(): { deleted: SegmentDeletion[]; done: Promise<unknown> } {
    const deleted: SegmentDeletion[] = [];
    const waits: Promise<void>[] = [];
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this._logStartOffset) {
      const r = this.retireFirst('log-start-offset');
      deleted.push(r.deletion);
      waits.push(r.done);
    }
    return { deleted, done: Promise.all(waits) };
  }

  private retireFirst(reason: DeletionReason): { deletion: SegmentDeletion; done: Promise<void> } {
    const seg = this.segments.shift()!;
    const next = this.segments[0];
    const deletion: SegmentDeletion = {
      baseOffset: seg.baseOffset,
      endOffset: next ? next.baseOffset : this._logEndOffset,
      bytes: seg.size,
      reason,
    };
    return { deletion, done: this.retireSegment(seg) };
  }

  private retireSegment(seg: Segment): Promise<void> {
    this._size -= seg.size;
    this.dirtySegments.delete(seg);
    const i = this.loadedClosed.indexOf(seg);
    if (i >= 0) this.loadedClosed.splice(i, 1);
    const p = seg.retire();
    this.track(p, 'segment delete');
    return p;
  }

  /**
   * Whether every record of `seg` is below the high watermark: only such segments may go by retention (as in
   * Kafka), so a leader never deletes records its followers have not fetched yet (they would find the
   * offset gone, and an acks=all waiting for them would never be answered).
   */
  private committedThrough(seg: Segment): boolean {
    const next = this.segments[this.segments.indexOf(seg) + 1];
    return (next ? next.baseOffset : this._logEndOffset) <= this.highWatermark;
  }

  /**
   * Delete closed segments beyond retention: while the oldest one's newest timestamp is older than
   * retention.ms, and while the log would still be at least retention.bytes without it; also those wholly
   * below the log start offset; never one with records at or above the high watermark. A non-empty active
   * segment that is itself past retention.ms is rolled first (as Kafka does) so it can go. Advances (and checkpoints) the log start offset. Returns what was deleted.
   */
  async enforceRetention(nowMs: number = Date.now()): Promise<SegmentDeletion[]> {
    if (this.closed) return [];
    const below = this.deleteBelowLogStart();
    const deleted = below.deleted;
    const waits: Promise<unknown>[] = [below.done];
    const policy = this.cfg.cleanupPolicy;
    if (policy === 'delete' || policy === 'compact,delete') {
      const retentionMs = this.cfg.retentionMs;
      if (retentionMs >= 0) {
        while (this.segments.length > 0) {
          const seg = this.segments[0]!;
          if (nowMs - seg.largestTimestampMs() <= retentionMs) break;
          if (!this.committedThrough(seg)) break;
          if (seg === this.active) {
            if (seg.size === 0) break;
            this.roll(this._logEndOffset);
          }
          const r = this.retireFirst('retention.ms');
          deleted.push(r.deletion);
          waits.push(r.done);
        }
      }
      const retentionBytes = this.cfg.retentionBytes;
      if (retentionBytes >= 0) {
        let excess = this._size - retentionBytes;
        while (
          this.segments.length > 1 &&
          excess >= this.segments[0]!.size &&
          this.committedThrough(this.segments[0]!)
        ) {
          excess -= this.segments[0]!.size;
          const r = this.retireFirst('retention.bytes');
          deleted.push(r.deletion);
          waits.push(r.done);
        }
      }
    }
    if (deleted.length > 0) {
      const first = this.segments[0]!.baseOffset;
      if (first > this._logStartOffset) this._logStartOffset = first;
      if (this.hwOverride !== null && this.hwOverride < this._logStartOffset) this.hwOverride = this._logStartOffset;
      if (this.epochs.truncateFromStart(this._logStartOffset)) this.saveEpochs();
      this.producersAfterLogStart();
      await this.saveLogStart();
      await Promise.all(waits);
      this.logger.info(`Deleted ${deleted.length} segment(s) of ${this.name}`, {
        partition: this.name,
        logStartOffset: String(this._logStartOffset),
        bytes: deleted.reduce((n, d) => n + d.bytes, 0),
      });
    }
    return deleted;
  }

  /**
   * Runs `f` after every truncation and segment swap started before it: a swap of a cleaned segment must not
   * interleave with a truncation of that segment (the swap would bring the truncated records back).
   */
  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.rewriting.then(f, f);
    this.rewriting = run.catch(() => {});
    return run;
  }

  /** How many truncations have started on this log: a cleaning pass that saw another count is stale. */
  get truncationCount(): number {
    return this.truncations;
  }

  /**
   * Drop everything at and above `offset` (replication: a follower diverged from the leader). Whole batches
   * only: if `offset` falls inside a batch, that batch goes too and the log end becomes its base offset.
   * Must not run concurrently with appends to this log.
   */
  truncateTo(offset: bigint): Promise<void> {
    this.truncations++;
    return this.exclusive(() => this.truncateToNow(offset));
  }

  private async truncateToNow(offset: bigint): Promise<void> {
    this.checkOpen();
    if (offset < 0n) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot truncate ${this.name} to ${offset}`);
    for (;;) {
      const leo = this._logEndOffset;
      if (offset >= leo) return;
      if (offset < this.segments[0]!.baseOffset) {
        await this.truncateFullyNow(offset);
        return;
      }
      const i = this.floorIndex(offset);
      const seg = this.segments[i]!;
      await this.ensureIndexes(seg);
      const start = offset > seg.baseOffset && seg.offsetIndex ? seg.offsetIndex.lookup(seg.rel(offset)) : 0;
      let cut = seg.size;
      let newEnd: bigint | null = null;
      let prevNext = seg.baseOffset;
      let maxTs = -1n;
      let offsetOfMax = -1n;
      seg.acquire();
      try {
        const cursor = new BatchCursor(
          seg.fdSync(),
          start,
          seg.size,
          Math.max(64 * 1024, this.cfg.indexIntervalBytes * 2),
        );
        while (await cursor.next()) {
          const b = cursor.info;
          if (b.lastOffset >= offset) {
            cut = b.position;
            // Compaction leaves gaps: a batch wholly above `offset` must not pull the log end past it (a
            // follower would then fetch from there and skip the leader's records in between).
            newEnd = b.baseOffset < offset ? b.baseOffset : offset;
            break;
          }
          prevNext = b.lastOffset + 1n;
          if (b.maxTimestamp > maxTs) {
            maxTs = b.maxTimestamp;
            offsetOfMax = b.baseOffset;
          }
        }
      } finally {
        seg.release();
      }
      if (this._logEndOffset !== leo || this.segments[i] !== seg || !seg.indexesLoaded || this.closed) {
        this.checkOpen();
        continue;
      }
      const end = newEnd ?? prevNext;
      // Synchronous from here: the log is consistent again before anything else runs.
      const waits: Promise<void>[] = [];
      for (const s of this.segments.splice(i + 1)) waits.push(this.retireSegment(s));
      this._size -= seg.size - cut;
      seg.truncateFileSync(cut);
      const rel = seg.rel(end);
      seg.timeIndex?.truncateToRel(rel);
      if (seg.timeIndex && seg.timeIndex.count > 0) {
        seg.maxTimestamp = seg.timeIndex.lastTimestamp();
        seg.offsetOfMaxTimestamp = seg.baseOffset + BigInt(seg.timeIndex.lastRel());
      } else {
        seg.maxTimestamp = -1n;
        seg.offsetOfMaxTimestamp = -1n;
      }
      if (maxTs > seg.maxTimestamp) {
        seg.maxTimestamp = maxTs;
        seg.offsetOfMaxTimestamp = offsetOfMax;
      }
      seg.bytesSinceLastIndexEntry = cut - (seg.offsetIndex?.lastPosition() ?? 0);
      const li = this.loadedClosed.indexOf(seg);
      if (li >= 0) this.loadedClosed.splice(li, 1);
      for (const p of [seg.indexPath, seg.timeIndexPath]) {
        try {
          unlinkSync(p);
        } catch {
          /* absent */
        }
      }
      this.dirtySegments.add(seg);
      this.dirDirty = true;
      this._logEndOffset = end;
      if (this._logStartOffset > end) this._logStartOffset = end;
      if (this._recoveryPoint > end) this._recoveryPoint = end;
      if (this.hwOverride !== null && this.hwOverride > end) this.hwOverride = end;
      if (this.epochs.truncateFromEnd(end)) this.saveEpochs();
      this.producers.truncateFrom(end);
      this.abortedTxns.truncateFrom(end);
      this.dropSnapshots((o) => o > end);
      // Transactions decided by a marker that was cut off are undecided again: rebuild from the log (a snapshot
      // at or below the cut and the batches after it), as Kafka does. Only for logs that saw transactions.
      if (this.producers.sawTransactions) await this.rebuildProducers(end);
      this.logger.info(`Truncated ${this.name} to offset ${end}`, { partition: this.name });
      await this.checkpoint();
      await Promise.all(waits);
      return;
    }
  }

  /** Delete every segment and start an empty log at `offset` (log start = log end = offset). */
  truncateFullyAndStartAt(offset: bigint): Promise<void> {
    this.truncations++;
    return this.exclusive(() => this.truncateFullyNow(offset));
  }

  private async truncateFullyNow(offset: bigint): Promise<void> {
    this.checkOpen();
    const waits = this.segments.splice(0).map((s) => this.retireSegment(s));
    this.loadedClosed.length = 0;
    this.segments.push(Segment.create(this.dir, offset));
    this.dirDirty = true;
    this._size = 0;
    this._logEndOffset = offset;
    this._logStartOffset = offset;
    this._recoveryPoint = offset;
    if (this.hwOverride !== null) this.hwOverride = offset;
    const a = this.epochs.truncateFromEnd(offset);
    const b = this.epochs.truncateFromStart(offset);
    if (a || b) this.saveEpochs();
    this.producers.clear();
    this.abortedTxns.clear();
    this.dropSnapshots(() => true);
    await this.flush();
    await this.checkpoint();
    await Promise.all(waits);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Compaction (the log cleaner, cleaner.ts, decides what a cleaned segment holds)

  /**
   * Swap the closed segment at `baseOffset` for `cleanedPath`: a file in this directory, written and fsynced
   * by the cleaner, holding a subset of the segment's batches at unchanged offsets. Crash-safe at every
   * step: the old index files are removed first (a segment without them is re-indexed on open), then one
   * rename replaces the .log atomically. False (cleaned file removed) when the segment is gone or active, or
   * when `truncationCount` is given and the log was truncated since (the cleaned file may hold records the
   * truncation removed, or have been computed from records it removed).
   */
  replaceSegment(baseOffset: bigint, cleanedPath: string, truncationCount?: number): Promise<boolean> {
    return this.exclusive(async () => {
      if (truncationCount !== undefined && truncationCount !== this.truncations) {
        await unlink(cleanedPath).catch(() => {});
        return false;
      }
      return this.replaceSegmentNow(baseOffset, cleanedPath);
    });
  }

  private async replaceSegmentNow(baseOffset: bigint, cleanedPath: string): Promise<boolean> {
    const i = this.segments.findIndex((s) => s.baseOffset === baseOffset);
    const old = this.segments[i];
    if (this.closed || !old || i === this.segments.length - 1) {
      await unlink(cleanedPath).catch(() => {});
      return false;
    }
    old.retired = true; // no more index writes for the old contents
    await old.indexWritesDone();
    if (this.closed || this.segments[i] !== old) {
      await unlink(cleanedPath).catch(() => {});
      return false;
    }
    // Readers of the old segment keep reading the old file: hold it open (the pool cannot close a pinned
    // file) until the swap is done, so nobody reopens the path and finds the cleaned contents under old offsets.
    old.acquire();
    try {
      old.fdSync();
      return await this.swapSegment(i, old, baseOffset, cleanedPath);
    } finally {
      old.release();
    }
  }

  private async swapSegment(i: number, old: Segment, baseOffset: bigint, cleanedPath: string): Promise<boolean> {
    for (const p of [old.indexPath, old.timeIndexPath]) {
      try {
        unlinkSync(p);
      } catch {
        /* absent */
      }
    }
    renameSync(cleanedPath, old.logPath);
    await fsyncDir(this.dir);
    let seg: Segment;
    try {
      seg = await Segment.open(this.dir, baseOffset);
    } catch (e) {
      if (this.closed || this.segments[i] !== old) return false;
      throw e;
    }
    await seg.rebuild(this.cfg.indexIntervalBytes, false);
    seg.finalizeTimeIndex();
    if (this.closed || this.segments[i] !== old) {
      // Retention removed the segment meanwhile (its retire() took the renamed file with it).
      seg.closeSyncNow();
      return false;
    }
    this.segments[i] = seg;
    this._size += seg.size - old.size;
    const li = this.loadedClosed.indexOf(old);
    if (li >= 0) this.loadedClosed.splice(li, 1);
    this.track(seg.writeIndexFiles(), 'index write');
    this.touchLoaded(seg);
    this.track(old.close(), 'close of a cleaned segment');
    return true;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Close and delete

  /** Flush, write the active segment's indexes and the checkpoints, then the clean-shutdown marker. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    try {
      await this.flush();
      const seg = this.active;
      seg.finalizeTimeIndex();
      // Unchanged since they were loaded or written (an idle partition): not written again. An empty active
      // segment has no entry, and its index files are read by no start (loadActive, resumePoint): none written.
      const indexes = !seg.indexFilesCurrent && seg.size > 0;
      if (indexes) await seg.writeIndexFiles();
      await this.drainBackground();
      await this.checkpoint(); // the leader epochs too
      // The producer state at the log end: the next start reads no batch to rebuild it.
      const snapshot = this.lastSnapshot;
      this.snapshotProducers(this._logEndOffset);
      if (!this.markerInDataDir) await writeFileAtomic(join(this.dir, CLEAN_SHUTDOWN_FILE), '');
      else if (indexes || this.lastSnapshot !== snapshot || this.dirDirty) {
        // The renames above durable before the owner writes the data dir's marker (checkpoint files sync it
        // themselves). A partition with nothing new makes no write and no fsync here.
        await fsyncDir(this.dir);
        this.dirDirty = false;
      }
    } finally {
      await this.closeFds();
    }
  }

  private async closeFds(): Promise<void> {
    if (this.fdsClosed) return;
    await Promise.all([...this.indexLoads.values()].map((p) => p.catch(() => {})));
    await Promise.all(this.segments.map((s) => s.close()));
    this.fdsClosed = true;
  }

  /** Stop using the log and close its files without flushing or checkpointing (before moving or deleting it). */
  async detach(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.closing) await this.closing.catch(() => {});
    await this.flushing?.catch(() => {});
    await this.nextFlush?.catch(() => {});
    await this.drainBackground();
    await Promise.all([this.recoveryPointFile.idle(), this.logStartFile.idle(), this.epochFile.idle()]);
    await this.closeFds();
  }

  /** Close the files and remove the partition directory. */
  async delete(): Promise<void> {
    await this.detach();
    await rm(this.dir, { recursive: true, force: true });
  }
}
