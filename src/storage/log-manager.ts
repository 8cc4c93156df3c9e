/**
 * Owns the partition logs of one data directory: `<dataDir>/<topic>-<partition>` each. Loads them at start
 * (bounded parallelism), creates them on demand, deletes topics crash-safely, and runs retention and
 * recovery-point checkpoints in the background.
 *
 * Topic deletion: an intent file `.delete-topic-<id>` naming the topic is written (atomically) first, then
 * every partition directory is renamed to `<topic>-<p>.<id>-delete`, then removed, then the intent file.
 * A crash anywhere in between is finished by the next loadAll(), so half a topic never comes back.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from './checkpoint.js';
import type { LogConfig } from './config.js';
import { type Logger, noopLogger } from './logger.js';
import { PartitionLog, type SegmentDeletion } from './partition-log.js';

export interface LogManagerOptions {
  /** log.retention.check.interval.ms: how often retention runs (default 5 minutes). */
  retentionCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms: how often recovery points are checkpointed (default 60 s). */
  checkpointIntervalMs?: number;
  /** num.recovery.threads.per.data.dir: partition logs opened in parallel at load (default 4). */
  recoveryThreads?: number;
}

/** Map broker properties to LogManager options (Kafka key names). */
export function logManagerOptionsFromProps(props: Record<string, string>): LogManagerOptions {
  const num = (key: string, min: number): number | undefined => {
    const raw = props[key];
    if (raw === undefined) return undefined;
    const n = Number(raw.trim());
    if (!Number.isInteger(n) || n < min) throw new Error(`Invalid value "${raw}" for configuration ${key}`);
    return n;
  };
  return {
    retentionCheckIntervalMs: num('log.retention.check.interval.ms', 1),
    checkpointIntervalMs: num('log.flush.offset.checkpoint.interval.ms', 1),
    recoveryThreads: num('num.recovery.threads.per.data.dir', 1),
  };
}

export interface PartitionDir {
  topic: string;
  partition: number;
}

const DELETE_INTENT_PREFIX = '.delete-topic-';
/**
 * In each partition dir: the id of the topic the log belongs to (Kafka's partition.metadata, KIP-516), so a
 * log of a deleted topic is never taken for the log of a new topic of the same name.
 */
export const PARTITION_METADATA_FILE = 'partition.metadata';

function partitionMetadata(topicId: string): string {
  return `version: 0\ntopic_id: ${topicId}\n`;
}

/** The topic id in a partition.metadata text, or null when there is none or it does not parse. */
export function parsePartitionMetadata(text: string): string | null {
  const lines = text.split('\n').map((l) => l.trim());
  if (lines[0] !== 'version: 0') return null;
  const m = /^topic_id: ([0-9a-f]{32})$/.exec(lines[1] ?? '');
  return m ? (m[1] as string) : null;
}
const DELETE_DIR = /^(.+)-(\d+)\.([0-9a-f]{32})-delete$/;

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** `<topic>-<partition>` split on the LAST '-' (topic names may contain '-' and '.'); null if not one. */
export function parsePartitionDirName(name: string): PartitionDir | null {
  if (name.startsWith('.') || name.endsWith('-delete') || name.endsWith('-stray')) return null;
  const i = name.lastIndexOf('-');
  if (i <= 0) return null;
  const p = name.slice(i + 1);
  if (!/^\d+$/.test(p) || p.length > 10) return null;
  const partition = Number(p);
  if (partition > 0x7fffffff) return null;
  return { topic: name.slice(0, i), partition };
}

export class LogManager {
  readonly dataDir: string;
  private readonly logs = new Map<string, PartitionLog>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private readonly deleting = new Map<string, Promise<number>>();
  /** Topic ids known to be recorded in partition.metadata, by partition dir name. */
  private readonly topicIds = new Map<string, string>();
  private readonly logger: Logger;
  private readonly opts: Required<LogManagerOptions>;
  private retentionTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private retentionRunning: Promise<unknown> | null = null;
  defaultConfig: LogConfig;

  constructor(dataDir: string, defaultConfig: LogConfig, logger: Logger = noopLogger, options: LogManagerOptions = {}) {
    this.dataDir = dataDir;
    this.defaultConfig = defaultConfig;
    this.logger = logger;
    this.opts = {
      retentionCheckIntervalMs: options.retentionCheckIntervalMs ?? 300_000,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
      recoveryThreads: Math.max(1, options.recoveryThreads ?? 4),
    };
  }

  /**
   * Open every partition directory of the data dir (finishing interrupted topic deletions first). Entries
   * that are hidden, not directories, or not `<topic>-<int>` are ignored. `configFor` gives each log its
   * topic's config (default: the manager's default config); getOrCreate() with a config updates it later.
   */
  async loadAll(configFor?: (topic: string, partition: number) => LogConfig): Promise<PartitionLog[]> {
    await mkdir(this.dataDir, { recursive: true });
    let entries = await readdir(this.dataDir, { withFileTypes: true });
    for (const e of entries) {
      if (!e.isFile() || !e.name.startsWith(DELETE_INTENT_PREFIX) || e.name.endsWith('.tmp')) continue;
      const id = e.name.slice(DELETE_INTENT_PREFIX.length);
      const topic = (await readFile(join(this.dataDir, e.name), 'utf8')).trim();
      this.logger.info(`Finishing interrupted deletion of topic ${topic}`, { topic });
      if (topic !== '') await this.removeTopicDirs(topic, /^[0-9a-f]{32}$/.test(id) ? id : newId());
      await unlink(join(this.dataDir, e.name));
    }
    entries = await readdir(this.dataDir, { withFileTypes: true });
    const todo: { name: string; dir: PartitionDir }[] = [];
    for (const e of entries) {
      if (!e.isDirectory()) {
        if (e.isFile() && e.name.startsWith(DELETE_INTENT_PREFIX) && e.name.endsWith('.tmp')) {
          await unlink(join(this.dataDir, e.name)).catch(() => {});
        }
        continue;
      }
      if (DELETE_DIR.test(e.name)) {
        await rm(join(this.dataDir, e.name), { recursive: true, force: true });
        continue;
      }
      const dir = parsePartitionDirName(e.name);
      if (!dir) continue;
      if (this.logs.has(e.name)) continue;
      todo.push({ name: e.name, dir });
    }
    const opened: PartitionLog[] = [];
    const errors: Error[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const { name, dir } = todo[next++]!;
        try {
          const config = configFor?.(dir.topic, dir.partition) ?? this.defaultConfig;
          const log = await PartitionLog.open(join(this.dataDir, name), config, this.logger);
          this.logs.set(name, log);
          opened.push(log);
        } catch (e) {
          this.logger.error(`Cannot open log ${name}: ${(e as Error).message}`, { partition: name });
          errors.push(new Error(`cannot open partition log ${name}: ${(e as Error).message}`, { cause: e }));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.recoveryThreads, todo.length) }, worker));
    if (errors.length > 0) throw errors[0];
    if (opened.length > 0) this.logger.info(`Loaded ${opened.length} partition logs from ${this.dataDir}`);
    return opened;
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(partitionDirName(topic, partition));
  }

  /**
   * The partition's log, creating (or opening) it if needed. With `config`, an existing log takes that
   * config. Waits for a deletion of the topic in progress. With `topicId`, the log is that topic's: a dir
   * without partition.metadata (created before there was one) gets it; a log of another topic id (a topic of
   * the same name deleted while this node was away) must be set aside first with setAsideIfOtherTopic().
   */
  async getOrCreate(topic: string, partition: number, config?: LogConfig, topicId?: string): Promise<PartitionLog> {
    const key = partitionDirName(topic, partition);
    const pendingDelete = this.deleting.get(topic);
    if (pendingDelete) await pendingDelete.catch(() => {});
    let log = this.logs.get(key);
    if (log) {
      if (config) log.setConfig(config);
    } else {
      const inflight = this.creating.get(key);
      if (inflight) log = await inflight;
      else {
        if (parsePartitionDirName(key)?.topic !== topic || !Number.isInteger(partition) || partition < 0) {
          throw new Error(`invalid topic-partition ${key}`);
        }
        const p = PartitionLog.open(join(this.dataDir, key), config ?? this.defaultConfig, this.logger).then(
          (opened) => {
            this.logs.set(key, opened);
            return opened;
          },
        );
        this.creating.set(key, p);
        try {
          log = await p;
        } finally {
          this.creating.delete(key);
        }
      }
    }
    if (topicId && this.topicIds.get(key) !== topicId) {
      const stored = await this.storedTopicId(topic, partition);
      if (stored !== null && stored !== topicId) {
        throw new Error(`log ${key} belongs to topic id ${stored}, not ${topicId}: remove it first`);
      }
      if (stored === null) await writeFileAtomic(join(log.dir, PARTITION_METADATA_FILE), partitionMetadata(topicId));
      this.topicIds.set(key, topicId);
    }
    return log;
  }

  /** The topic id recorded in a partition's dir (null: no dir, no partition.metadata, or unreadable). */
  async storedTopicId(topic: string, partition: number): Promise<string | null> {
    const key = partitionDirName(topic, partition);
    const known = this.topicIds.get(key);
    if (known) return known;
    let id: string | null = null;
    try {
      id = parsePartitionMetadata(await readFile(join(this.dataDir, key, PARTITION_METADATA_FILE), 'utf8'));
    } catch {
      return null;
    }
    // Read once: the set-aside check and the open that follows it (getOrCreate) share it.
    if (id !== null) this.topicIds.set(key, id);
    return id;
  }

  /**
   * Set the partition's log aside if its dir records a topic id other than `topicId`: the log of an older
   * topic of the same name (deleted while this node was away). Returns whether it did. See setAside().
   */
  async setAsideIfOtherTopic(topic: string, partition: number, topicId: string): Promise<boolean> {
    const stored = await this.storedTopicId(topic, partition);
    if (stored === null || stored === topicId) return false;
    await this.setAside(
      topic,
      partition,
      `it belongs to an older topic of the same name (id ${stored}, now ${topicId})`,
    );
    return true;
  }

  /**
   * Close the partition's log and rename its dir to `<topic>-<partition>.<random>-stray` (Kafka's stray
   * logs): never loaded again, never served, and not deleted either, so a misconfigured node (pointed at the
   * wrong cluster) loses nothing; the warning names the dir for an operator to remove.
   */
  async setAside(topic: string, partition: number, why: string): Promise<void> {
    const key = partitionDirName(topic, partition);
    const inflight = this.creating.get(key);
    if (inflight) await inflight.catch(() => {});
    const log = this.logs.get(key);
    this.logs.delete(key);
    this.topicIds.delete(key);
    await log?.detach();
    const target = `${key}.${newId()}-stray`;
    await rename(join(this.dataDir, key), join(this.dataDir, target));
    await fsyncDir(this.dataDir);
    this.logger.warn(`Set log ${key} aside as ${target}: ${why}; remove that directory when it is not needed`, {
      partition: key,
    });
  }

  /** Every loaded log. */
  all(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /** Topic names with at least one loaded partition. */
  topics(): string[] {
    const out = new Set<string>();
    for (const k of this.logs.keys()) out.add(parsePartitionDirName(k)!.topic);
    return [...out];
  }

  /** Loaded partition numbers of a topic, ascending. */
  partitionsOf(topic: string): number[] {
    const out: number[] = [];
    for (const k of this.logs.keys()) {
      const d = parsePartitionDirName(k)!;
      if (d.topic === topic) out.push(d.partition);
    }
    return out.sort((a, b) => a - b);
  }

  /** Delete every partition of `topic` (loaded or only on disk), crash-safely. Returns how many were removed. */
  deleteTopic(topic: string): Promise<number> {
    const inflight = this.deleting.get(topic);
    if (inflight) return inflight;
    const p = (async () => {
      const creations = [...this.creating.entries()].filter(([k]) => parsePartitionDirName(k)?.topic === topic);
      await Promise.all(creations.map(([, c]) => c.catch(() => {})));
      const id = newId();
      const intent = join(this.dataDir, DELETE_INTENT_PREFIX + id);
      await mkdir(this.dataDir, { recursive: true });
      await writeFileAtomic(intent, `${topic}\n`);
      const n = await this.removeTopicDirs(topic, id);
      await unlink(intent);
      await fsyncDir(this.dataDir);
      return n;
    })();
    this.deleting.set(topic, p);
    const clear = (): void => {
      this.deleting.delete(topic);
    };
    p.then(clear, clear);
    return p;
  }

  /** Close the topic's loaded logs, rename all its partition dirs to `*.<id>-delete`, then remove them. */
  private async removeTopicDirs(topic: string, id: string): Promise<number> {
    const closing: Promise<void>[] = [];
    for (const key of [...this.topicIds.keys()])
      if (parsePartitionDirName(key)?.topic === topic) this.topicIds.delete(key);
    for (const [key, log] of this.logs) {
      if (parsePartitionDirName(key)?.topic !== topic) continue;
      this.logs.delete(key);
      closing.push(log.detach());
    }
    await Promise.all(closing);
    const renamed: string[] = [];
    for (const name of await readdir(this.dataDir)) {
      const d = parsePartitionDirName(name);
      if (d?.topic !== topic) continue;
      const target = `${name}.${id}-delete`;
      await rename(join(this.dataDir, name), join(this.dataDir, target));
      renamed.push(target);
    }
    await fsyncDir(this.dataDir);
    await Promise.all(renamed.map((n) => rm(join(this.dataDir, n), { recursive: true, force: true })));
    return renamed.length;
  }

  /** Run retention on every log now (what the background task does). Returns deletions by partition. */
  async runRetention(nowMs: number = Date.now()): Promise<Map<string, SegmentDeletion[]>> {
    const out = new Map<string, SegmentDeletion[]>();
    for (const log of [...this.logs.values()]) {
      try {
        const d = await log.enforceRetention(nowMs);
        if (d.length > 0) out.set(log.name, d);
      } catch (e) {
        this.logger.error(`Retention of ${log.name} failed: ${(e as Error).message}`, { partition: log.name });
      }
    }
    return out;
  }

  /** Write every log's recovery point and log start offset. */
  async checkpointAll(): Promise<void> {
    for (const log of [...this.logs.values()]) {
      if (log.isClosed) continue;
      try {
        await log.checkpoint();
      } catch (e) {
        this.logger.error(`Checkpoint of ${log.name} failed: ${(e as Error).message}`, { partition: log.name });
      }
    }
  }

  /** Start the background retention (log.retention.check.interval.ms) and checkpoint tasks. */
  startRetention(): void {
    if (this.retentionTimer) return;
    const guard = (fn: () => Promise<unknown>) => (): void => {
      if (this.retentionRunning) return;
      this.retentionRunning = fn().finally(() => {
        this.retentionRunning = null;
      });
    };
    this.retentionTimer = setInterval(
      guard(() => this.runRetention()),
      this.opts.retentionCheckIntervalMs,
    );
    this.retentionTimer.unref();
    this.checkpointTimer = setInterval(
      guard(() => this.checkpointAll()),
      this.opts.checkpointIntervalMs,
    );
    this.checkpointTimer.unref();
  }

  stopRetention(): void {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.retentionTimer = null;
    this.checkpointTimer = null;
  }

  /** Stop background tasks and close every log cleanly (flush, indexes, checkpoints, clean-shutdown marker). */
  async closeAll(): Promise<void> {
    this.stopRetention();
    await this.retentionRunning?.catch(() => {});
    await Promise.all([...this.creating.values(), ...this.deleting.values()].map((p) => p.catch(() => {})));
    const logs = [...this.logs.values()];
    this.logs.clear();
    const results = await Promise.allSettled(logs.map((l) => l.close()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) this.logger.error(`Closing a log failed: ${(f.reason as Error).message}`);
    if (failed.length > 0) throw failed[0]!.reason;
  }
}

function newId(): string {
  return randomUUID().replaceAll('-', '');
}
