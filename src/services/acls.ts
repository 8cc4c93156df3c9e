/**
 * ACLs over the Kafka API (CreateAcls, DescribeAcls, DeleteAcls), as kafka-acls makes them: against kstream or
 * Kafka. A binding per principal × host × operation × resource; filters for list and delete.
 */
import {
  type AclBinding,
  type AclFilter,
  AclOperation,
  CLUSTER_NAME,
  codeOf,
  operationName,
  PatternType,
  Permission,
  patternTypeName,
  permissionName,
  ResourceType,
  resourceTypeName,
} from '../broker/acl/model.js';
import type { Admin } from '../client/index.js';
import { errorInfo } from '../protocol/errors.js';
import { Api } from '../protocol/messages/index.js';

export interface AclRow {
  principal: string;
  host: string;
  operation: string;
  permission: string;
  resourceType: string;
  resourceName: string;
  patternType: string;
}

export interface AclStatusRow {
  name: string;
  ok: boolean;
  status: string;
}

/** What the command line names: resources (type, name) and who/what. */
export interface AclSpec {
  resources: { type: number; name: string }[];
  patternType: number;
  allow: string[];
  deny: string[];
  hosts: string[];
  operations: number[];
}

/** A command-line name (read, describe-configs, ALL) to its operation code; throws with the valid names. */
export function parseOperation(name: string): number {
  const c = codeOf(AclOperation, name);
  if (c === null || c === AclOperation.UNKNOWN)
    throw new Error(
      `unknown operation ${name}: use ${Object.keys(AclOperation)
        .filter((k) => k !== 'UNKNOWN')
        .join(', ')
        .toLowerCase()}`,
    );
  return c;
}

export function parsePatternType(name: string): number {
  const c = codeOf(PatternType, name);
  if (c === null || c === PatternType.UNKNOWN)
    throw new Error(`unknown resource pattern type ${name}: use literal, prefixed, match or any`);
  return c;
}

/** The resources the flags name (--topic, --group, --transactional-id, --cluster). */
export function resourcesOf(f: {
  topic?: string[];
  group?: string[];
  'transactional-id'?: string[];
  cluster?: boolean;
}): { type: number; name: string }[] {
  return [
    ...(f.topic ?? []).map((name) => ({ type: ResourceType.TOPIC, name })),
    ...(f.group ?? []).map((name) => ({ type: ResourceType.GROUP, name })),
    ...(f['transactional-id'] ?? []).map((name) => ({ type: ResourceType.TRANSACTIONAL_ID, name })),
    ...(f.cluster ? [{ type: ResourceType.CLUSTER, name: CLUSTER_NAME }] : []),
  ];
}

async function controller(admin: Admin): Promise<number> {
  await admin.connect();
  return admin.cluster.controller();
}

function label(b: AclBinding): string {
  return (
    `${b.principal} ${permissionName(b.permission)} ${operationName(b.operation)} ` +
    `${resourceTypeName(b.resourceType)}:${patternTypeName(b.patternType)}:${b.resourceName} host ${b.host}`
  );
}

export function bindingsOf(spec: AclSpec): AclBinding[] {
  const out: AclBinding[] = [];
  const who = [
    ...spec.allow.map((p) => ({ p, permission: Permission.ALLOW as number })),
    ...spec.deny.map((p) => ({ p, permission: Permission.DENY as number })),
  ];
  for (const r of spec.resources)
    for (const { p, permission } of who)
      for (const host of spec.hosts)
        for (const operation of spec.operations)
          out.push({
            resourceType: r.type,
            resourceName: r.name,
            patternType: spec.patternType,
            principal: p,
            host,
            operation,
            permission,
          });
  return out;
}

export async function createAcls(admin: Admin, bindings: AclBinding[]): Promise<AclStatusRow[]> {
  const res = await admin.cluster.request(await controller(admin), Api.CreateAcls, {
    creations: bindings.map((b) => ({
      resourceType: b.resourceType,
      resourceName: b.resourceName,
      resourcePatternType: b.patternType,
      principal: b.principal,
      host: b.host,
      operation: b.operation,
      permissionType: b.permission,
    })),
  });
  return bindings.map((b, i) => {
    const r = res.results[i];
    const code = r?.errorCode ?? -1;
    return {
      name: label(b),
      ok: code === 0,
      status: code === 0 ? 'OK' : `${errorInfo(code).name}${r?.errorMessage ? `: ${r.errorMessage}` : ''}`,
    };
  });
}

function toWire(f: AclFilter) {
  return {
    resourceTypeFilter: f.resourceType,
    resourceNameFilter: f.resourceName,
    patternTypeFilter: f.patternType,
    principalFilter: f.principal,
    hostFilter: f.host,
    operation: f.operation,
    permissionType: f.permission,
  };
}

function row(r: {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}): AclRow {
  return {
    principal: r.principal,
    host: r.host,
    operation: operationName(r.operation),
    permission: permissionName(r.permissionType),
    resourceType: resourceTypeName(r.resourceType),
    resourceName: r.resourceName,
    patternType: patternTypeName(r.patternType),
  };
}

export async function listAcls(admin: Admin, filters: AclFilter[]): Promise<AclRow[]> {
  const rows: AclRow[] = [];
  const seen = new Set<string>();
  const node = await controller(admin);
  for (const f of filters) {
    const res = await admin.cluster.request(node, Api.DescribeAcls, toWire(f));
    if (res.errorCode !== 0) throw new Error(`${errorInfo(res.errorCode).name}: ${res.errorMessage ?? ''}`);
    for (const r of res.resources)
      for (const a of r.acls) {
        const x = row({ ...r, ...a });
        const k = JSON.stringify(x);
        if (!seen.has(k)) rows.push(x);
        seen.add(k);
      }
  }
  return rows;
}

export async function deleteAcls(admin: Admin, filters: AclFilter[]): Promise<{ rows: AclRow[]; errors: string[] }> {
  const res = await admin.cluster.request(await controller(admin), Api.DeleteAcls, { filters: filters.map(toWire) });
  const rows: AclRow[] = [];
  const errors: string[] = [];
  for (const fr of res.filterResults) {
    if (fr.errorCode !== 0) errors.push(`${errorInfo(fr.errorCode).name}: ${fr.errorMessage ?? ''}`);
    for (const m of fr.matchingAcls) rows.push(row(m));
  }
  return { rows, errors };
}

/** Filters for list / delete: one per resource (or one for all), principal/host/operation narrowing it. */
export function filtersOf(
  resources: { type: number; name: string }[],
  patternType: number,
  principals: string[],
  hosts: string[],
  operations: number[],
  permission: number,
): AclFilter[] {
  const rs: { type: number; name: string | null }[] =
    resources.length > 0 ? resources : [{ type: ResourceType.ANY, name: null }];
  const ps: (string | null)[] = principals.length > 0 ? principals : [null];
  const hs: (string | null)[] = hosts.length > 0 ? hosts : [null];
  const os = operations.length > 0 ? operations : [AclOperation.ANY];
  const out: AclFilter[] = [];
  for (const r of rs)
    for (const principal of ps)
      for (const host of hs)
        for (const operation of os)
          out.push({ resourceType: r.type, resourceName: r.name, patternType, principal, host, operation, permission });
  return out;
}
