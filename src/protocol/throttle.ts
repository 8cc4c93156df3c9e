/**
 * KIP-219: from which version of each API the client, not the broker, waits out a throttle. At these versions
 * a broker answers a throttled request at once (with throttle_time_ms) and mutes the connection for that time;
 * the client holds its next sends on that connection until the time is over. Older versions, and APIs not
 * listed, get the answer only after the delay and the client does nothing. Used by the broker (whether to hold
 * the answer) and by kstream's client (whether to hold its sends).
 */
import { ApiKey } from './messages/index.js';

/**
 * The first version of each API whose clients wait out a throttle themselves (Kafka's
 * AbstractResponse#shouldClientThrottle); an API not listed never does, so its answer is held for the delay.
 */
export const CLIENT_THROTTLES_FROM: ReadonlyMap<number, number> = new Map([
  [ApiKey.Produce, 6],
  [ApiKey.Fetch, 8],
  [ApiKey.ListOffsets, 3],
  [ApiKey.Metadata, 6],
  [ApiKey.OffsetCommit, 4],
  [ApiKey.OffsetFetch, 4],
  [ApiKey.FindCoordinator, 2],
  [ApiKey.JoinGroup, 3],
  [ApiKey.Heartbeat, 2],
  [ApiKey.LeaveGroup, 2],
  [ApiKey.SyncGroup, 2],
  [ApiKey.DescribeGroups, 2],
  [ApiKey.ListGroups, 2],
  [ApiKey.ApiVersions, 2],
  [ApiKey.CreateTopics, 3],
  [ApiKey.DeleteTopics, 2],
  [ApiKey.DeleteRecords, 1],
  [ApiKey.InitProducerId, 1],
  [ApiKey.AddPartitionsToTxn, 1],
  [ApiKey.AddOffsetsToTxn, 1],
  [ApiKey.EndTxn, 1],
  [ApiKey.TxnOffsetCommit, 1],
  [ApiKey.DescribeAcls, 1],
  [ApiKey.CreateAcls, 1],
  [ApiKey.DeleteAcls, 1],
  [ApiKey.DescribeConfigs, 2],
  [ApiKey.AlterConfigs, 1],
  [ApiKey.AlterReplicaLogDirs, 1],
  [ApiKey.DescribeLogDirs, 1],
  [ApiKey.CreatePartitions, 1],
  [ApiKey.DeleteGroups, 1],
  [ApiKey.ElectLeaders, 0],
  [ApiKey.IncrementalAlterConfigs, 0],
  [ApiKey.AlterPartitionReassignments, 0],
  [ApiKey.ListPartitionReassignments, 0],
  [ApiKey.OffsetDelete, 0],
  [ApiKey.DescribeUserScramCredentials, 0],
  [ApiKey.AlterUserScramCredentials, 0],
]);

/** Whether a client of this API and version waits out a throttle by itself (else the answer is held). */
export function clientThrottles(apiKey: number, version: number): boolean {
  const from = CLIENT_THROTTLES_FROM.get(apiKey);
  return from !== undefined && version >= from;
}
