/**
 * Admin APIs the CLI needs: CreatePartitions, DeleteRecords, AlterConfigs, IncrementalAlterConfigs.
 * Every item gets its own result with an error code; one bad item never fails the others.
 */
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { BrokerContext } from '../context.js';
import { checkRequestPartitions } from '../partition-limits.js';
import type { Handler } from '../router.js';
import { TOPIC_CONFIG_KEYS } from '../topic-config.js';
import { ResourceType } from './describe-configs.js';
import { errorOf } from './errors.js';

export const createPartitions: Handler = {
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  async handle(req, { node }) {
    const results: Struct[] = [];
    // max.request.partitions bounds the partitions the whole request adds (see CreateTopics).
    let requested = 0;
    for (const t of req.topics as Struct[]) {
      const current = node.topic(t.name)?.replicas.length;
      if (current !== undefined && Number.isInteger(t.count)) requested += Math.max(0, (t.count as number) - current);
    }
    try {
      checkRequestPartitions(node.config, requested);
    } catch (e) {
      for (const t of req.topics as Struct[]) results.push({ name: t.name, ...errorOf(e) });
      return { throttleTimeMs: 0, results };
    }
    for (const t of req.topics as Struct[]) {
      try {
        const assignments = t.assignments as Struct[] | null;
        const assignment = assignments ? assignments.map((a) => a.brokerIds as number[]) : null;
        await node.addPartitions(t.name, t.count, Boolean(req.validateOnly), assignment);
        results.push({ name: t.name, errorCode: 0, errorMessage: null });
      } catch (e) {
        results.push({ name: t.name, ...errorOf(e) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
};

export const deleteRecords: Handler = {
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, { node }) {
    const topics: Struct[] = [];
    for (const t of req.topics as Struct[]) {
      const partitions: Struct[] = [];
      topics.push({ name: t.name, partitions });
      for (const rp of t.partitions as Struct[]) {
        const p = node.partition(t.name, rp.partitionIndex);
        if (!p) {
          partitions.push({
            partitionIndex: rp.partitionIndex,
            lowWatermark: -1n,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          });
          continue;
        }
        const offset = rp.offset === -1n ? p.log.highWatermark : (rp.offset as bigint);
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
};

async function alterResource(
  node: BrokerContext,
  r: Struct,
  validateOnly: boolean,
  next: (current: Record<string, string>) => Record<string, string>,
): Promise<Struct> {
  const base = { resourceType: r.resourceType, resourceName: r.resourceName };
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

export const alterConfigs: Handler = {
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, { node }) {
    const responses: Struct[] = [];
    for (const r of req.resources as Struct[])
      responses.push(
        await alterResource(node, r, Boolean(req.validateOnly), () => {
          const out: Record<string, string> = {};
          for (const c of r.configs as Struct[]) if (c.value !== null) out[c.name] = c.value;
          return out;
        }),
      );
    return { throttleTimeMs: 0, responses };
  },
};

const OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export const incrementalAlterConfigs: Handler = {
  apiKey: ApiKey.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  async handle(req, { node }) {
    const responses: Struct[] = [];
    for (const r of req.resources as Struct[])
      responses.push(
        await alterResource(node, r, Boolean(req.validateOnly), (current) => {
          for (const c of r.configs as Struct[]) {
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
                const items = (c.value ?? '').split(',').filter((x: string) => x !== '');
                const nextList =
                  c.configOperation === OP.APPEND
                    ? [...list, ...items.filter((x: string) => !list.includes(x))]
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
};
