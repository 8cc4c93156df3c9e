/**
 * AlterPartitionReassignments and ListPartitionReassignments: move partitions between brokers online (a
 * cluster: src/cluster/cluster.ts). The controller completes each move once the target replicas are in sync.
 */
import { ErrorCode, errorInfo, KafkaError } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { clusterAllowed, Op } from '../acl/check.js';
import { defineHandler } from '../router.js';

export const alterPartitionReassignments = defineHandler(Api.AlterPartitionReassignments, {
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { node } = ctx;
    if (!clusterAllowed(ctx, Op.ALTER))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: 'ALTER on the cluster is required',
        responses: [],
      };
    const responses = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            const r = await node.reassign(t.name, p.partitionIndex, p.replicas).then(
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
});

export const listPartitionReassignments = defineHandler(Api.ListPartitionReassignments, {
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const { node } = ctx;
    if (!clusterAllowed(ctx, Op.DESCRIBE))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: 'DESCRIBE on the cluster is required',
        topics: [],
      };
    const wanted = req.topics;
    const topics: Item<ResponseInput<typeof Api.ListPartitionReassignments>['topics']>[] = [];
    for (const [name, t] of node.topics()) {
      const filter = wanted?.find((w) => w.name === name);
      if (wanted && !filter) continue;
      const partitions = Object.entries(t.reassign ?? {})
        .map(([key, r]) => ({ p: Number(key), r }))
        .filter(({ p }) => !filter || filter.partitionIndexes.includes(p))
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
});
