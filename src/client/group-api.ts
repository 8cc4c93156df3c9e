/**
 * Requests to a group coordinator shared by the consumer (group.ts) and the admin client: FindCoordinator
 * (batched with v4 when the broker has it), OffsetFetch (v8's per-group form or the older one) and OffsetCommit.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { Api, ApiKey, type Item, type RequestInput, type ResponseOf } from '../protocol/messages/index.js';
import type { Cluster } from './cluster.js';
import type { TopicPartitions } from './consumer-protocol.js';
import { errorFor } from './errors.js';
import { backoff, mayRetry, sleep } from './retry.js';

export const COORDINATOR_KEY_GROUP = 0;
/** FindCoordinator's key type of a transactional id (its transaction coordinator). */
export const COORDINATOR_KEY_TRANSACTION = 1;

/** One group's coordinator as FindCoordinator answers it: v4's per-key entry, or an older answer and its key. */
type CoordinatorAnswer = Item<ResponseOf<typeof Api.FindCoordinator>['coordinators']>;

/** A topic of an OffsetFetch answer: v0-7's top-level topics and v8's per-group topics have the same fields. */
type CommittedTopic =
  | Item<ResponseOf<typeof Api.OffsetFetch>['topics']>
  | Item<Item<ResponseOf<typeof Api.OffsetFetch>['groups']>['topics']>;

/** Errors after which the coordinator must be looked up again. */
export function isCoordinatorError(code: number): boolean {
  return (
    code === ErrorCode.NOT_COORDINATOR ||
    code === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
    code === ErrorCode.NETWORK_EXCEPTION ||
    code === ErrorCode.REQUEST_TIMED_OUT
  );
}

/**
 * The coordinator node of each group (or, with COORDINATOR_KEY_TRANSACTION, of each transactional id),
 * retrying COORDINATOR_NOT_AVAILABLE / load-in-progress with backoff. The coordinator is added to the
 * cluster's brokers so `cluster.connection(nodeId)` reaches it.
 */
export async function findCoordinators(
  cluster: Cluster,
  groupIds: readonly string[],
  keyType: number = COORDINATOR_KEY_GROUP,
): Promise<Map<string, number>> {
  const what = keyType === COORDINATOR_KEY_TRANSACTION ? 'transactional id' : 'group';
  const out = new Map<string, number>();
  const started = Date.now();
  let todo = [...new Set(groupIds)];
  for (let attempt = 0; todo.length > 0; attempt++) {
    const conn = await cluster.anyConnection();
    const failed: { key: string; err: KafkaError }[] = [];
    const answers: CoordinatorAnswer[] = [];
    if (conn.supports(ApiKey.FindCoordinator, 4)) {
      const res = await cluster.request('any', Api.FindCoordinator, { keyType, coordinatorKeys: todo });
      answers.push(...res.coordinators);
    } else {
      const all = await Promise.all(
        todo.map((key) =>
          cluster.request('any', Api.FindCoordinator, { key, keyType }).then((r) => ({
            ...r,
            key,
          })),
        ),
      );
      answers.push(...all);
    }
    for (const a of answers) {
      if (a.errorCode === 0) {
        cluster.addBroker({ nodeId: a.nodeId, host: a.host, port: a.port, rack: null });
        out.set(a.key, a.nodeId);
      } else {
        failed.push({ key: a.key, err: errorFor(a.errorCode, `find coordinator of ${what} ${a.key}`, a.errorMessage) });
      }
    }
    todo = [];
    for (const f of failed) {
      const retriable = f.err.retriable || f.err.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      if (!retriable || !mayRetry(attempt, started, cluster.retry) || cluster.isClosed) throw f.err;
      todo.push(f.key);
    }
    if (todo.length > 0) await sleep(backoff(attempt + 1, cluster.retry));
  }
  return out;
}

export async function findCoordinator(cluster: Cluster, groupId: string): Promise<number> {
  return (await findCoordinators(cluster, [groupId])).get(groupId)!;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** -1 when the group has no committed offset for the partition. */
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  error: KafkaError | null;
}

/**
 * Committed offsets of a group (all of its partitions when `partitions` is null). Throws the group-level error
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, GROUP_AUTHORIZATION_FAILED, ...).
 */
export async function fetchCommittedOffsets(
  cluster: Cluster,
  coordinator: number,
  groupId: string,
  partitions: TopicPartitions[] | null,
  opts: { pool?: string; requireStable?: boolean } = {},
): Promise<CommittedOffset[]> {
  const conn = await cluster.connection(coordinator, opts.pool);
  const version = conn.version(ApiKey.OffsetFetch);
  if (partitions === null && version < 2) {
    throw new KafkaError(
      ErrorCode.UNSUPPORTED_VERSION,
      'fetching all committed offsets of a group needs OffsetFetch v2+',
    );
  }
  const topics = partitions?.map((tp) => ({ name: tp.topic, partitionIndexes: tp.partitions })) ?? null;
  const body: RequestInput<typeof Api.OffsetFetch> =
    version >= 8
      ? { groups: [{ groupId, topics }], requireStable: opts.requireStable ?? false }
      : { groupId, topics, requireStable: opts.requireStable ?? false };
  const res = await conn.request(Api.OffsetFetch, body);
  let errorCode: number;
  let resTopics: readonly CommittedTopic[];
  if (version >= 8) {
    const g = res.groups.find((x) => x.groupId === groupId) ?? res.groups[0];
    errorCode = g?.errorCode ?? 0;
    resTopics = g?.topics ?? [];
  } else {
    errorCode = res.errorCode;
    resTopics = res.topics;
  }
  if (errorCode !== 0) throw errorFor(errorCode, `committed offsets of group ${groupId}`);
  const out: CommittedOffset[] = [];
  for (const t of resTopics) {
    for (const p of t.partitions) {
      out.push({
        topic: t.name,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.metadata,
        error: p.errorCode === 0 ? null : errorFor(p.errorCode, `committed offset of ${t.name}/${p.partitionIndex}`),
      });
    }
  }
  return out;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: bigint | number;
  leaderEpoch?: number;
  metadata?: string | null;
}

export interface CommitResult {
  topic: string;
  partition: number;
  error: KafkaError | null;
}

/** OffsetCommit; per-partition errors are returned, not thrown. generationId -1 / memberId '' for an empty group. */
export async function commitOffsets(
  cluster: Cluster,
  coordinator: number,
  member: { groupId: string; generationId: number; memberId: string; groupInstanceId?: string | null },
  offsets: readonly OffsetToCommit[],
  opts: { pool?: string } = {},
): Promise<CommitResult[]> {
  const byTopic = new Map<string, Item<Item<RequestInput<typeof Api.OffsetCommit>['topics']>['partitions']>[]>();
  for (const o of offsets) {
    let parts = byTopic.get(o.topic);
    if (!parts) {
      parts = [];
      byTopic.set(o.topic, parts);
    }
    parts.push({
      partitionIndex: o.partition,
      committedOffset: BigInt(o.offset),
      committedLeaderEpoch: o.leaderEpoch ?? -1,
      committedMetadata: o.metadata ?? '',
    });
  }
  const res = await cluster.request(
    coordinator,
    Api.OffsetCommit,
    {
      groupId: member.groupId,
      generationId: member.generationId,
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId ?? null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    },
    { pool: opts.pool ?? 'default' },
  );
  const out: CommitResult[] = [];
  for (const t of res.topics) {
    for (const p of t.partitions) {
      out.push({
        topic: t.name,
        partition: p.partitionIndex,
        error:
          p.errorCode === 0
            ? null
            : errorFor(p.errorCode, `commit offset of ${t.name}/${p.partitionIndex} for group ${member.groupId}`),
      });
    }
  }
  return out;
}
