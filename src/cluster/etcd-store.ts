/** The etcd implementation of the metadata store, with the `etcd3` client. Keys are namespaced by cluster id. */
import { type Election, Etcd3, type Lease, type Namespace } from 'etcd3';
import type { Logger } from '../util/logger.js';
import type { KeyValue, MetadataStore, WatchEvent } from './metadata-store.js';

export class EtcdStore implements MetadataStore {
  private readonly client: Etcd3;
  private readonly ns: Namespace;
  private lease: Lease | null = null;
  private leaseTtl = 3;
  private readonly leased = new Map<string, string>();
  private closed = false;
  private elections: Election[] = [];
  private campaigns: { resign(): Promise<void> }[] = [];

  constructor(
    endpoints: string[],
    clusterId: string,
    private readonly log: Logger,
  ) {
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 3000,
      // Unary calls fail after 5 s instead of hanging on an unreachable etcd (callers retry or give up);
      // watches and lease keep-alives are streams and stay open.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 5000 }),
    });
    this.ns = this.client.namespace(`/kstream/${clusterId}/`);
  }

  async get(key: string): Promise<KeyValue | null> {
    const r = await this.ns.get(key).exec();
    const kv = r.kvs[0];
    return kv ? { key, value: kv.value.toString(), modRevision: Number(kv.mod_revision) } : null;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    const r = await this.ns.getAll().prefix(prefix).exec();
    return r.kvs.map((kv) => ({
      key: kv.key.toString(),
      value: kv.value.toString(),
      modRevision: Number(kv.mod_revision),
    }));
  }

  async put(key: string, value: string): Promise<void> {
    await this.ns.put(key).value(value).exec();
  }

  async compareAndSet(key: string, value: string, expected: number): Promise<boolean> {
    const r = await this.ns.if(key, 'Mod', '==', expected).then(this.ns.put(key).value(value)).commit();
    return r.succeeded;
  }

  async compareAndSetGuarded(
    key: string,
    value: string,
    expected: number,
    guard: { key: string; modRevision: number },
  ): Promise<boolean> {
    const r = await this.ns
      .if(key, 'Mod', '==', expected)
      .and(guard.key, 'Mod', '==', guard.modRevision)
      .then(this.ns.put(key).value(value))
      .commit();
    return r.succeeded;
  }

  async delete(key: string): Promise<void> {
    await this.ns.delete().key(key).exec();
  }

  async putLeased(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.leased.set(key, value);
    this.leaseTtl = ttlSeconds;
    await this.currentLease().put(key).value(value).exec();
  }

  /**
   * The lease our leased keys live under. When it is lost (this process was paused or cut off from etcd
   * longer than the TTL, so the keys expired), a new one is granted and every leased key is written again:
   * the node re-registers as soon as it can reach etcd.
   */
  private currentLease(): Lease {
    if (this.lease) return this.lease;
    const lease = this.ns.lease(this.leaseTtl);
    this.lease = lease;
    lease.on('lost', (err) => {
      if (this.closed || this.lease !== lease) return;
      this.log.warn('etcd lease lost; registering again', { error: err.message });
      this.lease = null;
      const retry = () => {
        if (this.closed) return;
        const l = this.currentLease();
        Promise.all([...this.leased].map(([k, v]) => l.put(k).value(v).exec())).catch((e: Error) => {
          this.log.warn('re-registering failed; retrying', { error: e.message });
          if (this.lease === l) this.lease = null;
          setTimeout(retry, 1000).unref();
        });
      };
      retry();
    });
    return lease;
  }

  async watch(prefix: string, onEvent: (e: WatchEvent) => void): Promise<() => Promise<void>> {
    const w = await this.ns.watch().prefix(prefix).create();
    w.on('put', (kv) => onEvent({ type: 'put', key: kv.key.toString(), value: kv.value.toString() }));
    w.on('delete', (kv) => onEvent({ type: 'delete', key: kv.key.toString(), value: null }));
    w.on('error', (e) => this.log.warn('etcd watch error', { prefix, error: e.message }));
    return () => w.cancel();
  }

  async campaign(name: string, value: string, onElected: () => void, onLost: () => void = () => {}): Promise<void> {
    const election = this.ns.election(name, 5);
    this.elections.push(election);
    const c = election.campaign(value);
    this.campaigns.push(c);
    c.on('elected', onElected);
    c.on('error', (e: Error) => {
      // The campaign's lease expired (this node was cut off): whatever it held is gone. Step down and run again.
      this.log.warn('etcd election lost; campaigning again', { election: name, error: e.message });
      onLost();
      if (this.closed) return;
      setTimeout(() => {
        if (!this.closed) void this.campaign(name, value, onElected, onLost);
      }, 1000).unref();
    });
  }

  async leader(name: string): Promise<string | null> {
    const r = await this.ns.election(name).leader();
    return r ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.campaigns) await c.resign().catch(() => {});
    // A campaign that was not elected waits on a watch of the key before its own, which resign() leaves in
    // place; once the client is closed etcd3 keeps reconnecting that watch, and its socket kept a stopped node
    // from exiting. Cancel those watches first. (etcd3 keeps the election's namespace private: typed here.)
    for (const e of this.elections) {
      const wm = (e as unknown as { namespace?: { watchManager?: { watchers?: { cancel(): Promise<void> }[] } } })
        .namespace?.watchManager;
      for (const w of [...(wm?.watchers ?? [])]) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          w.cancel().catch(() => {}),
          new Promise<void>((r) => {
            timer = setTimeout(r, 1000);
          }),
        ]);
        clearTimeout(timer);
      }
    }
    await this.lease?.revoke().catch(() => {});
    this.client.close();
  }
}
