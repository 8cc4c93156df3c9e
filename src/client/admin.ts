/**
 * The admin client: topics, partitions, configs, records, consumer groups and their offsets, the cluster.
 *
 * Requests go where Kafka wants them: topic creation/deletion and partition changes to the controller
 * (retried on NOT_CONTROLLER), broker configs to that broker, per-partition requests (ListOffsets,
 * DeleteRecords) batched into one request per leader, group requests to each group's coordinator (found with
 * one batched FindCoordinator where the broker supports it). Operations on several items return one result per
 * item with its own error instead of failing as a whole (rpk's "a row per item").
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  Api,
  ApiKey,
  type ApiSpec,
  type Item,
  type RequestInput,
  type ResponseOf,
} from '../protocol/messages/index.js';
import { Cluster, type ClusterOptions, type PartitionInfo } from './cluster.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  type TopicPartitions,
} from './consumer-protocol.js';
import { errorFor } from './errors.js';
import type { TopicPartition } from './group.js';
import {
  COORDINATOR_KEY_GROUP,
  COORDINATOR_KEY_TRANSACTION,
  type CommitResult,
  type CommittedOffset,
  commitOffsets,
  fetchCommittedOffsets,
  findCoordinators,
  isCoordinatorError,
  type OffsetToCommit,
} from './group-api.js';
import {
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  type ListOffsetsOptions,
  type ListOffsetsResult,
  listOffsets,
  type OffsetQuery,
  queryTimestamp,
} from './list-offsets.js';
import { backoff, mayRetry, sleep } from './retry.js';

export type AdminOptions = ClusterOptions;

export interface NewTopic {
  topic: string;
  /** Default: the broker's num.partitions (-1). */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor (-1). */
  replicationFactor?: number;
  configs?: Readonly<Record<string, string | null>>;
  /** Explicit replica assignment: partition → broker ids (then numPartitions/replicationFactor are -1). */
  replicaAssignment?: Readonly<Record<number, number[]>>;
}

export interface TopicResult {
  topic: string;
  error: KafkaError | null;
}

export interface CreateTopicResult extends TopicResult {
  /** From CreateTopics v5+ (-1 otherwise). */
  numPartitions: number;
  replicationFactor: number;
}

export interface TopicDescription {
  topic: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionInfo[];
  error: KafkaError | null;
}

export interface NewPartitions {
  topic: string;
  /** The new total number of partitions. */
  count: number;
  /** Replicas of each new partition. */
  assignments?: number[][];
}

export type ResourceTypeName = 'topic' | 'broker' | 'broker-logger' | 'group';
export const RESOURCE_TYPE: Readonly<Record<ResourceTypeName, number>> = {
  topic: 2,
  broker: 4,
  'broker-logger': 8,
  group: 32,
};

export type ConfigSourceName =
  | 'unknown'
  | 'dynamic-topic'
  | 'dynamic-broker'
  | 'dynamic-default-broker'
  | 'static-broker'
  | 'default'
  | 'dynamic-broker-logger'
  | 'client-metrics'
  | 'group';
const SOURCES: ConfigSourceName[] = [
  'unknown',
  'dynamic-topic',
  'dynamic-broker',
  'dynamic-default-broker',
  'static-broker',
  'default',
  'dynamic-broker-logger',
  'client-metrics',
  'group',
];
const CONFIG_TYPES = ['unknown', 'boolean', 'string', 'int', 'short', 'long', 'double', 'list', 'class', 'password'];

export interface ConfigResource {
  type: ResourceTypeName;
  /** Topic name, or broker id as a string. */
  name: string;
  /** Only these keys (default all). */
  keys?: string[];
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: ConfigSourceName;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: ConfigSourceName }[];
  /** 'unknown' before DescribeConfigs v3. */
  type: string;
  documentation: string | null;
}

export interface ConfigResourceResult {
  type: ResourceTypeName;
  name: string;
  error: KafkaError | null;
  configs: ConfigEntry[];
}

export interface ResourceResult {
  type: ResourceTypeName;
  name: string;
  error: KafkaError | null;
}

export type AlterConfigOp = 'set' | 'delete' | 'append' | 'subtract';
const OPS: Record<AlterConfigOp, number> = { set: 0, delete: 1, append: 2, subtract: 3 };

export interface ListOffsetsSpec extends TopicPartition {
  spec: OffsetQuery;
}

export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** Log start offset. */
  low: bigint;
  /** High watermark (log end for consumers). */
  high: bigint;
  error: KafkaError | null;
}

export interface DeleteRecordsResult extends TopicPartition {
  lowWatermark: bigint;
  error: KafkaError | null;
}

/** A transaction as ListTransactions answers it (KIP-664). */
export interface TransactionListing {
  transactionalId: string;
  producerId: bigint;
  /** Kafka's names: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, … */
  state: string;
  /** The broker that coordinates it. */
  coordinator: number;
}

/** A transactional id as its coordinator describes it (DescribeTransactions, KIP-664). */
export interface TransactionDescription {
  transactionalId: string;
  coordinator: number;
  state: string;
  producerId: bigint;
  producerEpoch: number;
  transactionTimeoutMs: number;
  /** When the open transaction started (ms since the epoch); -1 when none is open. */
  transactionStartTimeMs: bigint;
  /** The partitions in the open transaction. */
  partitions: TopicPartition[];
  error: KafkaError | null;
}

/** The transaction states ListTransactions filters by (Kafka's TransactionState names). */
export const TRANSACTION_STATES = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
] as const;

export interface GroupListing {
  groupId: string;
  protocolType: string;
  /** '' when the broker does not report states (ListGroups < v4). */
  state: string;
  coordinator: number;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded for protocol type "consumer"; raw bytes otherwise. */
  subscribedTopics: string[] | null;
  assignment: TopicPartitions[] | null;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable, Dead. */
  state: string;
  protocolType: string;
  /** The assignor in use for consumer groups. */
  protocol: string;
  members: GroupMemberDescription[];
  coordinator: number;
  error: KafkaError | null;
}

export interface GroupResult {
  groupId: string;
  error: KafkaError | null;
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
}

export interface LogDirReplica {
  topic: string;
  partition: number;
  /** Bytes of the replica's segment files. */
  size: bigint;
  /** High watermark minus log end (current logs), or how far a future log is behind the current one. */
  offsetLag: bigint;
  /** A replica being moved into this directory (ALTER_REPLICA_LOG_DIRS), not the current one. */
  isFuture: boolean;
}

export interface LogDirDescription {
  logDir: string;
  error: KafkaError | null;
  /** Size and free space of the volume (DescribeLogDirs v4+); null when the broker does not say. */
  totalBytes: bigint | null;
  usableBytes: bigint | null;
  replicas: LogDirReplica[];
}

export interface BrokerLogDirs {
  broker: number;
  /** The whole request failed for this broker (unreachable, API not supported, top-level error). */
  error: KafkaError | null;
  logDirs: LogDirDescription[];
}

function resourceTypeName(code: number): ResourceTypeName {
  const e = Object.entries(RESOURCE_TYPE).find(([, v]) => v === code);
  return (e?.[0] as ResourceTypeName | undefined) ?? 'topic';
}

function sourceName(code: number): ConfigSourceName {
  return SOURCES[code] ?? 'unknown';
}

export class Admin {
  readonly cluster: Cluster;
  private connected: Promise<void> | null = null;

  constructor(opts: AdminOptions) {
    this.cluster = new Cluster({ ...opts, allowAutoTopicCreation: false });
  }

  connect(): Promise<void> {
    this.connected ??= this.cluster.connect().catch((e) => {
      this.connected = null;
      throw e;
    });
    return this.connected;
  }

  close(): Promise<void> {
    return this.cluster.close();
  }

  // -------------------------------------------------------------------------------------------------------
  // Topics

  async createTopics(
    topics: readonly NewTopic[],
    opts: { timeoutMs?: number; validateOnly?: boolean } = {},
  ): Promise<CreateTopicResult[]> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const byName = new Map(topics.map((t) => [t.topic, t]));
    const answers = await this.toController(
      [...byName.keys()],
      (names) => ({
        topics: names.map((name) => {
          const t = byName.get(name)!;
          const assignment = t.replicaAssignment;
          return {
            name,
            numPartitions: assignment ? -1 : (t.numPartitions ?? -1),
            replicationFactor: assignment ? -1 : (t.replicationFactor ?? -1),
            assignments: assignment
              ? Object.entries(assignment).map(([p, brokerIds]) => ({ partitionIndex: Number(p), brokerIds }))
              : [],
            configs: Object.entries(t.configs ?? {}).map(([n, value]) => ({ name: n, value })),
          };
        }),
        timeoutMs,
        validateOnly: opts.validateOnly ?? false,
      }),
      Api.CreateTopics,
      (res) => res.topics.map((t) => ({ key: t.name, code: t.errorCode, message: t.errorMessage, raw: t })),
      timeoutMs,
    );
    await this.cluster.refreshMetadata().catch(() => {});
    return [...byName.keys()].map((topic) => {
      const a = answers.get(topic)!;
      return {
        topic,
        error: a.error,
        numPartitions: a.raw?.numPartitions ?? -1,
        replicationFactor: a.raw?.replicationFactor ?? -1,
      };
    });
  }

  async deleteTopics(topics: readonly string[], opts: { timeoutMs?: number } = {}): Promise<TopicResult[]> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const names = [...new Set(topics)];
    const answers = await this.toController(
      names,
      (batch) => ({ topicNames: batch, timeoutMs }),
      Api.DeleteTopics,
      (res) => res.responses.map((t) => ({ key: t.name, code: t.errorCode, message: null })),
      timeoutMs,
    );
    this.cluster.markStale();
    return names.map((topic) => ({ topic, error: answers.get(topic)!.error }));
  }

  async createPartitions(
    requests: readonly NewPartitions[],
    opts: { timeoutMs?: number; validateOnly?: boolean } = {},
  ): Promise<TopicResult[]> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const byName = new Map(requests.map((r) => [r.topic, r]));
    const answers = await this.toController(
      [...byName.keys()],
      (names) => ({
        topics: names.map((name) => {
          const r = byName.get(name)!;
          return {
            name,
            count: r.count,
            assignments: r.assignments ? r.assignments.map((brokerIds) => ({ brokerIds })) : null,
          };
        }),
        timeoutMs,
        validateOnly: opts.validateOnly ?? false,
      }),
      Api.CreatePartitions,
      (res) => res.results.map((t) => ({ key: t.name, code: t.errorCode, message: t.errorMessage })),
      timeoutMs,
    );
    this.cluster.markStale();
    return [...byName.keys()].map((topic) => ({ topic, error: answers.get(topic)!.error }));
  }

  /**
   * Leader election on demand (ElectLeaders): 'preferred' moves leadership back to each partition's first
   * replica; 'unclean' elects any live replica of a partition without a leader. null = every partition.
   * One result per partition; ELECTION_NOT_NEEDED is reported as an error the caller may ignore.
   */
  async electLeaders(
    partitions: readonly { topic: string; partition: number }[] | null,
    type: 'preferred' | 'unclean' = 'preferred',
    opts: { timeoutMs?: number } = {},
  ): Promise<{ topic: string; partition: number; error: KafkaError | null }[]> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    await this.connect();
    const controller = await this.cluster.controller();
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const res = await this.cluster.request(
      controller,
      Api.ElectLeaders,
      {
        electionType: type === 'unclean' ? 1 : 0,
        topicPartitions: partitions === null ? null : [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
        timeoutMs,
      },
      { timeoutMs: this.cluster.requestTimeoutMs + timeoutMs },
    );
    if (res.errorCode) throw errorFor(res.errorCode, 'ElectLeaders', null);
    return res.replicaElectionResults.flatMap((t) =>
      t.partitionResult.map((r) => ({
        topic: t.topic,
        partition: r.partitionId,
        error: r.errorCode === 0 ? null : errorFor(r.errorCode, `${t.topic}-${r.partitionId}`, r.errorMessage),
      })),
    );
  }

  /** Move partitions to new replica sets online (null replicas cancels a move in progress). */
  async alterPartitionReassignments(
    moves: readonly { topic: string; partition: number; replicas: number[] | null }[],
    opts: { timeoutMs?: number } = {},
  ): Promise<{ topic: string; partition: number; error: KafkaError | null }[]> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const key = (t: string, p: number) => `${t}/${p}`;
    const byKey = new Map(moves.map((m) => [key(m.topic, m.partition), m]));
    const answers = await this.toController(
      [...byKey.keys()],
      (keys) => {
        const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
        for (const k of keys) {
          const m = byKey.get(k)!;
          byTopic.set(m.topic, [
            ...(byTopic.get(m.topic) ?? []),
            { partitionIndex: m.partition, replicas: m.replicas },
          ]);
        }
        return { timeoutMs, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
      },
      Api.AlterPartitionReassignments,
      (res) =>
        res.responses.flatMap((t) =>
          t.partitions.map((p) => ({
            key: key(t.name, p.partitionIndex),
            code: p.errorCode,
            message: p.errorMessage,
          })),
        ),
      timeoutMs,
    );
    return moves.map((m) => ({
      topic: m.topic,
      partition: m.partition,
      error: answers.get(key(m.topic, m.partition))!.error,
    }));
  }

  /** Reassignments in progress: current, adding and removing replicas per partition. */
  async listPartitionReassignments(): Promise<
    { topic: string; partition: number; replicas: number[]; adding: number[]; removing: number[] }[]
  > {
    await this.connect();
    const controller = await this.cluster.controller();
    const res = await this.cluster.request(controller, Api.ListPartitionReassignments, {
      timeoutMs: 10_000,
      topics: null,
    });
    if (res.errorCode) throw errorFor(res.errorCode, 'ListPartitionReassignments', res.errorMessage);
    return res.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
        adding: p.addingReplicas,
        removing: p.removingReplicas,
      })),
    );
  }

  /** Topic names (internal topics such as __consumer_offsets only if asked), sorted. */
  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<string[]> {
    await this.allTopicsMetadata();
    return [...this.cluster.topics.values()]
      .filter((t) => opts.includeInternal || !t.isInternal)
      .map((t) => t.name)
      .sort();
  }

  /** Partitions, leaders, replicas, ISR of topics (default: all non-internal topics), from metadata. */
  async describeTopics(topics?: readonly string[]): Promise<TopicDescription[]> {
    if (!topics) {
      await this.allTopicsMetadata();
      return [...this.cluster.topics.values()]
        .filter((t) => !t.isInternal)
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((t) => ({
          topic: t.name,
          topicId: t.topicId,
          isInternal: t.isInternal,
          partitions: t.partitions,
          error: null,
        }));
    }
    await this.connect();
    await this.cluster.metadataFor(topics, { refresh: true });
    return topics.map((name) => {
      const t = this.cluster.topics.get(name);
      if (t)
        return { topic: name, topicId: t.topicId, isInternal: t.isInternal, partitions: t.partitions, error: null };
      return {
        topic: name,
        topicId: '',
        isInternal: false,
        partitions: [],
        error:
          this.cluster.topicError(name) ??
          new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`),
      };
    });
  }

  private async allTopicsMetadata(): Promise<void> {
    await this.connect();
    this.cluster.trackAllTopics(true);
    try {
      await this.cluster.refreshMetadata();
    } finally {
      this.cluster.trackAllTopics(false);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Configs

  async describeConfigs(
    resources: readonly ConfigResource[],
    opts: { includeSynonyms?: boolean; includeDocumentation?: boolean } = {},
  ): Promise<ConfigResourceResult[]> {
    await this.connect();
    const results = await this.perResource(
      resources,
      Api.DescribeConfigs,
      (list) => ({
        resources: list.map((r) => ({
          resourceType: RESOURCE_TYPE[r.type],
          resourceName: r.name,
          configurationKeys: r.keys ?? null,
        })),
        includeSynonyms: opts.includeSynonyms ?? false,
        includeDocumentation: opts.includeDocumentation ?? false,
      }),
      (res) => res.results,
    );
    return resources.map((r) => {
      const a = results.get(resKey(r.type, r.name));
      if (!a || a.error || !a.raw) return { type: r.type, name: r.name, error: a?.error ?? missing(r), configs: [] };
      return {
        type: r.type,
        name: r.name,
        error: null,
        configs: a.raw.configs.map((c) => {
          const source =
            c.configSource >= 0
              ? sourceName(c.configSource)
              : c.isDefault
                ? ('default' as const)
                : ('unknown' as const);
          return {
            name: c.name,
            value: c.value ?? null,
            readOnly: c.readOnly,
            isDefault: c.configSource >= 0 ? c.configSource === 5 : c.isDefault,
            source,
            isSensitive: c.isSensitive,
            synonyms: c.synonyms.map((s) => ({
              name: s.name,
              value: s.value ?? null,
              source: sourceName(s.source),
            })),
            type: CONFIG_TYPES[c.configType] ?? 'unknown',
            documentation: c.documentation ?? null,
          };
        }),
      };
    });
  }

  /** AlterConfigs: replaces the whole set of dynamic configs of each resource (null values are dropped). */
  async alterConfigs(
    resources: readonly { type: ResourceTypeName; name: string; configs: Readonly<Record<string, string | null>> }[],
    opts: { validateOnly?: boolean } = {},
  ): Promise<ResourceResult[]> {
    await this.connect();
    const results = await this.perResource(
      resources,
      Api.AlterConfigs,
      (list) => ({
        resources: list.map((r) => ({
          resourceType: RESOURCE_TYPE[r.type],
          resourceName: r.name,
          configs: Object.entries(r.configs).map(([name, value]) => ({ name, value })),
        })),
        validateOnly: opts.validateOnly ?? false,
      }),
      (res) => res.responses,
    );
    return resources.map((r) => ({
      type: r.type,
      name: r.name,
      error: results.get(resKey(r.type, r.name))?.error ?? null,
    }));
  }

  /** IncrementalAlterConfigs: set / delete (back to default) / append to / subtract from list values. */
  async incrementalAlterConfigs(
    resources: readonly {
      type: ResourceTypeName;
      name: string;
      configs: readonly { name: string; op: AlterConfigOp; value?: string | null }[];
    }[],
    opts: { validateOnly?: boolean } = {},
  ): Promise<ResourceResult[]> {
    await this.connect();
    const results = await this.perResource(
      resources,
      Api.IncrementalAlterConfigs,
      (list) => ({
        resources: list.map((r) => ({
          resourceType: RESOURCE_TYPE[r.type],
          resourceName: r.name,
          configs: r.configs.map((c) => ({ name: c.name, configOperation: OPS[c.op], value: c.value ?? null })),
        })),
        validateOnly: opts.validateOnly ?? false,
      }),
      (res) => res.responses,
    );
    return resources.map((r) => ({
      type: r.type,
      name: r.name,
      error: results.get(resKey(r.type, r.name))?.error ?? null,
    }));
  }

  /**
   * Config requests: broker (and broker-logger) resources go to that broker, the others together to any
   * broker. Answers are keyed by type and name.
   */
  private async perResource<
    R extends { type: ResourceTypeName; name: string },
    A extends ApiSpec,
    Raw extends ResourceAnswer,
  >(
    resources: readonly R[],
    api: A,
    body: (list: R[]) => RequestInput<A>,
    answersOf: (res: ResponseOf<A>) => readonly Raw[],
  ): Promise<Map<string, { error: KafkaError | null; raw: Raw | null }>> {
    const targets = new Map<number | 'any', R[]>();
    for (const r of resources) {
      const node = r.type === 'broker' || r.type === 'broker-logger' ? (r.name === '' ? 'any' : Number(r.name)) : 'any';
      const target = typeof node === 'number' && Number.isNaN(node) ? 'any' : node;
      const l = targets.get(target) ?? [];
      l.push(r);
      targets.set(target, l);
    }
    const out = new Map<string, { error: KafkaError | null; raw: Raw | null }>();
    await Promise.all(
      [...targets].map(async ([node, list]) => {
        try {
          const res = await this.cluster.request(node, api, body(list));
          for (const a of answersOf(res)) {
            const type = resourceTypeName(a.resourceType);
            out.set(resKey(type, a.resourceName), {
              error: a.errorCode === 0 ? null : errorFor(a.errorCode, `${type} ${a.resourceName}`, a.errorMessage),
              raw: a,
            });
          }
        } catch (e) {
          const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
          for (const r of list) out.set(resKey(r.type, r.name), { error: err, raw: null });
        }
      }),
    );
    return out;
  }

  // -------------------------------------------------------------------------------------------------------
  // Offsets and records

  /** Offsets by time / earliest / latest for many partitions: one ListOffsets per leader broker. */
  async listOffsets(requests: readonly ListOffsetsSpec[], opts: ListOffsetsOptions = {}): Promise<ListOffsetsResult[]> {
    await this.connect();
    return listOffsets(
      this.cluster,
      requests.map((r) => ({ topic: r.topic, partition: r.partition, timestamp: queryTimestamp(r.spec) })),
      opts,
    );
  }

  /** Log start and end (high watermark) of every partition of the topics: two ListOffsets per leader broker. */
  async fetchTopicOffsets(topics: readonly string[], opts: ListOffsetsOptions = {}): Promise<PartitionOffsets[]> {
    await this.connect();
    const md = await this.cluster.metadataFor(topics);
    const tps: TopicPartition[] = [];
    const out: PartitionOffsets[] = [];
    for (const t of topics) {
      const info = md.get(t);
      if (!info) {
        out.push({
          topic: t,
          partition: -1,
          low: -1n,
          high: -1n,
          error:
            this.cluster.topicError(t) ??
            new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${t} does not exist`),
        });
        continue;
      }
      for (const p of info.partitions) tps.push({ topic: t, partition: p.partition });
    }
    const [low, high] = await Promise.all([
      listOffsets(
        this.cluster,
        tps.map((tp) => ({ ...tp, timestamp: EARLIEST_TIMESTAMP })),
        opts,
      ),
      listOffsets(
        this.cluster,
        tps.map((tp) => ({ ...tp, timestamp: LATEST_TIMESTAMP })),
        opts,
      ),
    ]);
    tps.forEach((tp, i) => {
      out.push({
        topic: tp.topic,
        partition: tp.partition,
        low: low[i]!.offset,
        high: high[i]!.offset,
        error: low[i]!.error ?? high[i]!.error,
      });
    });
    return out;
  }

  /** Delete records before `offset` (-1: the high watermark) per partition, batched per leader. */
  async deleteRecords(
    requests: readonly (TopicPartition & { offset: bigint | number })[],
    opts: { timeoutMs?: number } = {},
  ): Promise<DeleteRecordsResult[]> {
    await this.connect();
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const results: DeleteRecordsResult[] = new Array(requests.length);
    let todo = requests.map((_, i) => i);
    await this.cluster.metadataFor([...new Set(requests.map((r) => r.topic))]);
    const started = Date.now();
    for (let round = 0; todo.length > 0; round++) {
      const last = !mayRetry(round, started, this.cluster.retry) || this.cluster.isClosed;
      const retry: number[] = [];
      const byLeader = new Map<number, number[]>();
      for (const i of todo) {
        const r = requests[i]!;
        const info = this.cluster.topics.get(r.topic);
        const leader = info?.partitions[r.partition]?.leader ?? -1;
        if (!info || r.partition >= info.partitions.length) {
          results[i] = {
            ...pick(r),
            lowWatermark: -1n,
            error: new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${r.topic}/${r.partition}`),
          };
        } else if (leader < 0) {
          if (last) {
            results[i] = {
              ...pick(r),
              lowWatermark: -1n,
              error: new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${r.topic}/${r.partition}`),
            };
          } else retry.push(i);
        } else {
          const l = byLeader.get(leader) ?? [];
          l.push(i);
          byLeader.set(leader, l);
        }
      }
      await Promise.all(
        [...byLeader].map(async ([leader, idx]) => {
          const byTopic = new Map<
            string,
            Item<Item<RequestInput<typeof Api.DeleteRecords>['topics']>['partitions']>[]
          >();
          for (const i of idx) {
            const r = requests[i]!;
            const l = byTopic.get(r.topic) ?? [];
            l.push({ partitionIndex: r.partition, offset: BigInt(r.offset) });
            byTopic.set(r.topic, l);
          }
          try {
            const res = await this.cluster.request(
              leader,
              Api.DeleteRecords,
              { topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })), timeoutMs },
              { timeoutMs: this.cluster.requestTimeoutMs + timeoutMs },
            );
            const answers = new Map<string, Item<Item<typeof res.topics>['partitions']>>();
            for (const t of res.topics) {
              for (const p of t.partitions) answers.set(`${t.name}\u0000${p.partitionIndex}`, p);
            }
            for (const i of idx) {
              const r = requests[i]!;
              const a = answers.get(`${r.topic}\u0000${r.partition}`);
              const err = !a
                ? new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'partition missing from the response')
                : a.errorCode === 0
                  ? null
                  : errorFor(a.errorCode, `delete records of ${r.topic}/${r.partition}`);
              if (err?.retriable && !last) retry.push(i);
              else results[i] = { ...pick(r), lowWatermark: a?.lowWatermark ?? -1n, error: err };
            }
          } catch (e) {
            const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
            for (const i of idx) {
              if (err.retriable && !last) retry.push(i);
              else results[i] = { ...pick(requests[i]!), lowWatermark: -1n, error: err };
            }
          }
        }),
      );
      todo = retry;
      if (todo.length > 0) {
        this.cluster.markStale();
        await sleep(backoff(round + 1, this.cluster.retry));
        await this.cluster.refreshMetadata().catch(() => {});
      }
    }
    return results;
  }

  // -------------------------------------------------------------------------------------------------------
  // Groups

  /** Groups known to every broker (each coordinates some), optionally filtered by state (ListGroups v4+). */
  async listGroups(opts: { states?: string[] } = {}): Promise<GroupListing[]> {
    await this.connect();
    await this.cluster.refreshMetadata();
    const out: GroupListing[] = [];
    const errors: Error[] = [];
    let answered = 0;
    await Promise.all(
      [...this.cluster.brokers.keys()].map(async (nodeId) => {
        try {
          const res = await this.cluster.request(nodeId, Api.ListGroups, { statesFilter: opts.states ?? [] });
          if (res.errorCode !== 0) throw errorFor(res.errorCode, `list groups on broker ${nodeId}`);
          answered++;
          for (const g of res.groups) {
            out.push({
              groupId: g.groupId,
              protocolType: g.protocolType,
              state: g.groupState,
              coordinator: nodeId,
            });
          }
        } catch (e) {
          errors.push(e as Error);
        }
      }),
    );
    // A broker that just died (still in the metadata) must not hide the groups of the others, nor turn "no
    // groups" into an error: fail only when no broker answered.
    if (answered === 0 && errors.length > 0) throw errors[0];
    return out.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    await this.connect();
    const ids = [...new Set(groupIds)];
    const answers = await this.perCoordinator(
      ids,
      Api.DescribeGroups,
      (list) => ({ groups: list, includeAuthorizedOperations: false }),
      (res) => res.groups.map((g) => ({ key: g.groupId, code: g.errorCode, raw: g })),
    );
    return ids.map((groupId) => {
      const a = answers.get(groupId)!;
      const g = a.raw;
      const protocolType = g?.protocolType ?? '';
      return {
        groupId,
        state: g?.groupState ?? '',
        protocolType,
        protocol: g?.protocolData ?? '',
        coordinator: a.coordinator,
        error: a.error,
        members: (g?.members ?? []).map((m) => {
          let subscribedTopics: string[] | null = null;
          let assignment: TopicPartitions[] | null = null;
          if (protocolType === CONSUMER_PROTOCOL_TYPE) {
            try {
              if (m.memberMetadata.length > 0) subscribedTopics = decodeSubscription(m.memberMetadata).topics;
            } catch {
              // another client's non-standard metadata: left raw
            }
            try {
              assignment = decodeAssignment(m.memberAssignment).assignedPartitions;
            } catch {
              // idem
            }
          }
          return {
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            subscribedTopics,
            assignment,
            memberMetadata: m.memberMetadata,
            memberAssignment: m.memberAssignment,
          };
        }),
      };
    });
  }

  /** Delete groups (they must be empty: NON_EMPTY_GROUP otherwise). */
  async deleteGroups(groupIds: readonly string[]): Promise<GroupResult[]> {
    await this.connect();
    const ids = [...new Set(groupIds)];
    const answers = await this.perCoordinator(
      ids,
      Api.DeleteGroups,
      (list) => ({ groupsNames: list }),
      (res) => res.results.map((g) => ({ key: g.groupId, code: g.errorCode, raw: g })),
    );
    return ids.map((groupId) => ({ groupId, error: answers.get(groupId)!.error }));
  }

  /** A group's committed offsets (all its partitions, or the given ones). */
  async listConsumerGroupOffsets(groupId: string, partitions?: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    await this.connect();
    const tps = partitions ? groupByTopic(partitions) : null;
    return this.withCoordinator(groupId, (coordinator) =>
      fetchCommittedOffsets(this.cluster, coordinator, groupId, tps),
    );
  }

  /**
   * Set a group's committed offsets (OffsetCommit with generation -1): the group must have no active members
   * (UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS otherwise). Per-partition results.
   */
  async alterConsumerGroupOffsets(groupId: string, offsets: readonly OffsetToCommit[]): Promise<CommitResult[]> {
    await this.connect();
    return this.withCoordinator(groupId, async (coordinator) => {
      const res = await commitOffsets(
        this.cluster,
        coordinator,
        { groupId, generationId: -1, memberId: '', groupInstanceId: null },
        offsets,
      );
      const coordErr = res.find((r) => r.error && isCoordinatorError(r.error.code))?.error;
      if (coordErr) throw coordErr;
      return res;
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Transactions

  /**
   * The transactions of every broker (each coordinates some transactional ids), optionally only those in
   * these states or of these producer ids (ListTransactions, KIP-664). UNSUPPORTED_VERSION when no broker
   * offers ListTransactions; INVALID_REQUEST for a state the brokers do not know.
   */
  async listTransactions(
    opts: { states?: readonly string[]; producerIds?: readonly bigint[] } = {},
  ): Promise<TransactionListing[]> {
    await this.connect();
    await this.cluster.refreshMetadata();
    const out: TransactionListing[] = [];
    const errors: Error[] = [];
    const unknownStates = new Set<string>();
    let answered = 0;
    await Promise.all(
      [...this.cluster.brokers.keys()].map(async (nodeId) => {
        try {
          const res = await this.cluster.request(nodeId, Api.ListTransactions, {
            stateFilters: [...(opts.states ?? [])],
            producerIdFilters: [...(opts.producerIds ?? [])],
            durationFilter: -1n,
          });
          if (res.errorCode !== 0) throw errorFor(res.errorCode, `list transactions on broker ${nodeId}`);
          answered++;
          for (const u of res.unknownStateFilters) unknownStates.add(u);
          for (const t of res.transactionStates) {
            out.push({
              transactionalId: t.transactionalId,
              producerId: t.producerId,
              state: t.transactionState,
              coordinator: nodeId,
            });
          }
        } catch (e) {
          errors.push(e as Error);
        }
      }),
    );
    // As listGroups: a broker that just died must not hide the others' transactions.
    if (answered === 0 && errors.length > 0) throw errors[0];
    if (unknownStates.size > 0) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `unknown transaction state ${[...unknownStates].join(', ')} (known: ${TRANSACTION_STATES.join(', ')})`,
      );
    }
    return out.sort((a, b) =>
      a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0,
    );
  }

  /** Transactional ids as their coordinators describe them (DescribeTransactions); one result per id. */
  async describeTransactions(transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
    await this.connect();
    const ids = [...new Set(transactionalIds)];
    const answers = await this.perCoordinator(
      ids,
      Api.DescribeTransactions,
      (list) => ({ transactionalIds: list }),
      (res) => res.transactionStates.map((t) => ({ key: t.transactionalId, code: t.errorCode, raw: t })),
      COORDINATOR_KEY_TRANSACTION,
    );
    return ids.map((transactionalId) => {
      const a = answers.get(transactionalId)!;
      const t = a.raw;
      return {
        transactionalId,
        coordinator: a.coordinator,
        state: t?.transactionState ?? '',
        producerId: t?.producerId ?? -1n,
        producerEpoch: t?.producerEpoch ?? -1,
        transactionTimeoutMs: t?.transactionTimeoutMs ?? -1,
        transactionStartTimeMs: t?.transactionStartTimeMs ?? -1n,
        partitions: (t?.topics ?? []).flatMap((x) => x.partitions.map((partition) => ({ topic: x.topic, partition }))),
        error: a.error,
      };
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Log directories

  /**
   * DescribeLogDirs on each broker (default every broker in the metadata): its log directories and the
   * replicas each holds — a broker answers only for its own replicas. `topics` limits the answer to those
   * partitions (default all). One result per broker, with its own error.
   */
  async describeLogDirs(
    opts: { brokers?: readonly number[]; topics?: readonly TopicPartitions[] } = {},
  ): Promise<BrokerLogDirs[]> {
    await this.connect();
    await this.cluster.refreshMetadata();
    const ids = opts.brokers ? [...new Set(opts.brokers)] : [...this.cluster.brokers.keys()];
    const body = {
      topics: opts.topics ? opts.topics.map((t) => ({ topic: t.topic, partitions: [...t.partitions] })) : null,
    };
    const out = await Promise.all(
      ids.map(async (broker): Promise<BrokerLogDirs> => {
        try {
          if (!this.cluster.brokers.has(broker)) {
            throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${broker} is not in the cluster`);
          }
          const res = await this.cluster.request(broker, Api.DescribeLogDirs, body);
          if (res.errorCode) throw errorFor(res.errorCode, `describe log dirs on broker ${broker}`);
          const logDirs = res.results.map((d) => ({
            logDir: d.logDir,
            error: d.errorCode === 0 ? null : errorFor(d.errorCode, `log dir ${d.logDir} on broker ${broker}`),
            totalBytes: d.totalBytes >= 0n ? d.totalBytes : null,
            usableBytes: d.usableBytes >= 0n ? d.usableBytes : null,
            replicas: d.topics.flatMap((t) =>
              t.partitions.map((p) => ({
                topic: t.name,
                partition: p.partitionIndex,
                size: p.partitionSize,
                offsetLag: p.offsetLag,
                isFuture: p.isFutureKey,
              })),
            ),
          }));
          return { broker, error: null, logDirs };
        } catch (e) {
          const error = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
          return { broker, error, logDirs: [] };
        }
      }),
    );
    return out.sort((a, b) => a.broker - b.broker);
  }

  // -------------------------------------------------------------------------------------------------------
  // Cluster

  async describeCluster(): Promise<ClusterDescription> {
    await this.connect();
    const conn = await this.cluster.anyConnection();
    if (conn.supports(ApiKey.DescribeCluster)) {
      const res = await conn.request(Api.DescribeCluster, { includeClusterAuthorizedOperations: false });
      if (res.errorCode !== 0) throw errorFor(res.errorCode, 'describe cluster', res.errorMessage);
      return {
        clusterId: res.clusterId,
        controllerId: res.controllerId,
        brokers: res.brokers
          .map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack }))
          .sort((a, b) => a.nodeId - b.nodeId),
      };
    }
    await this.cluster.refreshMetadata();
    return {
      clusterId: this.cluster.clusterId,
      controllerId: this.cluster.controllerId,
      brokers: [...this.cluster.brokers.values()].sort((a, b) => a.nodeId - b.nodeId),
    };
  }

  // -------------------------------------------------------------------------------------------------------

  /**
   * A batched request to the controller, retried for items answered NOT_CONTROLLER (or when the request
   * fails retriably) after a metadata refresh.
   */
  private async toController<A extends ApiSpec, Raw = never>(
    keys: string[],
    body: (keys: string[]) => RequestInput<A>,
    api: A,
    answers: (res: ResponseOf<A>) => { key: string; code: number; message: string | null; raw?: Raw }[],
    opTimeoutMs: number,
  ): Promise<Map<string, { error: KafkaError | null; raw?: Raw }>> {
    await this.connect();
    const out = new Map<string, { error: KafkaError | null; raw?: Raw }>();
    const started = Date.now();
    let todo = keys;
    for (let attempt = 0; todo.length > 0; attempt++) {
      const last = !mayRetry(attempt, started, this.cluster.retry) || this.cluster.isClosed;
      const retry: string[] = [];
      try {
        const controller = await this.cluster.controller();
        const res = await this.cluster.request(controller, api, body(todo), {
          timeoutMs: this.cluster.requestTimeoutMs + opTimeoutMs,
        });
        const seen = new Set<string>();
        for (const a of answers(res)) {
          seen.add(a.key);
          if (a.code === ErrorCode.NOT_CONTROLLER && !last) {
            retry.push(a.key);
            continue;
          }
          const entry: { error: KafkaError | null; raw?: Raw } = {
            error: a.code === 0 ? null : errorFor(a.code, a.key, a.message),
          };
          if (a.raw) entry.raw = a.raw;
          out.set(a.key, entry);
        }
        for (const k of todo) {
          if (!seen.has(k)) out.set(k, { error: new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `${k}: no answer`) });
        }
      } catch (e) {
        const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
        if (err.retriable && !last) retry.push(...todo);
        else for (const k of todo) out.set(k, { error: err });
      }
      todo = retry;
      if (todo.length > 0) {
        this.cluster.markStale();
        await sleep(backoff(attempt + 1, this.cluster.retry));
        await this.cluster.refreshMetadata().catch(() => {});
      }
    }
    return out;
  }

  /** Group requests batched per coordinator; groups whose coordinator moved are retried. */
  private async perCoordinator<A extends ApiSpec, Raw>(
    groupIds: string[],
    api: A,
    body: (groups: string[]) => RequestInput<A>,
    answers: (res: ResponseOf<A>) => { key: string; code: number; raw: Raw }[],
    keyType: number = COORDINATOR_KEY_GROUP,
  ): Promise<Map<string, { error: KafkaError | null; raw: Raw | null; coordinator: number }>> {
    const out = new Map<string, { error: KafkaError | null; raw: Raw | null; coordinator: number }>();
    const what = keyType === COORDINATOR_KEY_TRANSACTION ? 'transactional id' : 'group';
    const started = Date.now();
    let todo = groupIds;
    for (let attempt = 0; todo.length > 0; attempt++) {
      const last = !mayRetry(attempt, started, this.cluster.retry) || this.cluster.isClosed;
      const retry: string[] = [];
      let coordinators: Map<string, number>;
      try {
        coordinators = await findCoordinators(this.cluster, todo, keyType);
      } catch (e) {
        const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
        // No broker reachable for the lookup right now (one restarting, a connection lost): again, in a while.
        if (err.retriable && !last) {
          await sleep(backoff(attempt + 1, this.cluster.retry));
          continue;
        }
        for (const g of todo) out.set(g, { error: err, raw: null, coordinator: -1 });
        break;
      }
      const byNode = new Map<number, string[]>();
      for (const g of todo) {
        const n = coordinators.get(g)!;
        const l = byNode.get(n) ?? [];
        l.push(g);
        byNode.set(n, l);
      }
      await Promise.all(
        [...byNode].map(async ([node, list]) => {
          try {
            const res = await this.cluster.request(node, api, body(list));
            const seen = new Set<string>();
            for (const a of answers(res)) {
              seen.add(a.key);
              if ((isCoordinatorError(a.code) || a.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) && !last) {
                retry.push(a.key);
                continue;
              }
              out.set(a.key, {
                error: a.code === 0 ? null : errorFor(a.code, `${what} ${a.key}`),
                raw: a.raw,
                coordinator: node,
              });
            }
            for (const g of list) {
              if (!seen.has(g)) {
                out.set(g, {
                  error: new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `${what} ${g}: no answer`),
                  raw: null,
                  coordinator: node,
                });
              }
            }
          } catch (e) {
            const err = e instanceof KafkaError ? e : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(e));
            if (err.retriable && !last) retry.push(...list);
            else for (const g of list) out.set(g, { error: err, raw: null, coordinator: node });
          }
        }),
      );
      todo = retry;
      if (todo.length > 0) await sleep(backoff(attempt + 1, this.cluster.retry));
    }
    return out;
  }

  private async withCoordinator<T>(groupId: string, fn: (coordinator: number) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const coordinator = (await findCoordinators(this.cluster, [groupId])).get(groupId)!;
        return await fn(coordinator);
      } catch (e) {
        const retriable =
          e instanceof KafkaError &&
          (isCoordinatorError(e.code) || e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || e.retriable);
        if (!retriable || !mayRetry(attempt, started, this.cluster.retry) || this.cluster.isClosed) throw e;
        await sleep(backoff(attempt + 1, this.cluster.retry));
      }
    }
  }
}

/** One resource's answer in DescribeConfigs, AlterConfigs and IncrementalAlterConfigs. */
interface ResourceAnswer {
  resourceType: number;
  resourceName: string;
  errorCode: number;
  errorMessage: string | null;
}

function resKey(type: ResourceTypeName, name: string): string {
  return `${type}\u0000${name}`;
}

function missing(r: { type: ResourceTypeName; name: string }): KafkaError {
  return new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `${r.type} ${r.name}: no answer`);
}

function pick(r: TopicPartition): TopicPartition {
  return { topic: r.topic, partition: r.partition };
}

function groupByTopic(tps: readonly TopicPartition[]): TopicPartitions[] {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    const l = m.get(tp.topic) ?? [];
    l.push(tp.partition);
    m.set(tp.topic, l);
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}
