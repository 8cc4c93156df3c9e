/**
 * `kstream topic export`: each partition is consumed in batches and streamed into a spool file next to the
 * output (hashing and counting as it goes, with write back-pressure), then the spool files are packed after the
 * manifest into a gzipped tar (archiver's TarArchive streams a file of known size without buffering it). The
 * archive is written under a temporary name and renamed at the end: a failure leaves no file behind.
 * Memory stays bounded by the consumer's fetch size, whatever the topic's size.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Admin } from '../client/index.js';
import { VERSION } from '../version.js';
import { type ConnectOptions, clusterOptions, errorText } from './connect.js';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  encodeRecord,
  type Manifest,
  type PartitionEntry,
  RECORDS_FORMAT,
  type TopicEntry,
} from './topic-archive.js';

export interface ExportOptions extends ConnectOptions {
  topics: string[];
  file: string;
  fromTime?: number;
  toTime?: number;
  /** Called now and then with records and bytes exported so far. */
  progress?: (records: number, bytes: number, where: string) => void;
}

export interface ExportSummary {
  file: string;
  bytes: number;
  manifest: Manifest;
}

/** Topic metadata and overrides; throws a one-line error for a missing topic. */
async function describeForExport(admin: Admin, topics: string[]): Promise<Omit<TopicEntry, 'files'>[]> {
  const descs = await admin.describeTopics(topics);
  const out: Omit<TopicEntry, 'files'>[] = [];
  for (const t of topics) {
    const d = descs.find((x) => x.topic === t);
    if (!d || d.error) throw new Error(`topic ${t} does not exist`);
    const [cfg] = await admin.describeConfigs([{ type: 'topic', name: t }]);
    if (cfg?.error) throw new Error(`cannot read the configs of topic ${t}: ${errorText(cfg.error)}`);
    const configs: Record<string, string> = {};
    for (const c of cfg?.configs ?? [])
      if (c.source === 'dynamic-topic' && c.value !== null && !c.isSensitive) configs[c.name] = c.value;
    out.push({
      name: t,
      partitions: d.partitions.length,
      replicationFactor: d.partitions[0]?.replicas.length ?? 1,
      configs,
    });
  }
  return out;
}

export async function exportTopics(o: ExportOptions): Promise<ExportSummary> {
  const { Admin, Consumer } = await import('../client/index.js');
  const admin = new Admin(clusterOptions(o));
  const dir = dirname(o.file);
  const tmp = join(dir, `.${basename(o.file)}.${process.pid}.tmp`);
  const spool = await mkdtemp(join(dir, `.kstream-export-`)).catch((e: NodeJS.ErrnoException) => {
    const why =
      e.code === 'ENOENT'
        ? `no such directory ${dir}`
        : e.code === 'EACCES'
          ? `permission denied in ${dir}`
          : e.message;
    throw new Error(`cannot write ${o.file}: ${why}`);
  });
  let done = false;
  try {
    await admin.connect();
    const metas = await describeForExport(admin, o.topics);
    const offsets = new Map(
      (await admin.fetchTopicOffsets(o.topics)).map((x) => [`${x.topic}\u0000${x.partition}`, x]),
    );
    const topics: TopicEntry[] = [];
    let totalRecords = 0;
    let totalBytes = 0;
    for (const [ti, meta] of metas.entries()) {
      const files: PartitionEntry[] = [];
      for (let p = 0; p < meta.partitions; p++) {
        const off = offsets.get(`${meta.name}\u0000${p}`);
        if (!off || off.error)
          throw new Error(`cannot read the offsets of ${meta.name}/${p}: ${errorText(off?.error)}`);
        const file = `records/${ti}-${p}.bin`;
        const path = join(spool, `${ti}-${p}.bin`);
        const ws = createWriteStream(path);
        const hash = createHash('sha256');
        let records = 0;
        let bytes = 0;
        let first: bigint | null = null;
        let last: bigint | null = null;
        if (off.high > off.low) {
          const consumer = new Consumer({
            ...clusterOptions(o),
            autoOffsetReset: 'earliest',
            maxBytes: 8 * 1024 * 1024,
          });
          try {
            await consumer.connect();
            consumer.assign([
              {
                topic: meta.name,
                partition: p,
                offset: o.fromTime !== undefined ? { timestamp: o.fromTime } : 'earliest',
              },
            ]);
            let lastProgress = 0;
            outer: for await (const batch of consumer.batches({ untilEnd: true })) {
              for (const r of batch.records) {
                if (r.offset >= off.high) break outer;
                const ts = Number(r.timestamp);
                if (o.fromTime !== undefined && ts < o.fromTime) continue;
                if (o.toTime !== undefined && ts >= o.toTime) continue;
                const buf = encodeRecord(r);
                hash.update(buf);
                records++;
                bytes += buf.length;
                first ??= r.offset;
                last = r.offset;
                if (!ws.write(buf)) await once(ws, 'drain');
              }
              const now = Date.now();
              if (o.progress && now - lastProgress > 250) {
                lastProgress = now;
                o.progress(totalRecords + records, totalBytes + bytes, `${meta.name}/${p}`);
              }
              if (batch.records.length && batch.records[batch.records.length - 1]!.offset >= off.high - 1n) break;
            }
          } finally {
            await consumer.close().catch(() => {});
          }
        }
        ws.end();
        await once(ws, 'finish');
        totalRecords += records;
        totalBytes += bytes;
        files.push({
          partition: p,
          file,
          records,
          bytes,
          sha256: hash.digest('hex'),
          firstOffset: first === null ? null : String(first),
          lastOffset: last === null ? null : String(last),
          logStartOffset: String(off.low),
          logEndOffset: String(off.high),
        });
      }
      topics.push({ ...meta, files });
    }
    const manifest: Manifest = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      recordsFormat: RECORDS_FORMAT,
      kstreamVersion: VERSION,
      createdAt: new Date().toISOString(),
      window: { fromTime: o.fromTime ?? null, toTime: o.toTime ?? null },
      topics,
    };
    const { TarArchive } = await import('archiver');
    // statConcurrency 1: files enter the archive in the order given (partition order), not in the order their
    // stat calls return, so archives are reproducible and a truncated one loses its last partitions.
    const archive = new TarArchive({ gzip: true, gzipOptions: { level: 6 }, statConcurrency: 1 });
    const out = createWriteStream(tmp);
    const closed = once(out, 'close');
    const failed = new Promise<never>((_, reject) => {
      archive.on('error', reject);
      out.on('error', reject);
    });
    archive.pipe(out);
    archive.append(`${JSON.stringify(manifest, null, 2)}\n`, { name: 'manifest.json' });
    for (const [ti, t] of topics.entries())
      for (const f of t.files) archive.file(join(spool, `${ti}-${f.partition}.bin`), { name: f.file });
    await Promise.race([archive.finalize().then(() => closed), failed]);
    await rename(tmp, o.file);
    done = true;
    return { file: o.file, bytes: (await stat(o.file)).size, manifest };
  } finally {
    await admin.close().catch(() => {});
    await rm(spool, { recursive: true, force: true });
    if (!done) await rm(tmp, { force: true });
  }
}
