import { Api } from '../../protocol/messages/index.js';
import { clusterAuthorizedOperations } from '../acl/check.js';
import { addressOn } from '../listeners.js';
import { defineHandler } from '../router.js';

export const describeCluster = defineHandler(Api.DescribeCluster, {
  minVersion: 0,
  maxVersion: 1,
  handle: (req, ctx) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: req.endpointType ?? 1,
    clusterId: ctx.node.clusterId,
    controllerId: ctx.node.controllerId(),
    brokers: ctx.node
      .liveBrokers()
      .map((x) => addressOn(x, ctx.connection.listener))
      .map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    // KIP-430: 0 without DESCRIBE on the cluster, INT32_MIN when not asked.
    clusterAuthorizedOperations: clusterAuthorizedOperations(ctx, req.includeClusterAuthorizedOperations),
  }),
});
