/**
 * Owns the partition logs of one data directory: `<dataDir>/<topic>-<partition>` each. Loads them at start
 * (bounded parallelism), creates them on demand, creates and deletes topics crash-safely, and runs retention
 * and recovery-point checkpoints in the background.
 *
 * Topic deletion: an intent file `.deleting-<topic id>` is created first (empty, so a full disk does not
 * stop it; the topic name goes in if there is room), then every partition directory is renamed to
 * `<topic>-<p>.<id>-delete` (the topic cut short to fit 255 bytes), then removed, then the owner updates its
 * metadata, then the intent file goes. A crash anywhere in between is finished by the next loadAll(), so half
 * a topic never comes back. Topic creation: `.creating-<topic id>` first, then the partition dirs, then the
 * owner commits the topic to its metadata, then the intent goes; loadAll() finishes or rolls back the rest.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir, isNoSpace, writeFileAtomic } from './checkpoint.js';
import type { LogConfig } from './config.js';
import { type Logger, noopLogger } from './logger.js';
import { CLEAN_SHUTDOWN_FILE, PartitionLog, type SegmentDeletion } from './partition-log.js';
import { DEFAULT_PRODUCER_ID_EXPIRATION_MS } from './producer-state.js';

export interface LogManagerOptions {
  /** log.retention.check.interval.ms: how often retention runs (default 5 minutes). */
  retentionCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms: how often recovery points are checkpointed (default 60 s). */
  checkpointIntervalMs?: number;
  /** num.recovery.threads.per.data.dir: partition logs opened in parallel at load (default 4). */
  recoveryThreads?: number;
  /** producer.id.expiration.ms: idempotent producers silent this long are forgotten (default one day). */
  producerIdExpirationMs?: number;
  /** producer.id.expiration.check.interval.ms: how often expiration runs (default 10 minutes). */
  producerIdExpirationCheckIntervalMs?: number;
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
    producerIdExpirationMs: num('producer.id.expiration.ms', 1),
    producerIdExpirationCheckIntervalMs: num('producer.id.expiration.check.interval.ms', 1),
  };
}

export interface PartitionDir {
  topic: string;
  partition: number;
}

/**
 * Hooks of the owner of the topic metadata (the broker's local store) into loadAll(): interrupted creations
 * and deletions are resolved against it before any log is opened.
 */
export interface LoadOptions {
  /** The config of each log (default: the manager's default config). */
  configFor?: (topic: string, partition: number) => LogConfig;
  /**
   * A topic creation was cut short (a crash): whether the metadata has the topic `topicId` (committed: the
   * creation is finished, missing partitions are created when the topic is opened) or not (rolled back: the
   * dirs made for it are removed). Without this hook every interrupted creation is rolled back.
   */
  creationCommitted?: (topicId: string, topic: string | null) => boolean;
  /**
   * A topic deletion cut short was finished on disk: remove the topic from the metadata too. A throw (or a
   * rejection) keeps the intent for the next start (and isBeingDeleted() answers true for the id meanwhile).
   * Not called for the removal of a node's replicas of a topic that stays (deleteTopic's replicasOnly).
   */
  deletionFinished?: (topicId: string, topic: string | null) => void | Promise<void>;
}

/**
 * Intents in the data dir, named by topic id. Deleting: `.deleting-<id>`, an empty file created first (so
 * it needs no free space) that then gets the topic name if there is room; `.dropping-<id>` the same for the
 * removal of this node's replicas of a topic that stays in the cluster (moved away); creating:
 * `.creating-<id>`, holding the topic name. `.delete-topic-<random>` is the deletion intent of older versions
 * (by name).
 */
const DELETING_PREFIX = '.deleting-';
const DROPPING_PREFIX = '.dropping-';
const CREATING_PREFIX = '.creating-';
const LEGACY_DELETE_PREFIX = '.delete-topic-';
const HEX32 = /^[0-9a-f]{32}$/;
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
const DELETE_DIR = /^(.*)-(\d+)\.([0-9a-f]{32})-delete$/;

/** The longest file name (in bytes) of the file systems a data dir lives on. */
const MAX_NAME_BYTES = 255;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Whether Kafka accepts `name` as a topic name: `[a-zA-Z0-9._-]`, 1 to 249 characters, not `.` or `..`. */
export function isValidTopicName(name: string): boolean {
  return TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}

/**
 * `<topic>-<partition>`, Kafka's layout. It never clashes with the data dir's own entries: those are files,
 * or dirs whose names do not end in `-<digits>` (`.metadata`, `*-delete`, `*-stray`). A 249-character name
 * with partition 99999 is 255 bytes.
 */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * `<topic>-<partition>` split on the LAST '-' (topic names may contain '-' and '.', and start with '.');
 * null unless the topic is a valid topic name and the partition a canonical int32.
 */
export function parsePartitionDirName(name: string): PartitionDir | null {
  const i = name.lastIndexOf('-');
  if (i <= 0) return null;
  const p = name.slice(i + 1);
  if (!/^(0|[1-9][0-9]{0,9})$/.test(p)) return null;
  const partition = Number(p);
  if (partition > 0x7fffffff) return null;
  const topic = name.slice(0, i);
  return isValidTopicName(topic) ? { topic, partition } : null;
}

/**
 * `<topic>-<partition>.<id>-<suffix>` for a dir being deleted or set aside, with the topic cut short (as
 * Kafka does) so the name fits in 255 bytes whatever the topic's length.
 */
function suffixedDirName(key: string, id: string, suffix: 'delete' | 'stray'): string {
  const d = parsePartitionDirName(key);
  const topic = d?.topic ?? key;
  const tail = `-${d?.partition ?? 0}.${id}-${suffix}`;
  return `${topic.slice(0, MAX_NAME_BYTES - tail.length)}${tail}`;
}

/**
 * Create a deletion intent: an empty file first (an inode, no data block: possible on a full disk), then
 * the topic name in it if there is room. Only failing to create the file at all is an error.
 */
async function writeDeleteIntent(path: string, topic: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    try {
      await fh.writeFile(`${topic}\n`);
      await fh.sync();
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      // The topic id in the name is enough: whatever part of the name was written goes.
      await fh.truncate(0).catch(() => {});
    }
  } finally {
    await fh.close();
  }
  await fsyncDir(dirname(path));
}

/** The topic name an intent file holds (a whole line), or null. */
async function readIntentTopic(path: string): Promise<string | null> {
  const text = await readFile(path, 'latin1').catch(() => '');
  if (!text.endsWith('\n')) return null;
  const topic = text.slice(0, -1);
  return isValidTopicName(topic) ? topic : null;
}

export class LogManager {
  readonly dataDir: string;
  private readonly logs = new Map<string, PartitionLog>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private readonly deleting = new Map<string, Promise<number>>();
  /** Topic ids whose deletion was finished on disk at start but could not be recorded in the metadata. */
  private readonly unfinishedDeletions = new Set<string>();
  /** Topic ids known to be recorded in partition.metadata, by partition dir name. */
  private readonly topicIds = new Map<string, string>();
  private readonly logger: Logger;
  private readonly opts: Required<LogManagerOptions>;
  private retentionTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private expirationTimer: NodeJS.Timeout | null = null;
  private retentionRunning: Promise<unknown> | null = null;
  /**
   * Whether closeAll() may write the data dir's clean-shutdown marker: loadAll() opened every partition dir of
   * the data dir, and no log failed to open since (a dir this process did not open is not known to be clean).
   */
  private allOpened = false;
  /** The data dir's clean-shutdown marker was removed (durably) or found absent by this manager. */
  private markerGone = false;
  defaultConfig: LogConfig;

  constructor(dataDir: string, defaultConfig: LogConfig, logger: Logger = noopLogger, options: LogManagerOptions = {}) {
    this.dataDir = dataDir;
    this.defaultConfig = defaultConfig;
    this.logger = logger;
    this.opts = {
      retentionCheckIntervalMs: options.retentionCheckIntervalMs ?? 300_000,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
      recoveryThreads: Math.max(1, options.recoveryThreads ?? 4),
      producerIdExpirationMs: options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS,
      producerIdExpirationCheckIntervalMs: options.producerIdExpirationCheckIntervalMs ?? 600_000,
    };
  }

  /**
   * Open every partition directory of the data dir, after resolving interrupted topic creations and
   * deletions (see LoadOptions). Entries that are not directories or not `<topic>-<int>` are ignored.
   * getOrCreate() with a config updates a log's config later.
   */
  async loadAll(
    options: LoadOptions | ((topic: string, partition: number) => LogConfig) = {},
  ): Promise<PartitionLog[]> {
    const opts: LoadOptions = typeof options === 'function' ? { configFor: options } : options;
    await mkdir(this.dataDir, { recursive: true });
    await this.resolveIntents(opts);
    const entries = await readdir(this.dataDir, { withFileTypes: true });
    // One clean-shutdown marker for the whole data dir (as Kafka's per log dir), written by closeAll() once every
    // log closed. It goes before any log is opened (a crash from here on recovers), and its removal is made
    // durable (one fsync of the data dir) before loadAll() returns, so before anything is appended: a power loss
    // can never bring it back over unflushed records.
    const clean = !this.markerGone && entries.some((e) => e.isFile() && e.name === CLEAN_SHUTDOWN_FILE);
    if (clean) unlinkSync(join(this.dataDir, CLEAN_SHUTDOWN_FILE));
    const todo: { name: string; dir: PartitionDir }[] = [];
    for (const e of entries) {
      if (!e.isDirectory()) continue;
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
          const config = opts.configFor?.(dir.topic, dir.partition) ?? this.defaultConfig;
          const log = await PartitionLog.open(join(this.dataDir, name), config, this.logger, {
            exists: true,
            cleanShutdown: clean,
            markerInDataDir: true,
          });
          this.logs.set(name, log);
          opened.push(log);
        } catch (e) {
          this.logger.error(`Cannot open log ${name}: ${(e as Error).message}`, { partition: name });
          errors.push(new Error(`cannot open partition log ${name}: ${(e as Error).message}`, { cause: e }));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.recoveryThreads, todo.length) }, worker));
    if (clean) await fsyncDir(this.dataDir);
    this.markerGone = true;
    if (errors.length > 0) {
      this.allOpened = false;
      throw errors[0];
    }
    this.allOpened = true;
    if (opened.length > 0) this.logger.info(`Loaded ${opened.length} partition logs from ${this.dataDir}`);
    return opened;
  }

  /** Finish or roll back the topic deletions and creations a crash cut short (their intent files). */
  private async resolveIntents(opts: LoadOptions): Promise<void> {
    for (const e of await readdir(this.dataDir, { withFileTypes: true })) {
      if (!e.isFile()) continue;
      const path = join(this.dataDir, e.name);
      if ((e.name.startsWith(CREATING_PREFIX) || e.name.startsWith(LEGACY_DELETE_PREFIX)) && e.name.endsWith('.tmp')) {
        // An intent never completed: nothing was done under it.
        await unlink(path).catch(() => {});
        continue;
      }
      const dropping = e.name.startsWith(DROPPING_PREFIX) && HEX32.test(e.name.slice(DROPPING_PREFIX.length));
      if (dropping || (e.name.startsWith(DELETING_PREFIX) && HEX32.test(e.name.slice(DELETING_PREFIX.length)))) {
        const id = e.name.slice((dropping ? DROPPING_PREFIX : DELETING_PREFIX).length);
        const named = await readIntentTopic(path);
        const { topic, removed } = await this.removeDirsOf(named, id, false);
        this.logger.info(
          `Finished the interrupted ${dropping ? 'removal of the replicas' : 'deletion'} of topic ${topic ?? `with id ${id}`}`,
          { topic: topic ?? '', partitions: removed },
        );
        try {
          if (!dropping) await opts.deletionFinished?.(id, topic);
        } catch (err) {
          this.unfinishedDeletions.add(id);
          this.logger.error(
            `Cannot record the deletion of topic ${topic ?? id} in the metadata: ${(err as Error).message}; ` +
              'it is finished at the next start',
            { topic: topic ?? '' },
          );
          continue;
        }
        await unlink(path);
        await fsyncDir(this.dataDir);
      } else if (e.name.startsWith(LEGACY_DELETE_PREFIX)) {
        // Older versions: the intent names the topic; every dir of that name goes.
        const topic = await readIntentTopic(path);
        this.logger.info(`Finished the interrupted deletion of topic ${topic}`, { topic: topic ?? '' });
        if (topic !== null) await this.removeDirsOf(topic, null, true);
        await unlink(path);
        await fsyncDir(this.dataDir);
      } else if (e.name.startsWith(CREATING_PREFIX) && HEX32.test(e.name.slice(CREATING_PREFIX.length))) {
        const id = e.name.slice(CREATING_PREFIX.length);
        const named = await readIntentTopic(path);
        if (opts.creationCommitted?.(id, named)) {
          this.logger.info(`Finishing the interrupted creation of topic ${named ?? id}`, { topic: named ?? '' });
        } else {
          const { topic, removed } = await this.removeDirsOf(named, id, false, true);
          this.logger.info(`Rolled back the interrupted creation of topic ${topic ?? `with id ${id}`}`, {
            topic: topic ?? '',
            partitions: removed,
          });
        }
        await unlink(path);
        await fsyncDir(this.dataDir);
      }
    }
  }

  /**
   * Remove (rename to `*-delete`, then delete) the partition dirs of a topic that are not loaded: those
   * recording topic id `id`, and those of the name `topic` recording no id (or any id, with `anyId`). With
   * `emptyOnly`, a dir of the name without an id is removed only if it holds no record (a creation rolled
   * back never removes data it did not write). Returns the topic name found and how many dirs went.
   */
  private async removeDirsOf(
    topic: string | null,
    id: string | null,
    anyId: boolean,
    emptyOnly = false,
  ): Promise<{ topic: string | null; removed: number }> {
    const targets: string[] = [];
    let name = topic;
    for (const e of await readdir(this.dataDir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const d = parsePartitionDirName(e.name);
      if (!d || this.logs.has(e.name)) continue;
      if (topic !== null && d.topic !== topic && !id) continue;
      const stored = anyId ? null : await this.readTopicId(e.name);
      const mine =
        (id !== null && stored === id) ||
        (d.topic === topic &&
          (anyId || (stored === null && (!emptyOnly || (await logBytes(join(this.dataDir, e.name))) === 0))));
      if (!mine) continue;
      name ??= d.topic;
      targets.push(e.name);
    }
    const renamed: string[] = [];
    for (const key of targets) {
      const target = suffixedDirName(key, newId(), 'delete');
      await rename(join(this.dataDir, key), join(this.dataDir, target));
      this.topicIds.delete(key);
      renamed.push(target);
    }
    if (renamed.length > 0) await fsyncDir(this.dataDir);
    await Promise.all(renamed.map((n) => rm(join(this.dataDir, n), { recursive: true, force: true })));
    return { topic: name, removed: renamed.length };
  }

  /**
   * Before a log is opened outside loadAll() (which removes it itself): the data dir's clean-shutdown marker
   * goes, durably, so a crash after writes to that log cannot be taken for a clean stop.
   */
  private async removeMarker(): Promise<void> {
    if (this.markerGone) return;
    try {
      unlinkSync(join(this.dataDir, CLEAN_SHUTDOWN_FILE));
      await fsyncDir(this.dataDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.markerGone = true;
  }

  /**
   * The topic id recorded in the partition.metadata of dir `key`, or null (none, unreadable). Read synchronously
   * (54 bytes; the broker's stray-log check at start reads every partition's: a thread-pool trip each cost more).
   */
  private async readTopicId(key: string): Promise<string | null> {
    try {
      return parsePartitionMetadata(readFileSync(join(this.dataDir, key, PARTITION_METADATA_FILE), 'utf8'));
    } catch {
      return null;
    }
  }

  /** Whether the deletion of topic `topicId` could not be recorded at start (see LoadOptions.deletionFinished). */
  isBeingDeleted(topicId: string): boolean {
    return this.unfinishedDeletions.has(topicId);
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
    let fresh = false;
    if (log) {
      if (config) log.setConfig(config);
    } else {
      const inflight = this.creating.get(key);
      if (inflight) log = await inflight;
      else {
        if (!isValidTopicName(topic) || !Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
          throw new Error(`invalid topic-partition ${key}`);
        }
        if (Buffer.byteLength(key) > MAX_NAME_BYTES) {
          throw new Error(`partition dir name ${key} is longer than ${MAX_NAME_BYTES} bytes`);
        }
        const dir = join(this.dataDir, key);
        const p = (async () => {
          fresh = !(await stat(dir).then(
            () => true,
            () => false,
          ));
          let opened: PartitionLog;
          try {
            await this.removeMarker();
            opened = await PartitionLog.open(dir, config ?? this.defaultConfig, this.logger, { markerInDataDir: true });
          } catch (e) {
            this.allOpened = false;
            throw e;
          }
          this.logs.set(key, opened);
          return opened;
        })();
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
      if (stored === null) {
        try {
          await writeFileAtomic(join(log.dir, PARTITION_METADATA_FILE), partitionMetadata(topicId));
        } catch (e) {
          // A log that holds data already is served on a full disk; its id is recorded at a later start.
          if (fresh || !isNoSpace(e)) throw e;
          this.logger.warn(`Cannot record the topic id of ${key}: ${(e as Error).message}`, { partition: key });
          return log;
        }
      }
      this.topicIds.set(key, topicId);
    }
    return log;
  }

  /** The topic id recorded in a partition's dir (null: no dir, no partition.metadata, or unreadable). */
  async storedTopicId(topic: string, partition: number): Promise<string | null> {
    const key = partitionDirName(topic, partition);
    const known = this.topicIds.get(key);
    if (known) return known;
    const id = await this.readTopicId(key);
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
   * logs; the topic cut short to fit 255 bytes): never loaded again, never served, and not deleted either, so
   * a misconfigured node (pointed at the wrong cluster, or a damaged metadata file) loses nothing; the
   * warning names the dir for an operator to remove.
   */
  async setAside(topic: string, partition: number, why: string): Promise<void> {
    const key = partitionDirName(topic, partition);
    const inflight = this.creating.get(key);
    if (inflight) await inflight.catch(() => {});
    const log = this.logs.get(key);
    this.logs.delete(key);
    this.topicIds.delete(key);
    await log?.detach();
    const target = suffixedDirName(key, newId(), 'stray');
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

  // ---- creating a topic: all or nothing ----------------------------------------------------------------

  /**
   * Before the first partition dir of a new topic is made: the intent `.creating-<topicId>` (holding the
   * name). A crash before commitCreate() is resolved at the next start (LoadOptions.creationCommitted).
   */
  async beginCreate(topic: string, topicId: string): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    await writeFileAtomic(join(this.dataDir, CREATING_PREFIX + topicId), `${topic}\n`);
  }

  /** The topic is in the metadata: drop the intent (a failure only leaves it for the next start to drop). */
  async commitCreate(topicId: string): Promise<void> {
    try {
      await unlink(join(this.dataDir, CREATING_PREFIX + topicId));
    } catch (e) {
      this.logger.warn(`Cannot remove the creation intent of topic id ${topicId}: ${(e as Error).message}`);
    }
  }

  /** Undo a creation that failed midway: close and remove every partition dir made for it, then the intent. */
  async abortCreate(topic: string, topicId: string): Promise<void> {
    await Promise.all([...this.creating.values()].map((c) => c.catch(() => {})));
    const closing: Promise<void>[] = [];
    for (const [key, log] of this.logs) {
      if (parsePartitionDirName(key)?.topic !== topic) continue;
      if ((await this.readTopicId(key)) !== topicId && (await logBytes(log.dir)) > 0) continue;
      this.logs.delete(key);
      closing.push(log.detach());
    }
    await Promise.all(closing);
    await this.removeDirsOf(topic, topicId, false, true);
    await unlink(join(this.dataDir, CREATING_PREFIX + topicId)).catch(() => {});
  }

  // ---- deleting a topic ------------------------------------------------------------------------------

  /**
   * Delete every partition of `topic` (loaded or only on disk), crash-safely and without needing free space:
   * the intent `.deleting-<topicId>` (an empty file first, see writeDeleteIntent), every partition dir
   * renamed to `*-delete` and removed, then `whenRemoved` (the metadata update, which has the freed space),
   * then the intent goes. Whatever a crash interrupts, the next loadAll() finishes. `whenStarted` runs once
   * the intent is durable (before, a failure leaves everything as it was); if it throws, the deletion does
   * not go on (the intent goes, nothing else changed) and deleteTopic rejects with its error. Returns how
   * many partition dirs were removed. If `whenRemoved` throws, the intent stays (finished at the next start).
   * `replicasOnly`: this node's replicas of a topic that stays (the intent `.dropping-<topicId>`, finished at
   * the next start without LoadOptions.deletionFinished).
   */
  deleteTopic(
    topic: string,
    opts: {
      topicId?: string;
      whenStarted?: () => void | Promise<void>;
      whenRemoved?: () => void | Promise<void>;
      replicasOnly?: boolean;
    } = {},
  ): Promise<number> {
    const inflight = this.deleting.get(topic);
    if (inflight) return inflight;
    const p = (async () => {
      const creations = [...this.creating.entries()].filter(([k]) => parsePartitionDirName(k)?.topic === topic);
      await Promise.all(creations.map(([, c]) => c.catch(() => {})));
      const id = opts.topicId || (await this.topicIdOnDisk(topic)) || newId();
      const intent = join(this.dataDir, (opts.replicasOnly ? DROPPING_PREFIX : DELETING_PREFIX) + id);
      await mkdir(this.dataDir, { recursive: true });
      await writeDeleteIntent(intent, topic);
      try {
        await opts.whenStarted?.();
      } catch (e) {
        await unlink(intent).catch(() => {});
        throw e;
      }
      const closing: Promise<void>[] = [];
      for (const [key, log] of this.logs) {
        if (parsePartitionDirName(key)?.topic !== topic) continue;
        this.logs.delete(key);
        closing.push(log.detach());
      }
      await Promise.all(closing);
      const { removed } = await this.removeDirsOf(topic, id, true);
      await opts.whenRemoved?.();
      await unlink(intent);
      await fsyncDir(this.dataDir);
      return removed;
    })();
    this.deleting.set(topic, p);
    const clear = (): void => {
      this.deleting.delete(topic);
    };
    p.then(clear, clear);
    return p;
  }

  /** The topic id recorded in the first partition dir of `topic` that has one, or null. */
  private async topicIdOnDisk(topic: string): Promise<string | null> {
    for (const name of await readdir(this.dataDir).catch(() => [] as string[])) {
      if (parsePartitionDirName(name)?.topic !== topic) continue;
      const id = this.topicIds.get(name) ?? (await this.readTopicId(name));
      if (id !== null) return id;
    }
    return null;
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

  /** Forget idempotent producers silent for producer.id.expiration.ms in every log. Returns how many. */
  expireProducers(nowMs: number = Date.now()): number {
    let n = 0;
    for (const log of this.logs.values()) n += log.expireProducers(nowMs, this.opts.producerIdExpirationMs);
    return n;
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
    this.expirationTimer = setInterval(() => this.expireProducers(), this.opts.producerIdExpirationCheckIntervalMs);
    this.expirationTimer.unref();
  }

  stopRetention(): void {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.expirationTimer) clearInterval(this.expirationTimer);
    this.expirationTimer = null;
    this.retentionTimer = null;
    this.checkpointTimer = null;
  }

  /**
   * Stop background tasks and close every log cleanly (flush, indexes, checkpoints), then write the data dir's
   * one clean-shutdown marker: only when every log closed and loadAll() had opened every partition dir (see
   * allOpened), so the next start trusts exactly what this process flushed. A partition with nothing new since
   * it was opened makes no write at all here (PartitionLog.close).
   */
  async closeAll(): Promise<void> {
    this.stopRetention();
    await this.retentionRunning?.catch(() => {});
    await Promise.all([...this.creating.values(), ...this.deleting.values()].map((p) => p.catch(() => {})));
    const logs = [...this.logs.values()];
    this.logs.clear();
    const results = await Promise.allSettled(logs.map((l) => l.close()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // One error for all (a removed data dir fails every log the same way): the first reason, and how many failed.
    if (failed.length === 1) throw failed[0]!.reason;
    if (failed.length > 1) {
      const first = failed[0]!.reason as Error;
      throw new Error(`closing ${failed.length} of ${logs.length} logs failed, the first: ${first.message}`, {
        cause: first,
      });
    }
    if (this.allOpened) {
      this.allOpened = false;
      await writeFileAtomic(join(this.dataDir, CLEAN_SHUTDOWN_FILE), '');
    }
  }
}

function newId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Bytes of segment data in a partition dir (0 for a dir made by a creation that wrote nothing). */
async function logBytes(dir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith('.log')) n += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  }
  return n;
}
