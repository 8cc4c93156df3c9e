/**
 * OffsetForLeaderEpoch: the end offset of a leader epoch in this leader's log (the start of the next epoch,
 * or the log end for the current one). A follower that became one after a leader change truncates to it, so
 * a tail the new leader never had is dropped (KIP-101).
 */
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { Handler } from '../router.js';

export const offsetForLeaderEpoch: Handler = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  handle(req, { node }) {
    const topics = (req.topics as Struct[]).map((t) => ({
      topic: t.topic,
      partitions: (t.partitions as Struct[]).map((rp) => {
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
};
