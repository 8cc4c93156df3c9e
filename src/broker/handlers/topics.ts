/**
 * CreateTopics and DeleteTopics: one result per topic, each with its own error code.
 * controller_mutation_rate (KIP-599, quota/quotas.ts MutationQuota): a topic's partitions are metered once it has
 * passed every other check, in the order of the request; from CreateTopics v6 / DeleteTopics v5 a topic met with
 * the client's bucket already below zero is refused with THROTTLING_QUOTA_EXCEEDED (the others are done), older
 * versions are done and throttled. The answer carries the throttle and the connection is muted that long.
 */

import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, ApiKey, type Item, type RequestOf, type ResponseInput } from '../../protocol/messages/index.js';
import { allowed, clusterAllowed, Op, Res } from '../acl/check.js';
import { checkRequestPartitions } from '../partition-limits.js';
import { applyThrottle, clientThrottles } from '../quota/throttle.js';
import { defineHandler } from '../router.js';
import { isInternalTopic } from '../topic-admin.js';
import { describeTopicConfigs } from './describe-configs.js';
import { errorOf } from './errors.js';

/**
 * CreateTopics assignments as replicas per partition (null when none were given). Partition indexes must be
 * 0..n-1, each once; the broker validates the replica lists themselves.
 */
function manualAssignment(
  assignments: Item<RequestOf<typeof Api.CreateTopics>['topics']>['assignments'],
): number[][] | null {
  if (assignments.length === 0) return null;
  const out: number[][] = [];
  for (const a of assignments) {
    const i = a.partitionIndex;
    if (!Number.isInteger(i) || i < 0 || i >= assignments.length || out[i] !== undefined) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `partition indexes must be 0..${assignments.length - 1}, each once; got ${i}`,
      );
    }
    out[i] = a.brokerIds;
  }
  return out;
}

/** The first versions whose controller mutation quota is strict (Kafka's strictSinceVersion). */
const STRICT_CREATE_TOPICS = 6;
const STRICT_DELETE_TOPICS = 5;

export const createTopics = defineHandler(Api.CreateTopics, {
  minVersion: 0,
  maxVersion: 6,
  async handle(req, ctx) {
    const { node, log, header } = ctx;
    const quota = node.quotas.mutationQuota(ctx.connection, header.clientId, header.apiVersion >= STRICT_CREATE_TOPICS);
    // CREATE on the cluster allows every topic; else CREATE on each topic.
    const clusterCreate = clusterAllowed(ctx, Op.CREATE, false);
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const topics: Item<ResponseInput<typeof Api.CreateTopics>['topics']>[] = [];
    // max.request.partitions bounds the whole request, all topics together (Kafka's controller refuses an
    // excessively large batch the same way): every topic of a request over it gets POLICY_VIOLATION.
    let requested = 0;
    for (const t of req.topics) {
      const n = t.assignments.length || t.numPartitions;
      requested += n === -1 ? node.config.numPartitions : Math.max(0, n);
    }
    try {
      checkRequestPartitions(node.config, requested);
    } catch (e) {
      for (const t of req.topics) topics.push({ name: t.name, ...errorOf(e), configs: null });
      return { throttleTimeMs: 0, topics };
    }
    for (const t of req.topics) {
      const name = t.name;
      if ((seen.get(name) ?? 0) > 1) {
        topics.push({ name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic ${name} is listed twice` });
        continue;
      }
      if (!clusterCreate && !allowed(ctx, Op.CREATE, Res.TOPIC, name)) {
        topics.push({ name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, configs: null });
        continue;
      }
      try {
        if (name === OFFSETS_TOPIC && !node.hasTopic(name)) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `${name} is internal: the broker creates it for groups`);
        }
        const assignment = manualAssignment(t.assignments);
        if (assignment && (t.numPartitions !== -1 || t.replicationFactor !== -1)) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, 'give either assignments or partitions/replication factor');
        }
        const configs: Record<string, string> = {};
        for (const c of t.configs) {
          if (c.value === null) throw new KafkaError(ErrorCode.INVALID_CONFIG, `config ${c.name} has a null value`);
          configs[c.name] = c.value;
        }
        const partitions = assignment ? assignment.length : t.numPartitions;
        const rf = assignment ? (assignment[0] ?? []).length : t.replicationFactor;
        const validateOnly = Boolean(req.validateOnly);
        let checked: Awaited<ReturnType<typeof node.createTopic>> | null = null;
        if (quota.bounded) {
          // Metered once every other check passed, by the partitions it would have. A validate_only request is
          // metered too, as Kafka's controller does (ZooKeeper-mode brokers did not).
          checked = await node.createTopic(name, partitions, rf, configs, true, assignment);
          quota.record(checked.partitions);
        }
        const created =
          validateOnly && checked !== null
            ? checked
            : await node.createTopic(name, partitions, rf, configs, validateOnly, assignment);
        topics.push({
          name,
          errorCode: 0,
          errorMessage: null,
          numPartitions: created.partitions,
          replicationFactor: created.replicationFactor,
          configs: describeTopicConfigs(node.config, created.configs, null, false, false).map((c) => ({
            name: c.name,
            value: c.value,
            readOnly: c.readOnly,
            configSource: c.configSource,
            isSensitive: c.isSensitive,
          })),
        });
      } catch (e) {
        const err = errorOf(e);
        if (err.errorCode === ErrorCode.UNKNOWN_SERVER_ERROR)
          log.error('create topic failed', { topic: name, error: e });
        topics.push({ name, ...err, configs: null });
      }
    }
    const throttleTimeMs = quota.throttleTime();
    await applyThrottle(ctx, throttleTimeMs, clientThrottles(ApiKey.CreateTopics, header.apiVersion));
    return { throttleTimeMs, topics };
  },
});

export const deleteTopics = defineHandler(Api.DeleteTopics, {
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const { node, header } = ctx;
    const quota = node.quotas.mutationQuota(ctx.connection, header.clientId, header.apiVersion >= STRICT_DELETE_TOPICS);
    const responses: Item<ResponseInput<typeof Api.DeleteTopics>['responses']>[] = [];
    for (const name of req.topicNames) {
      if (!allowed(ctx, Op.DELETE, Res.TOPIC, name)) {
        responses.push({ name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null });
        continue;
      }
      try {
        // Metered by the partitions of a topic that can be deleted (an unknown or internal topic, or deletion
        // disabled, is refused without spending the quota).
        const partitions = node.topic(name)?.replicas.length;
        if (partitions !== undefined && node.config.deleteTopicEnable && !isInternalTopic(name))
          quota.record(partitions);
        await node.deleteTopic(name);
        responses.push({ name, errorCode: 0, errorMessage: null });
      } catch (e) {
        responses.push({ name, ...errorOf(e) });
      }
    }
    const throttleTimeMs = quota.throttleTime();
    await applyThrottle(ctx, throttleTimeMs, clientThrottles(ApiKey.DeleteTopics, header.apiVersion));
    return { throttleTimeMs, responses };
  },
});
