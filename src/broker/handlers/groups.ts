/**
 * Group membership APIs, answered by the group coordinator (src/coordinator): FindCoordinator, JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups, DeleteGroups. On a single node this broker
 * coordinates every group. The handlers only translate between wire versions and the coordinator's calls.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import { allowed, authorizedOperations, clusterAllowed, OPERATIONS_NOT_REQUESTED, Op, Res } from '../acl/check.js';
import { addressOn } from '../listeners.js';
import { type AnyHandler, defineHandler, type HandlerContext } from '../router.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

/** The coordinator of this group on this node, or null (another node's group, or not available). */
function coordinatorOf(ctx: HandlerContext, groupId: string) {
  return ctx.node.coordinatorOf(groupId);
}

/** The error for a group this node cannot coordinate (NOT_COORDINATOR: clients find the coordinator again). */
function noCoordinator(ctx: HandlerContext, groupId: string): number {
  return ctx.node.noCoordinatorError(groupId);
}

function clientHost(ctx: HandlerContext): string {
  return `/${ctx.connection.socket.remoteAddress ?? ''}`;
}

export const findCoordinator = defineHandler(Api.FindCoordinator, {
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const { header } = ctx;
    const answer = async (key: string) => {
      let errorCode: number = ErrorCode.NONE;
      let errorMessage: string | null = null;
      let node: { nodeId: number; host: string; port: number } | null = null;
      if (req.keyType === KEY_TYPE_TRANSACTION && key !== '' && !allowed(ctx, Op.DESCRIBE, Res.TRANSACTIONAL_ID, key)) {
        errorCode = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      } else if (req.keyType === KEY_TYPE_TRANSACTION) {
        // The leader of the transactional id's __transaction_state partition (the topic made on first use).
        const found = key === '' ? null : await ctx.node.transactions.findCoordinator(key).catch(() => null);
        node = found && addressOn(found, ctx.connection.listener);
        if (!node) {
          errorCode = key === '' ? ErrorCode.INVALID_REQUEST : ErrorCode.COORDINATOR_NOT_AVAILABLE;
          errorMessage = key === '' ? 'empty transactional id' : 'the transaction coordinator is not available yet';
        }
      } else if (req.keyType !== KEY_TYPE_GROUP) {
        errorCode = ErrorCode.INVALID_REQUEST;
        errorMessage = `unknown key type ${req.keyType}`;
      } else if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, key)) {
        errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED;
      } else {
        const found = await ctx.node.findCoordinator(key).catch(() => null);
        node = found && addressOn(found, ctx.connection.listener);
        if (!node) {
          errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
          errorMessage = 'the group coordinator is not available yet';
        }
      }
      return {
        key,
        nodeId: node ? node.nodeId : -1,
        host: node ? node.host : '',
        port: node ? node.port : -1,
        errorCode,
        errorMessage,
      };
    };
    if (header.apiVersion >= 4) {
      return { throttleTimeMs: 0, coordinators: await Promise.all(req.coordinatorKeys.map(answer)) };
    }
    const one = await answer(req.key);
    return {
      throttleTimeMs: 0,
      errorCode: one.errorCode,
      errorMessage: one.errorMessage,
      nodeId: one.nodeId,
      host: one.host,
      port: one.port,
    };
  },
});

export const joinGroup = defineHandler(Api.JoinGroup, {
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const v = ctx.header.apiVersion;
    if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolName: v >= 7 ? null : '' };
    const c = await coordinatorOf(ctx, req.groupId);
    const r = c
      ? await c.join({
          groupId: req.groupId,
          memberId: req.memberId,
          groupInstanceId: req.groupInstanceId,
          sessionTimeoutMs: req.sessionTimeoutMs,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs >= 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
          protocolType: req.protocolType,
          protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
          clientId: ctx.header.clientId ?? '',
          clientHost: clientHost(ctx),
          requireKnownMemberId: v >= 4,
        })
      : null;
    if (!r) return { throttleTimeMs: 0, errorCode: noCoordinator(ctx, req.groupId), protocolName: v >= 7 ? null : '' };
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Non-nullable before v7.
      protocolName: r.protocolName ?? (v >= 7 ? null : ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members,
    };
  },
});

export const syncGroup = defineHandler(Api.SyncGroup, {
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, assignment: Buffer.alloc(0) };
    const c = await coordinatorOf(ctx, req.groupId);
    if (!c) return { throttleTimeMs: 0, errorCode: noCoordinator(ctx, req.groupId), assignment: Buffer.alloc(0) };
    const r = await c.sync({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      assignment: r.assignment,
    };
  },
});

export const heartbeat = defineHandler(Api.Heartbeat, {
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const c = await coordinatorOf(ctx, req.groupId);
    const errorCode = c
      ? c.heartbeat(req.groupId, req.memberId, req.groupInstanceId, req.generationId)
      : noCoordinator(ctx, req.groupId);
    return { throttleTimeMs: 0, errorCode };
  },
});

export const leaveGroup = defineHandler(Api.LeaveGroup, {
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId))
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    const c = await coordinatorOf(ctx, req.groupId);
    if (!c) return { throttleTimeMs: 0, errorCode: noCoordinator(ctx, req.groupId), members: [] };
    if (ctx.header.apiVersion < 3) {
      const r = c.leave(req.groupId, [{ memberId: req.memberId, groupInstanceId: null }]);
      return {
        throttleTimeMs: 0,
        errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : (r.members[0]?.errorCode ?? 0),
      };
    }
    const r = c.leave(
      req.groupId,
      req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  },
});

export const describeGroups = defineHandler(Api.DescribeGroups, {
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const groups = await Promise.all(
      req.groups.map(async (groupId) => {
        const denied = !allowed(ctx, Op.DESCRIBE, Res.GROUP, groupId);
        const c = denied ? null : await coordinatorOf(ctx, groupId);
        if (!c) {
          return {
            errorCode: denied ? ErrorCode.GROUP_AUTHORIZATION_FAILED : noCoordinator(ctx, groupId),
            groupId,
            groupState: '',
            protocolType: '',
            protocolData: '',
            members: [],
          };
        }
        const d = c.describe(groupId);
        return {
          errorCode: d.errorCode,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          // v3+, when asked (KIP-430): what the principal may do with the group.
          authorizedOperations:
            ctx.header.apiVersion >= 3 && req.includeAuthorizedOperations && d.errorCode === 0
              ? authorizedOperations(ctx, Res.GROUP, groupId)
              : OPERATIONS_NOT_REQUESTED,
        };
      }),
    );
    return { throttleTimeMs: 0, groups };
  },
});

export const listGroups = defineHandler(Api.ListGroups, {
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const all = await ctx.node.allCoordinators();
    // DESCRIBE on the cluster lists every group; else the groups the principal may DESCRIBE.
    const everyGroup = clusterAllowed(ctx, Op.DESCRIBE, false);
    const groups = all
      .flatMap((c) => c.list(req.statesFilter))
      .filter((g) => everyGroup || allowed(ctx, Op.DESCRIBE, Res.GROUP, g.groupId))
      .map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        groupState: g.state,
      }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
  },
});

export const deleteGroups = defineHandler(Api.DeleteGroups, {
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const names = req.groupsNames;
    const results = await Promise.all(
      names.map(async (groupId) => {
        if (!allowed(ctx, Op.DELETE, Res.GROUP, groupId))
          return { groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
        const c = await coordinatorOf(ctx, groupId);
        return c
          ? ((await c.deleteGroups([groupId]))[0] ?? { groupId, errorCode: 0 })
          : { groupId, errorCode: noCoordinator(ctx, groupId) };
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});

export const groupHandlers: AnyHandler[] = [
  findCoordinator,
  joinGroup,
  syncGroup,
  heartbeat,
  leaveGroup,
  describeGroups,
  listGroups,
  deleteGroups,
];
