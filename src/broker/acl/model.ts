/**
 * Kafka's ACL model (KIP-11, KIP-290): a binding is a resource pattern (type, name, LITERAL or PREFIXED) and an
 * entry (principal, host, operation, ALLOW or DENY). Filters (DescribeAcls, DeleteAcls) may say ANY for each
 * enum, null for names, and MATCH for the pattern type (every pattern that would apply to that name). The enum
 * codes are the wire codes of Kafka's AclOperation, ResourceType, PatternType and AclPermissionType.
 */

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

export const Permission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/**
 * The operations that apply to each resource type (Kafka's AclEntry.supportedOperations), the ones authorized
 * operations (KIP-430) report on. Groups: READ, DESCRIBE, DELETE — Kafka 3.9 added DESCRIBE_CONFIGS and
 * ALTER_CONFIGS with group configs, which kstream does not have.
 */
export const SUPPORTED_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DESCRIBE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
  ],
  [ResourceType.GROUP]: [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE],
  [ResourceType.CLUSTER]: [
    AclOperation.CREATE,
    AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
  ],
  [ResourceType.TRANSACTIONAL_ID]: [AclOperation.DESCRIBE, AclOperation.WRITE],
  [ResourceType.DELEGATION_TOKEN]: [AclOperation.DESCRIBE],
  [ResourceType.USER]: [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS],
};

/** The authorized-operations value of a client that did not ask for them (INT32_MIN, the schemas' default). */
export const OPERATIONS_NOT_REQUESTED = -2147483648;

/** Operations as a bit set: bit `code` set for each (Kafka's Utils.to32BitField). */
export function operationBits(ops: Iterable<number>): number {
  let v = 0;
  for (const o of ops) v |= 1 << o;
  return v;
}

/** The operations of a bit set, in code order. */
export function operationsOfBits(bits: number): number[] {
  const out: number[] = [];
  if (bits === OPERATIONS_NOT_REQUESTED) return out;
  for (let o = 0; o < 31; o++) if (bits & (1 << o)) out.push(o);
  return out;
}

/** The name of the one cluster resource, and the name / principal / host that stand for all. */
export const CLUSTER_NAME = 'kafka-cluster';
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permission: number;
}

export interface AclFilter {
  resourceType: number;
  /** null: any name. */
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permission: number;
}

function nameOf(table: Record<string, number>, code: number): string {
  for (const [k, v] of Object.entries(table)) if (v === code) return k;
  return String(code);
}

export const resourceTypeName = (c: number) => nameOf(ResourceType, c);
export const patternTypeName = (c: number) => nameOf(PatternType, c);
export const operationName = (c: number) => nameOf(AclOperation, c);
export const permissionName = (c: number) => nameOf(Permission, c);

/** A name (case-insensitive, `-` or `_`) to its code in `table`, or null. */
export function codeOf(table: Record<string, number>, name: string): number | null {
  const k = name.trim().toUpperCase().replace(/-/g, '_');
  return Object.hasOwn(table, k) ? (table[k] as number) : null;
}

const CONCRETE_RESOURCES: ReadonlySet<number> = new Set([
  ResourceType.TOPIC,
  ResourceType.GROUP,
  ResourceType.CLUSTER,
  ResourceType.TRANSACTIONAL_ID,
  ResourceType.DELEGATION_TOKEN,
  ResourceType.USER,
]);

/** Why a binding cannot be stored (CreateAcls answers INVALID_REQUEST with it), or null when it can. */
export function invalidBinding(b: AclBinding): string | null {
  if (!CONCRETE_RESOURCES.has(b.resourceType)) return `invalid resource type ${resourceTypeName(b.resourceType)}`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED)
    return `invalid pattern type ${patternTypeName(b.patternType)}: use LITERAL or PREFIXED`;
  if (b.resourceName === '') return 'resource name must not be empty';
  if (b.patternType === PatternType.PREFIXED && b.resourceName === WILDCARD)
    return 'a PREFIXED pattern cannot be the wildcard *';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME)
    return `the cluster resource is named ${CLUSTER_NAME}`;
  if (b.operation === AclOperation.UNKNOWN || b.operation === AclOperation.ANY || b.operation > 14 || b.operation < 0)
    return `invalid operation ${operationName(b.operation)}`;
  if (b.permission !== Permission.ALLOW && b.permission !== Permission.DENY)
    return `invalid permission type ${permissionName(b.permission)}`;
  const colon = b.principal.indexOf(':');
  if (colon <= 0 || colon === b.principal.length - 1)
    return `invalid principal ${JSON.stringify(b.principal)}: use Type:name, e.g. User:alice`;
  if (b.host === '') return 'host must not be empty (use * for any host)';
  return null;
}

/** Why a filter is unusable (INVALID_REQUEST), or null. */
export function invalidFilter(f: AclFilter): string | null {
  if (f.resourceType === ResourceType.UNKNOWN || f.resourceType < 0 || f.resourceType > 7)
    return `invalid resource type filter ${f.resourceType}`;
  if (f.patternType === PatternType.UNKNOWN || f.patternType < 0 || f.patternType > 4)
    return `invalid pattern type filter ${f.patternType}`;
  if (f.operation === AclOperation.UNKNOWN || f.operation < 0 || f.operation > 14)
    return `invalid operation filter ${f.operation}`;
  if (f.permission === Permission.UNKNOWN || f.permission < 0 || f.permission > 3)
    return `invalid permission type filter ${f.permission}`;
  return null;
}

/** Whether a filter selects a stored binding (Kafka's AclBindingFilter.matches). */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  if (f.permission !== Permission.ANY && f.permission !== b.permission) return false;
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  switch (f.patternType) {
    case PatternType.ANY:
      return f.resourceName === null || f.resourceName === b.resourceName;
    case PatternType.MATCH:
      if (f.resourceName === null) return true;
      if (b.patternType === PatternType.LITERAL)
        return b.resourceName === f.resourceName || b.resourceName === WILDCARD;
      return f.resourceName.startsWith(b.resourceName);
    default:
      return f.patternType === b.patternType && (f.resourceName === null || f.resourceName === b.resourceName);
  }
}

/** One line for logs and the CLI: `User:alice ALLOW READ on TOPIC:LITERAL:orders from *`. */
export function describeBinding(b: AclBinding): string {
  return (
    `${b.principal} ${permissionName(b.permission)} ${operationName(b.operation)} on ` +
    `${resourceTypeName(b.resourceType)}:${patternTypeName(b.patternType)}:${b.resourceName} from ${b.host}`
  );
}

/** The identity of a binding, its key in the metadata store. */
export function bindingKey(b: AclBinding): string {
  return [b.resourceType, b.patternType, b.resourceName, b.principal, b.host, b.operation, b.permission]
    .map((x) => encodeURIComponent(String(x)))
    .join('/');
}
