import { Api } from '../../protocol/messages/index.js';
import { addressOn } from '../listeners.js';
import { defineHandler } from '../router.js';

export const describeCluster = defineHandler(Api.DescribeCluster, {
  minVersion: 0,
  maxVersion: 1,
  handle: (req, { node, connection }) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: req.endpointType ?? 1,
    clusterId: node.clusterId,
    controllerId: node.controllerId(),
    brokers: node
      .liveBrokers()
      .map((x) => addressOn(x, connection.listener))
      .map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterAuthorizedOperations: -2147483648,
  }),
});
