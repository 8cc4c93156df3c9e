/**
 * AlterPartitionReassignments and ListPartitionReassignments: move partitions between brokers online (a
 * cluster: src/cluster/cluster.ts). The controller completes each move once the target replicas are in sync.
 */
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode, errorInfo, KafkaError } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import type { Handler } from '../router.js';

export const alterPartitionReassignments: Handler = {
  apiKey: ApiKey.AlterPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, { node }) {
    const responses = await Promise.all(
      (req.topics as Struct[]).map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          (t.partitions as Struct[]).map(async (p) => {
            const r = await node.reassign(t.name, p.partitionIndex, p.replicas as number[] | null).then(
              (errorCode) => ({ errorCode, errorMessage: errorCode === 0 ? null : errorInfo(errorCode).message }),
              (e: unknown) =>
                e instanceof KafkaError
                  ? { errorCode: e.code, errorMessage: e.detail }
                  : {
                      errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
                      errorMessage: errorInfo(ErrorCode.UNKNOWN_SERVER_ERROR).message,
                    },
            );
            return { partitionIndex: p.partitionIndex, ...r };
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, responses };
  },
};

export const listPartitionReassignments: Handler = {
  apiKey: ApiKey.ListPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  handle(req, { node }) {
    const wanted = req.topics as Struct[] | null;
    const topics: Struct[] = [];
    for (const [name, t] of node.topics()) {
      const filter = wanted?.find((w) => w.name === name);
      if (wanted && !filter) continue;
      const partitions = Object.entries(t.reassign ?? {})
        .map(([key, r]) => ({ p: Number(key), r }))
        .filter(({ p }) => !filter || (filter.partitionIndexes as number[]).includes(p))
        .map(({ p, r }) => ({
          partitionIndex: p,
          replicas: t.replicas[p],
          addingReplicas: r.target.filter((b) => !r.original.includes(b)),
          removingReplicas: r.original.filter((b) => !r.target.includes(b)),
        }));
      if (partitions.length > 0) topics.push({ name, partitions });
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics };
  },
};
