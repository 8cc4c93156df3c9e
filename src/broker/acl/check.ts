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

/** An operation on the cluster resource (CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, …). */
export function clusterAllowed(ctx: HandlerContext, operation: number): boolean {
  return allowed(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME);
}

/** DESCRIBE on a topic (Metadata, ListOffsets, OffsetForLeaderEpoch of consumers, DescribeProducers). */
export function topicDescribable(ctx: HandlerContext, topic: string): boolean {
  return allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, topic);
}
