/**
 * The cluster metadata store (DESIGN decision 4): key/value documents with revisions, compare-and-set,
 * prefix watches, leases for liveness and an election for the controller. etcd implements it for clusters
 * (etcd-store.ts), the data dir's file for a single node (local-store.ts).
 * Keys live under `/kstream/<cluster-id>/`: brokers/<id> (leased), controller, topics/<name>,
 * partitions/<topic>/<p>.
 */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the last change to this key; 0 means "does not exist" in compare-and-set. */
  modRevision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  value: string | null;
  /** Revision of this change (a put's modRevision), when the store tells it. */
  modRevision?: number;
}

/** One write of compareAndSetMany: `value` only if the key's modRevision is still `expected` (0: absent). */
export interface CasWrite {
  key: string;
  value: string;
  expected: number;
}

/** The most writes compareAndSetMany takes (etcd refuses transactions over --max-txn-ops, 128 by default). */
export const MAX_TXN_WRITES = 100;

export interface MetadataStore {
  /** Whether other nodes can join through this store (etcd); the local store is a single node's alone. */
  readonly shared: boolean;
  /** Where the metadata lives, for logs (passwords in URLs redacted). */
  readonly location: string;
  get(key: string): Promise<KeyValue | null>;
  list(prefix: string): Promise<KeyValue[]>;
  put(key: string, value: string): Promise<void>;
  /** Write `value` only if the key's modRevision is still `expected` (0: only if absent). */
  compareAndSet(key: string, value: string, expected: number): Promise<boolean>;
  /**
   * compareAndSet that also requires `guard.key` to be unchanged since revision `guard.modRevision`, in one
   * atomic transaction (fencing: a deposed controller's write fails once the controller epoch moved on).
   */
  compareAndSetGuarded(
    key: string,
    value: string,
    expected: number,
    guard: { key: string; modRevision: number },
  ): Promise<boolean>;
  /**
   * Several compare-and-sets in one atomic transaction (all written, or none when any key changed or, with
   * `guard`, the guard key did): batches of partition states in one round trip. At most MAX_TXN_WRITES writes.
   */
  compareAndSetMany(writes: CasWrite[], guard?: { key: string; modRevision: number }): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Delete every key under `prefix` at once (one request: a topic's 10,000 partition states). */
  deletePrefix(prefix: string): Promise<void>;
  /** Put a key that disappears when this process stops renewing its lease (failure detection). */
  putLeased(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Call `onEvent` for every change under `prefix` from now on. Returns a function that stops watching. */
  watch(prefix: string, onEvent: (e: WatchEvent) => void): Promise<() => Promise<void>>;
  /**
   * Campaign for leadership of `name`: `onElected` runs when this process wins, `onLost` when it loses what
   * it held (e.g. cut off from the store past the lease); the campaign then runs again by itself.
   */
  campaign(name: string, value: string, onElected: () => void, onLost?: () => void): Promise<void>;
  /** The current leader's value of election `name`, or null. */
  leader(name: string): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * Load every key under `prefix` and follow its changes: `apply` sees the keys listed (as puts), then the changes
 * the watch saw while listing, in order (a put twice or a delete of an absent key must change nothing), then
 * every later change. Returns the function that stops watching.
 */
export async function loadAndWatch(
  store: MetadataStore,
  prefix: string,
  apply: (e: WatchEvent) => void,
): Promise<() => Promise<void>> {
  const pending: WatchEvent[] = [];
  let loaded = false;
  const unwatch = await store.watch(prefix, (e) => {
    if (loaded) apply(e);
    else pending.push(e);
  });
  for (const kv of await store.list(prefix)) apply({ type: 'put', key: kv.key, value: kv.value });
  loaded = true;
  for (const e of pending) apply(e);
  return unwatch;
}
