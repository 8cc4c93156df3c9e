/**
 * The single-node metadata store: JSON documents by key, persisted in one file in the data dir, replaced
 * atomically (write temp, fsync, rename) on every change. The etcd store implements the same operations for
 * clusters (DESIGN decision 4).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export class LocalStore {
  private data = new Map<string, unknown>();

  constructor(private readonly file: string) {
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== null) {
      const obj = JSON.parse(text) as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) this.data.set(k, v);
    }
  }

  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  list<T>(prefix: string): [string, T][] {
    return [...this.data.entries()].filter(([k]) => k.startsWith(prefix)) as [string, T][];
  }

  put(key: string, value: unknown): void {
    this.data.set(key, value);
    this.persist();
  }

  delete(key: string): void {
    if (this.data.delete(key)) this.persist();
  }

  private persist(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(Object.fromEntries(this.data), null, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dfd = openSync(dirname(this.file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}
