/**
 * The etcd implementation of the metadata store, with the `etcd3` client. Keys are namespaced by cluster id.
 *
 * Liveness is one session per process, as etcd's own concurrency.Session (and a ZooKeeper session): one lease
 * that every leased key and every campaign of this process lives under, renewed every TTL/3 by this store
 * (not by etcd3's Lease, which declares a lease lost on its own after 2 TTLs without etcd and so turned every
 * etcd outage into re-registration and re-election). The session ends only when etcd says the lease is gone
 * (a keep-alive answered with TTL 0, a write refused with "lease not found"): only then are the leased keys
 * written again under a new lease and the campaigns run again. An etcd that stops and starts again keeps its
 * leases (it gives each its full TTL back), so a node that reaches it within the TTL keeps its registration
 * and the controller keeps its election: an etcd outage changes no leader.
 *
 * Every retry — keep-alive, re-registration, campaigns, etcd3's watch reconnection and its per-host circuit
 * breaker — waits with the same capped, jittered backoff (src/util/backoff.ts), and logs the start and the
 * end of a run of failures, not each attempt.
 */
import {
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  type IOptions,
  isRecoverableError,
  type Namespace,
  type Watcher,
} from 'etcd3';
import { redactUrlCredentials } from '../protocol/config-names.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { Backoff, type BackoffOptions, backoffDelay, sleep } from '../util/backoff.js';
import type { Logger } from '../util/logger.js';
import type { CasWrite, KeyValue, MetadataStore, WatchEvent } from './metadata-store.js';

/**
 * Bounds of the etcd client's own retries (watch reconnection, a host skipped after failures) and of the
 * session keep-alive: 100 ms doubling up to 1 s, jittered. Below the lease TTL, so once etcd is back the
 * session is renewed before its lease runs out.
 */
const CLIENT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 1000 };

/** Default TTL of the session lease when the first leased key does not give one. */
const DEFAULT_TTL_SECONDS = 3;

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;
type GlobalPolicy = NonNullable<FaultHandling['global']>;
type WatchBackoff = NonNullable<FaultHandling['watchBackoff']>;

const CIRCUIT_OPEN = 'etcd host skipped after repeated failures (circuit open)';

/**
 * etcd3's per-host fault policy, replacing its default circuit breaker (3 failures open it for a fixed 5 s, so
 * a returning etcd went unnoticed for up to 5 s — past the TTL of every lease): after 3 consecutive failures
 * the host is skipped for a backoff delay, then tried again; one success closes it.
 */
class HostBreaker {
  private failures = 0;
  private openUntil = 0;
  private readonly backoff = new Backoff(CLIENT_BACKOFF);

  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    if (Date.now() < this.openUntil) throw new Error(CIRCUIT_OPEN);
    try {
      const r = await fn({ signal: new AbortController().signal });
      this.failures = 0;
      this.backoff.reset();
      return r;
    } catch (e) {
      if (e instanceof Error && isRecoverableError(e) && ++this.failures >= 3) {
        this.openUntil = Date.now() + this.backoff.next();
      }
      throw e;
    }
  }
}

/**
 * etcd3's policy around each call, replacing its default (3 immediate retries of any transient error, which
 * made a call to a hung etcd take 4 deadlines): a call that failed at once on one host is tried once on each
 * other host (etcd3 moves to the next host per try); one that ran out of its deadline is not tried again.
 */
class TryEachHost {
  constructor(private readonly hosts: number) {}

  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    const signal = new AbortController().signal;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn({ signal });
      } catch (e) {
        const again =
          attempt < this.hosts &&
          e instanceof Error &&
          isRecoverableError(e) &&
          !(e instanceof GRPCDeadlineExceededError);
        if (!again) throw e;
      }
    }
  }
}

/**
 * An etcd call that failed because etcd is unreachable (or too slow: the 5 s deadline) becomes
 * REQUEST_TIMED_OUT, retriable: a metadata change asked for meanwhile (CreateTopics, DeleteTopics, AlterConfigs,
 * an auto-created topic …) is answered with it at once, and the client retries until etcd is back. Other
 * errors (a refused write, a lost lease) are left as they are.
 */
function unavailable(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof KafkaError) return e;
  if (!isRecoverableError(e) && !e.message.includes(CIRCUIT_OPEN)) return e;
  // The cause stays out of the message clients get (it names etcd's address); the session's log line has it.
  return new KafkaError(
    ErrorCode.REQUEST_TIMED_OUT,
    'the cluster metadata store (etcd) is unreachable; metadata changes wait until it is back',
  );
}

/** etcd3's watch reconnection delays: the same backoff (its default grows to 30 s, far past any TTL). */
function watchBackoff(attempt: number): WatchBackoff {
  return {
    duration: attempt === 0 ? 0 : backoffDelay(attempt - 1, CLIENT_BACKOFF),
    next: () => watchBackoff(attempt + 1),
  };
}

/**
 * etcd3's WatchManager schedules a reconnection for each error its stream reports, and a stream that fails
 * reports two ('error', then 'end'): every failed attempt started two more, and the attempts multiplied while
 * etcd was away (measured: 35 a second after 20 s, still growing, ~2 MB/s of garbage). This gate lets one
 * attempt start at a time, paced by the backoff, and counts one failure per attempt. It wraps three methods of
 * etcd3's (private) manager of `ns`, and leaves it alone if its shape is not the expected one.
 */
function paceWatchReconnects(ns: Namespace): void {
  interface Manager {
    state: number;
    establishStream(): void;
    handleError(err: Error): void;
    handleCreatedResponse(res: unknown): void;
  }
  const IDLE = 0;
  const m = (ns as unknown as { watchManager?: Partial<Manager> }).watchManager;
  if (
    typeof m?.state !== 'number' ||
    typeof m.establishStream !== 'function' ||
    typeof m.handleError !== 'function' ||
    typeof m.handleCreatedResponse !== 'function'
  )
    return;
  const manager = m as Manager;
  const establish = manager.establishStream.bind(manager);
  const handleError = manager.handleError.bind(manager);
  const handleCreated = manager.handleCreatedResponse.bind(manager);
  const backoff = new Backoff(CLIENT_BACKOFF);
  let counted = false;
  let notBefore = 0;
  let timer: NodeJS.Timeout | null = null;
  manager.establishStream = () => {
    const wait = notBefore - Date.now();
    if (wait > 0) {
      if (timer === null) {
        timer = setTimeout(() => {
          timer = null;
          if (manager.state === IDLE) manager.establishStream();
        }, wait).unref();
      }
      return;
    }
    counted = false;
    establish();
  };
  manager.handleError = (err) => {
    if (!counted) {
      counted = true;
      notBefore = Date.now() + backoff.next();
    }
    handleError(err);
  };
  manager.handleCreatedResponse = (res) => {
    backoff.reset();
    notBefore = 0;
    handleCreated(res);
  };
}

/** A campaign of this process: its candidate key lives under the session lease. */
interface Candidate {
  name: string;
  value: string;
  onElected: () => void;
  onLost: () => void;
  /** The session lease its candidate key was written under; null: not written in the current session. */
  lease: string | null;
  elected: boolean;
  watcher: Watcher | null;
  /** Re-check the election now (a change under the election's prefix, a new session, close). */
  wake: () => void;
}

/**
 * How the etcd client connects when etcd is secured: TLS (https:// endpoints; the CA to trust, null: the
 * system's; a client certificate and key for etcd's --client-cert-auth) and etcd's own user login. Never logged.
 */
export interface EtcdSecurity {
  tls?: { ca: Buffer | null; cert: Buffer | null; key: Buffer | null };
  auth?: { username: string; password: string };
}

export class EtcdStore implements MetadataStore {
  readonly shared = true;
  readonly location: string;
  private readonly client: Etcd3;
  private readonly ns: Namespace;
  /** Leased keys and their values: written again under a new lease when the session is lost. */
  private readonly leased = new Map<string, string>();
  private ttl = DEFAULT_TTL_SECONDS;
  private ttlRaisedLogged = false;
  /** The session lease (decimal id), null while there is none. */
  private leaseId: string | null = null;
  private granting: Promise<string> | null = null;
  private keepingAlive = false;
  private closed = false;
  private readonly candidates: Candidate[] = [];
  private readonly watchers = new Set<Watcher>();

  constructor(
    endpoints: string[],
    clusterId: string,
    private readonly log: Logger,
    security: EtcdSecurity = {},
  ) {
    this.location = `etcd ${redactUrlCredentials(endpoints.join(','))}, cluster ${clusterId}`;
    const tls = security.tls;
    this.client = new Etcd3({
      hosts: endpoints,
      // gRPC's createSsl takes null for "the system's CAs" and for no client certificate; etcd3's type wants Buffers.
      ...(tls
        ? {
            credentials: {
              rootCertificate: tls.ca as Buffer,
              ...(tls.key && tls.cert ? { privateKey: tls.key, certChain: tls.cert } : {}),
            },
          }
        : {}),
      ...(security.auth ? { auth: { ...security.auth } } : {}),
      dialTimeout: 3000,
      // Unary calls fail after 5 s instead of hanging on an unreachable etcd (callers retry or give up);
      // watches and lease keep-alives are streams and stay open.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 5000 }),
      faultHandling: {
        // etcd3 calls only execute() of these policies; the rest of cockatiel's IPolicy is events it never reads.
        host: () => new HostBreaker() as unknown as HostPolicy,
        global: new TryEachHost(endpoints.length) as unknown as GlobalPolicy,
        watchBackoff: watchBackoff(0),
      },
    });
    this.ns = this.client.namespace(`/kstream/${clusterId}/`);
    paceWatchReconnects(this.ns);
  }

  /** Run one etcd call; unreachability becomes a retriable KafkaError (see unavailable()). */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw unavailable(e);
    }
  }

  async get(key: string): Promise<KeyValue | null> {
    const r = await this.call(() => this.ns.get(key).exec());
    const kv = r.kvs[0];
    return kv ? { key, value: kv.value.toString(), modRevision: Number(kv.mod_revision) } : null;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    const r = await this.call(() => this.ns.getAll().prefix(prefix).exec());
    return r.kvs.map((kv) => ({
      key: kv.key.toString(),
      value: kv.value.toString(),
      modRevision: Number(kv.mod_revision),
    }));
  }

  async put(key: string, value: string): Promise<void> {
    await this.call(() => this.ns.put(key).value(value).exec());
  }

  async compareAndSet(key: string, value: string, expected: number): Promise<boolean> {
    const r = await this.call(() =>
      this.ns.if(key, 'Mod', '==', expected).then(this.ns.put(key).value(value)).commit(),
    );
    return r.succeeded;
  }

  async compareAndSetGuarded(
    key: string,
    value: string,
    expected: number,
    guard: { key: string; modRevision: number },
  ): Promise<boolean> {
    const r = await this.call(() =>
      this.ns
        .if(key, 'Mod', '==', expected)
        .and(guard.key, 'Mod', '==', guard.modRevision)
        .then(this.ns.put(key).value(value))
        .commit(),
    );
    return r.succeeded;
  }

  async compareAndSetMany(writes: CasWrite[], guard?: { key: string; modRevision: number }): Promise<boolean> {
    if (writes.length === 0) return true;
    const r = await this.call(() => {
      const first = writes[0] as CasWrite;
      let txn = this.ns.if(first.key, 'Mod', '==', first.expected);
      for (const w of writes.slice(1)) txn = txn.and(w.key, 'Mod', '==', w.expected);
      if (guard) txn = txn.and(guard.key, 'Mod', '==', guard.modRevision);
      return txn.then(...writes.map((w) => this.ns.put(w.key).value(w.value))).commit();
    });
    return r.succeeded;
  }

  async delete(key: string): Promise<void> {
    await this.call(() => this.ns.delete().key(key).exec());
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.call(() => this.ns.delete().prefix(prefix).exec());
  }

  /**
   * A key that lives as long as this process's session. The session's TTL is the one of the first leased key
   * (or campaign: 3 s); every leased key and campaign shares it.
   */
  async putLeased(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.leased.set(key, value);
    if (this.leaseId === null && this.granting === null) this.ttl = ttlSeconds;
    const lease = await this.call(() => this.session());
    await this.call(() => this.underLease(lease, () => this.ns.put(key).value(value).lease(lease).exec()));
  }

  /** The session lease, granted first if there is none (the keep-alive loop then renews it). */
  private session(): Promise<string> {
    if (this.leaseId !== null) return Promise.resolve(this.leaseId);
    this.granting ??= this.grant().finally(() => {
      this.granting = null;
    });
    return this.granting;
  }

  /** A new session: a lease, every leased key written under it, campaigns woken to stand again. */
  private async grant(): Promise<string> {
    if (this.closed) throw new Error('etcd store closed');
    const { ID: lease, TTL: granted } = await this.ns.leaseClient.leaseGrant({ TTL: this.ttl });
    if (Number(granted) > this.ttl && !this.ttlRaisedLogged) {
      // etcd's minimum TTL is 1.5 election timeouts (2 s with its defaults): broker.session.timeout.ms is too low.
      this.ttlRaisedLogged = true;
      this.log.warn('etcd raised the session lease TTL to its minimum', {
        askedSeconds: this.ttl,
        grantedSeconds: Number(granted),
      });
    }
    await Promise.all([...this.leased].map(([k, v]) => this.ns.put(k).value(v).lease(lease).exec()));
    if (this.closed) {
      // Closed meanwhile: nothing may stay registered for this process.
      await this.ns.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
      throw new Error('etcd store closed');
    }
    this.leaseId = lease;
    if (!this.keepingAlive) {
      this.keepingAlive = true;
      void this.keepAlive();
    }
    for (const c of this.candidates) c.wake();
    return lease;
  }

  /** Run `op`, which writes under `lease`: "lease not found" from etcd means the session is over. */
  private async underLease<T>(lease: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof EtcdLeaseInvalidError) this.sessionLost(lease, e.message);
      throw e;
    }
  }

  /**
   * Renews the session every TTL/3 while the process runs; starts a new one when etcd says it is gone. While
   * etcd is unreachable it retries with backoff (capped at 1 s, below the TTL) and keeps the session: etcd
   * decides whether it expired, not a local clock.
   */
  private async keepAlive(): Promise<void> {
    const backoff = new Backoff(CLIENT_BACKOFF);
    const what = 'keeping the etcd session alive';
    while (!this.closed) {
      const lease = this.leaseId;
      try {
        if (lease === null) await this.session();
        else if ((await this.keepAliveOnce(lease)) <= 0) {
          this.sessionLost(lease, 'etcd answered the keep-alive with TTL 0');
          continue;
        }
        backoff.succeeded(this.log, what);
        await sleep((this.ttl * 1000) / 3);
      } catch (e) {
        if (this.closed) return;
        if (e instanceof EtcdLeaseInvalidError && lease !== null) {
          this.sessionLost(lease, e.message);
          continue;
        }
        await sleep(
          backoff.failed(this.log, what, e, {
            note: 'leaders and ISRs stay as they are; metadata changes wait for etcd',
          }),
        );
      }
    }
  }

  /** One keep-alive of `lease` on its own stream: the TTL etcd gives back (0: the lease is gone). */
  private async keepAliveOnce(lease: string): Promise<number> {
    const stream = await this.ns.leaseClient.leaseKeepAlive();
    let timer: NodeJS.Timeout | undefined;
    let answered = false;
    try {
      return await new Promise<number>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no keep-alive answer from etcd in ${this.ttl} s`)), this.ttl * 1000);
        stream.on('data', (r) => {
          answered = true;
          resolve(Number(r.TTL));
        });
        stream.on('error', reject);
        stream.on('end', () => reject(new Error('etcd ended the keep-alive stream')));
        stream.write({ ID: lease });
      });
    } finally {
      clearTimeout(timer);
      try {
        // Answered: close our side as etcd3 does (a cancel would count as a failure of the host).
        if (answered) stream.end();
        else stream.cancel();
      } catch {
        // already closed
      }
    }
  }

  /** etcd says the session's lease is gone: its keys expired. Campaigns step down; a new session follows. */
  private sessionLost(lease: string, why: string): void {
    if (this.leaseId !== lease) return;
    this.leaseId = null;
    this.log.warn('etcd session expired (its lease is gone); registering again', { why });
    for (const c of this.candidates) {
      if (c.elected) {
        c.elected = false;
        c.onLost();
      }
      c.wake();
    }
  }

  /**
   * Watch `prefix`. etcd cancels a watch for good when it cannot resume it (it reconnects from a revision that
   * was compacted meanwhile, e.g. after an outage with auto-compaction on): etcd3 then emits `error` and the
   * watcher is dead. Here the prefix is then read again (a put for every key, a delete for every key seen
   * before and gone now) and watched from that read's revision on, so the caller's view never stops following
   * the store. The keys under the prefix at the start are read once, for those deletes.
   */
  async watch(prefix: string, onEvent: (e: WatchEvent) => void): Promise<() => Promise<void>> {
    const known = new Set<string>();
    let current: Watcher | null = null;
    let stopped = false;
    const deliver = (e: WatchEvent) => {
      if (e.type === 'put') known.add(e.key);
      else known.delete(e.key);
      onEvent(e);
    };
    const open = async (fromRevision: bigint): Promise<void> => {
      const w = this.ns.watch().prefix(prefix).startRevision(String(fromRevision)).watcher();
      this.watchers.add(w);
      current = w;
      w.on('put', (kv) =>
        deliver({
          type: 'put',
          key: kv.key.toString(),
          value: kv.value.toString(),
          modRevision: Number(kv.mod_revision),
        }),
      );
      w.on('delete', (kv) => deliver({ type: 'delete', key: kv.key.toString(), value: null }));
      await new Promise<void>((resolve, reject) => {
        w.once('connected', () => resolve());
        w.once('error', (e) => {
          this.watchers.delete(w);
          reject(e);
        });
      });
      w.on('error', (e) => {
        this.watchers.delete(w);
        if (stopped || this.closed || current !== w) return;
        this.log.warn('etcd cancelled a watch; reading the keys again and watching from there', {
          prefix,
          error: e.message,
        });
        void resync();
      });
    };
    const resync = async (): Promise<void> => {
      const backoff = new Backoff();
      while (!stopped && !this.closed) {
        try {
          const r = await this.ns.getAll().prefix(prefix).exec();
          if (stopped || this.closed) return;
          const present = new Set<string>();
          for (const kv of r.kvs) {
            present.add(kv.key.toString());
            deliver({
              type: 'put',
              key: kv.key.toString(),
              value: kv.value.toString(),
              modRevision: Number(kv.mod_revision),
            });
          }
          for (const key of [...known]) if (!present.has(key)) deliver({ type: 'delete', key, value: null });
          await open(BigInt(r.header.revision) + 1n);
          backoff.succeeded(this.log, 'watching again', { prefix });
          return;
        } catch (e) {
          await sleep(backoff.failed(this.log, 'watching again', e, { prefix }));
        }
      }
    };
    const first = await this.call(() => this.ns.getAll().prefix(prefix).exec());
    for (const kv of first.kvs) known.add(kv.key.toString());
    await open(BigInt(first.header.revision) + 1n);
    return () => {
      stopped = true;
      return current ? this.cancel(current) : Promise.resolve();
    };
  }

  /** Cancel a watch; bounded, as etcd may not answer (a watch cancel waits for etcd's confirmation). */
  private async cancel(w: Watcher): Promise<void> {
    this.watchers.delete(w);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      w.cancel().catch(() => {}),
      new Promise<void>((r) => {
        timer = setTimeout(r, 1000);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Campaign for leadership of `name` under the session: a candidate key `election/<name>/<lease>` (etcd's
   * election recipe, as etcd3's Election lays it out); the candidate with the oldest key leads. Runs until the
   * store closes: `onElected` when this process becomes the leader, `onLost` when its session ends while
   * leading; it then stands again under the new session.
   */
  async campaign(name: string, value: string, onElected: () => void, onLost: () => void = () => {}): Promise<void> {
    const c: Candidate = {
      name,
      value,
      onElected,
      onLost,
      lease: null,
      elected: false,
      watcher: null,
      wake: () => {},
    };
    this.candidates.push(c);
    void this.runCampaign(c);
  }

  private async runCampaign(c: Candidate): Promise<void> {
    const prefix = `election/${c.name}/`;
    const backoff = new Backoff();
    const what = `campaign for ${c.name}`;
    while (!this.closed) {
      // Armed before looking, so a change seen meanwhile makes the next look happen at once.
      const woken = new Promise<void>((r) => {
        c.wake = r;
      });
      try {
        if (!c.watcher) {
          const w = this.ns.watch().prefix(prefix).watcher();
          this.watchers.add(w);
          c.watcher = w;
          w.on('put', () => c.wake());
          w.on('delete', () => c.wake());
          w.on('connected', () => c.wake());
          w.on('error', () => {
            // Cancelled by etcd: watched again at the next look (at the latest after the 10 s safety net).
            this.watchers.delete(w);
            if (c.watcher === w) c.watcher = null;
          });
        }
        const lease = await this.session();
        if (this.closed) return;
        const key = `${prefix}${lease}`;
        if (c.lease !== lease) {
          await this.underLease(lease, () =>
            this.ns.if(key, 'Create', '==', 0).then(this.ns.put(key).value(c.value).lease(lease)).commit(),
          );
          c.lease = lease;
        }
        const r = await this.ns.getAll().prefix(prefix).sort('Create', 'Ascend').exec();
        if (this.closed) return;
        const keys = r.kvs.map((kv) => kv.key.toString());
        if (!keys.includes(key)) {
          // Our candidate key is gone (its lease expired without us hearing yet, or it was deleted): write it
          // again; if the lease is gone that write says so and a new session follows.
          c.lease = null;
          if (c.elected) {
            c.elected = false;
            c.onLost();
          }
          continue;
        }
        backoff.succeeded(this.log, what);
        const leads = keys[0] === key;
        if (leads && !c.elected) {
          c.elected = true;
          c.onElected();
        } else if (!leads && c.elected) {
          c.elected = false;
          c.onLost();
        }
      } catch (e) {
        if (this.closed) return;
        await Promise.race([woken, sleep(backoff.failed(this.log, what, e))]);
        continue;
      }
      // Until something changes under the election (or, as a safety net, a while passes).
      await Promise.race([woken, sleep(10_000)]);
    }
  }

  /** The leader's value of election `name` (the oldest candidate), or null. */
  async leader(name: string): Promise<string | null> {
    const r = await this.call(() =>
      this.ns.getAll().prefix(`election/${name}/`).sort('Create', 'Ascend').limit(1).exec(),
    );
    return r.kvs[0]?.value.toString() ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.candidates) c.wake();
    // Every watch is cancelled: etcd3 keeps reconnecting a watch of a closed client, and its timer kept a
    // stopped node from exiting.
    await Promise.all([...this.watchers].map((w) => this.cancel(w)));
    // Revoking the session deletes every leased key and candidate key at once (the controller fails over now).
    const lease = this.leaseId ?? (await this.granting?.catch(() => null)) ?? null;
    this.leaseId = null;
    if (lease !== null) await this.ns.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
    this.client.close();
  }
}
