/**
 * Kafka's client quota model (KIP-13, KIP-55, KIP-546): an entity is a user, a client id, or a (user, client id)
 * pair, each name either given or the default (null on the wire, `<default>` in kafka-configs). Values are
 * float64 on the wire; byte rates are whole numbers of bytes per second.
 *
 * Which quota applies to a connection (user U, client id C), first match wins, as Kafka's
 * ClientQuotaManager orders them:
 *   1 (user=U, client-id=C)   2 (user=U, client-id=default)   3 (user=U)
 *   4 (user=default, client-id=C)   5 (user=default, client-id=default)   6 (user=default)
 *   7 (client-id=C)   8 (client-id=default)
 */

export const USER = 'user';
export const CLIENT_ID = 'client-id';
export const IP = 'ip';

export const PRODUCER_BYTE_RATE = 'producer_byte_rate';
export const CONSUMER_BYTE_RATE = 'consumer_byte_rate';
export const REQUEST_PERCENTAGE = 'request_percentage';
export const CONTROLLER_MUTATION_RATE = 'controller_mutation_rate';

/**
 * Quota keys kstream enforces, and whether each is a whole number (Kafka's LONG: the byte rates) or a double
 * (request_percentage, KIP-124; controller_mutation_rate, KIP-599).
 */
export const QUOTA_KEYS: ReadonlyMap<string, 'long' | 'double'> = new Map([
  [PRODUCER_BYTE_RATE, 'long'],
  [CONSUMER_BYTE_RATE, 'long'],
  [REQUEST_PERCENTAGE, 'double'],
  [CONTROLLER_MUTATION_RATE, 'double'],
]);

/** An entity: user and/or client id; undefined: the type is not part of it; null: the default entity. */
export interface QuotaEntity {
  user?: string | null;
  clientId?: string | null;
}

export interface EntityComponent {
  entityType: string;
  entityName: string | null;
}

/** A stored entity document (metadata store `quotas/<key>`). */
export interface QuotaDoc {
  entity: QuotaEntity;
  values: Record<string, number>;
}

/** The greatest value Kafka accepts for a LONG quota (Long.MAX_VALUE as a double). */
export const MAX_LONG = 2 ** 63;

const DEFAULT_MARK = '@';

function part(name: string | null): string {
  return name === null ? DEFAULT_MARK : encodeURIComponent(name);
}

/** The store key of an entity (names URI-encoded, so `@` only ever marks the default). */
export function entityKey(e: QuotaEntity): string {
  const parts: string[] = [];
  if (e.user !== undefined) parts.push(`user=${part(e.user)}`);
  if (e.clientId !== undefined) parts.push(`client-id=${part(e.clientId)}`);
  return parts.join('/');
}

export function toComponents(e: QuotaEntity): EntityComponent[] {
  const out: EntityComponent[] = [];
  if (e.user !== undefined) out.push({ entityType: USER, entityName: e.user });
  if (e.clientId !== undefined) out.push({ entityType: CLIENT_ID, entityName: e.clientId });
  return out;
}

/** `user=alice, client-id=<default>` for messages and logs. */
export function entityText(components: readonly EntityComponent[]): string {
  if (components.length === 0) return '(empty entity)';
  return components.map((c) => `${c.entityType}=${c.entityName ?? '<default>'}`).join(', ');
}

/** An entity from wire components, or Kafka's INVALID_REQUEST message. */
export function parseEntity(components: readonly EntityComponent[]): QuotaEntity | string {
  if (components.length === 0) return 'Invalid empty client quota entity';
  const e: QuotaEntity = {};
  const seen = new Set<string>();
  for (const c of components) {
    if (seen.has(c.entityType)) return `Invalid client quota entity, duplicate entity entry ${c.entityType}`;
    seen.add(c.entityType);
    if (c.entityName !== null && c.entityName === '') return `Empty ${c.entityType} not supported`;
    if (c.entityType === USER) e.user = c.entityName;
    else if (c.entityType === CLIENT_ID) e.clientId = c.entityName;
    else if (c.entityType === IP)
      return 'ip quotas (connection_creation_rate) are not supported by kstream: use user and client-id entities';
    else return `Unhandled client quota entity type: ${c.entityType}`;
  }
  return e;
}

/** Kafka's checks of one quota value; null when valid, else the INVALID_REQUEST message. */
export function checkValue(key: string, value: number): string | null {
  const type = QUOTA_KEYS.get(key);
  if (type === undefined) return `Invalid configuration key ${key}`;
  // NaN passes Kafka's `value <= 0` test; kstream refuses it (it would disable nothing and mean nothing).
  if (Number.isNaN(value)) return `Quota ${key} must be a number`;
  if (value <= 0) return `Quota ${key} must be greater than 0`;
  // Kafka takes any double above 0; an infinite one limits nothing and has no JSON form to be stored in.
  if (type === 'double' && !Number.isFinite(value)) return `Quota ${key} must be a finite number`;
  if (type === 'long') {
    if (value >= MAX_LONG) return `Proposed value for ${key} is too large for a LONG.`;
    if (Math.abs(value % 1) > 1e-6) return `${key} cannot be a fractional value.`;
  }
  return null;
}

/** The principal's user name for quotas: `User:alice` → `alice` (Kafka quotas name users without the type). */
export function userOf(principal: string): string {
  const i = principal.indexOf(':');
  return i < 0 ? principal : principal.slice(i + 1);
}
