/**
 * DescribeAcls, CreateAcls, DeleteAcls (KIP-11, KIP-290) against the authorizer's ACLs in the metadata store.
 * Without an authorizer they answer SECURITY_DISABLED, as Kafka does. Describe needs DESCRIBE on the cluster,
 * create and delete ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED otherwise). A binding or filter Kafka
 * would refuse (unknown resource type, pattern type, operation or permission; empty principal or name; a
 * principal without its type) gets INVALID_REQUEST with the reason, and nothing of it is stored or removed.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { clusterAllowed } from '../acl/check.js';
import {
  type AclBinding,
  type AclFilter,
  AclOperation,
  bindingKey,
  describeBinding,
  invalidBinding,
  invalidFilter,
} from '../acl/model.js';
import { defineHandler } from '../router.js';
import { errorOf } from './errors.js';

const DISABLED = 'No Authorizer is configured on the broker';

interface FilterFields {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

function filterOf(f: FilterFields): AclFilter {
  return {
    resourceType: f.resourceTypeFilter,
    resourceName: f.resourceNameFilter,
    patternType: f.patternTypeFilter,
    principal: f.principalFilter,
    host: f.hostFilter,
    operation: f.operation,
    permission: f.permissionType,
  };
}

export const describeAcls = defineHandler(Api.DescribeAcls, {
  minVersion: 0,
  maxVersion: 3,
  handle(req, ctx) {
    const authz = ctx.node.authorizer;
    const fail = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    });
    if (!authz.enabled) return fail(ErrorCode.SECURITY_DISABLED, DISABLED);
    if (!clusterAllowed(ctx, AclOperation.DESCRIBE))
      return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'DESCRIBE on the cluster is required');
    const filter = filterOf(req);
    const bad = invalidFilter(filter);
    if (bad !== null) return fail(ErrorCode.INVALID_REQUEST, bad);
    const groups = new Map<string, Item<ResponseInput<typeof Api.DescribeAcls>['resources']> & { acls: object[] }>();
    const found = authz.list(filter).sort((a, b) => bindingKey(a).localeCompare(bindingKey(b)));
    for (const b of found) {
      const k = `${b.resourceType}\u0000${b.patternType}\u0000${b.resourceName}`;
      let g = groups.get(k);
      if (!g) {
        g = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] };
        groups.set(k, g);
      }
      g.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission });
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, resources: [...groups.values()] };
  },
});

export const createAcls = defineHandler(Api.CreateAcls, {
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const authz = ctx.node.authorizer;
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      results: req.creations.map(() => ({ errorCode, errorMessage })),
    });
    if (!authz.enabled) return all(ErrorCode.SECURITY_DISABLED, DISABLED);
    if (!clusterAllowed(ctx, AclOperation.ALTER))
      return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'ALTER on the cluster is required');
    const results: { errorCode: number; errorMessage: string | null }[] = [];
    const valid: { b: AclBinding; i: number }[] = [];
    for (const c of req.creations) {
      const b: AclBinding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permission: c.permissionType,
      };
      const bad = invalidBinding(b);
      if (bad !== null) results.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: bad });
      else {
        valid.push({ b, i: results.length });
        results.push({ errorCode: 0, errorMessage: null });
      }
    }
    try {
      await authz.create(valid.map((v) => v.b));
      for (const { b } of valid) ctx.log.info('ACL created', { acl: describeBinding(b), by: ctx.connection.principal });
    } catch (e) {
      ctx.log.warn('storing ACLs failed', { error: e });
      for (const { i } of valid) results[i] = errorOf(e);
    }
    return { throttleTimeMs: 0, results };
  },
});

export const deleteAcls = defineHandler(Api.DeleteAcls, {
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const authz = ctx.node.authorizer;
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (!authz.enabled) return all(ErrorCode.SECURITY_DISABLED, DISABLED);
    if (!clusterAllowed(ctx, AclOperation.ALTER))
      return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'ALTER on the cluster is required');
    const filterResults: Item<ResponseInput<typeof Api.DeleteAcls>['filterResults']>[] = [];
    for (const f of req.filters) {
      const filter = filterOf(f);
      const bad = invalidFilter(filter);
      if (bad !== null) {
        filterResults.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: bad, matchingAcls: [] });
        continue;
      }
      const matching = authz.list(filter);
      try {
        await authz.delete(matching);
        for (const b of matching)
          ctx.log.info('ACL deleted', { acl: describeBinding(b), by: ctx.connection.principal });
        filterResults.push({
          errorCode: 0,
          errorMessage: null,
          matchingAcls: matching.map((b) => ({
            errorCode: 0,
            errorMessage: null,
            resourceType: b.resourceType,
            resourceName: b.resourceName,
            patternType: b.patternType,
            principal: b.principal,
            host: b.host,
            operation: b.operation,
            permissionType: b.permission,
          })),
        });
      } catch (e) {
        ctx.log.warn('deleting ACLs failed', { error: e });
        filterResults.push({ ...errorOf(e), matchingAcls: [] });
      }
    }
    return { throttleTimeMs: 0, filterResults };
  },
});
