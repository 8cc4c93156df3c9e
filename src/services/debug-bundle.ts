/**
 * `kstream debug bundle`: a zip for a support case, collected over Kafka APIs only (so it works against any
 * Kafka-compatible cluster) plus, with a data directory, local files: versions, cluster, topics, offsets,
 * broker and topic configs, each broker's serve flags (from its broker configs), log dirs with the size of
 * every partition replica from every broker (DescribeLogDirs), consumer groups. Every config value whose name
 * is sensitive (src/protocol/config-names.ts, the rule the broker uses) or that the broker marks sensitive
 * becomes "[REDACTED]", passwords in URLs too, and so do such `name=value` pairs in included text files.
 */
import { createWriteStream } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { arch, platform, release } from 'node:os';
import { basename, join, relative } from 'node:path';
import { SERVE_FLAG_KEYS } from '../broker/config.js';
import type { Admin, ConfigEntry, ConfigResourceResult } from '../client/index.js';
import { isSensitiveConfigName, REDACTED, redactConfigText, redactUrlCredentials } from '../protocol/config-names.js';
import { VERSION } from '../version.js';
import { adminUrl, nodeMetrics } from './admin-http.js';
import { type ConnectOptions, clusterOptions, errorText } from './connect.js';

export { REDACTED } from '../protocol/config-names.js';

/** Config names that hold secrets: the one definition the broker uses too (src/protocol/config-names.ts). */
export const isSensitiveName = isSensitiveConfigName;

function redactEntry(c: ConfigEntry): Record<string, unknown> {
  const hide = c.isSensitive || isSensitiveConfigName(c.name);
  const shown = (v: string | null, secret: boolean) =>
    v === null ? null : secret ? REDACTED : redactUrlCredentials(v);
  return {
    name: c.name,
    value: shown(c.value, hide),
    source: c.source,
    readOnly: c.readOnly,
    isDefault: c.isDefault,
    sensitive: hide,
    synonyms: c.synonyms.map((s) => ({
      name: s.name,
      value: shown(s.value, hide || isSensitiveConfigName(s.name)),
      source: s.source,
    })),
  };
}

/** `name=value` / `name: value` / `"name": "value"` with a sensitive name, and URL passwords: redacted. */
export const redactText = redactConfigText;

/** A row of the bundle's table: one file of the zip, or several of one kind (`files` of them). */
export interface BundlePart {
  name: string;
  what: string;
  bytes: number;
  status: string;
  /** How many files of the zip the row stands for (1, or e.g. every checkpoint file of a data dir). */
  files: number;
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
  const parts: { name: string; what: string; content: string; status: string; group?: string }[] = [];
  const add = (name: string, what: string, content: string, status = 'OK', group?: string) =>
    parts.push({ name, what, content, status, group });
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
    let brokerConfigs: ConfigResourceResult[] = [];
    await tryPart('configs/brokers.json', 'broker configs (secrets redacted)', async () => {
      brokerConfigs = await admin.describeConfigs(
        cluster.brokers.map((b) => ({ type: 'broker', name: String(b.nodeId) })),
        { includeSynonyms: true },
      );
      return brokerConfigs.map((r) => ({
        broker: r.name,
        error: r.error ? errorText(r.error) : null,
        configs: r.configs.map(redactEntry),
      }));
    });
    // Each node's `kstream serve` flags, as the broker reports them (every flag is a broker config).
    for (const r of brokerConfigs) {
      const byName = new Map(r.configs.map((c) => [c.name, redactEntry(c)]));
      const flags = Object.fromEntries(
        Object.entries(SERVE_FLAG_KEYS).map(([flag, key]) => {
          const c = byName.get(key);
          return [flag, c ? { config: key, value: c.value, source: c.source } : { config: key, reported: false }];
        }),
      );
      add(
        `brokers/${r.name}/serve-flags.json`,
        `serve flags of broker ${r.name} (from its configs)`,
        json({ broker: Number(r.name), error: r.error ? errorText(r.error) : null, flags }),
        r.error ? `ERROR: ${errorText(r.error)}` : 'OK',
      );
    }
    // Each broker's /metrics text (issue 20), from the admin listener it reports in admin.listeners.
    for (const r of brokerConfigs) {
      const value = r.configs.find((c) => c.name === 'admin.listeners')?.value ?? null;
      const host = cluster.brokers.find((b) => String(b.nodeId) === r.name)?.host ?? '127.0.0.1';
      const url = adminUrl(value, host);
      if (url === null) continue;
      const what = `Prometheus metrics of broker ${r.name} (${url}/metrics)`;
      try {
        add(`brokers/${r.name}/metrics.txt`, what, await nodeMetrics(url));
      } catch (e) {
        add(`brokers/${r.name}/metrics.txt`, what, `error: ${errorText(e)}\n`, `ERROR: ${errorText(e)}`);
      }
    }
    // One result per broker; a broker that failed (or lacks the API) has its error in the file and the row.
    try {
      const dirs = await admin.describeLogDirs();
      const failed = dirs.find((b) => b.error);
      add(
        'log-dirs.json',
        'log dirs with size per partition, from every broker',
        json(
          dirs.map((b) => ({
            broker: b.broker,
            error: b.error ? errorText(b.error) : null,
            logDirs: b.logDirs.map((d) => ({
              logDir: d.logDir,
              error: d.error ? errorText(d.error) : null,
              totalBytes: d.totalBytes,
              usableBytes: d.usableBytes,
              replicasBytes: d.replicas.reduce((n, x) => n + x.size, 0n),
              replicas: d.replicas,
            })),
          })),
        ),
        failed?.error ? `ERROR: broker ${failed.broker}: ${errorText(failed.error)}` : 'OK',
      );
    } catch (e) {
      add('log-dirs.json', 'log dirs', json({ error: errorText(e) }), `ERROR: ${errorText(e)}`);
    }
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
      const top = !rel.includes('/');
      if (/checkpoint/i.test(name) || (top && (name === 'meta.properties' || name === 'serve.json'))) {
        if (f.size > 1024 * 1024) continue;
        const checkpoint = name !== 'meta.properties' && name !== 'serve.json';
        add(
          `data-dir/${rel}`,
          name === 'meta.properties'
            ? 'meta.properties'
            : name === 'serve.json'
              ? 'how the node was started: arguments, flags and their origin'
              : 'checkpoint file',
          redactText(await readFile(f.path, 'utf8')),
          'OK',
          // A data dir holds a few per partition (~100 with __consumer_offsets): one row for all of them.
          checkpoint ? 'data-dir/**/*checkpoint*' : undefined,
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
    // Both at once: a write error (no such directory, disk full) rejects `closed` while finalize() waits,
    // and must fail this call rather than crash the process as an unhandled rejection.
    await Promise.all([archive.finalize(), closed]);
    await rename(tmp, o.file);
    done = true;
  } finally {
    if (!done) await rm(tmp, { force: true });
  }
  return rows(parts);
}

/** One row per part; the files of a group (the data dir's checkpoints) as one row counting them. */
function rows(parts: { name: string; what: string; content: string; status: string; group?: string }[]): BundlePart[] {
  const out: BundlePart[] = [];
  const groups = new Map<string, BundlePart>();
  for (const p of parts) {
    const bytes = Buffer.byteLength(p.content);
    if (p.group === undefined) {
      out.push({ name: p.name, what: p.what, bytes, status: p.status, files: 1 });
      continue;
    }
    let g = groups.get(p.group);
    if (!g) {
      g = { name: p.group, what: '', bytes: 0, status: 'OK', files: 0 };
      groups.set(p.group, g);
      out.push(g);
    }
    g.files++;
    g.bytes += bytes;
    g.what = `${g.files} checkpoint file${g.files === 1 ? '' : 's'} (the top and every partition dir)`;
    if (g.status === 'OK') g.status = p.status;
  }
  return out;
}
