/**
 * TxnOffsetCommit v0-3 (KIP-98, KIP-447): a transactional producer commits a consumer group's offsets inside its
 * transaction (sendOffsetsToTransaction). The group coordinator writes them to `__consumer_offsets` as the
 * producer's transactional records and holds them pending; they become the group's committed offsets when the
 * producer's COMMIT marker reaches that partition (WriteTxnMarkers), and are dropped on ABORT. v3 carries the
 * consumer's member id, generation and group instance id, checked as Kafka does (UNKNOWN_MEMBER_ID,
 * ILLEGAL_GENERATION, FENCED_INSTANCE_ID). Per-partition checks as OffsetCommit's (unknown topic or partition,
 * metadata longer than offset.metadata.max.bytes) come first.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { allowed, Op, Res } from '../acl/check.js';
import { defineHandler } from '../router.js';

type TopicResult = Item<ResponseInput<typeof Api.TxnOffsetCommit>['topics']>;
type PartitionResult = Item<TopicResult['partitions']>;

export const txnOffsetCommit = defineHandler(Api.TxnOffsetCommit, {
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const { node } = ctx;
    // ACLs as Kafka checks them: WRITE on the transactional id, READ on the group, READ on each topic.
    const denyAll = !allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)
      ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !allowed(ctx, Op.READ, Res.GROUP, req.groupId)
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : 0;
    if (denyAll !== 0)
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: denyAll })),
        })),
      };
    const c = await node.coordinatorOf(req.groupId);
    const maxMetadata = c?.config.offsetMetadataMaxBytes ?? 0;
    const topics: TopicResult[] = [];
    const valid: { topic: string; partition: number; offset: bigint; leaderEpoch: number; metadata: string }[] = [];
    const pending: PartitionResult[] = [];
    for (const t of req.topics) {
      const partitions: PartitionResult[] = [];
      topics.push({ name: t.name, partitions });
      for (const p of t.partitions) {
        const out: PartitionResult = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
        partitions.push(out);
        const metadata = p.committedMetadata ?? '';
        if (!allowed(ctx, Op.READ, Res.TOPIC, t.name)) out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
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
      const code = await c.commitTxnOffsets(
        req.groupId,
        { producerId: req.producerId, producerEpoch: req.producerEpoch },
        req.generationId,
        req.memberId,
        req.groupInstanceId,
        valid,
      );
      for (const out of pending) out.errorCode = code;
    }
    return { throttleTimeMs: 0, topics };
  },
});
