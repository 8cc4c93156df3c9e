/**
 * The one call handlers make to ask the authorizer (HandlerContext → principal, host, listener):
 * `allowed(ctx, AclOperation.READ, ResourceType.TOPIC, name)`. Always true when the authorizer is off.
 */
import type { HandlerContext } from '../router.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from './model.js';

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
