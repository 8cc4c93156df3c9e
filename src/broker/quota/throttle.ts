/**
 * Throttling a request of a client over its quota (KIP-219): the answer carries throttle_time_ms and the
 * connection is muted for that time. Clients of the versions KIP-219 names (Produce v6+, Fetch v8+, … see
 * CLIENT_THROTTLES_FROM) get the answer at once and wait by themselves; older versions, and APIs whose clients
 * never throttle themselves, get it only after the delay, as Kafka does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKey } from '../../protocol/messages/index.js';
import type { HandlerContext } from '../context.js';
import type { QuotaKind } from './quotas.js';

/**
 * The first version of each API whose clients wait out a throttle themselves (Kafka's
 * AbstractResponse#shouldClientThrottle); an API not listed never does, so its answer is held for the delay.
 */
const CLIENT_THROTTLES_FROM: ReadonlyMap<number, number> = new Map([
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

/** Mute the connection for `ms`; hold the answer that long too when the client would not wait by itself. */
export async function applyThrottle(ctx: HandlerContext, ms: number, clientThrottles: boolean): Promise<void> {
  if (ms <= 0) return;
  ctx.connection.muteFor(ms);
  if (!clientThrottles && !ctx.node.isStopping) await sleep(ms);
}

/** Record `bytes` for the connection's quota entity; the throttle time (ms) to put in the answer, 0 if none. */
export async function throttle(
  ctx: HandlerContext,
  kind: QuotaKind,
  bytes: number,
  clientThrottles: boolean,
): Promise<number> {
  const ms = ctx.node.quotas.record(kind, ctx.connection, ctx.header.clientId ?? '', bytes);
  await applyThrottle(ctx, ms, clientThrottles);
  return ms;
}
