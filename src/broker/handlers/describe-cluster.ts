import { ApiKey } from '../../protocol/messages/index.js';
import { addressOn } from '../listeners.js';
import type { Handler } from '../router.js';

export const describeCluster: Handler = {
  apiKey: ApiKey.DescribeCluster,
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
};
