/**
 * Metadata: brokers, cluster id, controller, and per topic its partitions with leader, replicas and ISR.
 * v0: an empty topic list means all topics; v1+: null means all, empty means none. Topics are created on
 * request when auto creation is on and the client allows it (v4+ field, always allowed before).
 */
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { TopicState } from '../broker.js';
import { validateTopicName } from '../broker.js';
import type { Handler } from '../router.js';

const UNKNOWN_AUTHORIZED_OPERATIONS = -2147483648;

export function describeTopic(t: TopicState, nodeId: number): Struct {
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.id,
    isInternal: t.internal,
    partitions: t.partitions.map((p) => ({
      errorCode: 0,
      partitionIndex: p.index,
      leaderId: nodeId,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: UNKNOWN_AUTHORIZED_OPERATIONS,
  };
}

export const metadata: Handler = {
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  async handle(req, { broker, header }) {
    const v = header.apiVersion;
    const all = req.topics === null || (v === 0 && req.topics.length === 0);
    const allowAuto = v < 4 ? true : Boolean(req.allowAutoTopicCreation);
    const topics: Struct[] = [];
    if (all) {
      for (const t of broker.topics.values()) topics.push(describeTopic(t, broker.nodeId));
    } else {
      for (const rt of req.topics as Struct[]) {
        const name = rt.name as string | null;
        if (name === null) {
          topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: rt.topicId, partitions: [] });
          continue;
        }
        if (validateTopicName(name) !== null) {
          topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] });
          continue;
        }
        const t = await broker.topicOrAutoCreate(name, allowAuto);
        topics.push(
          t
            ? describeTopic(t, broker.nodeId)
            : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] },
        );
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: [
        {
          nodeId: broker.nodeId,
          host: broker.config.advertisedHost,
          port: broker.config.advertisedPort,
          rack: broker.config.rack,
        },
      ],
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      topics,
      clusterAuthorizedOperations: UNKNOWN_AUTHORIZED_OPERATIONS,
    };
  },
};
