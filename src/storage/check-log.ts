/**
 * `kstream debug check-log DIR`: check partition logs offline, as Kafka's DumpLogSegments shows them, and
 * optionally cut a damaged partition back to what is intact.
 *
 * DIR is a partition directory (`<topic>-<partition>`, holding `<20 digits>.log` segments) or a broker's data
 * dir (every partition directory in it). Each segment is read whole: every batch's length, magic, CRC32C and
 * offsets (scanBatches), the offsets between segments (a gap is offsets missing — a segment deleted or cut
 * short — unless the partition is compacted, where gaps are normal), its `.index` (each entry at a batch
 * start with that batch's offset) and `.timeindex`, and the checkpoints against the log end. Every problem is
 * reported with its file and byte position.
 *
 * With `truncate`, a partition is cut at its first damage: the segments after it are moved into
 * `<partition dir>/damaged-<time>/` (kept, never deleted: nothing is lost that an expert could still
 * recover), the damaged segment is copied there whole and then cut to its intact batches, its indexes are
 * rebuilt, and the checkpoints are brought down to the new log end (the clean-shutdown marker is removed so
 * the broker re-checks the new last segment when it starts). Later segments go first, newest first, so a
 * crash at any step leaves a shorter log that is intact, and running again finishes the work. Index files
 * that disagree with an intact segment are rebuilt.
 *
 * A data dir in use by a running broker is refused: the broker is writing these files.
 */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, stat, truncate, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fsyncDir, LeaderEpochCache, parseOffsetCheckpoint, readFileIfExists, writeFileAtomic } from './checkpoint.js';
import { DEFAULT_LOG_CONFIG } from './config.js';
import { DataDirBusyError, DataDirLock } from './data-dir-lock.js';
import { OFFSET_ENTRY_SIZE, TimeIndex } from './indexes.js';
import { CLEAN_SHUTDOWN_FILE, LEADER_EPOCH_FILE, LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE } from './partition-log.js';
import {
  INDEX_SUFFIX,
  LOG_SUFFIX,
  type ProblemKind,
  parseSegmentFileName,
  Segment,
  segmentFileName,
  TIME_INDEX_SUFFIX,
} from './segment.js';

/** What check-log reports: the scanner's kinds, plus offsets missing between segments, indexes, checkpoints. */
export type LogProblemKind = ProblemKind | 'gap' | 'index' | 'checkpoint';

export interface LogProblem {
  /** The file the problem is in (a segment, index or checkpoint file name). */
  file: string;
  /** Byte position in the file, or null when it is about the file as a whole. */
  position: number | null;
  /** The first offset affected, or null. */
  offset: bigint | null;
  kind: LogProblemKind;
  message: string;
}

export interface CheckedSegment {
  file: string;
  baseOffset: bigint;
  /** First and last offset of its intact batches (null when it has none). */
  firstOffset: bigint | null;
  lastOffset: bigint | null;
  batches: number;
  bytes: number;
  /** Byte position of its first damaged batch, or null. */
  damagedAt: number | null;
}

export interface Repair {
  /** The partition's log end offset after the cut. */
  logEndOffset: bigint;
  /** The segment cut and the byte it was cut at (null when only whole segments were set aside). */
  cut: { file: string; position: number } | null;
  /** Where the set-aside files are (null when nothing was set aside). */
  setAside: string | null;
  /** Files moved or copied there. */
  files: string[];
  /** Segments whose index files were rebuilt. */
  indexesRebuilt: string[];
  /** Checkpoint files rewritten. */
  checkpoints: string[];
}

export interface PartitionReport {
  /** The partition directory's name. */
  partition: string;
  dir: string;
  /** ok: no problem; damaged: problems (left); repaired: problems found and none left after --truncate. */
  status: 'ok' | 'damaged' | 'repaired';
  logStartOffset: bigint;
  /** The offset after the last intact batch before the first damage. */
  logEndOffset: bigint;
  /** Gaps between segments are normal here (compaction evidence, or a compacted topic). */
  compacted: boolean;
  segments: CheckedSegment[];
  problems: LogProblem[];
  repair: Repair | null;
  /** Problems still there after the repair (only with --truncate). */
  remaining: LogProblem[] | null;
}

export interface CheckLogReport {
  dir: string;
  kind: 'partition' | 'data-dir';
  partitions: PartitionReport[];
  /** No problem left in any partition. */
  clean: boolean;
}

/** A reason not to check (bad DIR: usage; a running broker). */
export class CheckLogError extends Error {
  constructor(
    message: string,
    readonly usage: boolean,
  ) {
    super(message);
    this.name = 'CheckLogError';
  }
}

export interface CheckLogOptions {
  truncate?: boolean;
  /** Time for the name of the set-aside directory (default now). */
  now?: Date;
}

/** Topics whose logs are always compacted. */
const COMPACTED_INTERNAL = new Set(['__consumer_offsets', '__transaction_state']);
/** Where --truncate puts what it sets aside, inside the partition directory. */
const SET_ASIDE_PREFIX = 'damaged-';

export async function checkLog(dirArg: string, opts: CheckLogOptions = {}): Promise<CheckLogReport> {
  const dir = resolve(dirArg);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new CheckLogError(`${dirArg}: no such directory`, true);
  }
  if (!st.isDirectory()) throw new CheckLogError(`${dirArg}: not a directory`, true);
  const names = await readdir(dir);
  let kind: CheckLogReport['kind'];
  let partitionDirs: string[];
  let dataDir: string;
  if (looksLikePartition(names)) {
    kind = 'partition';
    partitionDirs = [dir];
    dataDir = dirname(dir);
  } else {
    kind = 'data-dir';
    dataDir = dir;
    partitionDirs = [];
    for (const n of names.sort()) {
      if (n.startsWith('.')) continue;
      const p = join(dir, n);
      if (!statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue;
      if (looksLikePartition(await readdir(p))) partitionDirs.push(p);
    }
    if (partitionDirs.length === 0) {
      throw new CheckLogError(
        `${dirArg} holds no partition logs (a partition directory holds <20 digits>.log segments; a data dir holds partition directories)`,
        true,
      );
    }
  }
  // Held for the whole check (and repair): a broker cannot start on the dir meanwhile, nor run while we read.
  let lock: DataDirLock;
  try {
    lock = await DataDirLock.acquire(dataDir);
  } catch (e) {
    if (e instanceof DataDirBusyError) {
      throw new CheckLogError(
        `data dir ${dataDir} is in use by a running broker (pid ${e.pid ?? 'unknown'}); stop it first: check-log reads the files it writes`,
        false,
      );
    }
    throw new CheckLogError((e as Error).message, false);
  }
  const partitions: PartitionReport[] = [];
  try {
    const compactedTopics = compactedTopicsOf(dataDir);
    for (const p of partitionDirs) {
      const compacted = compactedTopics.has(topicOf(basename(p)));
      let found = await checkPartition(p, compacted);
      const report = found.report;
      if (opts.truncate && report.problems.length > 0) {
        report.repair = await repairPartition(p, found, opts.now ?? new Date());
        found = await checkPartition(p, compacted);
        report.remaining = found.report.problems;
        report.status = found.report.problems.length === 0 ? 'repaired' : 'damaged';
      }
      partitions.push(report);
    }
  } finally {
    lock.release();
  }
  return { dir, kind, partitions, clean: partitions.every((p) => p.status !== 'damaged') };
}

function looksLikePartition(names: string[]): boolean {
  return names.some((n) => parseSegmentFileName(n, LOG_SUFFIX) !== null);
}

/** `<topic>-<partition>` → topic. */
function topicOf(partitionDir: string): string {
  const i = partitionDir.lastIndexOf('-');
  return i > 0 ? partitionDir.slice(0, i) : partitionDir;
}

/** Topics known to be compacted: the internal ones, and those the single-node metadata file says are. */
function compactedTopicsOf(dataDir: string): Set<string> {
  const out = new Set(COMPACTED_INTERNAL);
  try {
    const store = JSON.parse(readFileSync(join(dataDir, '.metadata', 'store.json'), 'utf8')) as Record<string, unknown>;
    for (const [key, value] of Object.entries(store)) {
      if (!key.startsWith('topics/')) continue;
      const policy = (value as { configs?: Record<string, string> } | null)?.configs?.['cleanup.policy'];
      if (policy?.includes('compact')) out.add(key.slice('topics/'.length));
    }
  } catch {
    // No such file (a cluster node keeps topics in etcd), or unreadable: compaction is told by the batches.
  }
  return out;
}

interface Damage {
  /** Index of the segment in `bases`. */
  segment: number;
  position: number;
  offset: bigint;
}

interface PartitionFindings {
  report: PartitionReport;
  bases: bigint[];
  sizes: number[];
  /** The first damage of the data, if any (the cut point). */
  damage: Damage | null;
  /** Segments whose index files disagree with their (intact) batches. */
  badIndexes: Set<number>;
}

async function readCheckpoint(dir: string, name: string): Promise<bigint | null> {
  const b = await readFileIfExists(join(dir, name));
  return b === null ? null : parseOffsetCheckpoint(b.toString('utf8'));
}

async function checkPartition(dir: string, compactedTopic: boolean): Promise<PartitionFindings> {
  const names = await readdir(dir);
  const bases = names
    .map((n) => parseSegmentFileName(n, LOG_SUFFIX))
    .filter((b): b is bigint => b !== null)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const problems: LogProblem[] = [];
  const segments: CheckedSegment[] = [];
  const sizes: number[] = [];
  const badIndexes = new Set<number>();
  let damage: Damage | null = null;
  let compacted = compactedTopic;
  /** Offset after the last intact batch so far, and whether everything up to it was intact. */
  let next: bigint | null = null;
  const gaps: { after: number; from: bigint; to: bigint; problem: LogProblem }[] = [];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const file = segmentFileName(base, LOG_SUFFIX);
    if (next !== null && damage === null && next < base) {
      const prev = segments[i - 1]!;
      gaps.push({
        after: i - 1,
        from: next,
        to: base - 1n,
        problem: {
          file: prev.file,
          position: prev.bytes,
          offset: next,
          kind: 'gap',
          message: `offsets ${next} to ${base - 1n} are missing: the next segment, ${file}, starts at ${base}`,
        },
      });
    }
    const seg = await Segment.open(dir, base);
    sizes.push(seg.size);
    const index = await readIndex(seg.indexPath);
    const indexCheck = new IndexCheck(index, base);
    let first: bigint | null = null;
    let last: bigint | null = null;
    let batches = 0;
    let r: Awaited<ReturnType<Segment['scan']>>;
    try {
      r = await seg.scan({
        expectedFirstOffset: next !== null && next > base ? next : base,
        validateCrc: true,
        continueAfterProblems: true,
        onBatch: (info) => {
          first ??= info.baseOffset;
          last = info.lastOffset;
          batches++;
          indexCheck.batch(info.position, info.baseOffset);
        },
      });
    } finally {
      seg.closeSyncNow();
    }
    for (const p of r.problems) {
      problems.push({ file, position: p.position, offset: p.offset, kind: p.kind, message: p.message });
    }
    if (r.compacted) compacted = true;
    const firstProblem = r.problems[0];
    if (firstProblem && damage === null)
      damage = { segment: i, position: firstProblem.position, offset: firstProblem.offset };
    // Indexes of a damaged segment (and those after it) are rebuilt by the cut anyway: check the others.
    if (damage === null && !firstProblem) {
      const indexProblem = indexCheck.finish(r.validBytes) ?? (await checkTimeIndex(seg.timeIndexPath, base, last));
      if (indexProblem) {
        problems.push({ ...indexProblem, file: basename(indexProblem.file) });
        badIndexes.add(i);
      }
    }
    if (firstProblem && damage === null)
      damage = { segment: i, position: firstProblem.position, offset: firstProblem.offset };
    segments.push({
      file,
      baseOffset: base,
      firstOffset: first,
      lastOffset: last,
      batches,
      bytes: seg.size,
      damagedAt: firstProblem ? firstProblem.position : null,
    });
    if (damage === null) next = last !== null ? (last as bigint) + 1n : (next ?? base);
  }
  // Gaps count once the whole partition showed whether it was compacted.
  if (!compacted) {
    for (const g of gaps) {
      problems.push(g.problem);
      if (damage === null || g.after < damage.segment) {
        damage = { segment: g.after, position: sizes[g.after]!, offset: g.from };
      }
    }
  }
  const logEnd = damage !== null ? damage.offset : (next ?? bases[0] ?? 0n);
  const lso = await readCheckpoint(dir, LOG_START_OFFSET_FILE);
  const rp = await readCheckpoint(dir, RECOVERY_POINT_FILE);
  const firstBase = bases[0] ?? 0n;
  const logStart = lso !== null && lso > firstBase ? lso : firstBase;
  if (damage === null) {
    if (lso !== null && lso > logEnd) {
      problems.push({
        file: LOG_START_OFFSET_FILE,
        position: null,
        offset: lso,
        kind: 'checkpoint',
        message: `log start offset ${lso} is past the log end ${logEnd}`,
      });
    }
    if (rp !== null && rp > logEnd) {
      problems.push({
        file: RECOVERY_POINT_FILE,
        position: null,
        offset: rp,
        kind: 'checkpoint',
        message: `recovery point ${rp} is past the log end ${logEnd}`,
      });
    }
  }
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.position ?? 0) - (b.position ?? 0)));
  return {
    report: {
      partition: basename(dir),
      dir,
      status: problems.length === 0 ? 'ok' : 'damaged',
      logStartOffset: logStart,
      logEndOffset: logEnd,
      compacted,
      segments,
      problems,
      repair: null,
      remaining: null,
    },
    bases,
    sizes,
    damage,
    badIndexes,
  };
}

/** The raw entries of an `.index` file (not validated), or null when there is no file. */
async function readIndex(path: string): Promise<{ rel: number[]; pos: number[]; path: string; bytes: number } | null> {
  const b = await readFileIfExists(path);
  if (b === null) return null;
  const rel: number[] = [];
  const pos: number[] = [];
  for (let o = 0; o + OFFSET_ENTRY_SIZE <= b.length; o += OFFSET_ENTRY_SIZE) {
    rel.push(b.readInt32BE(o));
    pos.push(b.readInt32BE(o + 4));
  }
  return { rel, pos, path, bytes: b.length };
}

/** Checks an offset index against the batches of its segment as they are walked (positions ascending). */
class IndexCheck {
  private k = 0;
  private problem: Omit<LogProblem, 'kind'> | null = null;

  constructor(
    private readonly index: { rel: number[]; pos: number[]; path: string; bytes: number } | null,
    private readonly base: bigint,
  ) {
    if (index && index.bytes % OFFSET_ENTRY_SIZE !== 0) {
      this.fail(null, `index file of ${index.bytes} bytes is not whole ${OFFSET_ENTRY_SIZE}-byte entries`);
    }
    for (let i = 1; index && i < index.rel.length; i++) {
      if (index.rel[i]! <= index.rel[i - 1]! || index.pos[i]! <= index.pos[i - 1]!) {
        this.fail(i * OFFSET_ENTRY_SIZE, `index entry ${i} does not increase (offset and position must)`);
        break;
      }
    }
  }

  private fail(position: number | null, message: string): void {
    this.problem ??= { file: this.index!.path, position, offset: null, message };
  }

  batch(position: number, baseOffset: bigint): void {
    const idx = this.index;
    if (!idx || this.problem) return;
    while (this.k < idx.pos.length && idx.pos[this.k]! <= position) {
      const k = this.k++;
      const want = Number(baseOffset - this.base);
      if (idx.pos[k] !== position) {
        this.fail(k * OFFSET_ENTRY_SIZE, `index entry ${k} points at byte ${idx.pos[k]}, not at the start of a batch`);
      } else if (idx.rel[k] !== want) {
        this.fail(
          k * OFFSET_ENTRY_SIZE,
          `index entry ${k} says offset ${this.base + BigInt(idx.rel[k]!)} for the batch at byte ${position}, which starts at ${baseOffset}`,
        );
      }
      if (this.problem) return;
    }
  }

  /** The problem found, also entries past the intact bytes; null when the index agrees with the segment. */
  finish(validBytes: number): (Omit<LogProblem, 'kind'> & { kind: 'index' }) | null {
    const idx = this.index;
    if (idx && !this.problem && this.k < idx.pos.length) {
      const k = this.k;
      this.fail(
        k * OFFSET_ENTRY_SIZE,
        `index entry ${k} points at byte ${idx.pos[k]}, past the intact batches (${validBytes} bytes)`,
      );
    }
    return this.problem ? { ...this.problem, kind: 'index' } : null;
  }
}

/** A time index that does not parse, or points past the segment's last offset. */
async function checkTimeIndex(path: string, base: bigint, last: bigint | null): Promise<LogProblem | null> {
  const b = await readFileIfExists(path);
  if (b === null) return null;
  const idx = TimeIndex.fromBuffer(b);
  const problem = (message: string): LogProblem => ({
    file: path,
    position: null,
    offset: null,
    kind: 'index',
    message,
  });
  if (!idx) return problem('time index entries are not whole, or their timestamps or offsets go backwards');
  if (idx.count > 0 && (last === null || base + BigInt(idx.lastRel()) > last)) {
    return problem(
      `time index points at offset ${base + BigInt(idx.lastRel())}, past the segment's last offset ${last ?? '-'}`,
    );
  }
  return null;
}

/** Move a file into `to` (same name), if it exists; returns whether it did. */
async function moveIfExists(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, join(to, basename(from)));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Remove a file; whether it was there. */
async function removeIfExists(path: string): Promise<boolean> {
  return unlink(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      return false;
    },
  );
}

async function setAsideDir(dir: string, now: Date): Promise<string> {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  for (let n = 1; ; n++) {
    const p = join(dir, `${SET_ASIDE_PREFIX}${stamp}${n === 1 ? '' : `-${n}`}`);
    if (!existsSync(p)) {
      await mkdir(p);
      return p;
    }
  }
}

/** Rebuild a segment's index files from its batches (what the broker would rebuild on first use). */
async function rebuildIndexes(dir: string, base: bigint): Promise<void> {
  await removeIfExists(join(dir, segmentFileName(base, INDEX_SUFFIX)));
  await removeIfExists(join(dir, segmentFileName(base, TIME_INDEX_SUFFIX)));
  const seg = await Segment.open(dir, base);
  try {
    await seg.rebuild(DEFAULT_LOG_CONFIG.indexIntervalBytes, false);
    seg.finalizeTimeIndex();
    await seg.writeIndexFiles();
  } finally {
    seg.closeSyncNow();
  }
}

async function repairPartition(dir: string, f: PartitionFindings, now: Date): Promise<Repair> {
  const repair: Repair = {
    logEndOffset: f.report.logEndOffset,
    cut: null,
    setAside: null,
    files: [],
    indexesRebuilt: [],
    checkpoints: [],
  };
  const d = f.damage;
  if (d !== null) {
    const aside = await setAsideDir(dir, now);
    repair.setAside = aside;
    const suffixes = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX];
    // Newest first: after each step the partition is a shorter, intact log.
    for (let i = f.bases.length - 1; i > d.segment; i--) {
      for (const s of suffixes) {
        const name = segmentFileName(f.bases[i]!, s);
        if (await moveIfExists(join(dir, name), aside)) repair.files.push(name);
      }
    }
    const base = f.bases[d.segment]!;
    const logName = segmentFileName(base, LOG_SUFFIX);
    const logPath = join(dir, logName);
    if (d.position === 0 && d.segment > 0) {
      // Nothing intact in it: set it aside whole.
      for (const s of suffixes) {
        const name = segmentFileName(base, s);
        if (await moveIfExists(join(dir, name), aside)) repair.files.push(name);
      }
    } else if (d.position < (await stat(logPath)).size) {
      // A copy of the whole file first, then the cut (one syscall): a crash in between loses nothing.
      await copyFile(logPath, join(aside, logName));
      repair.files.push(logName);
      await fsyncDir(aside);
      await truncate(logPath, d.position);
      repair.cut = { file: logName, position: d.position };
      await rebuildIndexes(dir, base);
      repair.indexesRebuilt.push(logName);
    }
    await fsyncDir(aside);
  }
  for (const i of f.badIndexes) {
    if (d !== null && i >= d.segment) continue;
    await rebuildIndexes(dir, f.bases[i]!);
    repair.indexesRebuilt.push(segmentFileName(f.bases[i]!, LOG_SUFFIX));
  }
  const end = f.report.logEndOffset;
  for (const name of [RECOVERY_POINT_FILE, LOG_START_OFFSET_FILE]) {
    const v = await readCheckpoint(dir, name);
    if (v !== null && v > end) {
      await writeFileAtomic(join(dir, name), `${end}\n`, false);
      repair.checkpoints.push(name);
    }
  }
  const epochText = await readFileIfExists(join(dir, LEADER_EPOCH_FILE));
  const epochs = epochText ? LeaderEpochCache.parse(epochText.toString('utf8')) : null;
  if (epochs?.truncateFromEnd(end, true)) {
    await writeFileAtomic(join(dir, LEADER_EPOCH_FILE), epochs.serialize(), false);
    repair.checkpoints.push(LEADER_EPOCH_FILE);
  }
  if (d !== null) {
    // The broker then re-checks the new last segment (CRC included) when it starts: no clean-shutdown marker,
    // neither the partition's (older versions) nor the data dir's (every partition then recovers from its
    // recovery point, which after a clean stop is its log end).
    await removeIfExists(join(dir, CLEAN_SHUTDOWN_FILE));
    if (await removeIfExists(join(dirname(dir), CLEAN_SHUTDOWN_FILE))) await fsyncDir(dirname(dir));
  }
  await fsyncDir(dir);
  return repair;
}
