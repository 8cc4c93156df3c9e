/**
 * Log compaction (`cleanup.policy=compact` or `compact,delete`): keep the newest record of every key.
 *
 * The cleanable range ends at the first uncleanable offset: the high watermark, or the active segment's base
 * if lower (Kafka's rule). Records at or above the high watermark are not committed — a follower ahead of
 * its HW, or a leader waiting on slow followers, may still truncate them — so they neither supersede older
 * records nor are removed themselves. On a single node the HW is the log end and the bound is the active
 * segment alone.
 *
 * One cleaning pass over a partition log:
 *  1. Read the log from its start to a snapshot of its high watermark (through PartitionLog.read: whole
 *     batches only) and map every key to the offset of its newest record — the active segment included,
 *     since a newer committed record anywhere supersedes an older one.
 *  2. Rewrite each closed segment that starts below the HW and holds superseded records (never the active
 *     segment; batches reaching the HW are copied as they are): batches whose
 *     records all survive are copied byte for byte; batches with some survivors are re-encoded with the
 *     survivors at their original offsets (offset deltas kept, so offsets never change — gaps are normal),
 *     with the batch's compression codec; batches with none are dropped, except the last batch of each
 *     idempotent producer the partition's producer state remembers, which is kept as an empty batch (its header
 *     alone: Kafka's rule), so the state rebuilt from the log after a restart still knows that producer's last
 *     sequence and answers a retry of it as a duplicate. Tombstones (null values) that are
 *     the newest for their key are dropped too once their batch is older than `delete.retention.ms`, giving
 *     consumers that long to see the delete. Records newer than `min.compaction.lag.ms` are never removed,
 *     nor are records without a key. Records of aborted transactions (the aborted-transaction index) are
 *     removed and supersede nothing; the bound is the last stable offset when it is below the HW (an undecided
 *     transaction is never cleaned). A transaction marker (COMMIT/ABORT control batch) stays while a batch of
 *     its transaction is met before it in the pass (kept or dropped by it: Kafka's rule, so the pass that
 *     drops an aborted transaction's records keeps its marker and index entry); in the first pass that meets
 *     none, it is stamped with a delete horizon (now + `delete.retention.ms` as its base timestamp, attribute
 *     bit 6, KIP-534) and an ABORT marker's `.txnindex` entry goes with the segment's swap; a pass past the
 *     horizon removes the marker. A producer's last batch kept emptied (above) is met by every pass, so its
 *     marker stays as long as it does.
 *  3. The cleaned segment is written to `<segment>.log.cleaned`, fsynced, and swapped in by
 *     PartitionLog.replaceSegment (index files removed, then one atomic rename). A crash at any point leaves
 *     either the old or the new segment, both valid; a stale `.cleaned` file is removed by the next pass.
 *
 * The {@link LogCleaner} runs passes in the background (`log.cleaner.backoff.ms`) for the logs it is given.
 */
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Writer } from '../protocol/codec/writer.js';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  type BatchHeader,
  type Compression,
  LOG_OVERHEAD,
  OFF,
  readBatchHeader,
  rewriteCrc,
} from '../protocol/records/batch.js';
import { compress } from '../protocol/records/compression.js';
import { decodeBatch, type KafkaRecord, writeRecord } from '../protocol/records/record.js';
import { type Logger, noopLogger } from './logger.js';
import type { PartitionLog } from './partition-log.js';
import { CONTROL_ABORT, CONTROL_COMMIT, readControlRecord } from './producer-state.js';
import { LOG_SUFFIX, segmentFileName } from './segment.js';
import type { AbortedTxn } from './txn-index.js';

export const CLEANED_SUFFIX = '.cleaned';

/** Bytes read per step while scanning a log. */
const READ_CHUNK = 8 * 1024 * 1024;

export interface CleanStats {
  /** Closed segments rewritten. */
  segmentsCleaned: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Transaction markers removed (their transactions left nothing, delete.retention.ms after that was found). */
  markersRemoved: number;
  /** Tombstones kept because they are younger than delete.retention.ms (a later pass may remove them). */
  tombstonesKept: number;
  /**
   * When a later pass may remove more without new segments (ms since the epoch): the first kept tombstone
   * passes delete.retention.ms, or records kept for min.compaction.lag.ms pass it. Null if never.
   */
  revisitAtMs: number | null;
}

export interface CleanOptions {
  nowMs?: number;
  /** Override the log's delete.retention.ms / min.compaction.lag.ms. */
  deleteRetentionMs?: number;
  minCompactionLagMs?: number;
  /** Test hook: called after the cleaned file of a segment is written, before it is swapped in. */
  beforeSwap?: (baseOffset: bigint, cleanedPath: string) => Promise<void> | void;
}

interface ScannedBatch {
  header: BatchHeader;
  /** The batch's bytes (a view into a read buffer). */
  bytes: Buffer;
}

function keyOf(k: Buffer): string {
  return k.toString('latin1');
}

/**
 * Every whole batch in [from, to), in order, read through the log's public read path; it ends early if a
 * truncation takes the log end below `to` meanwhile.
 */
async function* scan(log: PartitionLog, from: bigint, to: bigint): AsyncGenerator<ScannedBatch> {
  let offset = from;
  while (offset < to && offset < log.logEndOffset) {
    const r = await log.read(offset, READ_CHUNK, to < log.logEndOffset ? to : log.logEndOffset, true);
    const buf = r.records;
    if (!buf || buf.length === 0) return;
    let pos = 0;
    let next = offset;
    while (pos + BATCH_HEADER_SIZE <= buf.length) {
      const h = readBatchHeader(buf, pos);
      if (!h || pos + h.size > buf.length) break;
      const last = h.baseOffset + BigInt(h.lastOffsetDelta);
      if (last >= offset) yield { header: h, bytes: buf.subarray(pos, pos + h.size) };
      next = last + 1n;
      pos += h.size;
    }
    if (next <= offset) return;
    offset = next;
  }
}

/**
 * Re-encode a batch with only `keep` of its records, offsets and header fields unchanged — or, given
 * `deleteHorizonMs`, with that as its base timestamp and the delete-horizon attribute (KIP-534; record timestamps
 * unchanged, their deltas taken from the new base).
 */
async function rebuildBatch(
  original: Buffer,
  h: BatchHeader,
  keep: KafkaRecord[],
  deleteHorizonMs?: bigint,
): Promise<Buffer> {
  const w = new Writer(original.length);
  const logAppend = (h.attributes & ATTR_LOG_APPEND_TIME) !== 0;
  const base = deleteHorizonMs ?? h.baseTimestamp;
  for (const r of keep) {
    const tsDelta = logAppend ? 0n : r.timestamp - base;
    writeRecord(w, { key: r.key, value: r.value, headers: r.headers }, Number(r.offset - h.baseOffset), tsDelta);
  }
  const codec = (h.attributes & ATTR_COMPRESSION_MASK) as Compression;
  const body = await compress(codec, w.finish());
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  original.copy(out, 0, 0, BATCH_HEADER_SIZE);
  body.copy(out, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, OFF.batchLength);
  out.writeInt32BE(keep.length, OFF.recordCount);
  if (deleteHorizonMs !== undefined) {
    out.writeBigInt64BE(deleteHorizonMs, OFF.baseTimestamp);
    out.writeInt16BE(out.readInt16BE(OFF.attributes) | ATTR_DELETE_HORIZON, OFF.attributes);
  }
  rewriteCrc(out, 0, out.length);
  return out;
}

/** Batch attribute bit 6 (KIP-534): the base timestamp is the delete horizon the cleaner stamped. */
export const ATTR_DELETE_HORIZON = 0x40;

/** The delete horizon a cleaner stamped on the batch, or null. */
export function deleteHorizonOf(h: BatchHeader): bigint | null {
  return (h.attributes & ATTR_DELETE_HORIZON) !== 0 ? h.baseTimestamp : null;
}

/**
 * The batch is the last one its idempotent producer wrote that the partition's producer state remembers (Kafka's
 * cleaner keeps it, emptied if need be, so that the state rebuilt from the log still knows the producer).
 */
function isLastBatchOfProducer(log: PartitionLog, h: BatchHeader): boolean {
  if (h.producerId < 0n) return false;
  const e = log.producers.producers.get(h.producerId);
  return e !== undefined && e.lastDataOffset === h.baseOffset + BigInt(h.lastOffsetDelta);
}

/**
 * The header of a batch without its records: offsets, timestamps, producer id, epoch and sequence range kept,
 * record count 0, uncompressed (Kafka writes the same empty batch).
 */
function emptyBatch(original: Buffer): Buffer {
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
  original.copy(out, 0, 0, BATCH_HEADER_SIZE);
  out.writeInt32BE(BATCH_HEADER_SIZE - LOG_OVERHEAD, OFF.batchLength);
  out.writeInt16BE(out.readInt16BE(OFF.attributes) & ~ATTR_COMPRESSION_MASK, OFF.attributes);
  out.writeInt32BE(0, OFF.recordCount);
  rewriteCrc(out, 0, out.length);
  return out;
}

/** Remove `.cleaned` files left by a pass that crashed. */
async function removeStaleCleaned(dir: string): Promise<void> {
  for (const n of await readdir(dir)) {
    if (n.endsWith(CLEANED_SUFFIX)) await unlink(join(dir, n)).catch(() => {});
  }
}

async function writeFileSynced(path: string, chunks: Buffer[]): Promise<number> {
  const fh = await open(path, 'w');
  let size = 0;
  try {
    for (const c of chunks) {
      await fh.write(c);
      size += c.length;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  return size;
}

/** One compaction pass over `log` (see the file comment). */
export async function cleanLog(log: PartitionLog, opts: CleanOptions = {}): Promise<CleanStats> {
  const stats: CleanStats = {
    segmentsCleaned: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    markersRemoved: 0,
    tombstonesKept: 0,
    revisitAtMs: null,
  };
  await removeStaleCleaned(log.dir);
  const bases = log.segmentBaseOffsets;
  if (bases.length < 2) return stats;
  const now = opts.nowMs ?? Date.now();
  const deleteRetention = opts.deleteRetentionMs ?? log.config.deleteRetentionMs;
  const lag = opts.minCompactionLagMs ?? log.config.minCompactionLagMs;
  // The first uncleanable offset within closed segments: nothing at or above the HW is read or removed, nor at
  // or above the last stable offset (an undecided transaction's records may still be aborted; KIP-98).
  const hw = log.lastStableOffset;
  // Records of aborted transactions are removed, and supersede nothing (KIP-98); their markers stay.
  const aborted = log.abortedTxns.all();
  const isAborted = (h: BatchHeader): boolean => {
    if ((h.attributes & ATTR_TRANSACTIONAL) === 0 || aborted.length === 0) return false;
    for (const t of aborted) {
      if (t.producerId === h.producerId && t.firstOffset <= h.baseOffset && h.baseOffset < t.lastOffset) return true;
    }
    return false;
  };
  const start = log.logStartOffset;
  // A truncation during the pass (a follower diverged) ends it: what it computed may be stale.
  const truncations = log.truncationCount;
  const revisitAt = (ms: number): void => {
    if (stats.revisitAtMs === null || ms < stats.revisitAtMs) stats.revisitAtMs = ms;
  };

  // 1. Newest offset of every key.
  const newest = new Map<string, bigint>();
  for await (const b of scan(log, start, hw)) {
    if ((b.header.attributes & ATTR_CONTROL) !== 0 || isAborted(b.header)) continue;
    const { records } = await decodeBatch(b.bytes);
    for (const r of records) if (r.key !== null && r.offset < hw) newest.set(keyOf(r.key), r.offset);
  }

  // Transactions met so far in this pass, for the markers (Kafka's rule, KIP-98/KIP-534): a marker stays while
  // a batch of its transaction is met before it in the cleaned range (an ABORT marker keeps its index entry
  // then); once none is, the marker is stamped with a delete horizon (now + delete.retention.ms; an ABORT
  // marker's index entry goes), and a pass after that horizon removes it.
  const pending = aborted
    .filter((t) => t.lastOffset >= start && t.firstOffset < hw)
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  let nextPending = 0;
  /** Aborted transactions begun (by offset) and not yet closed by their marker in this pass, by producer id. */
  const openAborted = new Map<bigint, { seen: boolean; allDropped: boolean }>();
  /** Producers with a batch of a (to be) committed transaction met in this pass: whether all were dropped. */
  const openCommitted = new Map<bigint, boolean>();
  const onDataBatch = (h: BatchHeader, kept: boolean): void => {
    if ((h.attributes & ATTR_TRANSACTIONAL) === 0) return;
    const a = openAborted.get(h.producerId);
    if (a) {
      a.seen = true;
      if (kept) a.allDropped = false;
    } else openCommitted.set(h.producerId, (openCommitted.get(h.producerId) ?? true) && !kept);
  };
  /** Whether nothing of the marker's transaction was met before it (Kafka's "empty transaction" marker). */
  const onMarker = (h: BatchHeader, commit: boolean): { empty: boolean; allDropped: boolean } => {
    if (commit) {
      const dropped = openCommitted.get(h.producerId);
      openCommitted.delete(h.producerId);
      return { empty: dropped === undefined, allDropped: dropped === true };
    }
    const a = openAborted.get(h.producerId);
    openAborted.delete(h.producerId);
    return { empty: a === undefined || !a.seen, allDropped: a?.allDropped ?? false };
  };

  // 2-3. Rewrite the closed segments that hold something to remove.
  for (let i = 0; i < bases.length - 1; i++) {
    const base = bases[i] as bigint;
    const next = bases[i + 1] as bigint;
    if (next <= start) continue;
    if (base >= hw || log.truncationCount !== truncations) break;
    const out: Buffer[] = [];
    let before = 0;
    let removed = 0;
    let changed = false;
    let tombstonesRemoved = 0;
    let tombstonesKept = 0;
    let markersRemoved = 0;
    /** ABORT markers of this segment whose index entries go. */
    const entriesGone = new Set<bigint>();
    const from = base > start ? base : start;
    for await (const b of scan(log, from, next)) {
      const h = b.header;
      if (h.baseOffset >= next) break;
      before += b.bytes.length;
      const last = h.baseOffset + BigInt(h.lastOffsetDelta);
      while (nextPending < pending.length && (pending[nextPending] as AbortedTxn).firstOffset <= last) {
        const t = pending[nextPending++] as AbortedTxn;
        openAborted.set(t.producerId, { seen: false, allDropped: true });
      }
      if ((h.attributes & ATTR_CONTROL) !== 0) {
        const ctl = h.recordCount > 0 ? readControlRecord(b.bytes, 0) : null;
        if (ctl === null || (ctl.type !== CONTROL_COMMIT && ctl.type !== CONTROL_ABORT) || last >= hw) {
          out.push(b.bytes);
          continue;
        }
        const { empty, allDropped } = onMarker(h, ctl.type === CONTROL_COMMIT);
        if (!empty) {
          // Its transaction's batches were met: a later pass looks again if this one dropped them all.
          if (allDropped) revisitAt(now);
          out.push(b.bytes);
          continue;
        }
        if (ctl.type === CONTROL_ABORT && log.abortedTxns.has(h.producerId, h.baseOffset))
          entriesGone.add(h.baseOffset);
        const horizon = deleteHorizonOf(h);
        if (horizon !== null && Number(horizon) <= now) {
          removed++;
          markersRemoved++;
          continue;
        }
        if (horizon === null) {
          const { records } = await decodeBatch(b.bytes);
          const stamped = BigInt(now) + BigInt(deleteRetention);
          out.push(await rebuildBatch(b.bytes, h, records, stamped));
          changed = true;
          revisitAt(Number(stamped));
        } else {
          out.push(b.bytes);
          revisitAt(Number(horizon));
        }
        continue;
      }
      // Batches reaching the HW, and batches younger than min.compaction.lag.ms, are kept as they are.
      if (last >= hw) {
        onDataBatch(h, true);
        out.push(b.bytes);
        continue;
      }
      if (now - Number(h.maxTimestamp) < lag) {
        revisitAt(Number(h.maxTimestamp) + lag);
        onDataBatch(h, true);
        out.push(b.bytes);
        continue;
      }
      if (isAborted(h)) {
        // An aborted transaction's records go; its producer's last batch stays, emptied (h16's rule).
        removed += h.lastOffsetDelta + 1;
        const keepEmpty = isLastBatchOfProducer(log, h);
        onDataBatch(h, keepEmpty);
        if (keepEmpty) out.push(b.bytes.length === BATCH_HEADER_SIZE ? b.bytes : emptyBatch(b.bytes));
        continue;
      }
      const { records } = await decodeBatch(b.bytes);
      const tombstoneExpired = now - Number(h.maxTimestamp) > deleteRetention;
      const keep: KafkaRecord[] = [];
      for (const r of records) {
        if (r.key === null) {
          keep.push(r);
          continue;
        }
        if (newest.get(keyOf(r.key)) !== r.offset) continue;
        if (r.value === null) {
          if (tombstoneExpired) {
            tombstonesRemoved++;
            continue;
          }
          tombstonesKept++;
          revisitAt(Number(h.maxTimestamp) + deleteRetention + 1);
        }
        keep.push(r);
      }
      removed += records.length - keep.length;
      if (keep.length > 0) {
        onDataBatch(h, true);
        out.push(keep.length === records.length ? b.bytes : await rebuildBatch(b.bytes, h, keep));
      } else if (isLastBatchOfProducer(log, h)) {
        onDataBatch(h, true);
        out.push(b.bytes.length === BATCH_HEADER_SIZE ? b.bytes : emptyBatch(b.bytes));
      } else onDataBatch(h, false);
    }
    stats.tombstonesKept += tombstonesKept;
    if (removed === 0 && !changed) continue;
    const cleanedPath = join(log.dir, segmentFileName(base, LOG_SUFFIX) + CLEANED_SUFFIX);
    const after = await writeFileSynced(cleanedPath, out);
    await opts.beforeSwap?.(base, cleanedPath);
    if (!(await log.replaceSegment(base, cleanedPath, truncations))) continue;
    // The segment's aborted-transaction index follows: entries of transactions nothing of which is left go.
    if (log.truncationCount === truncations) log.abortedTxns.removeCleaned(base, entriesGone);
    stats.segmentsCleaned++;
    stats.bytesBefore += before;
    stats.bytesAfter += after;
    stats.recordsRemoved += removed - markersRemoved;
    stats.markersRemoved += markersRemoved;
    stats.tombstonesRemoved += tombstonesRemoved;
  }
  return stats;
}

export interface LogCleanerOptions {
  /** log.cleaner.backoff.ms: pause between passes. */
  backoffMs: number;
}

/**
 * Runs compaction passes in the background over the logs `logs()` returns (those whose cleanup.policy
 * includes compact). A log is cleaned again only when a segment was closed (or removed) since its last pass,
 * a tombstone kept by that pass may now be removed, or the high watermark moved while it lay below the
 * active segment: appends to the active segment alone never trigger a pass, so a busy compacted topic (like
 * `__consumer_offsets`) is not re-read every backoff.
 */
export class LogCleaner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Segments at the last pass and when that pass said a later one could remove more. */
  private readonly seen = new WeakMap<
    PartitionLog,
    { segments: bigint[]; revisitAtMs: number | null; highWatermark: bigint }
  >();
  passes = 0;

  constructor(
    private readonly logs: () => Iterable<PartitionLog>,
    private readonly opts: LogCleanerOptions,
    private readonly logger: Logger = noopLogger,
  ) {}

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        this.running = this.runOnce()
          .then(() => {})
          .catch((e: unknown) => this.logger.error(`log cleaner pass failed: ${(e as Error).message}`))
          .finally(() => {
            this.running = null;
            if (!this.stopped) tick();
          });
      }, this.opts.backoffMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over every compacted log that changed since its last pass. */
  async runOnce(nowMs?: number): Promise<Map<string, CleanStats>> {
    const out = new Map<string, CleanStats>();
    for (const log of this.logs()) {
      if (this.stopped) break;
      if (log.isClosed || !log.config.cleanupPolicy.includes('compact')) continue;
      const now = nowMs ?? Date.now();
      const last = this.seen.get(log);
      const bases = log.segmentBaseOffsets;
      if (
        last &&
        last.segments.length === bases.length &&
        last.segments.every((b, i) => b === bases[i]) &&
        (last.revisitAtMs === null || now < last.revisitAtMs) &&
        // A pass bounded by the HW below the active segment left closed segments dirty: redo once it moved.
        (last.highWatermark >= (bases.at(-1) as bigint) || log.highWatermark === last.highWatermark)
      ) {
        continue;
      }
      try {
        const highWatermark = log.highWatermark;
        const s = await cleanLog(log, { nowMs: now });
        this.seen.set(log, { segments: log.segmentBaseOffsets, revisitAtMs: s.revisitAtMs, highWatermark });
        out.set(log.name, s);
        if (s.segmentsCleaned > 0) {
          this.logger.info(`Cleaned ${log.name}`, {
            partition: log.name,
            segments: s.segmentsCleaned,
            bytesBefore: s.bytesBefore,
            bytesAfter: s.bytesAfter,
            recordsRemoved: s.recordsRemoved,
            tombstonesRemoved: s.tombstonesRemoved,
          });
        }
      } catch (e) {
        if (log.isClosed) continue;
        this.logger.error(`Cleaning ${log.name} failed: ${(e as Error).message}`, { partition: log.name });
      }
    }
    this.passes++;
    return out;
  }
}
