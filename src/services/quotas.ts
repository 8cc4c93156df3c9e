/**
 * Client quotas over the Kafka API (DescribeClientQuotas, AlterClientQuotas), as kafka-configs makes them for
 * `--entity-type users|clients`: against kstream or Kafka. An entity is a user, a client id or both, each a
 * name or the default.
 */
import type { Admin } from '../client/index.js';
import { errorInfo } from '../protocol/errors.js';
import { Api } from '../protocol/messages/index.js';

export const MATCH_EXACT = 0;
export const MATCH_DEFAULT = 1;
export const MATCH_SPECIFIED = 2;

export interface EntityPart {
  entityType: 'user' | 'client-id';
  /** null: the default entity of the type. */
  entityName: string | null;
}

export interface FilterPart {
  entityType: 'user' | 'client-id';
  matchType: number;
  match: string | null;
}

export interface QuotaRow {
  /** undefined: not part of the entity; null: the default. */
  user?: string | null;
  clientId?: string | null;
  values: Record<string, number>;
}

export interface QuotaStatusRow {
  name: string;
  ok: boolean;
  status: string;
}

/** What the flags name: --quota-user/--client-id/--default-*, or kafka-configs' --entity-type/--entity-name/--entity-default. */
export interface EntityFlags {
  'quota-user'?: string;
  'client-id'?: string;
  'default-user'?: boolean;
  'default-client-id'?: boolean;
  'entity-type'?: string[];
  'entity-name'?: string[];
  'entity-default'?: boolean;
}

function typeOf(t: string): 'user' | 'client-id' {
  const x = t.trim().toLowerCase();
  if (x === 'users' || x === 'user') return 'user';
  if (x === 'clients' || x === 'client' || x === 'client-id') return 'client-id';
  throw new Error(`unknown entity type ${t}: use users or clients (topics, brokers and ips are not client quotas)`);
}

/**
 * The entity parts the flags name, in order user, client-id. `name` undefined: the type is named without a
 * name (describe: any entity of that type). Throws on contradictions.
 */
export function partsOf(f: EntityFlags): { entityType: 'user' | 'client-id'; name: string | null | undefined }[] {
  const parts = new Map<'user' | 'client-id', string | null | undefined>();
  const put = (t: 'user' | 'client-id', name: string | null | undefined) => {
    if (parts.has(t)) throw new Error(`the ${t} is named twice`);
    parts.set(t, name);
  };
  if (f['quota-user'] !== undefined && f['default-user'])
    throw new Error('give --quota-user or --default-user, not both');
  if (f['client-id'] !== undefined && f['default-client-id'])
    throw new Error('give --client-id or --default-client-id, not both');
  if (f['quota-user'] !== undefined) put('user', f['quota-user']);
  if (f['default-user']) put('user', null);
  if (f['client-id'] !== undefined) put('client-id', f['client-id']);
  if (f['default-client-id']) put('client-id', null);
  const types = f['entity-type'] ?? [];
  const names = f['entity-name'] ?? [];
  if (names.length > types.length) throw new Error('each --entity-name needs an --entity-type before it');
  types.forEach((t, i) => {
    const name = names[i];
    put(typeOf(t), name !== undefined ? name : f['entity-default'] ? null : undefined);
  });
  if (types.length === 0 && f['entity-default']) throw new Error('--entity-default needs an --entity-type');
  return (['user', 'client-id'] as const)
    .filter((t) => parts.has(t))
    .map((t) => ({ entityType: t, name: parts.get(t) }));
}

/** `k=v,k=v` (repeatable) to numbers; a value that is not a number is a usage error. */
export function parseAssignments(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new Error(`${item}: expected key=value (e.g. producer_byte_rate=1048576)`);
    const key = item.slice(0, i).trim();
    const text = item.slice(i + 1).trim();
    const v = Number(text);
    if (text === '' || !Number.isFinite(v)) throw new Error(`${key}: ${JSON.stringify(text)} is not a number`);
    if (Object.hasOwn(out, key)) throw new Error(`${key} is given twice`);
    out[key] = v;
  }
  return out;
}

export function entityLabel(r: { user?: string | null; clientId?: string | null }): string {
  const parts: string[] = [];
  if (r.user !== undefined) parts.push(`user=${r.user ?? '<default>'}`);
  if (r.clientId !== undefined) parts.push(`client-id=${r.clientId ?? '<default>'}`);
  return parts.join(', ');
}

async function node(admin: Admin): Promise<number> {
  await admin.connect();
  return admin.cluster.controller();
}

/** DescribeClientQuotas; a refused filter throws with Kafka's error name and message. */
export async function describeQuotas(admin: Admin, components: FilterPart[], strict: boolean): Promise<QuotaRow[]> {
  const res = await admin.cluster.request(await node(admin), Api.DescribeClientQuotas, { components, strict });
  if (res.errorCode !== 0) throw new Error(`${errorInfo(res.errorCode).name}: ${res.errorMessage ?? ''}`);
  const rows: QuotaRow[] = (res.entries ?? []).map((e) => {
    const user = e.entity.find((c) => c.entityType === 'user');
    const client = e.entity.find((c) => c.entityType === 'client-id');
    const row: QuotaRow = {
      ...(user ? { user: user.entityName } : {}),
      ...(client ? { clientId: client.entityName } : {}),
      values: {},
    };
    for (const v of e.values) row.values[v.key] = v.value;
    return row;
  });
  return rows.sort((a, b) => entityLabel(a).localeCompare(entityLabel(b)));
}

/** AlterClientQuotas for one entity: set `add`, remove `remove`. */
export async function alterQuotas(
  admin: Admin,
  entity: EntityPart[],
  add: Record<string, number>,
  remove: string[],
  validateOnly: boolean,
): Promise<QuotaStatusRow> {
  const ops = [
    ...Object.entries(add).map(([key, value]) => ({ key, value, remove: false })),
    ...remove.map((key) => ({ key, value: 0, remove: true })),
  ];
  const res = await admin.cluster.request(await node(admin), Api.AlterClientQuotas, {
    entries: [{ entity, ops }],
    validateOnly,
  });
  const r = res.entries[0];
  const code = r?.errorCode ?? -1;
  const name = entityLabel({
    user: entity.find((e) => e.entityType === 'user')?.entityName,
    clientId: entity.find((e) => e.entityType === 'client-id')?.entityName,
  });
  return {
    name,
    ok: code === 0,
    status:
      code === 0
        ? validateOnly
          ? 'OK (validated, not stored)'
          : 'OK'
        : `${errorInfo(code).name}${r?.errorMessage ? `: ${r.errorMessage}` : ''}`,
  };
}
