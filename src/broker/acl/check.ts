/**
 * The one call handlers make to ask the authorizer (HandlerContext → principal, host, listener):
 * `allowed(ctx, AclOperation.READ, ResourceType.TOPIC, name)`. Always true when the authorizer is off.
 */
import type { HandlerContext } from '../router.js';
import { AclOperation, CLUSTER_NAME, OPERATIONS_NOT_REQUESTED, ResourceType } from './model.js';

export { AclOperation as Op, ResourceType as Res } from './model.js';

export function allowed(ctx: HandlerContext, operation: number, resourceType: number, name: string): boolean {
  return ctx.node.authorizer.authorize(ctx.connection, operation, resourceType, name);
}

/**
 * An operation on the cluster resource (CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, …). `logIfDenied` false where
 * a refusal only selects another path (ListGroups, auto-creation, a consumer's OffsetForLeaderEpoch), as Kafka.
 */
export function clusterAllowed(ctx: HandlerContext, operation: number, logIfDenied = true): boolean {
  return ctx.node.authorizer.authorize(ctx.connection, operation, ResourceType.CLUSTER, CLUSTER_NAME, logIfDenied);
}

/** DESCRIBE on a topic (Metadata, ListOffsets, OffsetForLeaderEpoch of consumers, DescribeProducers). */
export function topicDescribable(ctx: HandlerContext, topic: string): boolean {
  return allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, topic);
}

/** The operations the principal may perform on a resource, as KIP-430's bit set (every one: authorizer off). */
export function authorizedOperations(ctx: HandlerContext, resourceType: number, name: string): number {
  return ctx.node.authorizer.authorizedOperations(ctx.connection, resourceType, name);
}

/**
 * The cluster's authorized operations as Metadata v8-v10 and DescribeCluster answer them when asked: 0 without
 * DESCRIBE on the cluster, as Kafka does; INT32_MIN when not asked.
 */
export function clusterAuthorizedOperations(ctx: HandlerContext, asked: boolean): number {
  if (!asked) return OPERATIONS_NOT_REQUESTED;
  if (!clusterAllowed(ctx, AclOperation.DESCRIBE)) return 0;
  return authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME);
}

export { OPERATIONS_NOT_REQUESTED } from './model.js';
