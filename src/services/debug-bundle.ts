/**
 * `kstream debug bundle`: a zip for a support case, collected over Kafka APIs only (so it works against any
 * Kafka-compatible cluster) plus, with a data directory, local files. Every config value whose name looks
 * sensitive (or that the broker marks sensitive) is replaced by "[REDACTED]", and `name=value` lines of text
 * files with such names are redacted too.
 */
import { createWriteStream } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { arch, platform, release } from 'node:os';
import { basename, join, relative } from 'node:path';
import type { Admin, ConfigEntry } from '../client/index.js';
import { VERSION } from '../version.js';
import { type ConnectOptions, clusterOptions, errorText } from './connect.js';

export const REDACTED = '[REDACTED]';
const SENSITIVE = /password|secret|key$|sasl\.jaas|token/i;

export function isSensitiveName(name: string): boolean {
  return SENSITIVE.test(name);
}

function redactEntry(c: ConfigEntry): Record<string, unknown> {
  const hide = c.isSensitive || isSensitiveName(c.name);
  return {
    name: c.name,
    value: hide && c.value !== null ? REDACTED : c.value,
    source: c.source,
    readOnly: c.readOnly,
    isDefault: c.isDefault,
    sensitive: hide,
    synonyms: c.synonyms.map((s) => ({
      name: s.name,
      value: (hide || isSensitiveName(s.name)) && s.value !== null ? REDACTED : s.value,
      source: s.source,
    })),
  };
}

/** `name=value` / `name: value` / `"name": "value"` with a sensitive-looking name: the value redacted. */
export function redactText(text: string): string {
  return text.replace(
    /("?)([\w.-]*(?:password|secret|key|sasl\.jaas[\w.]*|token)[\w.-]*)\1(\s*[=:]\s*)("[^"]*"|[^\s,}]+)/gi,
    (_m, q: string, name: string, sep: string) => `${q}${name}${q}${sep}${REDACTED}`,
  );
}

export interface BundlePart {
  name: string;
  what: string;
  bytes: number;
  status: string;
}

export interface BundleOptions extends ConnectOptions {
  file: string;
  dataDir?: string;
  logFile?: string;
  /** How much of the end of a log file to include. */
  logTailBytes?: number;
}

const json = (v: unknown) =>
  `${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : Buffer.isBuffer(x) ? x.toString('base64') : x), 2)}\n`;

async function tail(path: string, max: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - max);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return (start > 0 ? `[... first ${start} bytes left out ...]\n` : '') + buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

async function walk(dir: string, out: { path: string; size: number }[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push({ path: p, size: (await stat(p)).size });
  }
}

export async function debugBundle(o: BundleOptions): Promise<BundlePart[]> {
  const parts: { name: string; what: string; content: string; status: string }[] = [];
  const add = (name: string, what: string, content: string, status = 'OK') =>
    parts.push({ name, what, content, status });
  const tryPart = async (name: string, what: string, fn: () => Promise<unknown>) => {
    try {
      add(name, what, json(await fn()));
    } catch (e) {
      add(name, what, json({ error: errorText(e) }), `ERROR: ${errorText(e)}`);
    }
  };

  add(
    'versions.json',
    'kstream, Node.js and OS versions',
    json({
      kstream: VERSION,
      node: process.version,
      os: { platform: platform(), release: release(), arch: arch() },
      createdAt: new Date().toISOString(),
    }),
  );

  const { Admin } = await import('../client/index.js');
  const admin: Admin = new Admin(clusterOptions(o));
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const topics = await admin.describeTopics();
    const names = topics.map((t) => t.topic).sort();
    add('cluster.json', 'cluster id, controller, brokers', json(cluster));
    add(
      'topics.json',
      'topics and partitions with leader, replicas, ISR',
      json(
        topics.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          internal: t.isInternal,
          error: t.error ? errorText(t.error) : null,
          partitions: t.partitions,
        })),
      ),
    );
    await tryPart('offsets.json', 'log start / end offsets per partition', async () =>
      (await admin.fetchTopicOffsets(names)).map((p) => ({
        topic: p.topic,
        partition: p.partition,
        logStartOffset: p.low,
        logEndOffset: p.high,
        error: p.error ? errorText(p.error) : null,
      })),
    );
    await tryPart('configs/brokers.json', 'broker configs (secrets redacted)', async () =>
      (
        await admin.describeConfigs(
          cluster.brokers.map((b) => ({ type: 'broker', name: String(b.nodeId) })),
          { includeSynonyms: true },
        )
      ).map((r) => ({
        broker: r.name,
        error: r.error ? errorText(r.error) : null,
        configs: r.configs.map(redactEntry),
      })),
    );
    await tryPart('configs/topics.json', 'topic configs (secrets redacted)', async () =>
      (await admin.describeConfigs(names.map((n) => ({ type: 'topic', name: n })))).map((r) => ({
        topic: r.name,
        error: r.error ? errorText(r.error) : null,
        configs: r.configs.map(redactEntry),
      })),
    );
    await tryPart('groups.json', 'consumer groups with members and lag', async () => {
      const { describeGroup } = await import('./groups.js');
      const out: unknown[] = [];
      for (const g of await admin.listGroups()) {
        try {
          out.push({ ...g, ...(await describeGroup(admin, g.groupId)) });
        } catch (e) {
          out.push({ ...g, error: errorText(e) });
        }
      }
      return out;
    });
  } finally {
    await admin.close().catch(() => {});
  }

  const maxLog = o.logTailBytes ?? 4 * 1024 * 1024;
  if (o.dataDir) {
    const files: { path: string; size: number }[] = [];
    try {
      await walk(o.dataDir, files);
      add(
        'data-dir/listing.txt',
        `files under ${o.dataDir} with sizes`,
        `${files.map((f) => `${String(f.size).padStart(12)}  ${relative(o.dataDir!, f.path)}`).join('\n')}\n`,
      );
    } catch (e) {
      add('data-dir/listing.txt', `files under ${o.dataDir}`, `${errorText(e)}\n`, `ERROR: ${errorText(e)}`);
    }
    for (const f of files) {
      const rel = relative(o.dataDir, f.path);
      const name = basename(f.path);
      if (/checkpoint/i.test(name) || name === 'meta.properties') {
        if (f.size > 1024 * 1024) continue;
        add(
          `data-dir/${rel}`,
          name === 'meta.properties' ? 'meta.properties' : 'checkpoint file',
          redactText(await readFile(f.path, 'utf8')),
        );
      } else if (/\.log$/.test(name) && !rel.includes('/') && !/^\d{20}\.log$/.test(name) && !o.logFile) {
        add(`logs/${name}`, 'server log (the end of it)', redactText(await tail(f.path, maxLog)));
      }
    }
  }
  if (o.logFile) {
    try {
      add(`logs/${basename(o.logFile)}`, 'server log (the end of it)', redactText(await tail(o.logFile, maxLog)));
    } catch (e) {
      add(`logs/${basename(o.logFile)}`, 'server log', `${errorText(e)}\n`, `ERROR: ${errorText(e)}`);
    }
  }

  const { ZipArchive } = await import('archiver');
  const tmp = `${o.file}.${process.pid}.tmp`;
  let done = false;
  try {
    const archive = new ZipArchive({ zlib: { level: 6 } });
    const out = createWriteStream(tmp);
    const closed = new Promise<void>((res, rej) => {
      out.once('close', () => res());
      out.once('error', rej);
      archive.once('error', rej);
    });
    archive.pipe(out);
    for (const p of parts) archive.append(p.content, { name: p.name });
    await archive.finalize();
    await closed;
    await rename(tmp, o.file);
    done = true;
  } finally {
    if (!done) await rm(tmp, { force: true });
  }
  return parts.map((p) => ({ name: p.name, what: p.what, bytes: Buffer.byteLength(p.content), status: p.status }));
}
