/**
 * ListOffsets batched per leader: one request per broker for all the partitions it leads (never one per
 * partition), sent to all brokers at once. Partitions that fail with a retriable error (leader moved, topic
 * being created, connection lost) are retried after a metadata refresh; the others get their error in the
 * result. Used by the consumer (seek to earliest/latest/time) and the admin client (watermarks, lag).
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { Api, ApiKey, type Item, type RequestInput } from '../protocol/messages/index.js';
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
    const asked: number[] = [];
    const leaders: number[] = [];
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
      asked.push(i);
      leaders.push(leader);
    }
    const requests = groupRequests(items, asked, leaders);
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

/**
 * The requests to send: per leader, lists of item indexes in which each (topic, partition) appears once (Kafka
 * refuses a partition asked twice in one request). The n-th ask for a partition goes into its leader's n-th
 * request, so the usual case (every partition once) is one request per leader. `asked[k]` is led by
 * `leaders[k]`. Linear in the number of items: each is read once and counted in a per-topic array by
 * partition number (not compared with the items already placed, which made 10,000 partitions take 40 s).
 */
export function groupRequests(
  items: readonly ListOffsetsItem[],
  asked: readonly number[],
  leaders: readonly number[],
): Map<number, number[][]> {
  const requests = new Map<number, number[][]>();
  // topic → times each partition was placed so far (indexed by partition number).
  const placed = new Map<string, number[]>();
  for (let k = 0; k < asked.length; k++) {
    const i = asked[k]!;
    const leader = leaders[k]!;
    const it = items[i]!;
    let counts = placed.get(it.topic);
    if (!counts) {
      counts = [];
      placed.set(it.topic, counts);
    }
    const n = counts[it.partition] ?? 0;
    counts[it.partition] = n + 1;
    let groups = requests.get(leader);
    if (!groups) {
      groups = [];
      requests.set(leader, groups);
    }
    // The same partition always has the same leader here, so its n-th ask finds n requests of that leader
    // already made; a new one is opened only for the first partition asked that many times.
    const g = groups[n];
    if (g) g.push(i);
    else groups.push([i]);
  }
  return requests;
}

async function sendOne(
  cluster: Cluster,
  leader: number,
  items: readonly ListOffsetsItem[],
  group: number[],
  opts: ListOffsetsOptions,
): Promise<Map<number, ListOffsetsResult>> {
  const byTopic = new Map<string, Item<Item<RequestInput<typeof Api.ListOffsets>['topics']>['partitions']>[]>();
  // topic → the item asked for each partition (by partition number): no key string per partition.
  const index = new Map<string, number[]>();
  let maxTimestamp = false;
  for (const i of group) {
    const it = items[i]!;
    if (it.timestamp === MAX_TIMESTAMP) maxTimestamp = true;
    let parts = byTopic.get(it.topic);
    if (!parts) {
      parts = [];
      byTopic.set(it.topic, parts);
    }
    parts.push({ partitionIndex: it.partition, currentLeaderEpoch: -1, timestamp: it.timestamp });
    let asked = index.get(it.topic);
    if (!asked) {
      asked = [];
      index.set(it.topic, asked);
    }
    asked[it.partition] = i;
  }
  const conn = await cluster.connection(leader);
  if (maxTimestamp && !conn.supports(ApiKey.ListOffsets, 7)) {
    throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `broker ${conn.address} does not support max-timestamp (v7)`);
  }
  const res = await cluster.request(leader, Api.ListOffsets, {
    replicaId: -1,
    isolationLevel: opts.isolationLevel ?? 0,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  });
  const out = new Map<number, ListOffsetsResult>();
  for (const t of res.topics) {
    const asked = index.get(t.name);
    if (!asked) continue;
    for (const p of t.partitions) {
      const i = asked[p.partitionIndex];
      if (i === undefined || out.has(i)) continue;
      const it = items[i]!;
      out.set(i, {
        topic: it.topic,
        partition: it.partition,
        offset: p.errorCode === 0 ? p.offset : -1n,
        timestamp: p.timestamp,
        leaderEpoch: p.leaderEpoch,
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
