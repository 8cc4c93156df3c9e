/**
 * Topic administration for the CLI (and later the TUI): plain async functions over an Admin, returning typed
 * results. Batch operations return one row per item with its error instead of failing as a whole.
 */

import { OPERATIONS_NOT_REQUESTED, operationName, operationsOfBits } from '../broker/acl/model.js';
import { errorFor, errorName } from '../client/errors.js';
import type { Admin, ConfigSourceName, PartitionInfo } from '../client/index.js';
import { KafkaError } from '../protocol/errors.js';
import { Api } from '../protocol/messages/index.js';
import { errorText } from './connect.js';

/** One item of a batch operation: OK or the error's text. */
export interface ItemStatus {
  name: string;
  status: string;
  ok: boolean;
}

const UNKNOWN_TOPIC_OR_PARTITION = 3;

function isUnknownTopic(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === UNKNOWN_TOPIC_OR_PARTITION;
}

/** The topic's description, or a clear error when it does not exist. */
async function describeOne(admin: Admin, name: string) {
  const [d] = await admin.describeTopics([name]);
  if (!d || isUnknownTopic(d.error)) throw new Error(`topic ${name} does not exist`);
  if (d.error) throw new Error(`topic ${name}: ${errorText(d.error)}`);
  return d;
}

function status(name: string, error: unknown): ItemStatus {
  if (!error) return { name, status: 'OK', ok: true };
  if (isUnknownTopic(error)) return { name, status: 'UNKNOWN_TOPIC_OR_PARTITION: no such topic', ok: false };
  // The row names the item already: drop a leading "name: " (or "topic name: ", config errors) from the text.
  // A Kafka error keeps its name in front ("INVALID_CONFIG: …"), whatever the broker put in its message.
  const text = errorText(error);
  const prefix = [`${name}: `, `topic ${name}: `].find((p) => text.startsWith(p));
  const detail = prefix ? text.slice(prefix.length) : text;
  return { name, status: error instanceof KafkaError ? `${errorName(error.code)}: ${detail}` : detail, ok: false };
}

export interface TopicSummary {
  name: string;
  partitions: number;
  replicas: number;
  internal: boolean;
}

export async function listTopics(admin: Admin, opts: { all?: boolean } = {}): Promise<TopicSummary[]> {
  const names = await admin.listTopics({ includeInternal: opts.all ?? false });
  if (names.length === 0) return [];
  const described = await admin.describeTopics(names);
  return described.map((t) => ({
    name: t.topic,
    partitions: t.partitions.length,
    replicas: t.partitions[0]?.replicas.length ?? 0,
    internal: t.isInternal,
  }));
}

export interface NewTopicSpec {
  partitions?: number;
  replicas?: number;
  configs?: Record<string, string>;
}

export async function createTopics(admin: Admin, names: string[], spec: NewTopicSpec): Promise<ItemStatus[]> {
  const res = await admin.createTopics(
    names.map((topic) => ({
      topic,
      numPartitions: spec.partitions,
      replicationFactor: spec.replicas,
      configs: spec.configs,
    })),
  );
  return res.map((r) => status(r.topic, r.error));
}

export async function deleteTopics(admin: Admin, names: string[]): Promise<ItemStatus[]> {
  const res = await admin.deleteTopics(names);
  return res.map((r) => status(r.topic, r.error));
}

/** A partition as metadata gives it (without its error code), with its log start and end offsets. */
export interface PartitionDetail extends Omit<PartitionInfo, 'errorCode'> {
  logStartOffset: bigint;
  logEndOffset: bigint;
}

export interface ConfigDetail {
  name: string;
  value: string | null;
  source: ConfigSourceName;
  readOnly: boolean;
  sensitive: boolean;
}

export interface TopicDetail {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: PartitionDetail[];
  configs: ConfigDetail[];
  /** Why the configs could not be read (a broker without DescribeConfigs); absent when they were. */
  configsError?: string;
}

/** Partitions (leader, replicas, ISR, log start/end) and configs with their source; throws for an unknown topic. */
export async function describeTopic(admin: Admin, name: string): Promise<TopicDetail> {
  const d = await describeOne(admin, name);
  const [offsets, [configs]] = await Promise.all([
    admin.fetchTopicOffsets([name]),
    admin.describeConfigs([{ type: 'topic', name }]),
  ]);
  const byPartition = new Map(offsets.map((o) => [o.partition, o]));
  return {
    name,
    topicId: d.topicId,
    internal: d.isInternal,
    partitions: [...d.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        offlineReplicas: p.offlineReplicas,
        logStartOffset: byPartition.get(p.partition)?.low ?? -1n,
        logEndOffset: byPartition.get(p.partition)?.high ?? -1n,
      })),
    configs: (configs?.configs ?? [])
      .map((c) => ({
        name: c.name,
        value: c.isSensitive ? null : c.value,
        source: c.source,
        readOnly: c.readOnly,
        sensitive: c.isSensitive,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    ...(configs?.error ? { configsError: errorText(configs.error) } : {}),
  };
}

/**
 * The operations the logged-in principal may perform on `topic` (KIP-430: Metadata v8+ with
 * include_topic_authorized_operations), by Kafka's names; null when the broker does not say (Metadata below v8).
 * Throws the topic's error (e.g. TOPIC_AUTHORIZATION_FAILED).
 */
export async function topicAuthorizedOperations(admin: Admin, topic: string): Promise<string[] | null> {
  await admin.connect();
  const conn = await admin.cluster.anyConnection();
  const res = await conn.request(Api.Metadata, {
    topics: [{ name: topic, topicId: '0'.repeat(32) }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: true,
  });
  const t = res.topics.find((x) => x.name === topic);
  if (!t) return null;
  if (t.errorCode !== 0) throw errorFor(t.errorCode, `topic ${topic}`);
  if (t.topicAuthorizedOperations === OPERATIONS_NOT_REQUESTED) return null;
  return operationsOfBits(t.topicAuthorizedOperations).map(operationName);
}

/** One idempotent producer of one partition, as the partition's leader knows it (DescribeProducers). */
export interface ProducerDetail {
  partition: number;
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  /** Timestamp of its last batch (ms since the epoch), or -1. */
  lastTimestamp: bigint;
}

export interface TopicProducers {
  producers: ProducerDetail[];
  /** Partitions whose leader could not answer, with the error's text. */
  errors: { partition: number; error: string }[];
}

/**
 * The idempotent producers of every partition of `topic` (`topic describe --producers`): DescribeProducers
 * asked of each partition's leader (KIP-664), one request per leader.
 */
export async function describeProducers(admin: Admin, topic: string): Promise<TopicProducers> {
  const d = await describeOne(admin, topic);
  const out: TopicProducers = { producers: [], errors: [] };
  const byLeader = new Map<number, number[]>();
  for (const p of d.partitions) {
    if (p.leader < 0) out.errors.push({ partition: p.partition, error: 'LEADER_NOT_AVAILABLE: no leader' });
    else byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partition]);
  }
  await Promise.all(
    [...byLeader].map(async ([leader, partitions]) => {
      try {
        const res = await admin.cluster.request(leader, Api.DescribeProducers, {
          topics: [{ name: topic, partitionIndexes: partitions }],
        });
        for (const p of res.topics[0]?.partitions ?? []) {
          if (p.errorCode !== 0) {
            const e = errorFor(p.errorCode, `${topic}/${p.partitionIndex}`, p.errorMessage);
            out.errors.push({ partition: p.partitionIndex, error: errorText(e) });
          }
          for (const a of p.activeProducers) {
            out.producers.push({
              partition: p.partitionIndex,
              producerId: a.producerId,
              producerEpoch: a.producerEpoch,
              lastSequence: a.lastSequence,
              lastTimestamp: a.lastTimestamp,
            });
          }
        }
      } catch (e) {
        for (const partition of partitions) out.errors.push({ partition, error: errorText(e) });
      }
    }),
  );
  out.producers.sort((a, b) => a.partition - b.partition || (a.producerId < b.producerId ? -1 : 1));
  out.errors.sort((a, b) => a.partition - b.partition);
  return out;
}

/** Set and delete (back to the default) topic configs in one IncrementalAlterConfigs. */
export async function alterTopicConfig(
  admin: Admin,
  topic: string,
  set: Record<string, string>,
  remove: string[],
): Promise<ItemStatus> {
  const configs = [
    ...Object.entries(set).map(([name, value]) => ({ name, op: 'set' as const, value })),
    ...remove.map((name) => ({ name, op: 'delete' as const })),
  ];
  const [r] = await admin.incrementalAlterConfigs([{ type: 'topic', name: topic, configs }]);
  return status(topic, r?.error ?? null);
}

/** Add `add` partitions to each topic (the new count is the current one + add). */
export async function addPartitions(admin: Admin, topics: string[], add: number): Promise<ItemStatus[]> {
  const described = await admin.describeTopics(topics);
  const rows: ItemStatus[] = [];
  const requests: { topic: string; count: number }[] = [];
  for (const d of described) {
    if (d.error) rows.push(status(d.topic, d.error));
    else requests.push({ topic: d.topic, count: d.partitions.length + add });
  }
  if (requests.length > 0) for (const r of await admin.createPartitions(requests)) rows.push(status(r.topic, r.error));
  const order = new Map(topics.map((t, i) => [t, i]));
  return rows.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
}

export interface TrimResult {
  topic: string;
  partition: number;
  /** The partition's log start offset before the trim. */
  current: bigint;
  /** Its log start offset after the trim (planned, or as the broker answered; -1 on error). */
  logStartOffset: bigint;
  /** Records deleted (or to be deleted): new log start minus the current one. */
  deleted: bigint;
  status: string;
  ok: boolean;
}

/**
 * The plan of a trim (DeleteRecords) before an offset, or before the first record at or after a time, on all
 * partitions of a topic or the given ones: per partition its log start now and after. An offset past the end
 * trims to the end (the high watermark now). Nothing is changed.
 */
export async function planTrim(
  admin: Admin,
  topic: string,
  target: { offset: bigint } | { beforeTime: number },
  partitions?: number[],
): Promise<TrimResult[]> {
  const d = await describeOne(admin, topic);
  const parts = [...new Set(partitions ?? d.partitions.map((p) => p.partition))].sort((a, b) => a - b);
  const exists = new Set(d.partitions.map((x) => x.partition));
  for (const p of parts) {
    if (!exists.has(p)) throw new Error(`topic ${topic} has no partition ${p} (it has ${d.partitions.length})`);
  }
  const offsets = new Map((await admin.fetchTopicOffsets([topic])).map((o) => [o.partition, o]));
  let before: bigint[];
  if ('offset' in target) {
    before = parts.map((p) => {
      const high = offsets.get(p)?.high ?? 0n;
      return target.offset > high ? high : target.offset;
    });
  } else {
    const found = await admin.listOffsets(
      parts.map((partition) => ({ topic, partition, spec: { timestamp: target.beforeTime } })),
    );
    // No record at or after the time: everything is older, trim to the end.
    before = found.map((f, i) => (f.offset < 0n ? (offsets.get(parts[i]!)?.high ?? 0n) : f.offset));
  }
  return parts.map((partition, i) => {
    const low = offsets.get(partition)?.low ?? 0n;
    const to = before[i]! > low ? before[i]! : low;
    return { topic, partition, current: low, logStartOffset: to, deleted: to - low, status: 'planned', ok: true };
  });
}

/** Carry out a trim plan (planTrim): each partition to exactly its planned log start. */
export async function applyTrim(admin: Admin, plan: TrimResult[]): Promise<TrimResult[]> {
  if (plan.length === 0) return [];
  const res = await admin.deleteRecords(
    plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.logStartOffset })),
  );
  const byPartition = new Map(res.map((r) => [r.partition, r]));
  return plan.map((p) => {
    const r = byPartition.get(p.partition);
    if (!r || r.error)
      return { ...p, logStartOffset: -1n, deleted: 0n, status: r ? errorText(r.error) : 'no answer', ok: false };
    const deleted = r.lowWatermark > p.current ? r.lowWatermark - p.current : 0n;
    return { ...p, logStartOffset: r.lowWatermark, deleted, status: 'OK', ok: true };
  });
}

/** planTrim then applyTrim. */
export async function trimTopic(
  admin: Admin,
  topic: string,
  target: { offset: bigint } | { beforeTime: number },
  partitions?: number[],
): Promise<TrimResult[]> {
  return applyTrim(admin, await planTrim(admin, topic, target, partitions));
}

export interface TopicDeletePlan extends ItemStatus {
  /** -1 when the topic does not exist. */
  partitions: number;
  /** Records it holds (log end minus log start, summed). */
  records: bigint;
}

/** What deleting these topics would remove: per topic its partitions and records, or why it cannot. */
export async function planDeleteTopics(admin: Admin, names: string[]): Promise<TopicDeletePlan[]> {
  const described = await admin.describeTopics(names);
  const existing = described.filter((d) => !d.error).map((d) => d.topic);
  const offsets = existing.length > 0 ? await admin.fetchTopicOffsets(existing) : [];
  // Summed per topic in one pass (not a scan of every topic's partitions per topic).
  const records = new Map<string, bigint>();
  for (const o of offsets) {
    if (!o.error && o.high >= 0n && o.low >= 0n) records.set(o.topic, (records.get(o.topic) ?? 0n) + (o.high - o.low));
  }
  return described.map((d) => {
    if (d.error) return { ...status(d.topic, d.error), partitions: -1, records: 0n };
    return {
      name: d.topic,
      status: 'planned',
      ok: true,
      partitions: d.partitions.length,
      records: records.get(d.topic) ?? 0n,
    };
  });
}
