/**
 * The single-node metadata store: JSON documents by key, persisted in one file in the data dir, replaced
 * atomically (write temp, fsync, rename) on every change. The etcd store implements the same operations for
 * clusters (DESIGN decision 4).
 *
 * The file is checked when opened: unreadable, empty, not JSON, or a topic entry that does not have the
 * shape the broker writes is a MetadataFileError (the broker stops with it: starting with less metadata than
 * the logs on disk need would lose them). A change is applied in memory only once it is on disk, so a failed
 * write (a full disk) leaves the store as it was.
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

/** The metadata file cannot be used as it is; the message names the file and what is wrong with it. */
export class MetadataFileError extends Error {}

const TOPIC_ID = /^[0-9a-f]{32}$/;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Why a `topics/<name>` entry is not one the broker wrote, or null when it is. */
function badTopicEntry(key: string, value: unknown): string | null {
  const name = key.slice('topics/'.length);
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') return 'not a valid topic name';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const t = value as Record<string, unknown>;
  if (typeof t.id !== 'string' || !TOPIC_ID.test(t.id)) return 'no topic id of 32 hex digits';
  if (typeof t.partitions !== 'number' || !Number.isInteger(t.partitions) || t.partitions < 1) {
    return 'no partition count';
  }
  if (typeof t.configs !== 'object' || t.configs === null || Array.isArray(t.configs)) return 'no configs object';
  if (Object.values(t.configs).some((v) => typeof v !== 'string')) return 'a config value that is not a string';
  if (t.internal !== undefined && typeof t.internal !== 'boolean') return '"internal" is not a boolean';
  return null;
}

export class TopicStore {
  private data = new Map<string, unknown>();
  /** The file did not exist when the store was opened (a fresh data dir, or a lost file). */
  readonly missing: boolean;

  constructor(readonly file: string) {
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ENOENT') throw new MetadataFileError(`cannot read the metadata file ${file}: ${err.message}`);
    }
    this.missing = text === null;
    if (text === null) return;
    if (text.trim() === '') throw new MetadataFileError(`the metadata file ${file} is empty`);
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new MetadataFileError(`the metadata file ${file} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new MetadataFileError(`the metadata file ${file} does not hold a JSON object`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const bad = k.startsWith('topics/') ? badTopicEntry(k, v) : null;
      if (bad)
        throw new MetadataFileError(`the metadata file ${file} has an invalid entry ${JSON.stringify(k)}: ${bad}`);
      this.data.set(k, v);
    }
  }

  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  list<T>(prefix: string): [string, T][] {
    return [...this.data.entries()].filter(([k]) => k.startsWith(prefix)) as [string, T][];
  }

  put(key: string, value: unknown): void {
    const next = new Map(this.data);
    next.set(key, value);
    this.persist(next);
    this.data = next;
  }

  delete(key: string): void {
    if (!this.data.has(key)) return;
    const next = new Map(this.data);
    next.delete(key);
    this.persist(next);
    this.data = next;
  }

  /** Write the store as it is (creates the file of a fresh data dir, so that a missing file means a lost one). */
  save(): void {
    this.persist(this.data);
  }

  private persist(data: Map<string, unknown>): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      // writeFileSync writes until done: a bare writeSync may write part of it on a nearly full disk.
      writeFileSync(fd, JSON.stringify(Object.fromEntries(data), null, 1));
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
