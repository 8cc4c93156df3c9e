/**
 * Committed offsets: OffsetCommit, OffsetFetch (v8: several groups per request) and OffsetDelete, answered by
 * the group coordinator. Per-partition checks (unknown topic or partition, metadata longer than
 * offset.metadata.max.bytes) happen here, before anything reaches `__consumer_offsets`. OffsetFetch with
 * require_stable (v7+, KIP-447) answers UNSTABLE_OFFSET_COMMIT for partitions with a commit not yet settled (a
 * transactional one waiting for its marker, or one not yet durable).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import { allowed, Op, Res, topicDescribable } from '../acl/check.js';
import type { BrokerContext } from '../context.js';
import { type AnyHandler, defineHandler, type HandlerContext } from '../router.js';

export const offsetCommit = defineHandler(Api.OffsetCommit, {
  minVersion: 0,
  maxVersion: 8,
  async handle(req, ctx) {
    const { node } = ctx;
    // READ on the group, then READ on each topic.
    const groupDenied = !allowed(ctx, Op.READ, Res.GROUP, req.groupId);
    const c = groupDenied ? null : await node.coordinatorOf(req.groupId);
    const maxMetadata = c?.config.offsetMetadataMaxBytes ?? 0;
    const topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] = [];
    const valid: { topic: string; partition: number; offset: bigint; leaderEpoch: number; metadata: string }[] = [];
    const pending: { errorCode: number }[] = [];
    for (const t of req.topics) {
      const partitions: { partitionIndex: number; errorCode: number }[] = [];
      topics.push({ name: t.name, partitions });
      const topicDenied = !groupDenied && !allowed(ctx, Op.READ, Res.TOPIC, t.name);
      for (const p of t.partitions) {
        const out: { partitionIndex: number; errorCode: number } = {
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.NONE,
        };
        partitions.push(out);
        const metadata = p.committedMetadata ?? '';
        if (groupDenied) out.errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED;
        else if (topicDenied) out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        else if (!c) out.errorCode = node.noCoordinatorError(req.groupId);
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
});

type FetchTopics = { name: string; partitions: number[] }[] | null;

/**
 * One group's committed offsets, as the principal may see them: DESCRIBE on the group (else
 * GROUP_AUTHORIZATION_FAILED), and of the topics those it may DESCRIBE (named ones it may not:
 * TOPIC_AUTHORIZATION_FAILED; when all are asked, the others are left out).
 */
async function fetchGroup(ctx: HandlerContext, groupId: string, topics: FetchTopics, requireStable: boolean) {
  if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const r = await fetchGroupOffsets(ctx.node, groupId, topics, requireStable);
  const topicsOut = r.topics.filter((t) => topics !== null || topicDescribable(ctx, t.name));
  for (const t of topicsOut) {
    if (topics === null || topicDescribable(ctx, t.name)) continue;
    for (const p of t.partitions) {
      p.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      p.committedOffset = -1n;
      p.metadata = '';
    }
  }
  return { errorCode: r.errorCode, topics: topicsOut };
}

async function fetchGroupOffsets(node: BrokerContext, groupId: string, topics: FetchTopics, requireStable: boolean) {
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
  const r = c.fetchOffsets(groupId, topics, requireStable);
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

/** The topics of an OffsetFetch request (v0-7) or of one of its groups (v8+): null for all. */
function requestedTopics(topics: readonly { name: string; partitionIndexes: number[] }[] | null): FetchTopics {
  if (topics === null) return null;
  return topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
}

export const offsetFetch = defineHandler(Api.OffsetFetch, {
  minVersion: 0,
  maxVersion: 8,
  async handle(req, ctx) {
    const { header } = ctx;
    if (header.apiVersion >= 8) {
      const groups = await Promise.all(
        req.groups.map(async (g) => {
          const r = await fetchGroup(ctx, g.groupId, requestedTopics(g.topics), req.requireStable);
          return { groupId: g.groupId, topics: r.topics, errorCode: r.errorCode };
        }),
      );
      return { throttleTimeMs: 0, groups };
    }
    const r = await fetchGroup(ctx, req.groupId, requestedTopics(req.topics), req.requireStable);
    if (header.apiVersion < 2 && r.errorCode !== ErrorCode.NONE) {
      // No top-level error code before v2: report it on every partition.
      for (const t of r.topics) for (const p of t.partitions) p.errorCode = r.errorCode;
    }
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode };
  },
});

export const offsetDelete = defineHandler(Api.OffsetDelete, {
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { node } = ctx;
    if (!allowed(ctx, Op.DELETE, Res.GROUP, req.groupId))
      return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const c = await node.coordinatorOf(req.groupId);
    if (!c) return { errorCode: node.noCoordinatorError(req.groupId), throttleTimeMs: 0, topics: [] };
    const known: { name: string; partitions: number[] }[] = [];
    const unknown = new Map<string, number[]>();
    const denied = new Map<string, number[]>();
    for (const t of req.topics) {
      const ps = t.partitions.map((p) => p.partitionIndex);
      if (!allowed(ctx, Op.READ, Res.TOPIC, t.name)) {
        denied.set(t.name, ps);
        continue;
      }
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
    for (const [name, ps] of denied) {
      byName.set(
        name,
        ps.map((p) => ({ partitionIndex: p, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
      );
    }
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: [...byName].map(([name, partitions]) => ({ name, partitions })),
    };
  },
});

export const offsetHandlers: AnyHandler[] = [offsetCommit, offsetFetch, offsetDelete];
