import { ApiKey } from '../../protocol/messages/index.js';
import type { Handler } from '../router.js';

export const describeCluster: Handler = {
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle: (req, { broker }) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    endpointType: req.endpointType ?? 1,
    clusterId: broker.clusterId,
    controllerId: broker.controllerId(),
    brokers: broker.liveBrokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterAuthorizedOperations: -2147483648,
  }),
};
