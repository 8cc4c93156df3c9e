/** CreateTopics and DeleteTopics: one result per topic, each with its own error code. */

import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { Handler } from '../router.js';
import { describeTopicConfigs } from './describe-configs.js';
import { errorOf } from './errors.js';

export const createTopics: Handler = {
  apiKey: ApiKey.CreateTopics,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, { broker, log }) {
    const seen = new Map<string, number>();
    for (const t of req.topics as Struct[]) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const topics: Struct[] = [];
    for (const t of req.topics as Struct[]) {
      const name = t.name as string;
      if ((seen.get(name) ?? 0) > 1) {
        topics.push({ name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic ${name} is listed twice` });
        continue;
      }
      try {
        if (name === OFFSETS_TOPIC && !broker.hasTopic(name)) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `${name} is internal: the broker creates it for groups`);
        }
        if ((t.assignments as Struct[]).length > 0) {
          const assigned = t.assignments as Struct[];
          for (const a of assigned) {
            const ids = a.brokerIds as number[];
            if (ids.length !== 1 || ids[0] !== broker.nodeId) {
              throw new KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                `broker ids ${ids.join(',')} are not [${broker.nodeId}]`,
              );
            }
          }
          if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
            throw new KafkaError(ErrorCode.INVALID_REQUEST, 'give either assignments or partitions/replication factor');
          }
        }
        const configs: Record<string, string> = {};
        for (const c of t.configs as Struct[]) {
          if (c.value === null) throw new KafkaError(ErrorCode.INVALID_CONFIG, `config ${c.name} has a null value`);
          configs[c.name] = c.value;
        }
        const partitions = (t.assignments as Struct[]).length || (t.numPartitions as number);
        const rf = (t.assignments as Struct[]).length ? 1 : (t.replicationFactor as number);
        const state = await broker.createTopic(name, partitions, rf, configs, Boolean(req.validateOnly));
        topics.push({
          name,
          topicId: state.id || '00000000000000000000000000000000',
          errorCode: 0,
          errorMessage: null,
          numPartitions: req.validateOnly
            ? partitions === -1
              ? broker.config.numPartitions
              : partitions
            : state.partitions.length,
          replicationFactor: rf === -1 ? broker.config.defaultReplicationFactor : rf,
          configs: describeTopicConfigs(broker, state.configs, null, false, false).map((c) => ({
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
    return { throttleTimeMs: 0, topics };
  },
};

export const deleteTopics: Handler = {
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, { broker }) {
    const responses: Struct[] = [];
    for (const name of req.topicNames as string[]) {
      try {
        await broker.deleteTopic(name);
        responses.push({ name, errorCode: 0, errorMessage: null });
      } catch (e) {
        responses.push({ name, ...errorOf(e) });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
};
