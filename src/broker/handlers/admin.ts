/**
 * Admin APIs the CLI needs: CreatePartitions, DeleteRecords, AlterConfigs, IncrementalAlterConfigs.
 * Every item gets its own result with an error code; one bad item never fails the others.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, ApiKey, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { allowed, clusterAllowed, Op, Res } from '../acl/check.js';
import type { BrokerContext } from '../context.js';
import { checkRequestPartitions } from '../partition-limits.js';
import { applyThrottle, clientThrottles } from '../quota/throttle.js';
import { defineHandler, type HandlerContext } from '../router.js';
import { TOPIC_CONFIG_KEYS } from '../topic-config.js';
import { ResourceType } from './describe-configs.js';
import { errorOf } from './errors.js';

/** The first CreatePartitions version whose controller mutation quota is strict (KIP-599). */
const STRICT_CREATE_PARTITIONS = 3;

export const createPartitions = defineHandler(Api.CreatePartitions, {
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const { node, header } = ctx;
    // controller_mutation_rate (KIP-599): the partitions a topic gains, metered once the rest is checked, as
    // CreateTopics does (topics.ts); strict from v3.
    const quota = node.quotas.mutationQuota(
      ctx.connection,
      header.clientId,
      header.apiVersion >= STRICT_CREATE_PARTITIONS,
    );
    const results: Item<ResponseInput<typeof Api.CreatePartitions>['results']>[] = [];
    // max.request.partitions bounds the partitions the whole request adds (see CreateTopics).
    let requested = 0;
    for (const t of req.topics) {
      const current = node.topic(t.name)?.replicas.length;
      if (current !== undefined && Number.isInteger(t.count)) requested += Math.max(0, t.count - current);
    }
    try {
      checkRequestPartitions(node.config, requested);
    } catch (e) {
      for (const t of req.topics) results.push({ name: t.name, ...errorOf(e) });
      return { throttleTimeMs: 0, results };
    }
    for (const t of req.topics) {
      if (!allowed(ctx, Op.ALTER, Res.TOPIC, t.name)) {
        results.push({ name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null });
        continue;
      }
      try {
        const assignment = t.assignments ? t.assignments.map((a) => a.brokerIds) : null;
        const validateOnly = Boolean(req.validateOnly);
        if (quota.bounded) {
          const current = node.topic(t.name)?.replicas.length ?? 0;
          await node.addPartitions(t.name, t.count, true, assignment);
          quota.record(t.count - current);
        }
        if (!validateOnly || !quota.bounded) await node.addPartitions(t.name, t.count, validateOnly, assignment);
        results.push({ name: t.name, errorCode: 0, errorMessage: null });
      } catch (e) {
        results.push({ name: t.name, ...errorOf(e) });
      }
    }
    const throttleTimeMs = quota.throttleTime();
    await applyThrottle(ctx, throttleTimeMs, clientThrottles(ApiKey.CreatePartitions, header.apiVersion));
    return { throttleTimeMs, results };
  },
});

type DeleteRecordsTopic = Item<ResponseInput<typeof Api.DeleteRecords>['topics']>;

export const deleteRecords = defineHandler(Api.DeleteRecords, {
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const { node } = ctx;
    const topics: DeleteRecordsTopic[] = [];
    for (const t of req.topics) {
      const partitions: Item<DeleteRecordsTopic['partitions']>[] = [];
      topics.push({ name: t.name, partitions });
      const denied = !allowed(ctx, Op.DELETE, Res.TOPIC, t.name);
      for (const rp of t.partitions) {
        if (denied) {
          partitions.push({
            partitionIndex: rp.partitionIndex,
            lowWatermark: -1n,
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          });
          continue;
        }
        const p = node.partition(t.name, rp.partitionIndex);
        if (!p) {
          partitions.push({
            partitionIndex: rp.partitionIndex,
            lowWatermark: -1n,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          });
          continue;
        }
        const offset = rp.offset === -1n ? p.log.highWatermark : rp.offset;
        try {
          if (offset < 0n) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset}`);
          if (offset > p.log.logStartOffset) await p.log.deleteRecordsBefore(offset);
          partitions.push({ partitionIndex: rp.partitionIndex, lowWatermark: p.log.logStartOffset, errorCode: 0 });
        } catch (e) {
          partitions.push({ partitionIndex: rp.partitionIndex, lowWatermark: -1n, errorCode: errorOf(e).errorCode });
        }
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});

/** A resource of AlterConfigs or IncrementalAlterConfigs, and its answer (the same in both). */
interface ConfigResource {
  resourceType: number;
  resourceName: string;
}
type AlterResult = Item<ResponseInput<typeof Api.AlterConfigs>['responses']>;

async function alterResource(
  ctx: HandlerContext,
  r: ConfigResource,
  validateOnly: boolean,
  next: (current: Record<string, string>) => Record<string, string>,
): Promise<AlterResult> {
  const node: BrokerContext = ctx.node;
  const base = { resourceType: r.resourceType, resourceName: r.resourceName };
  // ALTER_CONFIGS on the topic, or on the cluster for a broker's configs.
  if (r.resourceType === ResourceType.TOPIC && !allowed(ctx, Op.ALTER_CONFIGS, Res.TOPIC, r.resourceName))
    return { ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null };
  if (r.resourceType === ResourceType.BROKER && !clusterAllowed(ctx, Op.ALTER_CONFIGS))
    return { ...base, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null };
  try {
    if (r.resourceType === ResourceType.BROKER) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        'broker configs are static: set them in the --config file and restart',
      );
    }
    if (r.resourceType !== ResourceType.TOPIC) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `resource type ${r.resourceType} is not supported`);
    }
    await node.alterTopicConfigs(r.resourceName, next, validateOnly);
    return { ...base, errorCode: 0, errorMessage: null };
  } catch (e) {
    return { ...base, ...errorOf(e) };
  }
}

export const alterConfigs = defineHandler(Api.AlterConfigs, {
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const responses: AlterResult[] = [];
    for (const r of req.resources)
      responses.push(
        await alterResource(ctx, r, Boolean(req.validateOnly), () => {
          const out: Record<string, string> = {};
          for (const c of r.configs) if (c.value !== null) out[c.name] = c.value;
          return out;
        }),
      );
    return { throttleTimeMs: 0, responses };
  },
});

const OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export const incrementalAlterConfigs = defineHandler(Api.IncrementalAlterConfigs, {
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const responses: AlterResult[] = [];
    for (const r of req.resources)
      responses.push(
        await alterResource(ctx, r, Boolean(req.validateOnly), (current) => {
          for (const c of r.configs) {
            const list = (current[c.name] ?? TOPIC_CONFIG_KEYS[c.name]?.default ?? '')
              .split(',')
              .filter((x) => x !== '');
            switch (c.configOperation) {
              case OP.SET:
                if (c.value === null) throw new KafkaError(ErrorCode.INVALID_CONFIG, `SET ${c.name} needs a value`);
                current[c.name] = c.value;
                break;
              case OP.DELETE:
                delete current[c.name];
                break;
              case OP.APPEND:
              case OP.SUBTRACT: {
                if (TOPIC_CONFIG_KEYS[c.name]?.type !== 'list') {
                  throw new KafkaError(
                    ErrorCode.INVALID_CONFIG,
                    `${c.name} is not a list: APPEND/SUBTRACT do not apply`,
                  );
                }
                const items = (c.value ?? '').split(',').filter((x) => x !== '');
                const nextList =
                  c.configOperation === OP.APPEND
                    ? [...list, ...items.filter((x) => !list.includes(x))]
                    : list.filter((x) => !items.includes(x));
                current[c.name] = nextList.join(',');
                break;
              }
              default:
                throw new KafkaError(ErrorCode.INVALID_REQUEST, `unknown config operation ${c.configOperation}`);
            }
          }
          return current;
        }),
      );
    return { throttleTimeMs: 0, responses };
  },
});
