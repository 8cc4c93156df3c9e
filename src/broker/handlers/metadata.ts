/**
 * Metadata: brokers, cluster id, controller, and per topic its partitions with leader, replicas and ISR.
 * v0: an empty topic list means all topics; v1+: null means all, empty means none. Topics are created on
 * request when auto creation is on and the client allows it (v4+ field, always allowed before).
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import {
  allowed,
  authorizedOperations,
  clusterAllowed,
  clusterAuthorizedOperations,
  OPERATIONS_NOT_REQUESTED,
  Op,
  Res,
  topicDescribable,
} from '../acl/check.js';
import type { ClusterView } from '../context.js';
import { addressOn } from '../listeners.js';
import { defineHandler } from '../router.js';
import { isInternalTopic, validateTopicName } from '../topic-admin.js';
import { errorOf } from './errors.js';

type TopicMetadata = Item<ResponseInput<typeof Api.Metadata>['topics']>;

/** A topic as the cluster sees it: every partition, with leader, replicas, ISR and offline replicas. */
export function describeTopic(view: ClusterView, name: string): TopicMetadata | null {
  const doc = view.topic(name);
  if (!doc) return null;
  return {
    errorCode: 0,
    name,
    topicId: doc.id,
    isInternal: isInternalTopic(name),
    partitions: doc.replicas.map((replicas, i) => {
      const st = view.partitionState(name, i);
      // A leader that does not accept writes yet (a new partition's, or one this node has not taken up) is
      // not named: clients wait and ask again instead of writing to it.
      const leader = st && view.leaderReady(name, i, st) ? st.leader : -1;
      return {
        errorCode: leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
        partitionIndex: i,
        leaderId: leader,
        leaderEpoch: st?.leaderEpoch ?? -1,
        replicaNodes: replicas,
        isrNodes: st?.isr ?? [],
        offlineReplicas: replicas.filter((r) => !view.isAlive(r)),
      };
    }),
    topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED,
  };
}

export const metadata = defineHandler(Api.Metadata, {
  minVersion: 0,
  maxVersion: 12,
  async handle(req, ctx) {
    const { node, header, log, connection } = ctx;
    const v = header.apiVersion;
    const all = req.topics === null || (v === 0 && req.topics.length === 0);
    const allowAuto = v < 4 ? true : Boolean(req.allowAutoTopicCreation);
    const topics: TopicMetadata[] = [];
    if (req.topics === null || all) {
      for (const name of [...node.topics().keys()].sort()) {
        // Topics the principal may not DESCRIBE are left out, as if they did not exist.
        if (!topicDescribable(ctx, name)) continue;
        const t = describeTopic(node, name);
        if (t) topics.push(t);
      }
    } else {
      for (const rt of req.topics) {
        const name = rt.name;
        if (name === null) {
          topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: rt.topicId, partitions: [] });
          continue;
        }
        if (validateTopicName(name) !== null) {
          topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] });
          continue;
        }
        if (!topicDescribable(ctx, name)) {
          topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, isInternal: false, partitions: [] });
          continue;
        }
        // Auto-creation needs CREATE on the cluster or on the topic.
        const mayCreate =
          allowAuto &&
          !node.hasTopic(name) &&
          (clusterAllowed(ctx, Op.CREATE, false) || allowed(ctx, Op.CREATE, Res.TOPIC, name));
        try {
          await node.topicOrAutoCreate(name, mayCreate);
        } catch (e) {
          // Auto-creation failed: refused (a partition limit: POLICY_VIOLATION) or etcd unreachable
          // (REQUEST_TIMED_OUT): that topic's error, as Kafka answers it; the connection and the other topics
          // are served.
          const { errorCode } = errorOf(e);
          if (errorCode === ErrorCode.UNKNOWN_SERVER_ERROR)
            log.error('auto-creating a topic failed', { topic: name, error: e });
          topics.push({ errorCode, name, isInternal: false, partitions: [] });
          continue;
        }
        topics.push(
          describeTopic(node, name) ?? { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] },
        );
      }
    }
    // v8+: the operations the principal may perform on each topic it may describe (KIP-430), when asked; a
    // refused, invalid or unknown-id topic says nothing.
    if (v >= 8 && req.includeTopicAuthorizedOperations) {
      for (const t of topics) {
        if (
          t.name == null ||
          t.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED ||
          t.errorCode === ErrorCode.INVALID_TOPIC_EXCEPTION
        )
          continue;
        t.topicAuthorizedOperations = authorizedOperations(ctx, Res.TOPIC, t.name);
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: node.liveBrokers().map((b) => addressOn(b, connection.listener)),
      clusterId: node.clusterId,
      controllerId: node.controllerId(),
      topics,
      // v8-v10 only (the field is gone from v11, replaced by DescribeCluster).
      clusterAuthorizedOperations: clusterAuthorizedOperations(
        ctx,
        v >= 8 && v <= 10 && req.includeClusterAuthorizedOperations,
      ),
    };
  },
});
