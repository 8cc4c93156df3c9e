/**
 * OffsetForLeaderEpoch: the end offset of a leader epoch in this leader's log (the start of the next epoch,
 * or the log end for the current one). A follower that became one after a leader change truncates to it, so
 * a tail the new leader never had is dropped (KIP-101).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import { clusterAllowed, Op, topicDescribable } from '../acl/check.js';
import { defineHandler } from '../router.js';

export const offsetForLeaderEpoch = defineHandler(Api.OffsetForLeaderEpoch, {
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const { node } = ctx;
    // Brokers (CLUSTER_ACTION) may ask about every partition; consumers about topics they may DESCRIBE.
    const broker = clusterAllowed(ctx, Op.CLUSTER_ACTION, false);
    const topics = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((rp) => {
        if (!broker && !topicDescribable(ctx, t.topic))
          return {
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            partition: rp.partition,
            leaderEpoch: -1,
            endOffset: -1n,
          };
        const p = node.partition(t.topic, rp.partition);
        if (!p)
          return {
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            partition: rp.partition,
            leaderEpoch: -1,
            endOffset: -1n,
          };
        if (!p.isLeader) {
          return {
            errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
            partition: rp.partition,
            leaderEpoch: -1,
            endOffset: -1n,
          };
        }
        if (rp.currentLeaderEpoch !== -1 && rp.currentLeaderEpoch < p.leaderEpoch) {
          return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, partition: rp.partition, leaderEpoch: -1, endOffset: -1n };
        }
        if (rp.currentLeaderEpoch > p.leaderEpoch) {
          return {
            errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH,
            partition: rp.partition,
            leaderEpoch: -1,
            endOffset: -1n,
          };
        }
        const r = p.log.endOffsetForEpoch(rp.leaderEpoch);
        return { errorCode: 0, partition: rp.partition, leaderEpoch: r.leaderEpoch, endOffset: r.endOffset };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
