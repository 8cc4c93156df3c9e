/**
 * ElectLeaders: preferred (0) or unclean (1) leader election on demand, per partition (the controller's
 * election, src/cluster/cluster.ts). A single node leads everything already: ELECTION_NOT_NEEDED.
 */
import { ErrorCode, errorInfo } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import { clusterAllowed, Op } from '../acl/check.js';
import { defineHandler } from '../router.js';

export const electLeaders = defineHandler(Api.ElectLeaders, {
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const { node } = ctx;
    if (!clusterAllowed(ctx, Op.ALTER))
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults: [] };
    const type = req.electionType === 1 ? 'unclean' : 'preferred';
    // null: all partitions.
    const wanted =
      req.topicPartitions ??
      [...node.topics()].map(([topic, t]) => ({ topic, partitions: t.replicas.map((_r, i) => i) }));
    const replicaElectionResults = await Promise.all(
      wanted.map(async (t) => ({
        topic: t.topic,
        partitionResult: await Promise.all(
          t.partitions.map(async (partitionId) => {
            let errorCode: number;
            if (!node.partitionExists(t.topic, partitionId)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            else
              errorCode = await node
                .electLeader(t.topic, partitionId, type)
                .catch(() => ErrorCode.UNKNOWN_SERVER_ERROR);
            return { partitionId, errorCode, errorMessage: errorCode === 0 ? null : errorInfo(errorCode).message };
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, errorCode: 0, replicaElectionResults };
  },
});
