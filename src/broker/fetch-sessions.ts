/**
 * Incremental fetch sessions (KIP-227): the broker remembers, per session, the partitions a fetcher reads and
 * what it last told it about each, so the fetcher sends only partitions whose fetch position changed and the
 * answer carries only partitions with something new (records, a moved high watermark, last stable offset or
 * log start offset, an error). A follower or consumer of 1,000 partitions no longer sends and receives 1,000
 * partition entries per fetch when one partition moved.
 *
 * The request's (session id, epoch) say what it is:
 *   epoch -1: a sessionless full fetch (a session id given is closed first);
 *   epoch 0:  a full fetch that asks for a new session (a session id given is closed first);
 *   epoch >0: an incremental fetch of that session, which must carry the session's next epoch.
 * Unknown session: FETCH_SESSION_ID_NOT_FOUND; wrong epoch: INVALID_FETCH_SESSION_EPOCH. Both are answered
 * with no partitions, and the fetcher starts over with a full fetch.
 *
 * The cache holds at most `max.incremental.fetch.session.cache.slots` sessions (Kafka's key, default 1000;
 * 0: no sessions). When it is full, a new session takes the place of one that is worth less, by Kafka's rules:
 * any session unused for 2 minutes (least recently used first); else, one that is not "recently created"
 * (over 2 minutes old) and smaller than the newcomer; a follower's session (privileged) also takes the place of
 * any consumer's session. Among those it may replace, it replaces the consumer's before the follower's and the
 * smaller before the larger. When none qualifies the fetch is answered without a session (session id 0).
 *
 * Hot path: a session's partitions live in one Map in the order they are served (a partition that returned
 * records moves to the end, so one busy partition cannot starve the others under the response size limit);
 * looking a session up and marking it used is two Map operations.
 */
import { randomInt } from 'node:crypto';

/** The request's epoch that asks for no session (a sessionless full fetch). */
export const FINAL_EPOCH = -1;
/** The request's epoch that asks for a new session (a full fetch). */
export const INITIAL_EPOCH = 0;
/** How long a session is protected after it is created, and how long unused before any newcomer may take it. */
export const SESSION_EVICTION_MS = 120_000;

/** The epoch that follows `epoch` (after 2^31-1 comes 1; a negative epoch stays final). */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  return epoch === 0x7fffffff ? 1 : epoch + 1;
}

/** A partition of a session: the fetcher's last request for it and what the broker last answered about it. */
export interface CachedPartition {
  readonly topic: string;
  readonly partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  currentLeaderEpoch: number;
  /** The fetcher's own log start offset (followers). */
  logStartOffset: bigint;
  lastFetchedEpoch: number;
  /** Last answered; -1 after an error, so the partition is answered again once the error is gone. */
  highWatermark: bigint;
  lastStableOffset: bigint;
  localLogStartOffset: bigint;
}

/** What a fetch request says about one partition. */
export interface PartitionRequest {
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  logStartOffset: bigint;
  lastFetchedEpoch: number;
}

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export function cachedPartition(topic: string, p: PartitionRequest): CachedPartition {
  return {
    topic,
    partition: p.partition,
    fetchOffset: p.fetchOffset,
    maxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch,
    logStartOffset: p.logStartOffset,
    lastFetchedEpoch: p.lastFetchedEpoch,
    highWatermark: -1n,
    lastStableOffset: -1n,
    localLogStartOffset: -1n,
  };
}

export class FetchSession {
  /** The partitions, in the order they are served. */
  readonly partitions = new Map<string, CachedPartition>();
  /** The epoch the next incremental request must carry. */
  epoch = nextEpoch(INITIAL_EPOCH);
  lastUsedMs: number;

  constructor(
    readonly id: number,
    /** A follower's session (replica id set): worth more than a consumer's. */
    readonly privileged: boolean,
    readonly createdMs: number,
    partitions: Iterable<CachedPartition>,
  ) {
    this.lastUsedMs = createdMs;
    for (const p of partitions) this.partitions.set(key(p.topic, p.partition), p);
  }

  get size(): number {
    return this.partitions.size;
  }

  /** Take an incremental request's partitions (new ones added, known ones updated) and forgotten topics. */
  update(
    topics: readonly { topic: string; partitions: readonly PartitionRequest[] }[],
    forgotten: readonly { topic: string; partitions: readonly number[] }[],
  ): void {
    for (const t of topics) {
      for (const p of t.partitions) {
        const k = key(t.topic, p.partition);
        const c = this.partitions.get(k);
        if (c === undefined) {
          this.partitions.set(k, cachedPartition(t.topic, p));
          continue;
        }
        c.fetchOffset = p.fetchOffset;
        c.maxBytes = p.partitionMaxBytes;
        c.currentLeaderEpoch = p.currentLeaderEpoch;
        c.logStartOffset = p.logStartOffset;
        c.lastFetchedEpoch = p.lastFetchedEpoch;
      }
    }
    for (const f of forgotten) for (const p of f.partitions) this.partitions.delete(key(f.topic, p));
  }

  /** Serve `c` last from now on (it just returned records). */
  moveToEnd(c: CachedPartition): void {
    const k = key(c.topic, c.partition);
    this.partitions.delete(k);
    this.partitions.set(k, c);
  }
}

export class FetchSessionCache {
  /** Sessions by id, least recently used first (a Map keeps insertion order; touch re-inserts). */
  private readonly sessions = new Map<number, FetchSession>();
  /** Sessions removed to make room for others (since start). */
  evictions = 0;

  constructor(
    /** max.incremental.fetch.session.cache.slots: most sessions at once; 0 turns sessions off. */
    readonly slots: number,
    private readonly evictionMs = SESSION_EVICTION_MS,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Partitions cached across every session. */
  get partitions(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.size;
    return n;
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  remove(id: number): boolean {
    return this.sessions.delete(id);
  }

  /** The session served a request now: it becomes the most recently used. */
  touch(s: FetchSession, nowMs: number): void {
    s.lastUsedMs = nowMs;
    this.sessions.delete(s.id);
    this.sessions.set(s.id, s);
  }

  /**
   * A new session over `partitions` if there is room or one worth less can be evicted; null otherwise (the
   * fetch is then answered without a session).
   */
  create(nowMs: number, privileged: boolean, partitions: CachedPartition[]): FetchSession | null {
    if (this.slots <= 0) return null;
    if (this.sessions.size >= this.slots && !this.evictFor(nowMs, privileged, partitions.length)) return null;
    let id: number;
    do id = randomInt(1, 0x7fffffff);
    while (this.sessions.has(id));
    const s = new FetchSession(id, privileged, nowMs, partitions);
    this.sessions.set(id, s);
    return s;
  }

  /** Make room for a new session (privileged or not, of `size` partitions): true if one was evicted. */
  private evictFor(nowMs: number, privileged: boolean, size: number): boolean {
    // The least recently used session, if unused for long enough, goes first whoever asks.
    const oldest = this.sessions.values().next().value;
    if (oldest === undefined) return false;
    if (nowMs - oldest.lastUsedMs > this.evictionMs) {
      this.evict(oldest);
      return true;
    }
    // Else the least valuable session the newcomer may replace: consumers' before followers', smaller before
    // larger. A recently created session is safe from consumers; a consumer's is never safe from a follower.
    let victim: FetchSession | null = null;
    for (const s of this.sessions.values()) {
      const settled = nowMs - s.createdMs > this.evictionMs;
      if (!(settled || (privileged && !s.privileged))) continue;
      if (victim === null || worthLess(s, victim)) victim = s;
    }
    if (victim === null) return false;
    // The newcomer must be worth more: a follower's over a consumer's, or more partitions at the same rank.
    if (privileged !== victim.privileged ? !privileged : size <= victim.size) return false;
    this.evict(victim);
    return true;
  }

  private evict(s: FetchSession): void {
    this.sessions.delete(s.id);
    this.evictions++;
  }
}

/** Whether `a` is worth less than `b`: a consumer's before a follower's, then fewer partitions, then lower id. */
function worthLess(a: FetchSession, b: FetchSession): boolean {
  if (a.privileged !== b.privileged) return !a.privileged;
  if (a.size !== b.size) return a.size < b.size;
  return a.id < b.id;
}
