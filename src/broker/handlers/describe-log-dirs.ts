/**
 * DescribeLogDirs (key 35): this broker's one log directory (the data dir) with every local replica in it —
 * alone that is every partition, in a cluster only the replicas this node holds (each broker answers for its
 * own, as in Kafka; an admin asks every broker). Per partition: the size of its segment files, the offset lag
 * (Kafka's definition for a current, non-future log: high watermark minus log end, never below 0) and
 * isFutureKey (always false: kstream has one log dir, so no replica is ever moving between dirs). v4 adds the
 * volume's total and usable bytes (statfs; -1 when unknown). `topics` null = every partition; requested
 * topics or partitions this broker does not hold are left out, not errors (Kafka does the same).
 */
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { clusterAllowed, Op } from '../acl/check.js';
import type { BrokerContext } from '../context.js';
import type { Partition } from '../partition.js';
import { defineHandler } from '../router.js';

/** The volume's total and usable (available to unprivileged users) bytes, or -1 each when statfs fails. */
export async function volumeBytes(dir: string): Promise<{ totalBytes: bigint; usableBytes: bigint }> {
  try {
    const s = await statfs(dir, { bigint: true });
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1n, usableBytes: -1n };
  }
}

type LogDirTopic = Item<Item<ResponseInput<typeof Api.DescribeLogDirs>['results']>['topics']>;

function describePartition(p: Partition): Item<LogDirTopic['partitions']> {
  const lag = p.log.highWatermark - p.log.logEndOffset;
  return {
    partitionIndex: p.index,
    partitionSize: BigInt(p.log.size),
    offsetLag: lag > 0n ? lag : 0n,
    isFutureKey: false,
  };
}

/** The topics part of the answer for one broker: requested (or all) local replicas, sorted. */
export function localReplicas(
  node: BrokerContext,
  topics: readonly { topic: string; partitions: number[] }[] | null,
): LogDirTopic[] {
  const out: LogDirTopic[] = [];
  if (topics === null) {
    const local = [...node.localTopics()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const t of local) {
      const partitions = [...t.partitions.values()].filter((p) => !p.log.isClosed).sort((a, b) => a.index - b.index);
      if (partitions.length > 0) out.push({ name: t.name, partitions: partitions.map(describePartition) });
    }
    return out;
  }
  const wanted = new Map<string, Set<number>>();
  for (const t of topics) {
    const set = wanted.get(t.topic) ?? new Set<number>();
    for (const i of t.partitions) set.add(i);
    wanted.set(t.topic, set);
  }
  for (const [name, indexes] of [...wanted].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const partitions: Item<LogDirTopic['partitions']>[] = [];
    for (const i of [...indexes].sort((a, b) => a - b)) {
      const p = node.partition(name, i);
      if (p && !p.log.isClosed) partitions.push(describePartition(p));
    }
    if (partitions.length > 0) out.push({ name, partitions });
  }
  return out;
}

export const describeLogDirs = defineHandler(Api.DescribeLogDirs, {
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const { node } = ctx;
    if (!clusterAllowed(ctx, Op.DESCRIBE))
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const dir = resolve(node.config.dataDir);
    const { totalBytes, usableBytes } = await volumeBytes(dir);
    let errorCode: number = ErrorCode.NONE;
    try {
      await access(dir, constants.R_OK | constants.W_OK);
    } catch {
      // The data dir went away or became unwritable under us: Kafka reports such a dir as offline.
      errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
    }
    const topics = errorCode === ErrorCode.NONE ? localReplicas(node, req.topics) : [];
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode, logDir: dir, topics, totalBytes, usableBytes }],
    };
  },
});
