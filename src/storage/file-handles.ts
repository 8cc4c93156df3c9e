/**
 * A bound on the segment files held open by the whole process, across every partition log: segments open
 * their `.log` file on use and the least recently used idle one is closed when the bound is passed, so a
 * node with 100,000 mostly idle partitions holds a few thousand descriptors, not one per partition (Kafka
 * asks operators to raise `ulimit -n` past its partition count instead).
 *
 * The bound is `log.max.open.files` (a broker property; kstream's own: Kafka has none) or, by default, half
 * of the process's soft RLIMIT_NOFILE as /proc/self/limits reports it, leaving the other half for client
 * connections, index and checkpoint files. A file in use (pinned: a read, an fsync in flight) is never
 * closed under its user; when every open file is pinned the bound is passed for a moment rather than
 * failing the request.
 *
 * Hot path: using an open file costs one Map delete + set (skipped when it is already the newest entry).
 */
import { readFileSync } from 'node:fs';

/** What the pool can close: a segment's open `.log` file. */
export interface PooledFile {
  /** True while the file is in use (must not be closed). */
  readonly pinned: boolean;
  /** Close the descriptor now (the pool has already forgotten it). */
  evict(): void;
}

/** The smallest bound accepted: a handful of partitions must be able to work at once. */
export const MIN_OPEN_FILES = 16;
/** The bound when the process has no limit (RLIMIT_NOFILE unlimited). */
const UNLIMITED_BOUND = 1 << 20;

/** The soft limit on open files of this process, from /proc/self/limits; null when unknown. */
export function softFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return null;
  if (m[1] === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(m[1]);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The default bound: half the soft file limit (at least MIN_OPEN_FILES); 4096 when the limit is unknown. */
export function defaultMaxOpenFiles(limit: number | null = softFileLimit()): number {
  if (limit === null) return 4096;
  if (!Number.isFinite(limit)) return UNLIMITED_BOUND;
  return Math.max(MIN_OPEN_FILES, Math.floor(limit / 2));
}

class FileHandlePool {
  /** Open files, least recently used first (a Map keeps insertion order). */
  private readonly lru = new Map<PooledFile, true>();
  private newest: PooledFile | null = null;
  private bound = -1;
  /** Files closed to stay within the bound (since start). */
  evictions = 0;

  get maxOpen(): number {
    if (this.bound < 0) this.bound = defaultMaxOpenFiles();
    return this.bound;
  }

  set maxOpen(n: number) {
    this.bound = Math.max(MIN_OPEN_FILES, Math.floor(n));
    this.trim(null);
  }

  get openCount(): number {
    return this.lru.size;
  }

  /** A file was just opened: remember it and close the least recently used idle ones past the bound. */
  opened(f: PooledFile): void {
    this.lru.set(f, true);
    this.newest = f;
    if (this.lru.size > this.maxOpen) this.trim(f);
  }

  /** A file was used: make it the most recently used. */
  touch(f: PooledFile): void {
    if (this.newest === f) return;
    this.lru.delete(f);
    this.lru.set(f, true);
    this.newest = f;
  }

  /** A file is no longer in use: if pinned files pushed the pool past its bound, close idle ones now. */
  unpinned(): void {
    if (this.lru.size > this.maxOpen) this.trim(null);
  }

  /** A file was closed by its owner. */
  closed(f: PooledFile): void {
    this.lru.delete(f);
    if (this.newest === f) this.newest = null;
  }

  private trim(keep: PooledFile | null): void {
    const max = this.maxOpen;
    for (const f of this.lru.keys()) {
      if (this.lru.size <= max) return;
      if (f === keep || f.pinned) continue;
      this.lru.delete(f);
      if (this.newest === f) this.newest = null;
      this.evictions++;
      f.evict();
    }
  }
}

/** The process-wide pool of open segment files. */
export const openFiles = new FileHandlePool();

/**
 * Apply the broker property `log.max.open.files` (undefined: the default from the file limit). Throws on a
 * value that is not an integer >= MIN_OPEN_FILES, in Kafka's wording for a bad config value.
 */
export function configureMaxOpenFiles(raw: string | undefined): void {
  if (raw === undefined || raw.trim() === '') {
    openFiles.maxOpen = defaultMaxOpenFiles();
    return;
  }
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < MIN_OPEN_FILES) {
    throw new Error(
      `Invalid value "${raw}" for configuration log.max.open.files: must be an integer >= ${MIN_OPEN_FILES}`,
    );
  }
  openFiles.maxOpen = n;
}

/**
 * Short-lived file opens (index files, checkpoint files, directory fsyncs): at most a few at once in the
 * whole process, so a burst — every partition closing at shutdown, rolling together, checkpointing together
 * — cannot run the process out of descriptors. A quarter of the open-file bound, between 4 and 64.
 */
class TransientFileLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  get slots(): number {
    return Math.max(4, Math.min(64, Math.floor(openFiles.maxOpen / 4)));
  }

  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active < this.slots) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await f();
    } finally {
      // Hand the slot to the next waiter, or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export const transientFiles = new TransientFileLimiter();
