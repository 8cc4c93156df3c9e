/**
 * Committed offsets: OffsetCommit, OffsetFetch (v8: several groups per request) and OffsetDelete, answered by
 * the group coordinator. Per-partition checks (unknown topic or partition, metadata longer than
 * offset.metadata.max.bytes) happen here, before anything reaches `__consumer_offsets`.
 */
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { BrokerContext } from '../context.js';
import type { Handler } from '../router.js';

export const offsetCommit: Handler = {
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 8,
  async handle(req, { node }) {
    const c = await node.coordinatorOf(req.groupId);
    const maxMetadata = c?.config.offsetMetadataMaxBytes ?? 0;
    const topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] = [];
    const valid: { topic: string; partition: number; offset: bigint; leaderEpoch: number; metadata: string }[] = [];
    const pending: { errorCode: number }[] = [];
    for (const t of req.topics as Struct[]) {
      const partitions: { partitionIndex: number; errorCode: number }[] = [];
      topics.push({ name: t.name, partitions });
      for (const p of t.partitions as Struct[]) {
        const out = { partitionIndex: p.partitionIndex as number, errorCode: ErrorCode.NONE as number };
        partitions.push(out);
        const metadata = (p.committedMetadata as string | null) ?? '';
        if (!c) out.errorCode = node.noCoordinatorError(req.groupId);
        else if (!node.partitionExists(t.name, p.partitionIndex)) out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (metadata.length > maxMetadata) out.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        else {
          valid.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata,
          });
          pending.push(out);
        }
      }
    }
    if (c && valid.length > 0) {
      const code = await c.commitOffsets(req.groupId, req.generationId, req.memberId, req.groupInstanceId, valid);
      for (const out of pending) out.errorCode = code;
    }
    return { throttleTimeMs: 0, topics };
  },
};

type FetchTopics = { name: string; partitions: number[] }[] | null;

async function fetchGroup(node: BrokerContext, groupId: string, topics: FetchTopics) {
  const c = await node.coordinatorOf(groupId);
  if (!c) {
    return {
      errorCode: node.noCoordinatorError(groupId),
      topics: (topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p,
          committedOffset: -1n,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        })),
      })),
    };
  }
  const r = c.fetchOffsets(groupId, topics);
  return {
    errorCode: r.errorCode,
    topics: r.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partition,
        committedOffset: p.offset,
        committedLeaderEpoch: p.leaderEpoch,
        metadata: p.metadata,
        errorCode: p.errorCode,
      })),
    })),
  };
}

function requestedTopics(topics: Struct[] | null): FetchTopics {
  if (topics === null) return null;
  return topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes as number[] }));
}

export const offsetFetch: Handler = {
  apiKey: ApiKey.OffsetFetch,
  minVersion: 0,
  maxVersion: 8,
  async handle(req, { node, header }) {
    if (header.apiVersion >= 8) {
      const groups = await Promise.all(
        (req.groups as Struct[]).map(async (g) => {
          const r = await fetchGroup(node, g.groupId, requestedTopics(g.topics));
          return { groupId: g.groupId, topics: r.topics, errorCode: r.errorCode };
        }),
      );
      return { throttleTimeMs: 0, groups };
    }
    const r = await fetchGroup(node, req.groupId, requestedTopics(req.topics));
    if (header.apiVersion < 2 && r.errorCode !== ErrorCode.NONE) {
      // No top-level error code before v2: report it on every partition.
      for (const t of r.topics) for (const p of t.partitions) p.errorCode = r.errorCode;
    }
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode };
  },
};

export const offsetDelete: Handler = {
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, { node }) {
    const c = await node.coordinatorOf(req.groupId);
    if (!c) return { errorCode: node.noCoordinatorError(req.groupId), throttleTimeMs: 0, topics: [] };
    const known: { name: string; partitions: number[] }[] = [];
    const unknown = new Map<string, number[]>();
    for (const t of req.topics as Struct[]) {
      const ps = (t.partitions as Struct[]).map((p) => p.partitionIndex as number);
      const k = ps.filter((p) => node.partitionExists(t.name, p));
      const u = ps.filter((p) => !node.partitionExists(t.name, p));
      if (k.length > 0) known.push({ name: t.name, partitions: k });
      if (u.length > 0) unknown.set(t.name, u);
    }
    const r = await c.deleteOffsets(req.groupId, known);
    if (r.errorCode !== ErrorCode.NONE) return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [] };
    const byName = new Map<string, { partitionIndex: number; errorCode: number }[]>();
    for (const t of r.topics) {
      byName.set(
        t.name,
        t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode })),
      );
    }
    for (const [name, ps] of unknown) {
      const list = byName.get(name) ?? [];
      for (const p of ps) list.push({ partitionIndex: p, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      byName.set(name, list);
    }
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: [...byName].map(([name, partitions]) => ({ name, partitions })),
    };
  },
};

export const offsetHandlers: Handler[] = [offsetCommit, offsetFetch, offsetDelete];
