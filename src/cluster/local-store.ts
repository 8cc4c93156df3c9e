/**
 * The metadata store of a single node (DESIGN decisions 4 and 13): the MetadataStore interface that etcd
 * implements for a cluster, in-process, persisted in one file of the data dir. A single node is a one-node
 * cluster over it: the same ClusterManager and replica code run over either store.
 *
 * - Keys with a global revision counter and a modRevision per key; compare-and-set (and its guarded variant)
 *   on modRevision, 0 meaning absent, as etcd's.
 * - Changes made in one turn of the event loop are written together (group commit: one write and fsync for
 *   the 1,000 partition states of a new topic), the file replaced atomically (temp file, fsync, rename, dir
 *   fsync). A change is visible (get, list, watch) only once it is on disk; a failed write (a full disk)
 *   fails every change of its batch and leaves the store as it was.
 * - Prefix watches get every change after the write, in order, before the writer's promise resolves.
 * - Leased keys (brokers/<id>) never expire and are not persisted: an etcd lease dies with its process too.
 * - A campaign wins at once (there is no one else); `leader(name)` answers it.
 *
 * The file is a JSON object of key → value (values that are JSON documents are stored as such, so the file
 * stays readable). It is checked when opened: unreadable, empty, not JSON, or an entry that does not have the
 * shape the broker writes is a MetadataFileError (the broker stops with it: starting with less metadata than
 * the logs on disk need would set them aside). A file written by an earlier kstream (`topics/<name>` =
 * `{id, partitions, configs, internal?}`) is read as a one-node cluster's layout and written in the new one.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { CasWrite, KeyValue, MetadataStore, WatchEvent } from './metadata-store.js';

/** The metadata file cannot be used as it is; the message names the file and what is wrong with it. */
export class MetadataFileError extends Error {}

const TOPIC_ID = /^[0-9a-f]{32}$/;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const PARTITION_KEY = /^partitions\/([^/]+)\/(0|[1-9][0-9]*)$/;

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = Number.MIN_SAFE_INTEGER): v is number => Number.isInteger(v) && (v as number) >= min;
const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => isInt(x));

/** Why a topic entry is not one kstream wrote (either layout), or null when it is. */
function badTopicEntry(key: string, value: unknown): string | null {
  const name = key.slice('topics/'.length);
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') return 'not a valid topic name';
  if (!isObject(value)) return 'not an object';
  if (typeof value.id !== 'string' || !TOPIC_ID.test(value.id)) return 'no topic id of 32 hex digits';
  if (!isObject(value.configs)) return 'no configs object';
  if (Object.values(value.configs).some((v) => typeof v !== 'string')) return 'a config value that is not a string';
  if (value.replicas !== undefined) {
    const r = value.replicas;
    if (!Array.isArray(r) || r.length === 0 || !r.every((x) => isIntList(x) && x.length > 0)) {
      return 'no replicas per partition';
    }
    if (value.reassign !== undefined && !isObject(value.reassign)) return '"reassign" is not an object';
    return null;
  }
  // The layout of earlier versions: a partition count.
  if (!isInt(value.partitions, 1)) return 'no partition count';
  if (value.internal !== undefined && typeof value.internal !== 'boolean') return '"internal" is not a boolean';
  return null;
}

function badPartitionEntry(value: unknown): string | null {
  if (!isObject(value)) return 'not an object';
  if (!isInt(value.leader, -1)) return 'no leader';
  if (!isInt(value.leaderEpoch, 0)) return 'no leader epoch';
  if (!isIntList(value.isr)) return 'no ISR';
  if (!isInt(value.partitionEpoch, 0)) return 'no partition epoch';
  if (value.controllerEpoch !== undefined && !isInt(value.controllerEpoch, 0)) return 'a bad controller epoch';
  return null;
}

/** A value as the file holds it: a JSON document as itself, any other string as a string. */
function toFile(value: string): unknown {
  try {
    const v: unknown = JSON.parse(value);
    // A JSON string stays the text it is (read back as a string, it is the same value).
    if (typeof v !== 'string') return v;
  } catch {
    // not JSON: kept as a string
  }
  return value;
}

function fromFile(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

interface Entry {
  value: string;
  modRevision: number;
  /** Leased keys live in memory only. */
  leased: boolean;
}

type Change = { key: string; value: string | null; leased: boolean };

interface Pending {
  /**
   * Decides against the store as the earlier changes of the batch left it; returns the change (or changes,
   * all applied: one transaction), or null.
   */
  decide: (current: (key: string) => Entry | undefined, keys: () => Iterable<string>) => Change | Change[] | null;
  resolve: (changed: boolean) => void;
  reject: (e: unknown) => void;
}

export interface LocalStoreOptions {
  /** The node whose data dir this is: the one replica of every partition of a layout from an earlier version. */
  nodeId: number;
  /** Called when the file could not be rewritten at open (a migration on a full disk: retried with the next change). */
  onDeferredWrite?: (e: unknown) => void;
}

export class LocalStore implements MetadataStore {
  /** Other nodes cannot join this store (a reassignment between brokers needs etcd). */
  readonly shared = false;
  readonly location: string;
  /** The file did not exist when the store was opened (a fresh data dir, or a lost file). */
  readonly missing: boolean;
  /** Topics read in the layout of an earlier kstream (and written in the new one). */
  readonly migrated: string[] = [];
  private data = new Map<string, Entry>();
  private revision = 0;
  private readonly watchers = new Set<{ prefix: string; onEvent: (e: WatchEvent) => void }>();
  private readonly elections = new Map<string, string>();
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly options: LocalStoreOptions,
  ) {
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ENOENT') throw new MetadataFileError(`cannot read the metadata file ${file}: ${err.message}`);
    }
    this.location = file;
    this.missing = text === null;
    if (text !== null) this.load(text);
  }

  private load(text: string): void {
    const file = this.file;
    if (text.trim() === '') throw new MetadataFileError(`the metadata file ${file} is empty`);
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new MetadataFileError(`the metadata file ${file} is not valid JSON (${(e as Error).message})`);
    }
    if (!isObject(obj)) throw new MetadataFileError(`the metadata file ${file} does not hold a JSON object`);
    const bad = (k: string, why: string) =>
      new MetadataFileError(`the metadata file ${file} has an invalid entry ${JSON.stringify(k)}: ${why}`);
    const docs = new Map<string, unknown>();
    for (const [k, v] of Object.entries(obj)) {
      if (k.startsWith('brokers/')) continue; // leased: never persisted, ignored if found
      const why = k.startsWith('topics/')
        ? badTopicEntry(k, v)
        : k.startsWith('partitions/')
          ? PARTITION_KEY.test(k)
            ? badPartitionEntry(v)
            : 'not partitions/<topic>/<partition>'
          : null;
      if (why) throw bad(k, why);
      docs.set(k, v);
    }
    let changed = false;
    const node = this.options.nodeId;
    // Topics of an earlier version: every partition on this node, led by it since epoch 0.
    for (const [k, v] of docs) {
      if (!k.startsWith('topics/')) continue;
      const t = v as Doc;
      if (t.replicas !== undefined) continue;
      const name = k.slice('topics/'.length);
      const n = t.partitions as number;
      docs.set(k, { id: t.id, replicas: Array.from({ length: n }, () => [node]), configs: t.configs });
      for (let p = 0; p < n; p++) docs.delete(`partitions/${name}/${p}`);
      this.migrated.push(name);
      changed = true;
    }
    // Each topic's partitions have a state, and only they do: a write cut short between the topic and its
    // partitions (or a file edited by hand) gets the state a new partition starts with.
    for (const k of docs.keys()) {
      const m = PARTITION_KEY.exec(k);
      if (!m) continue;
      const t = docs.get(`topics/${m[1]}`) as Doc | undefined;
      if (!t || Number(m[2]) >= (t.replicas as number[][]).length) {
        docs.delete(k);
        changed = true;
      }
    }
    for (const [k, v] of docs) {
      if (!k.startsWith('topics/')) continue;
      const name = k.slice('topics/'.length);
      const replicas = (v as Doc).replicas as number[][];
      replicas.forEach((r, p) => {
        const pk = `partitions/${name}/${p}`;
        if (docs.has(pk)) return;
        docs.set(pk, { leader: r[0] as number, leaderEpoch: 0, isr: r, partitionEpoch: 0 });
        changed = true;
      });
    }
    this.revision = 1;
    for (const [k, v] of docs) this.data.set(k, { value: fromFile(v), modRevision: 1, leased: false });
    if (changed) {
      try {
        this.save();
      } catch (e) {
        if (!this.options.onDeferredWrite) throw e;
        this.options.onDeferredWrite(e);
      }
    }
  }

  // ---- reads ------------------------------------------------------------------------------------------------

  async get(key: string): Promise<KeyValue | null> {
    const e = this.data.get(key);
    return e ? { key, value: e.value, modRevision: e.modRevision } : null;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    const out: KeyValue[] = [];
    for (const [key, e] of this.data)
      if (key.startsWith(prefix)) out.push({ key, value: e.value, modRevision: e.modRevision });
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async leader(name: string): Promise<string | null> {
    return this.elections.get(name) ?? null;
  }

  // ---- writes -----------------------------------------------------------------------------------------------

  async put(key: string, value: string): Promise<void> {
    await this.enqueue(() => ({ key, value, leased: false }));
  }

  compareAndSet(key: string, value: string, expected: number): Promise<boolean> {
    return this.enqueue((cur) => ((cur(key)?.modRevision ?? 0) === expected ? { key, value, leased: false } : null));
  }

  compareAndSetGuarded(
    key: string,
    value: string,
    expected: number,
    guard: { key: string; modRevision: number },
  ): Promise<boolean> {
    return this.enqueue((cur) =>
      (cur(key)?.modRevision ?? 0) === expected && (cur(guard.key)?.modRevision ?? 0) === guard.modRevision
        ? { key, value, leased: false }
        : null,
    );
  }

  compareAndSetMany(writes: CasWrite[], guard?: { key: string; modRevision: number }): Promise<boolean> {
    return this.enqueue((cur) =>
      writes.every((w) => (cur(w.key)?.modRevision ?? 0) === w.expected) &&
      (!guard || (cur(guard.key)?.modRevision ?? 0) === guard.modRevision)
        ? writes.map((w) => ({ key: w.key, value: w.value, leased: false }))
        : null,
    );
  }

  async delete(key: string): Promise<void> {
    await this.enqueue((cur) => (cur(key) ? { key, value: null, leased: cur(key)?.leased ?? false } : null));
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.enqueue((cur, keys) => {
      const gone: Change[] = [];
      for (const key of keys())
        if (key.startsWith(prefix)) gone.push({ key, value: null, leased: cur(key)?.leased ?? false });
      return gone.length > 0 ? gone : null;
    });
  }

  async putLeased(key: string, value: string, _ttlSeconds: number): Promise<void> {
    await this.enqueue(() => ({ key, value, leased: true }));
  }

  async watch(prefix: string, onEvent: (e: WatchEvent) => void): Promise<() => Promise<void>> {
    const w = { prefix, onEvent };
    this.watchers.add(w);
    return async () => {
      this.watchers.delete(w);
    };
  }

  /** There is no other candidate: this one is elected at once. */
  async campaign(name: string, value: string, onElected: () => void): Promise<void> {
    if (this.elections.has(name)) return;
    this.elections.set(name, value);
    onElected();
  }

  /** Write what is queued; later writes fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    this.watchers.clear();
    for (const [k, e] of [...this.data]) if (e.leased) this.data.delete(k);
  }

  /** Write the store as it is (creates the file of a fresh data dir, so that a missing file means a lost one). */
  save(): void {
    this.persist(this.data);
  }

  private enqueue(decide: Pending['decide']): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error(`the metadata store ${this.file} is closed`));
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ decide, resolve, reject });
      if (this.scheduled) return;
      // What the rest of this turn of the event loop writes goes into the same batch.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  /** Apply the queued changes as one batch: decided in order, written once, then visible and watched. */
  private flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const next = new Map(this.data);
    const changes: (Change & { revision: number })[] = [];
    const outcomes: boolean[] = [];
    let revision = this.revision;
    for (const op of batch) {
      const decided = op.decide(
        (k) => next.get(k),
        () => next.keys(),
      );
      outcomes.push(decided !== null);
      if (!decided) continue;
      // One revision for the changes of one transaction, as etcd gives them.
      revision++;
      for (const c of Array.isArray(decided) ? decided : [decided]) {
        if (c.value === null) next.delete(c.key);
        else next.set(c.key, { value: c.value, modRevision: revision, leased: c.leased });
        changes.push({ ...c, revision });
      }
    }
    try {
      if (changes.some((c) => !c.leased)) this.persist(next);
    } catch (e) {
      for (const op of batch) op.reject(e);
      return;
    }
    this.data = next;
    this.revision = revision;
    for (const c of changes) {
      for (const w of [...this.watchers]) {
        if (!c.key.startsWith(w.prefix)) continue;
        try {
          w.onEvent({
            type: c.value === null ? 'delete' : 'put',
            key: c.key,
            value: c.value,
            ...(c.value === null ? {} : { modRevision: c.revision }),
          });
        } catch {
          // a watcher's failure is its own
        }
      }
    }
    for (const [i, op] of batch.entries()) op.resolve(outcomes[i] as boolean);
  }

  private persist(data: Map<string, Entry>): void {
    const obj: Record<string, unknown> = {};
    for (const [k, e] of data) if (!e.leased) obj[k] = toFile(e.value);
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      // writeFileSync writes until done: a bare writeSync may write part of it on a nearly full disk.
      writeFileSync(fd, JSON.stringify(obj, null, 1));
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // gone already
      }
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, this.file);
    const dfd = openSync(dirname(this.file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}
