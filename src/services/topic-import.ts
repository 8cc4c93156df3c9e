/**
 * `kstream topic import`: two passes over the archive. The first verifies everything (manifest, every records
 * file complete, its sha256, size and record count) without touching the cluster; only then are the topics
 * checked and created and the second pass produces every record to its original partition with its key,
 * value, headers and timestamp. A damaged archive imports nothing, unless `partial` is set: then the
 * partitions whose files verified are imported and the others reported as skipped; a topic with no intact
 * partition at all is skipped as a whole (not created, reported).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { ProducerRecord } from '../client/index.js';
import { type ConnectOptions, clusterOptions, errorText } from './connect.js';
import {
  type ArchivedRecord,
  ArchiveError,
  type Manifest,
  type PartitionEntry,
  RecordReader,
  readTar,
  type TarEntryHandler,
  validateManifest,
} from './topic-archive.js';

export interface ImportOptions extends ConnectOptions {
  file: string;
  toTopic?: string;
  partial: boolean;
  progress?: (records: number, where: string) => void;
}

export interface ImportRow {
  topic: string;
  partition: number;
  records: number;
  status: string;
  /** Skipped because the topic had no intact partition at all: it was not created (--partial). */
  topicSkipped?: boolean;
}

interface FileCheck {
  sha256: string;
  records: number;
  bytes: number;
  error: string | null;
}

function openArchive(file: string): AsyncIterable<Buffer> {
  const rs = createReadStream(file);
  const gz = createGunzip();
  rs.on('error', (e) => gz.destroy(e));
  return rs.pipe(gz);
}

function streamProblem(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  // The caller names the file ("x.tar.gz: no such file"), like cat or tar.
  if (err.code === 'ENOENT') return 'no such file';
  if (err.code === 'EISDIR') return 'is a directory, not an archive';
  if (err.code === 'EACCES') return 'permission denied';
  if (err instanceof ArchiveError) return err.message;
  if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) return 'the archive is truncated';
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) return `the archive is corrupt (gzip: ${err.message})`;
  return errorText(e);
}

/** Pass 1: the manifest and what each records file really holds. */
async function verify(
  file: string,
): Promise<{ manifest: Manifest | null; files: Map<string, FileCheck>; problem: string | null }> {
  const files = new Map<string, FileCheck>();
  let manifestText: Buffer[] | null = null;
  let manifestDone = false;
  let problem: string | null = null;
  try {
    await readTar(openArchive(file), (h): TarEntryHandler | null => {
      if (h.name === 'manifest.json') {
        manifestText = [];
        return {
          data: (c) => {
            manifestText!.push(Buffer.from(c));
          },
          end: () => {
            manifestDone = true;
          },
        };
      }
      if (!h.name.startsWith('records/')) return null;
      const hash = createHash('sha256');
      const reader = new RecordReader();
      const check: FileCheck = { sha256: '', records: 0, bytes: 0, error: 'incomplete (the archive ends inside it)' };
      let frameError: string | null = null;
      files.set(h.name, check);
      return {
        data: (c) => {
          hash.update(c);
          check.bytes += c.length;
          if (frameError) return;
          try {
            reader.push(c, () => {
              check.records++;
            });
          } catch (e) {
            frameError = (e as Error).message;
          }
        },
        end: () => {
          if (!frameError) {
            try {
              reader.end();
            } catch (e) {
              frameError = (e as Error).message;
            }
          }
          check.sha256 = hash.digest('hex');
          check.error = frameError;
        },
      };
    });
  } catch (e) {
    problem = streamProblem(e);
  }
  let manifest: Manifest | null = null;
  if (manifestText && manifestDone) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(manifestText).toString('utf8'));
    } catch {
      throw new ArchiveError(`${file}: manifest.json is not valid JSON`);
    }
    manifest = validateManifest(parsed);
  }
  return { manifest, files, problem };
}

function fileStatus(f: PartitionEntry, c: FileCheck | undefined): string | null {
  if (!c) return 'missing from the archive';
  if (c.error) return c.error;
  if (c.bytes !== f.bytes) return `size ${c.bytes} bytes, the manifest says ${f.bytes}`;
  if (c.sha256 !== f.sha256) return 'sha256 checksum mismatch';
  if (c.records !== f.records) return `${c.records} records, the manifest says ${f.records}`;
  return null;
}

export async function importArchive(o: ImportOptions): Promise<ImportRow[]> {
  const { manifest, files, problem } = await verify(o.file);
  if (!manifest) throw new ArchiveError(`${o.file}: ${problem ?? 'not a kstream topic archive (no manifest.json)'}`);
  if (o.toTopic && manifest.topics.length !== 1)
    throw new ArchiveError(`--to-topic needs an archive of one topic; this one has ${manifest.topics.length}`);

  const targets = manifest.topics.map((t) => ({ entry: t, name: o.toTopic ?? t.name }));
  const bad: { topic: string; partition: number; why: string }[] = [];
  const good = new Set<string>();
  for (const t of targets)
    for (const f of t.entry.files) {
      const why = fileStatus(f, files.get(f.file));
      if (why) bad.push({ topic: t.name, partition: f.partition, why });
      else good.add(f.file);
    }
  if ((bad.length || problem) && !o.partial) {
    const parts = bad.map((b) => `${b.topic}/${b.partition}: ${b.why}`);
    throw new ArchiveError(
      `${o.file} is damaged, nothing imported (--partial imports the intact partitions): ${[problem, ...parts]
        .filter(Boolean)
        .slice(0, 4)
        .join('; ')}${parts.length > 3 ? `; and ${parts.length - 3} more` : ''}`,
    );
  }
  if (good.size === 0 && bad.length) throw new ArchiveError(`${o.file}: no partition file is intact, nothing imported`);
  // --partial: a topic none of whose partitions is intact is neither checked nor created (an empty topic
  // would look restored); it is reported as skipped. The others get their intact partitions.
  const skippedTopics = new Set(
    targets.filter((t) => t.entry.files.length > 0 && !t.entry.files.some((f) => good.has(f.file))).map((t) => t.name),
  );
  const importing = targets.filter((t) => !skippedTopics.has(t.name));

  const { Admin, Producer } = await import('../client/index.js');
  const admin = new Admin(clusterOptions(o));
  const rows: ImportRow[] = [];
  try {
    await admin.connect();
    // Check every target before creating any.
    const brokers = (await admin.describeCluster()).brokers.length;
    const existing = await admin.describeTopics(importing.map((t) => t.name));
    const create: typeof targets = [];
    for (const t of importing) {
      const d = existing.find((x) => x.topic === t.name && !x.error);
      if (!d) {
        create.push(t);
        continue;
      }
      if (d.partitions.length !== t.entry.partitions)
        throw new Error(
          `topic ${t.name} already exists with ${d.partitions.length} partitions (the archive has ${t.entry.partitions})`,
        );
      const offs = await admin.fetchTopicOffsets([t.name]);
      if (offs.some((p) => p.high > p.low)) throw new Error(`topic ${t.name} already exists and is not empty`);
    }
    if (create.length) {
      const res = await admin.createTopics(
        create.map((t) => ({
          topic: t.name,
          numPartitions: t.entry.partitions,
          replicationFactor: t.entry.replicationFactor <= brokers ? t.entry.replicationFactor : -1,
          configs: t.entry.configs,
        })),
      );
      const failed = res.find((r) => r.error);
      if (failed) throw new Error(`cannot create topic ${failed.topic}: ${errorText(failed.error)}`);
    }

    const byFile = new Map<string, { topic: string; partition: number; count: number }>();
    for (const t of importing)
      for (const f of t.entry.files)
        if (good.has(f.file)) byFile.set(f.file, { topic: t.name, partition: f.partition, count: 0 });
    const { retry: _retry, ...producerBase } = clusterOptions(o);
    const producer = new Producer({ ...producerBase, acks: 'all', maxInFlight: 1, metadataTimeoutMs: 30_000 });
    let total = 0;
    try {
      await readTar(openArchive(o.file), (h) => {
        const target = byFile.get(h.name);
        if (!target) return null;
        const reader = new RecordReader();
        let pending: ProducerRecord[] = [];
        let pendingBytes = 0;
        const flush = async () => {
          if (!pending.length) return;
          const batch = pending;
          pending = [];
          pendingBytes = 0;
          await producer.sendBatch(batch);
          target.count += batch.length;
          total += batch.length;
          o.progress?.(total, `${target.topic}/${target.partition}`);
        };
        const add = (r: ArchivedRecord) => {
          pending.push({
            topic: target.topic,
            partition: target.partition,
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp: r.timestamp,
          });
          pendingBytes += (r.key?.length ?? 0) + (r.value?.length ?? 0) + 64;
        };
        return {
          data: async (c) => {
            reader.push(c, add);
            if (pending.length >= 1000 || pendingBytes >= 1024 * 1024) await flush();
          },
          end: flush,
        };
      });
    } catch (e) {
      // Pass 1 verified the files we import; a stream problem after the last of them does not matter.
      // (The count check below still catches a file that came up short.)
      if (!problem) throw e;
    } finally {
      await producer.close().catch(() => {});
    }
    for (const t of targets)
      for (const f of t.entry.files) {
        const b = bad.find((x) => x.topic === t.name && x.partition === f.partition);
        const done = byFile.get(f.file);
        const topicSkipped = skippedTopics.has(t.name);
        rows.push({
          topic: t.name,
          partition: f.partition,
          records: b ? 0 : (done?.count ?? 0),
          status: b ? `SKIPPED: ${b.why}${topicSkipped ? ' (topic not created: no intact partition)' : ''}` : 'OK',
          ...(topicSkipped ? { topicSkipped } : {}),
        });
        if (!b && done && done.count !== f.records)
          throw new Error(`${t.name}/${f.partition}: produced ${done.count} of ${f.records} records`);
      }
    return rows;
  } finally {
    await admin.close().catch(() => {});
  }
}
