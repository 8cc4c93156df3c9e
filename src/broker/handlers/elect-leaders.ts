/**
 * ElectLeaders: preferred (0) or unclean (1) leader election on demand, per partition, in a cluster.
 * A single node leads everything already: ELECTION_NOT_NEEDED.
 */
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode, errorInfo } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { Handler } from '../router.js';

export const electLeaders: Handler = {
  apiKey: ApiKey.ElectLeaders,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, { broker }) {
    const type = req.electionType === 1 ? 'unclean' : 'preferred';
    const cluster = broker.cluster;
    let wanted = req.topicPartitions as Struct[] | null;
    if (wanted === null) {
      // All partitions.
      wanted = cluster
        ? [...cluster.topics].map(([topic, t]) => ({ topic, partitions: t.replicas.map((_r, i) => i) }))
        : [...broker.topics.values()].map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.index) }));
    }
    const replicaElectionResults = await Promise.all(
      wanted.map(async (t) => ({
        topic: t.topic,
        partitionResult: await Promise.all(
          (t.partitions as number[]).map(async (partitionId) => {
            let errorCode: number;
            if (!broker.partitionExists(t.topic, partitionId)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            else if (!cluster) errorCode = ErrorCode.ELECTION_NOT_NEEDED;
            else
              errorCode = await cluster
                .electLeader(t.topic, partitionId, type)
                .catch(() => ErrorCode.UNKNOWN_SERVER_ERROR);
            return { partitionId, errorCode, errorMessage: errorCode === 0 ? null : errorInfo(errorCode).message };
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, errorCode: 0, replicaElectionResults };
  },
};
