/**
 * Client quotas (Kafka's ClientQuotaManager semantics, KIP-13 / KIP-55 / KIP-219): the quota documents live in
 * the metadata store under `quotas/`, one key per entity, loaded at start and kept current by a prefix watch
 * (etcd in a cluster, so a change made through one node applies on every node as soon as the watch delivers
 * it). Enforcement is per broker, as in Kafka: each node measures the bytes it takes in (produce) and gives out
 * (fetch) per quota entity with a token bucket whose burst is `quota.window.num` x `quota.window.size.seconds`
 * worth of the quota (Kafka's TokenBucket, KIP-599; see TokenBucket below for why not its sampled Rate), and
 * when the client has taken more than it was owed it answers with
 *   throttle_time_ms = owed bytes / quota
 * and mutes the connection for that time (KIP-219; older request versions get the answer after the delay).
 * Connections whose quota entity is the same (e.g. every client id of a user with a user quota) share one
 * measurement, as Kafka's quota sensors do.
 * The same buckets meter the two other quotas of user / client-id entities:
 * - `request_percentage` (KIP-124): the time the node's event loop spends on a client's requests, as a
 *   percentage of one thread (100 = the whole loop) over the window; router.ts measures it (what exactly is in
 *   docs/security.md). Kafka caps one request throttle at one window (`quota.window.size.seconds`).
 * - `controller_mutation_rate` (KIP-599): partitions created or deleted per second (CreateTopics, CreatePartitions,
 *   DeleteTopics), over `controller.quota.window.num` x `controller.quota.window.size.seconds`; MutationQuota.
 * With no quota of a kind stored, the produce/fetch paths and the router test one boolean and do nothing else.
 */
import { loadAndWatch, type MetadataStore, type WatchEvent } from '../../cluster/metadata-store.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { Logger } from '../../util/logger.js';
import { ConfigError } from '../config-error.js';
import {
  CONSUMER_BYTE_RATE,
  CONTROLLER_MUTATION_RATE,
  entityKey,
  PRODUCER_BYTE_RATE,
  type QuotaDoc,
  type QuotaEntity,
  REQUEST_PERCENTAGE,
  userOf,
} from './model.js';

const PREFIX = 'quotas/';

/** produce / fetch: bytes; request: event-loop time (percent x seconds); mutation: partitions. */
export type QuotaKind = 'produce' | 'fetch' | 'request' | 'mutation';

const KEY_OF: Record<QuotaKind, string> = {
  produce: PRODUCER_BYTE_RATE,
  fetch: CONSUMER_BYTE_RATE,
  request: REQUEST_PERCENTAGE,
  mutation: CONTROLLER_MUTATION_RATE,
};

/** Milliseconds of request time to request_percentage units (percent of one thread x seconds): 1 ms = 0.1. */
const MS_TO_PERCENT_SECONDS = 100 / 1000;

/**
 * The measurement a byte-rate quota is enforced by: Kafka's TokenBucket (KIP-599), the same window of
 * `samples` x `windowMs` giving its burst. The bucket holds up to bound x samples x window seconds of credit and
 * refills at `bound` per second; a request takes its bytes out, and when the credit is below zero the client
 * owes time: throttle = -credit / bound, so after the throttle the bucket is back at zero and the client pays
 * exactly what it moved. Kafka's sampled Rate (with its rate - quota / quota x window throttle) let the burst
 * a fresh window allows sit in one sample: each later request was throttled for the whole excess again while
 * that sample lasted (a client sending 1 MiB/s worth stalled at ~0.25 MiB/s), then the sample expired at once
 * and the next burst went through, an 11-12 s oscillation delivering ~0.8 of the quota (issue 19).
 */
export class TokenBucket {
  private tokens: number;
  private lastRefill: number;
  lastUsed: number;

  constructor(
    private readonly samples: number,
    private readonly windowMs: number,
    bound: number,
    now: number,
  ) {
    // A new sensor starts full, as Kafka's (its first refill covers the time since 0).
    this.tokens = this.burst(bound);
    this.lastRefill = now;
    this.lastUsed = now;
  }

  private burst(bound: number): number {
    return (bound * this.samples * this.windowMs) / 1000;
  }

  private refill(bound: number, now: number): void {
    const elapsed = now - this.lastRefill;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst(bound), this.tokens + (bound * elapsed) / 1000);
      this.lastRefill = now;
    }
  }

  /** Take `value` units out (a negative value gives them back, never above the burst). */
  record(value: number, bound: number, now: number): void {
    this.lastUsed = now;
    this.refill(bound, now);
    this.tokens = Math.min(this.burst(bound), this.tokens - value);
  }

  /** The credit left at `now` (negative: owed). */
  credit(bound: number, now: number): number {
    this.refill(bound, now);
    return this.tokens;
  }

  /** The time in ms until the credit is back at zero (0 when it is not below zero). */
  throttleMs(bound: number, now: number): number {
    const c = this.credit(bound, now);
    return c >= 0 ? 0 : Math.round((-c / bound) * 1000);
  }
}

/** The quota that applies to a connection and the measurement it shares. */
interface Applied {
  bound: number;
  sensor: string;
}

interface ConnectionCache {
  generation: number;
  principal: string;
  clientId: string;
  produce: Applied | null | undefined;
  fetch: Applied | null | undefined;
  request: Applied | null | undefined;
  mutation: Applied | null | undefined;
}

/** Who is asking: a connection's principal (kept per connection object). */
export interface QuotaSubject {
  readonly principal: string;
}

/**
 * Partitions created or deleted by one request, metered against the client's controller_mutation_rate bucket
 * (shared with its other requests), as Kafka's Strict- and PermissiveControllerMutationQuota: strict checks the
 * bucket before each topic (below zero: that topic is refused and the throttle is the time until it is back at
 * zero) and then takes the topic's partitions out, so a topic is accepted whole while any credit is left and the
 * next one is refused; permissive takes them out and only throttles.
 */
export class MutationQuota {
  private lastThrottleMs = 0;
  private lastAt = 0;

  constructor(
    private readonly bucket: TokenBucket | null,
    private readonly bound: number,
    readonly strict: boolean,
    private readonly onThrottle: () => void,
  ) {}

  /** Whether a quota applies at all (false: record does nothing, throttleTime is 0). */
  get bounded(): boolean {
    return this.bucket !== null;
  }

  /** Take `partitions` out; strict and already below zero: throws THROTTLING_QUOTA_EXCEEDED and takes nothing. */
  record(partitions: number, now = Date.now()): void {
    const b = this.bucket;
    if (b === null) return;
    if (this.strict) {
      const credit = b.credit(this.bound, now);
      if (credit < 0) {
        this.throttled(Math.round((-credit / this.bound) * 1000), now);
        throw new KafkaError(
          ErrorCode.THROTTLING_QUOTA_EXCEEDED,
          `controller_mutation_rate ${this.bound}/s exceeded: retry after ${this.lastThrottleMs} ms`,
        );
      }
      b.record(partitions, this.bound, now);
      return;
    }
    b.record(partitions, this.bound, now);
    const ms = b.throttleMs(this.bound, now);
    if (ms > 0) this.throttled(ms, now);
  }

  private throttled(ms: number, now: number): void {
    this.lastThrottleMs = ms;
    this.lastAt = now;
    this.onThrottle();
  }

  /** The throttle for the answer: the last one handed out, less the time since (0 when none was). */
  throttleTime(now = Date.now()): number {
    return Math.max(0, this.lastThrottleMs - (now - this.lastAt));
  }
}

const UNBOUNDED_MUTATIONS = new MutationQuota(null, 0, false, () => {});

/** Sensors not used for this long are dropped (Kafka expires quota sensors after an hour). */
const SENSOR_IDLE_MS = 3600_000;

export class ClientQuotas {
  private readonly docs = new Map<string, QuotaDoc>();
  private generation = 0;
  /**
   * Whether any entity has a producer_byte_rate / consumer_byte_rate / request_percentage /
   * controller_mutation_rate: the hot paths and the router test only these.
   */
  producerActive = false;
  consumerActive = false;
  requestActive = false;
  mutationActive = false;
  private readonly sensors: Record<QuotaKind, Map<string, TokenBucket>> = {
    produce: new Map(),
    fetch: new Map(),
    request: new Map(),
    mutation: new Map(),
  };
  private readonly caches = new WeakMap<object, ConnectionCache>();
  /** Throttles handed out, per kind (metrics, tests). */
  readonly throttled: Record<QuotaKind, number> = { produce: 0, fetch: 0, request: 0, mutation: 0 };
  /** Told of every throttle handed out: the kind, the measurement's key (its entity) and the ms (metrics). */
  onThrottle: ((kind: QuotaKind, sensor: string, ms: number, now: number) => void) | null = null;
  /** quota.window.num x quota.window.size.seconds: byte rates and request_percentage. */
  readonly samples: number;
  readonly windowMs: number;
  /** controller.quota.window.num x controller.quota.window.size.seconds: controller_mutation_rate. */
  readonly mutationSamples: number;
  readonly mutationWindowMs: number;
  private store: MetadataStore | null = null;
  private unwatch: (() => Promise<void>) | null = null;
  private lastSweep = 0;

  constructor(
    props: Record<string, string>,
    private readonly log: Logger,
  ) {
    this.samples = positiveInt(props, 'quota.window.num', 11);
    this.windowMs = positiveInt(props, 'quota.window.size.seconds', 1) * 1000;
    this.mutationSamples = positiveInt(props, 'controller.quota.window.num', 11);
    this.mutationWindowMs = positiveInt(props, 'controller.quota.window.size.seconds', 1) * 1000;
  }

  async start(store: MetadataStore): Promise<void> {
    this.store = store;
    this.unwatch = await loadAndWatch(store, PREFIX, (e) => this.apply(e));
    if (this.docs.size > 0) this.log.info('client quotas loaded', { entities: this.docs.size });
  }

  async stop(): Promise<void> {
    await this.unwatch?.().catch(() => {});
    this.unwatch = null;
  }

  private apply(e: WatchEvent): void {
    if (!e.key.startsWith(PREFIX)) return;
    const key = e.key.slice(PREFIX.length);
    if (e.type === 'delete' || e.value === null) this.docs.delete(key);
    else {
      try {
        this.docs.set(key, JSON.parse(e.value) as QuotaDoc);
      } catch {
        this.log.warn('unreadable client quota in the metadata store; ignored', { key: e.key });
        return;
      }
    }
    this.generation++;
    let p = false;
    let c = false;
    let r = false;
    let m = false;
    for (const d of this.docs.values()) {
      if (d.values[PRODUCER_BYTE_RATE] !== undefined) p = true;
      if (d.values[CONSUMER_BYTE_RATE] !== undefined) c = true;
      if (d.values[REQUEST_PERCENTAGE] !== undefined) r = true;
      if (d.values[CONTROLLER_MUTATION_RATE] !== undefined) m = true;
    }
    this.producerActive = p;
    this.consumerActive = c;
    this.requestActive = r;
    this.mutationActive = m;
  }

  /** Every stored entity with its values. */
  list(): QuotaDoc[] {
    return [...this.docs.values()];
  }

  /** The stored values of one entity (empty when none). */
  valuesOf(e: QuotaEntity): Record<string, number> {
    return { ...(this.docs.get(entityKey(e))?.values ?? {}) };
  }

  /**
   * Set and remove values of one entity (already validated) by compare-and-set on its document; an entity
   * left with no value is deleted. Returns once the store has the change (this node's view follows its watch,
   * and is updated here at once too).
   */
  async alter(e: QuotaEntity, set: Record<string, number>, remove: readonly string[]): Promise<void> {
    const store = this.storeOrThrow();
    const key = PREFIX + entityKey(e);
    for (;;) {
      const kv = await store.get(key);
      const current = kv ? (JSON.parse(kv.value) as QuotaDoc).values : {};
      const values: Record<string, number> = { ...current, ...set };
      for (const k of remove) delete values[k];
      if (Object.keys(values).length === 0) {
        if (kv) await store.delete(key);
        this.apply({ type: 'delete', key, value: null });
        return;
      }
      const doc: QuotaDoc = { entity: e, values };
      const text = JSON.stringify(doc);
      if (await store.compareAndSet(key, text, kv?.modRevision ?? 0)) {
        this.apply({ type: 'put', key, value: text });
        return;
      }
    }
  }

  private storeOrThrow(): MetadataStore {
    if (this.store === null) throw new Error('client quotas have no metadata store yet');
    return this.store;
  }

  /** The quota of `kind` for (user, client id) in Kafka's precedence order, and the sensor it is measured by. */
  resolve(kind: QuotaKind, user: string, clientId: string): Applied | null {
    const k = KEY_OF[kind];
    const at = (e: QuotaEntity): number | undefined => this.docs.get(entityKey(e))?.values[k];
    const both = (bound: number) => ({ bound, sensor: `${entityKey({ user, clientId })}` });
    const userOnly = (bound: number) => ({ bound, sensor: `${entityKey({ user })}` });
    const clientOnly = (bound: number) => ({ bound, sensor: `${entityKey({ clientId })}` });
    // Kafka's order (model.ts): the first entity holding the key decides, and which names its sensor keeps.
    const order: [QuotaEntity, (bound: number) => Applied][] = [
      [{ user, clientId }, both],
      [{ user, clientId: null }, both],
      [{ user }, userOnly],
      [{ user: null, clientId }, both],
      [{ user: null, clientId: null }, both],
      [{ user: null }, userOnly],
      [{ clientId }, clientOnly],
      [{ clientId: null }, clientOnly],
    ];
    for (const [e, make] of order) {
      const v = at(e);
      if (v !== undefined) return make(v);
    }
    return null;
  }

  /**
   * Whether a byte-rate or request quota applies to the connection's client (three booleans when none is
   * stored): its requests are then handled one at a time. controller_mutation_rate alone does not: it refuses
   * or throttles admin requests only, and a default mutation quota must not take every producer's pipelining.
   */
  applies(who: QuotaSubject, clientId: string | null): boolean {
    if (!this.producerActive && !this.consumerActive && !this.requestActive) return false;
    const c = this.cacheOf(who, clientId ?? '');
    return (
      (this.producerActive && this.appliedOf(c, 'produce', who) !== null) ||
      (this.consumerActive && this.appliedOf(c, 'fetch', who) !== null) ||
      (this.requestActive && this.appliedOf(c, 'request', who) !== null)
    );
  }

  /** Whether a request_percentage applies to the connection's client. Callers test requestActive first. */
  requestApplies(who: QuotaSubject, clientId: string | null): boolean {
    return this.appliedOf(this.cacheOf(who, clientId ?? ''), 'request', who) !== null;
  }

  private cacheOf(who: QuotaSubject, clientId: string): ConnectionCache {
    let c = this.caches.get(who);
    if (
      c === undefined ||
      c.generation !== this.generation ||
      c.principal !== who.principal ||
      c.clientId !== clientId
    ) {
      c = {
        generation: this.generation,
        principal: who.principal,
        clientId,
        produce: undefined,
        fetch: undefined,
        request: undefined,
        mutation: undefined,
      };
      this.caches.set(who, c);
    }
    return c;
  }

  private appliedOf(c: ConnectionCache, kind: QuotaKind, who: QuotaSubject): Applied | null {
    let applied = c[kind];
    if (applied === undefined) {
      applied = this.resolve(kind, userOf(who.principal), c.clientId);
      c[kind] = applied;
    }
    return applied;
  }

  /**
   * Record `bytes` for the connection's quota entity and return the throttle time in ms (0: within its quota,
   * or no quota applies). Callers test producerActive / consumerActive first.
   */
  record(kind: QuotaKind, who: QuotaSubject, clientId: string, bytes: number, now = Date.now()): number {
    const applied = this.appliedOf(this.cacheOf(who, clientId), kind, who);
    if (applied === null) return 0;
    const bucket = this.bucketOf(kind, applied, now);
    bucket.record(bytes, applied.bound, now);
    const ms = bucket.throttleMs(applied.bound, now);
    if (ms > 0) {
      this.throttled[kind]++;
      this.onThrottle?.(kind, applied.sensor, ms, now);
    }
    return ms;
  }

  private bucketOf(kind: QuotaKind, applied: Applied, now: number): TokenBucket {
    const sensors = this.sensors[kind];
    let bucket = sensors.get(applied.sensor);
    if (bucket === undefined) {
      this.sweep(now);
      bucket =
        kind === 'mutation'
          ? new TokenBucket(this.mutationSamples, this.mutationWindowMs, applied.bound, now)
          : new TokenBucket(this.samples, this.windowMs, applied.bound, now);
      sensors.set(applied.sensor, bucket);
    }
    return bucket;
  }

  /**
   * Record `ms` of event-loop time spent on a request of the connection's client (request_percentage) and
   * return the throttle time: 0 within the quota (or none applies), else the time that pays the debt, at most
   * one quota window (Kafka bounds request throttles so). `throttle` false: recorded only (Kafka records the
   * network threads' time of a request so, after its answer was made).
   */
  recordRequestTime(who: QuotaSubject, clientId: string, ms: number, throttle: boolean, now = Date.now()): number {
    const applied = this.appliedOf(this.cacheOf(who, clientId), 'request', who);
    if (applied === null) return 0;
    const bucket = this.bucketOf('request', applied, now);
    bucket.record(ms * MS_TO_PERCENT_SECONDS, applied.bound, now);
    if (!throttle) return 0;
    const owed = bucket.throttleMs(applied.bound, now);
    if (owed <= 0) return 0;
    this.throttled.request++;
    return Math.min(owed, this.windowMs);
  }

  /**
   * The controller mutation quota of one request (Kafka's ControllerMutationQuota): strict (CreateTopics v6+,
   * CreatePartitions v3+, DeleteTopics v5+: a topic is refused with THROTTLING_QUOTA_EXCEEDED once the client's
   * bucket is below zero) or permissive (older versions: everything is done, the answer is throttled).
   */
  mutationQuota(who: QuotaSubject, clientId: string | null, strict: boolean, now = Date.now()): MutationQuota {
    if (!this.mutationActive) return UNBOUNDED_MUTATIONS;
    const applied = this.appliedOf(this.cacheOf(who, clientId ?? ''), 'mutation', who);
    if (applied === null) return UNBOUNDED_MUTATIONS;
    return new MutationQuota(this.bucketOf('mutation', applied, now), applied.bound, strict, () => {
      this.throttled.mutation++;
    });
  }

  /** Take back bytes recorded for a fetch that was answered empty because it was throttled (Kafka does too). */
  unrecord(kind: QuotaKind, who: QuotaSubject, bytes: number, now = Date.now()): void {
    const applied = this.caches.get(who)?.[kind];
    if (!applied) return;
    this.sensors[kind].get(applied.sensor)?.record(-bytes, applied.bound, now);
  }

  /** The most bytes one request may move without being throttled for certain (Kafka caps fetch size so). */
  maxValueInWindow(kind: QuotaKind, who: QuotaSubject, clientId: string): number {
    const applied = this.appliedOf(this.cacheOf(who, clientId), kind, who);
    if (applied === null) return Number.MAX_SAFE_INTEGER;
    return applied.bound * (this.samples - 1) * (this.windowMs / 1000);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const m of Object.values(this.sensors)) {
      for (const [k, r] of m) if (now - r.lastUsed > SENSOR_IDLE_MS) m.delete(k);
    }
  }
}

function positiveInt(props: Record<string, string>, key: string, dflt: number): number {
  const raw = props[key];
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 1 || n > 3600)
    throw new ConfigError(`invalid value ${JSON.stringify(raw)} for ${key}: expected an integer in 1..3600`);
  return n;
}
