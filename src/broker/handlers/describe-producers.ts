/**
 * DescribeProducers v0 (KIP-664): per partition this node leads, the producers in its producer state
 * (src/storage/producer-state.ts): id, epoch, last sequence, last timestamp, the coordinator epoch of its last
 * transaction marker and the first offset of its open transaction (-1 when none). A partition led elsewhere is NOT_LEADER_OR_FOLLOWER,
 * one that does not exist UNKNOWN_TOPIC_OR_PARTITION, as Kafka answers them (the admin client asks each leader).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { allowed, Op, Res } from '../acl/check.js';
import { defineHandler } from '../router.js';

type PartitionResponse = Item<Item<ResponseInput<typeof Api.DescribeProducers>['topics']>['partitions']>;

export const describeProducers = defineHandler(Api.DescribeProducers, {
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const { node } = ctx;
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((index): PartitionResponse => {
        const out: PartitionResponse = { partitionIndex: index, errorCode: 0, errorMessage: null, activeProducers: [] };
        if (!allowed(ctx, Op.READ, Res.TOPIC, t.name)) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          return out;
        }
        const p = node.partition(t.name, index);
        if (!p?.isLeader) {
          const exists = node.partitionExists(t.name, index);
          out.errorCode = exists ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          return out;
        }
        out.activeProducers = p.log.producers.summaries().map((s) => ({
          producerId: s.producerId,
          producerEpoch: s.producerEpoch,
          lastSequence: s.lastSequence,
          lastTimestamp: s.lastTimestamp,
          coordinatorEpoch: s.coordinatorEpoch,
          currentTxnStartOffset: s.currentTxnStartOffset,
        }));
        return out;
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
