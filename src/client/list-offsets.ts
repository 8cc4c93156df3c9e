/**
 * ListOffsets batched per leader: one request per broker for all the partitions it leads (never one per
 * partition), sent to all brokers at once. Partitions that fail with a retriable error (leader moved, topic
 * being created, connection lost) are retried after a metadata refresh; the others get their error in the
 * result. Used by the consumer (seek to earliest/latest/time) and the admin client (watermarks, lag).
 */
import type { Struct } from '../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { Cluster } from './cluster.js';
import { errorFor } from './errors.js';
import { backoff, mayRetry, sleep } from './retry.js';

/** Kafka's special ListOffsets timestamps. */
export const EARLIEST_TIMESTAMP = -2n;
export const LATEST_TIMESTAMP = -1n;
/** Offset of the record with the largest timestamp (KIP-734, ListOffsets v7+). */
export const MAX_TIMESTAMP = -3n;

export type OffsetQuery = 'earliest' | 'latest' | 'max-timestamp' | { timestamp: number | bigint | Date };

export function queryTimestamp(q: OffsetQuery): bigint {
  if (q === 'earliest') return EARLIEST_TIMESTAMP;
  if (q === 'latest') return LATEST_TIMESTAMP;
  if (q === 'max-timestamp') return MAX_TIMESTAMP;
  const t = q.timestamp;
  return t instanceof Date ? BigInt(t.getTime()) : BigInt(t);
}

export interface ListOffsetsItem {
  topic: string;
  partition: number;
  /** -2 earliest, -1 latest, -3 max timestamp, or a time in ms: the first offset with a timestamp >= it. */
  timestamp: bigint;
}

export interface ListOffsetsResult {
  topic: string;
  partition: number;
  /** -1 when there is no such offset (no record at or after the timestamp), or on error. */
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
  error: KafkaError | null;
}

export interface ListOffsetsOptions {
  /** 0 read_uncommitted (high watermark), 1 read_committed (last stable offset). Default 0. */
  isolationLevel?: 0 | 1;
  /**
   * Rounds of retries for partitions with retriable errors. Default: the cluster's retries (5), and as many
   * more as fit in the cluster's retry timeoutMs.
   */
  retries?: number;
}

export async function listOffsets(
  cluster: Cluster,
  items: readonly ListOffsetsItem[],
  opts: ListOffsetsOptions = {},
): Promise<ListOffsetsResult[]> {
  const results: ListOffsetsResult[] = new Array(items.length);
  const budget = opts.retries !== undefined ? { retries: opts.retries } : cluster.retry;
  const started = Date.now();
  let todo = items.map((_, i) => i);
  const topics = [...new Set(items.map((i) => i.topic))];
  await cluster.metadataFor(topics);
  for (let round = 0; todo.length > 0; round++) {
    const last = !mayRetry(round, started, budget) || cluster.isClosed;
    const retry: number[] = [];
    // Per leader, split into requests in which each partition appears once.
    const requests = new Map<number, number[][]>();
    for (const i of todo) {
      const it = items[i]!;
      const info = cluster.topics.get(it.topic);
      if (!info || it.partition < 0 || it.partition >= info.partitions.length) {
        const topicErr = cluster.topicError(it.topic);
        const err =
          topicErr ??
          new KafkaError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            info ? `partition ${it.partition} of ${it.topic} does not exist` : `topic ${it.topic} does not exist`,
          );
        if (!last && err.retriable && round === 0) retry.push(i);
        else results[i] = failed(it, err);
        continue;
      }
      const leader = info.partitions[it.partition]!.leader;
      if (leader < 0) {
        if (last) {
          results[i] = failed(it, new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${it.topic}/${it.partition}`));
        } else retry.push(i);
        continue;
      }
      let groups = requests.get(leader);
      if (!groups) {
        groups = [];
        requests.set(leader, groups);
      }
      let placed = false;
      for (const g of groups) {
        if (!g.some((j) => items[j]!.topic === it.topic && items[j]!.partition === it.partition)) {
          g.push(i);
          placed = true;
          break;
        }
      }
      if (!placed) groups.push([i]);
    }
    const sends: Promise<void>[] = [];
    for (const [leader, groups] of requests) {
      for (const group of groups) {
        sends.push(
          sendOne(cluster, leader, items, group, opts).then(
            (res) => {
              for (const [i, r] of res) {
                if (r.error?.retriable && !last) retry.push(i);
                else results[i] = r;
              }
            },
            (e: unknown) => {
              const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
              for (const i of group) {
                if (err.retriable && !last) retry.push(i);
                else results[i] = failed(items[i]!, err);
              }
            },
          ),
        );
      }
    }
    await Promise.all(sends);
    todo = retry;
    if (todo.length > 0) {
      cluster.markStale();
      await sleep(backoff(round + 1, cluster.retry));
      await cluster.refreshMetadata().catch(() => {});
    }
  }
  return results;
}

function failed(it: ListOffsetsItem, error: KafkaError): ListOffsetsResult {
  return { topic: it.topic, partition: it.partition, offset: -1n, timestamp: -1n, leaderEpoch: -1, error };
}

async function sendOne(
  cluster: Cluster,
  leader: number,
  items: readonly ListOffsetsItem[],
  group: number[],
  opts: ListOffsetsOptions,
): Promise<Map<number, ListOffsetsResult>> {
  const byTopic = new Map<string, Struct[]>();
  const index = new Map<string, number>();
  for (const i of group) {
    const it = items[i]!;
    let parts = byTopic.get(it.topic);
    if (!parts) {
      parts = [];
      byTopic.set(it.topic, parts);
    }
    parts.push({ partitionIndex: it.partition, currentLeaderEpoch: -1, timestamp: it.timestamp });
    index.set(`${it.topic}\u0000${it.partition}`, i);
  }
  const conn = await cluster.connection(leader);
  if (group.some((i) => items[i]!.timestamp === MAX_TIMESTAMP) && !conn.supports(ApiKey.ListOffsets, 7)) {
    throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `broker ${conn.address} does not support max-timestamp (v7)`);
  }
  const res = await cluster.request(leader, ApiKey.ListOffsets, {
    replicaId: -1,
    isolationLevel: opts.isolationLevel ?? 0,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  });
  const out = new Map<number, ListOffsetsResult>();
  for (const t of res.topics as Struct[]) {
    for (const p of t.partitions as Struct[]) {
      const i = index.get(`${t.name}\u0000${p.partitionIndex}`);
      if (i === undefined) continue;
      const it = items[i]!;
      out.set(i, {
        topic: it.topic,
        partition: it.partition,
        offset: p.errorCode === 0 ? (p.offset as bigint) : -1n,
        timestamp: p.timestamp as bigint,
        leaderEpoch: p.leaderEpoch as number,
        error: p.errorCode === 0 ? null : errorFor(p.errorCode, `list offsets of ${it.topic}/${it.partition}`),
      });
    }
  }
  for (const i of group) {
    if (!out.has(i)) {
      out.set(
        i,
        failed(items[i]!, new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'partition missing from the response')),
      );
    }
  }
  return out;
}
