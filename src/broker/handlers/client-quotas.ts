/**
 * DescribeClientQuotas and AlterClientQuotas (KIP-546), answered as Kafka's broker answers them.
 * Describe: a filter of components (entity type; exact name, the default, or any specified name; `strict`
 * excludes entities with other types); a bad filter is a top-level INVALID_REQUEST (UNSUPPORTED_VERSION for an
 * unknown entity type) with no entries. Needs DESCRIBE_CONFIGS on the cluster.
 * Alter: one result per entity; an empty entity, an unknown or repeated entity type, an empty name, a key
 * repeated or unknown, a value <= 0, fractional or beyond a LONG for a byte rate: INVALID_REQUEST, and that
 * entity is left as it was. Removing a key the entity does not have changes nothing. `validate_only` checks
 * and stores nothing. Needs ALTER_CONFIGS on the cluster.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { clusterAllowed, Op } from '../acl/check.js';
import {
  CLIENT_ID,
  checkValue,
  type EntityComponent,
  entityKey,
  entityText,
  IP,
  parseEntity,
  type QuotaEntity,
  toComponents,
  USER,
} from '../quota/model.js';
import { defineHandler } from '../router.js';
import { errorOf } from './errors.js';

type DescribeEntry = Item<NonNullable<ResponseInput<typeof Api.DescribeClientQuotas>['entries']>>;
type AlterEntry = Item<ResponseInput<typeof Api.AlterClientQuotas>['entries']>;

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_SPECIFIED = 2;

export const describeClientQuotas = defineHandler(Api.DescribeClientQuotas, {
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const fail = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      entries: null,
    });
    if (!clusterAllowed(ctx, Op.DESCRIBE_CONFIGS))
      return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'DESCRIBE_CONFIGS on the cluster is required');
    const exact = new Map<string, string | null>();
    const specified = new Set<string>();
    for (const c of req.components) {
      const type = c.entityType;
      if (type === '') return fail(ErrorCode.INVALID_REQUEST, 'Invalid empty entity type.');
      if (exact.has(type) || specified.has(type))
        return fail(ErrorCode.INVALID_REQUEST, `Entity type ${type} cannot appear more than once in the filter.`);
      if (type !== USER && type !== CLIENT_ID && type !== IP)
        return fail(ErrorCode.UNSUPPORTED_VERSION, `Unsupported entity type ${type}`);
      if (c.matchType === MATCH_EXACT) {
        if (c.match === null)
          return fail(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_EXACT, but set match string to null.');
        exact.set(type, c.match);
      } else if (c.matchType === MATCH_DEFAULT) {
        if (c.match !== null)
          return fail(
            ErrorCode.INVALID_REQUEST,
            'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.',
          );
        exact.set(type, null);
      } else if (c.matchType === MATCH_SPECIFIED) {
        if (c.match !== null)
          return fail(
            ErrorCode.INVALID_REQUEST,
            'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.',
          );
        specified.add(type);
      } else return fail(ErrorCode.INVALID_REQUEST, `Unknown match type ${c.matchType}`);
    }
    if ((exact.has(IP) || specified.has(IP)) && exact.size + specified.size > 1)
      return fail(
        ErrorCode.INVALID_REQUEST,
        'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.',
      );
    const entries: DescribeEntry[] = [];
    for (const doc of ctx.node.quotas.list()) {
      const have = new Map(toComponents(doc.entity).map((c) => [c.entityType, c.entityName]));
      if (req.strict && have.size !== exact.size + specified.size) continue;
      let ok = true;
      for (const [type, name] of exact) if (!have.has(type) || have.get(type) !== name) ok = false;
      for (const type of specified) if (!have.has(type)) ok = false;
      if (!ok) continue;
      entries.push({
        entity: toComponents(doc.entity),
        values: Object.entries(doc.values).map(([key, value]) => ({ key, value })),
      });
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, entries };
  },
});

export const alterClientQuotas = defineHandler(Api.AlterClientQuotas, {
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const { node, connection, log } = ctx;
    const entities: EntityComponent[][] = req.entries.map((e) =>
      e.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName })),
    );
    const results: AlterEntry[] = entities.map((entity) => ({ errorCode: 0, errorMessage: null, entity }));
    if (!clusterAllowed(ctx, Op.ALTER_CONFIGS)) {
      for (const r of results) {
        r.errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
        r.errorMessage = 'ALTER_CONFIGS on the cluster is required';
      }
      return { throttleTimeMs: 0, entries: results };
    }
    // Validate every entry first; an entity named twice is refused both times (nothing of it changes).
    const plans: ({ entity: QuotaEntity; set: Record<string, number>; remove: string[] } | null)[] = [];
    const keys = new Map<string, number>();
    for (let i = 0; i < req.entries.length; i++) {
      const p = planOf(req.entries[i] as (typeof req.entries)[number]);
      if (typeof p === 'string') {
        const r = results[i] as AlterEntry;
        r.errorCode = ErrorCode.INVALID_REQUEST;
        r.errorMessage = p;
        plans.push(null);
        continue;
      }
      const k = entityKey(p.entity);
      keys.set(k, (keys.get(k) ?? 0) + 1);
      plans.push(p);
    }
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i];
      if (p && (keys.get(entityKey(p.entity)) ?? 0) > 1) {
        const r = results[i] as AlterEntry;
        r.errorCode = ErrorCode.INVALID_REQUEST;
        r.errorMessage = `Ignoring duplicate entity ${entityText(entities[i] as EntityComponent[])}`;
        plans[i] = null;
      }
    }
    if (req.validateOnly) return { throttleTimeMs: 0, entries: results };
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i];
      if (!p) continue;
      const r = results[i] as AlterEntry;
      const text = entityText(entities[i] as EntityComponent[]);
      try {
        await node.quotas.alter(p.entity, p.set, p.remove);
        log.info('client quota changed', {
          entity: text,
          set: p.set,
          removed: p.remove,
          by: connection.principal,
        });
      } catch (e) {
        log.warn('changing a client quota failed', { entity: text, error: e });
        r.errorCode = errorOf(e).errorCode;
        r.errorMessage = 'the metadata store is not available';
      }
    }
    return { throttleTimeMs: 0, entries: results };
  },
});

/** An entry's entity and changes, or why it is refused (INVALID_REQUEST). */
function planOf(entry: {
  entity: readonly EntityComponent[];
  ops: readonly { key: string; value: number; remove: boolean }[];
}): { entity: QuotaEntity; set: Record<string, number>; remove: string[] } | string {
  const entity = parseEntity(entry.entity);
  if (typeof entity === 'string') return entity;
  const set: Record<string, number> = {};
  const remove: string[] = [];
  const seen = new Set<string>();
  for (const op of entry.ops) {
    if (seen.has(op.key))
      return `Duplicate quota key ${op.key} not updating quota for this entity ${entityText(entry.entity)}`;
    seen.add(op.key);
    if (op.remove) {
      // Removing a key the entity does not have changes nothing (Kafka does not check the key either).
      remove.push(op.key);
      continue;
    }
    const why = checkValue(op.key, op.value);
    if (why !== null) return why;
    set[op.key] = op.value;
  }
  return { entity, set, remove };
}
