/**
 * The authorizer (Kafka's StandardAuthorizer semantics): ACLs in the metadata store under `acls/`, one key per
 * binding, loaded at start and kept current by a prefix watch (etcd in a cluster, so a change made on one node
 * holds on every node as soon as the watch delivers it). Decisions:
 * - a super user (`super.users`, `User:a;User:b`) may do anything;
 * - a resource no ACL matches at all: `allow.everyone.if.no.acl.found` (default false);
 * - else a matching DENY (principal or User:*, host or *, the operation or ALL) refuses, whatever ALLOWs say;
 * - else a matching ALLOW grants; ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE, ALTER_CONFIGS
 *   implies DESCRIBE_CONFIGS (DENY implies nothing).
 * ACLs apply to a name literally, to every name when the literal name is `*`, or to every name starting
 * with a PREFIXED pattern. Lookups are by resource type and name (a map for literals, a map of prefixes probed
 * once per prefix length of the name), so 10,000 ACLs cost no more than ten; decisions are also cached per
 * connection and dropped whenever an ACL changes.
 */
import { loadAndWatch, type MetadataStore, type WatchEvent } from '../../cluster/metadata-store.js';
import type { Logger } from '../../util/logger.js';
import { ConfigError } from '../config-error.js';
import type { Listener } from '../listeners.js';
import {
  type AclBinding,
  type AclFilter,
  AclOperation,
  bindingKey,
  filterMatches,
  operationBits,
  operationName,
  PatternType,
  Permission,
  resourceTypeName,
  SUPPORTED_OPERATIONS,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from './model.js';

const PREFIX = 'acls/';

/** Kafka's authorizer class names; any of them turns kstream's built-in authorizer on. */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.authorizer.AclAuthorizer',
  'kafka.security.auth.SimpleAclAuthorizer',
  'kstream',
];

/** Who asks: a connection (its principal, its remote address, its listener). */
export interface Subject {
  readonly principal: string;
  readonly remote: string;
  readonly listener: Listener | null;
  /** True once logged in on a SASL listener; always true on others. */
  readonly authenticated?: boolean;
}

interface TypeIndex {
  literal: Map<string, AclBinding[]>;
  prefixed: Map<string, AclBinding[]>;
  /** Prefix lengths present, ascending (a name is probed at these lengths only). */
  prefixLengths: number[];
}

/** Decisions per connection, valid while `generation` is the authorizer's. */
interface Cache {
  generation: number;
  principal: string;
  decisions: Map<string, boolean>;
}

const MAX_CACHED_DECISIONS = 4096;
/** ACL writes sent to the metadata store at once. */
const WRITE_BATCH = 500;
const DENIAL_LOG_INTERVAL_MS = 60_000;

function hostOf(remote: string): string {
  const i = remote.lastIndexOf(':');
  const h = i < 0 ? remote : remote.slice(0, i);
  return h.startsWith('::ffff:') ? h.slice(7) : h;
}

function implies(granted: number, asked: number): boolean {
  if (granted === asked || granted === AclOperation.ALL) return true;
  if (asked === AclOperation.DESCRIBE)
    return (
      granted === AclOperation.READ ||
      granted === AclOperation.WRITE ||
      granted === AclOperation.DELETE ||
      granted === AclOperation.ALTER
    );
  if (asked === AclOperation.DESCRIBE_CONFIGS) return granted === AclOperation.ALTER_CONFIGS;
  return false;
}

export class Authorizer {
  /** On when authorizer.class.name names an authorizer (or `serve --authorizer`). */
  readonly enabled: boolean;
  readonly superUsers: ReadonlySet<string>;
  readonly allowIfNoAcl: boolean;
  private readonly interBrokerListener: string | null;
  private readonly bindings = new Map<string, AclBinding>();
  private readonly index = new Map<number, TypeIndex>();
  private generation = 0;
  private readonly caches = new WeakMap<object, Cache>();
  private readonly denialsLogged = new Map<string, number>();
  private store: MetadataStore | null = null;
  private unwatch: (() => Promise<void>) | null = null;

  constructor(
    props: Record<string, string>,
    private readonly log: Logger,
    interBrokerListener: string | null = null,
  ) {
    const cls = (props['authorizer.class.name'] ?? '').trim();
    if (cls !== '' && !AUTHORIZER_CLASS_NAMES.includes(cls)) {
      throw new ConfigError(
        `authorizer.class.name ${cls} is not supported: use ${AUTHORIZER_CLASS_NAMES[0]} (kstream's built-in authorizer)`,
      );
    }
    this.enabled = cls !== '';
    this.superUsers = new Set(
      (props['super.users'] ?? '')
        .split(';')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    );
    const allow = (props['allow.everyone.if.no.acl.found'] ?? 'false').trim().toLowerCase();
    if (allow !== 'true' && allow !== 'false')
      throw new ConfigError(
        `invalid value ${JSON.stringify(allow)} for allow.everyone.if.no.acl.found: use true or false`,
      );
    this.allowIfNoAcl = allow === 'true';
    this.interBrokerListener = interBrokerListener;
  }

  /** Load the stored ACLs and follow their changes. */
  async start(store: MetadataStore): Promise<void> {
    this.store = store;
    this.unwatch = await loadAndWatch(store, PREFIX, (e) => this.apply(e));
    if (this.enabled) this.log.info('authorizer on', { acls: this.bindings.size, superUsers: [...this.superUsers] });
  }

  async stop(): Promise<void> {
    await this.unwatch?.().catch(() => {});
    this.unwatch = null;
  }

  private apply(e: WatchEvent): void {
    if (!e.key.startsWith(PREFIX)) return;
    const key = e.key.slice(PREFIX.length);
    if (e.type === 'delete' || e.value === null) {
      this.remove(key);
      return;
    }
    let b: AclBinding;
    try {
      b = JSON.parse(e.value) as AclBinding;
    } catch {
      this.log.warn('unreadable ACL in the metadata store; ignored', { key: e.key });
      return;
    }
    this.remove(key);
    this.bindings.set(key, b);
    let ix = this.index.get(b.resourceType);
    if (!ix) {
      ix = { literal: new Map(), prefixed: new Map(), prefixLengths: [] };
      this.index.set(b.resourceType, ix);
    }
    const m = b.patternType === PatternType.PREFIXED ? ix.prefixed : ix.literal;
    const list = m.get(b.resourceName);
    if (list) list.push(b);
    else m.set(b.resourceName, [b]);
    if (b.patternType === PatternType.PREFIXED) this.reindexLengths(ix);
    this.generation++;
  }

  private remove(key: string): void {
    const b = this.bindings.get(key);
    if (!b) return;
    this.bindings.delete(key);
    const ix = this.index.get(b.resourceType);
    if (ix) {
      const m = b.patternType === PatternType.PREFIXED ? ix.prefixed : ix.literal;
      const list = m.get(b.resourceName)?.filter((x) => x !== b) ?? [];
      if (list.length === 0) m.delete(b.resourceName);
      else m.set(b.resourceName, list);
      if (b.patternType === PatternType.PREFIXED) this.reindexLengths(ix);
    }
    this.generation++;
  }

  private reindexLengths(ix: TypeIndex): void {
    ix.prefixLengths = [...new Set([...ix.prefixed.keys()].map((k) => k.length))].sort((a, b) => a - b);
  }

  /** Every stored binding a filter selects. */
  list(filter: AclFilter): AclBinding[] {
    return [...this.bindings.values()].filter((b) => filterMatches(filter, b));
  }

  /** Store bindings (a binding stored already stays as it is). */
  async create(bindings: AclBinding[]): Promise<void> {
    const store = this.storeOrThrow();
    // Many at once: the local store writes a batch of puts in one go, etcd takes them in parallel.
    for (let i = 0; i < bindings.length; i += WRITE_BATCH) {
      const batch = bindings
        .slice(i, i + WRITE_BATCH)
        .map((x) => ({ key: PREFIX + bindingKey(x), value: JSON.stringify(x) }));
      await Promise.all(batch.map((kv) => store.put(kv.key, kv.value)));
      for (const kv of batch) this.apply({ type: 'put', key: kv.key, value: kv.value });
    }
  }

  /** Remove stored bindings. */
  async delete(bindings: AclBinding[]): Promise<void> {
    const store = this.storeOrThrow();
    for (let i = 0; i < bindings.length; i += WRITE_BATCH) {
      const keys = bindings.slice(i, i + WRITE_BATCH).map((x) => PREFIX + bindingKey(x));
      await Promise.all(keys.map((key) => store.delete(key)));
      for (const key of keys) this.apply({ type: 'delete', key, value: null });
    }
  }

  private storeOrThrow(): MetadataStore {
    if (this.store === null) throw new Error('the authorizer has no metadata store yet');
    return this.store;
  }

  /** Whether `who` is a broker of this cluster (the inter-broker listener's unauthenticated principal). */
  isBroker(who: Subject): boolean {
    if (this.superUsers.has(who.principal)) return true;
    const l = who.listener;
    return (
      l !== null &&
      l.name === this.interBrokerListener &&
      who.principal === 'User:ANONYMOUS' &&
      !l.protocol.startsWith('SASL')
    );
  }

  /**
   * Whether `who` may do `operation` on the resource (type, name). Cached per connection until an ACL
   * changes. A refusal is logged (once a minute per principal, resource and operation).
   */
  authorize(who: Subject, operation: number, resourceType: number, name: string, logIfDenied = true): boolean {
    if (!this.enabled) return true;
    let cache = this.caches.get(who);
    if (cache === undefined || cache.generation !== this.generation || cache.principal !== who.principal) {
      cache = { generation: this.generation, principal: who.principal, decisions: new Map() };
      this.caches.set(who, cache);
    }
    const k = `${operation}\u0000${resourceType}\u0000${name}`;
    const cached = cache.decisions.get(k);
    if (cached !== undefined) return cached;
    const ok = this.decide(who, operation, resourceType, name);
    if (cache.decisions.size >= MAX_CACHED_DECISIONS) cache.decisions.clear();
    cache.decisions.set(k, ok);
    if (!ok && logIfDenied) this.logDenial(who, operation, resourceType, name);
    return ok;
  }

  /**
   * The operations that apply to the resource (type, name) which `who` may perform, as a bit set (KIP-430's
   * authorized operations): every one of them with the authorizer off or for a super user. Each operation is
   * decided as a request would be (the same index lookups, so no scan of the ACLs), without the per-connection
   * cache and without logging refusals, as Kafka asks its authorizer for them.
   */
  authorizedOperations(who: Subject, resourceType: number, name: string): number {
    const ops = SUPPORTED_OPERATIONS[resourceType] ?? [];
    if (!this.enabled) return operationBits(ops);
    return operationBits(ops.filter((op) => this.decide(who, op, resourceType, name)));
  }

  /** Whether `who` may do `operation` on some resource of the type (Kafka's authorizeByResourceType). */
  authorizeAny(who: Subject, operation: number, resourceType: number): boolean {
    if (!this.enabled || this.superUsers.has(who.principal)) return true;
    const host = hostOf(who.remote);
    let allowed = false;
    for (const b of this.bindings.values()) {
      if (b.resourceType !== resourceType) continue;
      if (b.principal !== who.principal && b.principal !== WILDCARD_PRINCIPAL) continue;
      if (b.host !== WILDCARD && b.host !== host) continue;
      if (b.permission === Permission.DENY && (b.operation === operation || b.operation === AclOperation.ALL)) {
        // A DENY on every name (literal * ) refuses all; narrower DENYs leave other names allowed.
        if (b.patternType === PatternType.LITERAL && b.resourceName === WILDCARD) return false;
        continue;
      }
      if (b.permission === Permission.ALLOW && implies(b.operation, operation)) allowed = true;
    }
    return allowed || (this.allowIfNoAcl && this.bindings.size === 0);
  }

  private decide(who: Subject, operation: number, resourceType: number, name: string): boolean {
    if (this.superUsers.has(who.principal)) return true;
    if (operation === AclOperation.CLUSTER_ACTION && this.isBroker(who)) return true;
    const ix = this.index.get(resourceType);
    if (ix === undefined) return this.allowIfNoAcl;
    const host = hostOf(who.remote);
    let any = false;
    let allowed = false;
    const consider = (list: AclBinding[] | undefined): boolean => {
      if (list === undefined) return false;
      any = true;
      for (const b of list) {
        if (b.principal !== who.principal && b.principal !== WILDCARD_PRINCIPAL) continue;
        if (b.host !== WILDCARD && b.host !== host) continue;
        if (b.permission === Permission.DENY) {
          if (b.operation === operation || b.operation === AclOperation.ALL) return true;
        } else if (implies(b.operation, operation)) allowed = true;
      }
      return false;
    };
    if (consider(ix.literal.get(name))) return false;
    if (name !== WILDCARD && consider(ix.literal.get(WILDCARD))) return false;
    for (const len of ix.prefixLengths) {
      if (len > name.length) break;
      if (consider(ix.prefixed.get(name.slice(0, len)))) return false;
    }
    return any ? allowed : this.allowIfNoAcl;
  }

  private logDenial(who: Subject, operation: number, resourceType: number, name: string): void {
    const k = `${who.principal}\u0000${resourceType}\u0000${name}\u0000${operation}`;
    const now = Date.now();
    const last = this.denialsLogged.get(k);
    if (last !== undefined && now - last < DENIAL_LOG_INTERVAL_MS) return;
    if (this.denialsLogged.size > 10_000) this.denialsLogged.clear();
    this.denialsLogged.set(k, now);
    this.log.info('authorization denied', {
      principal: who.principal,
      host: hostOf(who.remote),
      operation: operationName(operation),
      resource: `${resourceTypeName(resourceType)}:${name}`,
    });
  }
}
