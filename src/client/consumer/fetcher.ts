/**
 * The consumer's fetcher: what the consumer has and where it is. It owns the assigned partitions
 * (AssignedPartition: positions, fetch offsets, watermarks), has positions still to be found looked up
 * (positions.ts: the group's committed offsets, then ListOffsets), and runs one
 * Fetch in flight per broker for every fetchable partition it leads (assigned, not paused, position known,
 * fewer than two undelivered chunks buffered, so the next fetch overlaps with processing), as a long poll
 * of maxWaitMs. Answers are kept as raw record sets (chunks), decoded (decompressed) when iteration reaches
 * them (decodeChunk).
 *
 * Errors: OFFSET_OUT_OF_RANGE resets the partition by autoOffsetReset (or fails the consumer with 'none'); a
 * fetch error that ridesOut() accepts (a retriable one: NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, a lost or
 * refused connection, a broker gone from the metadata, REQUEST_TIMED_OUT, ...) refreshes the metadata and
 * fetches the partitions again, from their new leader: a partition whose error says the metadata is wrong
 * waits for metadata requested after the error, and a broker whose fetch failed as a whole is not fetched
 * from again before a jittered backoff that grows while it keeps failing (every refresh the fetcher needs goes
 * through refreshSoon). Partitions led by other brokers go on being fetched meanwhile: one broker failing over
 * pauses only its partitions. A position lookup that fails retriably (its coordinator or leader moving) tries
 * again after a growing backoff; anything else fails the consumer (`fatal`), and iterators throw it.
 *
 * Also owns the consumer's end states (fatal, closed) and the wake-ups iteration waits on (changed()).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, type Item, type RequestInput, type ResponseOf } from '../../protocol/messages/index.js';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, OFF } from '../../protocol/records/batch.js';
import { type DecodedBatch, iterateBatches } from '../../protocol/records/record.js';
import { Backoff, backoffDelay } from '../../util/backoff.js';
import type { Cluster } from '../cluster.js';
import { errorFor, isStaleMetadata } from '../errors.js';
import { type TopicPartition, tpKey } from '../group.js';
import type { CommittedOffset } from '../group-api.js';
import { backoff } from '../retry.js';
import {
  AssignedPartition,
  type AssignSpec,
  type OffsetResetPolicy,
  type PositionReset,
} from './assigned-partition.js';
import { findPositions } from './positions.js';
import type { AbortedTransaction } from './read-committed.js';

/** The records of one partition from one Fetch answer, as fetched. */
export interface FetchedChunk {
  partition: AssignedPartition;
  /** The partition's incarnation when fetched: the chunk is void once it moved on. */
  incarnation: number;
  records: Buffer;
  /** The offset after the chunk's last complete batch. */
  nextOffset: bigint;
  /** read_committed: the transactions the answer says were aborted in the chunk's range (null: none, or
   * read_uncommitted). */
  aborted?: readonly AbortedTransaction[] | null;
}

/** The batches of a chunk, decoded (and decompressed) one by one. */
export function decodeChunk(chunk: FetchedChunk): AsyncGenerator<DecodedBatch> {
  return iterateBatches(chunk.records);
}

export interface FetcherOptions {
  groupId: string | undefined;
  autoOffsetReset: OffsetResetPolicy;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  maxPartitionBytes: number;
  /** 0 read_uncommitted, 1 read_committed (Fetch and ListOffsets isolation_level). */
  isolationLevel: 0 | 1;
}

/** What the fetcher needs from the consumer. */
export interface FetcherHost {
  /** True once connect() was called (and did not fail). */
  connecting(): boolean;
  connect(): Promise<void>;
  /** The group's committed offsets of these partitions. */
  committedOffsets(partitions: readonly AssignedPartition[]): Promise<CommittedOffset[]>;
}

/**
 * A fetch failure (of the request, or of one partition in the answer) that the consumer rides out — the
 * metadata is refreshed and the partition fetched again — instead of failing: a retriable Kafka error, which a
 * lost connection and a broker gone from the metadata are (client/errors.ts, client/cluster.ts).
 */
export function ridesOut(e: unknown): e is KafkaError {
  return e instanceof KafkaError && e.retriable;
}

/** A broker whose last fetch failed as a whole: not fetched from again before `retryAt`. */
interface NodeFailures {
  backoff: Backoff;
  retryAt: number;
}

/** Offset after the last complete batch of a record set, or null if it holds none. */
function nextOffsetOf(records: Buffer): bigint | null {
  let pos = 0;
  let next: bigint | null = null;
  while (records.length - pos >= BATCH_HEADER_SIZE) {
    const size = records.readInt32BE(pos + OFF.batchLength) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || pos + size > records.length) break;
    next = records.readBigInt64BE(pos + OFF.baseOffset) + BigInt(records.readInt32BE(pos + OFF.lastOffsetDelta)) + 1n;
    pos += size;
  }
  return next;
}

export class Fetcher {
  /** A non-retriable failure: nothing more is fetched, iterators throw it. */
  fatal: Error | null = null;
  /** The consumer is closed: nothing more is fetched, iterators end. */
  closed = false;
  private readonly partitions = new Map<string, AssignedPartition>();
  /** Fetched chunks not yet handed to iteration, oldest first, from `chunksHead` on. */
  private readonly chunks: FetchedChunk[] = [];
  private chunksHead = 0;
  private readonly nodesFetching = new Set<number>();
  private wakeups: (() => void)[] = [];
  private resolving = false;
  /** A metadata refresh (and the drain or kick after it) is scheduled or running. */
  private refreshPending = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryTimerAt = 0;
  private metadataMisses = 0;
  /** Brokers whose last fetch failed (connection refused or lost, gone from the metadata, timed out). */
  private readonly failingNodes = new Map<number, NodeFailures>();
  /** Position lookups failing in a row; the next one not before `positionsRetryAt`. */
  private readonly positionsBackoff: Backoff;
  private positionsRetryAt = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: FetcherOptions,
    private readonly host: FetcherHost,
  ) {
    this.positionsBackoff = new Backoff(this.backoffOptions());
  }

  /** The cluster's retry backoff in util/backoff's terms. */
  private backoffOptions(): { initialMs: number; maxMs: number } {
    return { initialMs: this.cluster.retry.initialBackoffMs ?? 100, maxMs: this.cluster.retry.maxBackoffMs ?? 1000 };
  }

  // -------------------------------------------------------------------------------------------------------
  // Assigned partitions

  get(tp: TopicPartition): AssignedPartition | undefined {
    return this.partitions.get(tpKey(tp.topic, tp.partition));
  }

  assigned(): IterableIterator<AssignedPartition> {
    return this.partitions.values();
  }

  get assignedCount(): number {
    return this.partitions.size;
  }

  /**
   * Exactly these partitions (assign mode): others are dropped; a new one starts at its offset, else by `reset`;
   * one already assigned moves to its offset if it has one.
   */
  assign(specs: readonly AssignSpec[], reset: PositionReset): void {
    const next = new Set(specs.map((p) => tpKey(p.topic, p.partition)));
    for (const [k, p] of this.partitions) {
      if (!next.has(k)) {
        p.incarnation++;
        this.partitions.delete(k);
      }
    }
    for (const spec of specs) {
      const k = tpKey(spec.topic, spec.partition);
      let p = this.partitions.get(k);
      if (!p) {
        p = new AssignedPartition(spec.topic, spec.partition, this.opts.maxPartitionBytes);
        this.partitions.set(k, p);
        if (spec.offset === undefined) p.reset = reset;
      }
      if (spec.offset !== undefined) p.setTarget(spec.offset);
    }
  }

  /** Partitions added by the group, starting from the committed offsets (those already assigned are kept). */
  add(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      const k = tpKey(tp.topic, tp.partition);
      if (this.partitions.has(k)) continue;
      const p = new AssignedPartition(tp.topic, tp.partition, this.opts.maxPartitionBytes);
      p.reset = 'committed';
      this.partitions.set(k, p);
    }
  }

  /** Partitions taken away: what was fetched for them is void. */
  drop(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      const k = tpKey(tp.topic, tp.partition);
      const p = this.partitions.get(k);
      if (p) {
        p.incarnation++;
        this.partitions.delete(k);
      }
    }
    this.wake();
  }

  // -------------------------------------------------------------------------------------------------------
  // End states and wake-ups

  /** Fail the consumer (the first error stays). */
  fail(e: Error): void {
    this.fatal ??= e;
    this.wake();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wake();
  }

  /** Wake iteration: data arrived, positions were found, the assignment changed, an error, a resume. */
  wake(): void {
    const ws = this.wakeups;
    this.wakeups = [];
    for (const w of ws) w();
  }

  /** Resolves at the next wake() or when `signal` aborts. */
  changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeups.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Fetched chunks, handed to iteration

  /** The oldest buffered chunk, taken off the buffer (undefined if none). */
  takeChunk(): FetchedChunk | undefined {
    if (this.chunksHead >= this.chunks.length) return undefined;
    const c = this.chunks[this.chunksHead]!;
    this.chunks[this.chunksHead] = undefined as unknown as FetchedChunk;
    this.chunksHead++;
    if (this.chunksHead === this.chunks.length) {
      this.chunks.length = 0;
      this.chunksHead = 0;
    }
    return c;
  }

  /** Put a chunk of a paused partition back, at the end (in order with the others held back). */
  holdBack(c: FetchedChunk): void {
    this.chunks.push(c);
  }

  /** The chunk's partition is still assigned and the chunk of its current incarnation. */
  isLive(c: FetchedChunk): boolean {
    return (
      this.partitions.get(tpKey(c.partition.topic, c.partition.partition)) === c.partition &&
      c.incarnation === c.partition.incarnation
    );
  }

  onlyPausedBuffered(): boolean {
    for (let i = this.chunksHead; i < this.chunks.length; i++) if (!this.chunks[i]!.partition.paused) return false;
    return true;
  }

  /** Every assigned, unpaused partition consumed up to the high watermark of its last fetch. */
  caughtUp(): boolean {
    for (let i = this.chunksHead; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      if (c.incarnation === c.partition.incarnation && !c.partition.paused) return false;
    }
    for (const p of this.partitions.values()) {
      if (p.paused) continue;
      if (p.reset !== null || p.position === null || p.highWatermark < 0n) return false;
      if (p.position < p.endOffset(this.opts.isolationLevel)) return false;
    }
    return true;
  }

  /**
   * A chunk was handed out entirely (`completed`: the position moves past it, over trailing control batches or
   * compacted gaps), or the iteration left it midway (loop exited, decoding failed): then the partition is
   * fetched again from the position, and what was buffered after the chunk is dropped.
   */
  chunkDone(chunk: FetchedChunk, completed: boolean): void {
    const p = chunk.partition;
    if (chunk.incarnation === p.incarnation) {
      if (completed) {
        p.buffered = Math.max(0, p.buffered - 1);
        if (p.position !== null && chunk.nextOffset > p.position) p.position = chunk.nextOffset;
      } else {
        p.incarnation++;
        p.buffered = 0;
        p.fetchOffset = p.position;
      }
    }
    this.kick();
  }

  // -------------------------------------------------------------------------------------------------------
  // Fetching

  /** Start whatever can start: position resolution, one fetch per broker without one in flight. */
  kick(): void {
    if (this.closed || this.fatal) return;
    if (!this.host.connecting()) {
      this.host.connect().then(
        () => this.kick(),
        (e: Error) => this.fail(e),
      );
      return;
    }
    this.cluster.refreshIfOld();
    const now = Date.now();
    let needReset = false;
    let needMetadata = false;
    let wakeAt = Number.POSITIVE_INFINITY;
    const byNode = new Map<number, AssignedPartition[]>();
    for (const p of this.partitions.values()) {
      if (p.reset !== null) {
        needReset = true;
        continue;
      }
      if (p.paused || p.fetching || p.fetchOffset === null || p.buffered >= 2) continue;
      // Its leader moved or its broker went away: not before metadata asked for after that.
      if (p.metadataMark > 0) {
        if (!this.cluster.hasMetadataSince(p.metadataMark)) {
          needMetadata = true;
          continue;
        }
        p.metadataMark = 0;
      }
      if (p.retryAt > now) {
        wakeAt = Math.min(wakeAt, p.retryAt);
        continue;
      }
      const leader = this.cluster.leaderFor(p.topic, p.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      if (this.nodesFetching.has(leader)) continue;
      const failing = this.failingNodes.get(leader);
      if (failing && failing.retryAt > now) {
        wakeAt = Math.min(wakeAt, failing.retryAt);
        continue;
      }
      let list = byNode.get(leader);
      if (!list) {
        list = [];
        byNode.set(leader, list);
      }
      list.push(p);
    }
    if (needReset && !this.resolving) {
      if (this.positionsRetryAt <= now) void this.resolvePositions();
      else wakeAt = Math.min(wakeAt, this.positionsRetryAt);
    }
    if (Number.isFinite(wakeAt)) this.retrySoon(wakeAt - now);
    if (needMetadata) {
      // Topic unknown or leaderless: refresh with a growing backoff instead of hammering the brokers.
      this.metadataMisses++;
      if (this.metadataMisses % 50 === 0) {
        const missing = [...this.partitions.values()]
          .filter((p) => this.cluster.leaderFor(p.topic, p.partition) < 0)
          .map((p) => `${p.topic}/${p.partition}`);
        this.cluster.logger.warn('no leader known for assigned partitions', { partitions: missing.join(',') });
      }
      // The first miss (a partition just assigned) refreshes at once; repeated misses back off.
      this.refreshSoon(this.metadataMisses === 1 ? 0 : backoff(Math.min(this.metadataMisses, 5), this.cluster.retry));
    } else {
      this.metadataMisses = 0;
    }
    for (const [node, parts] of byNode) void this.fetchFrom(node, parts);
  }

  /** Refresh the metadata after `delay` ms, then kick (one refresh at a time). */
  private refreshSoon(delay = 0): void {
    if (this.refreshPending || this.closed) return;
    this.refreshPending = true;
    this.cluster.markStale();
    setTimeout(() => {
      this.cluster
        .refreshMetadata()
        .catch(() => {})
        .finally(() => {
          this.refreshPending = false;
          this.kick();
        });
    }, delay);
  }

  /** Kick again in `ms` (the earliest of the wake-ups asked for wins). */
  private retrySoon(ms: number): void {
    const at = Date.now() + Math.max(0, ms);
    if (this.retryTimer) {
      if (this.retryTimerAt <= at) return;
      clearTimeout(this.retryTimer);
    }
    this.retryTimerAt = at;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.kick();
      },
      Math.max(0, ms),
    );
  }

  /** A fetch from `node` failed as a whole: back off from it (growing while it keeps failing). */
  private nodeFailed(node: number): void {
    let f = this.failingNodes.get(node);
    if (!f) {
      f = { backoff: new Backoff(this.backoffOptions()), retryAt: 0 };
      this.failingNodes.set(node, f);
    }
    f.retryAt = Date.now() + f.backoff.next();
  }

  private async fetchFrom(node: number, parts: AssignedPartition[]): Promise<void> {
    this.nodesFetching.add(node);
    const incarnations = parts.map((p) => p.incarnation);
    for (const p of parts) p.fetching = true;
    const byTopic = new Map<string, Item<Item<RequestInput<typeof Api.Fetch>['topics']>['partitions']>[]>();
    for (const p of parts) {
      let l = byTopic.get(p.topic);
      if (!l) {
        l = [];
        byTopic.set(p.topic, l);
      }
      l.push({
        partition: p.partition,
        currentLeaderEpoch: -1,
        // kick() picks partitions for a fetch only when they have a fetch offset (`p.fetchOffset === null` skips).
        fetchOffset: p.fetchOffset!,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: p.maxBytes,
      });
    }
    let failure: Error | null = null;
    let res: ResponseOf<typeof Api.Fetch> | null = null;
    try {
      res = await this.cluster.request(
        node,
        Api.Fetch,
        {
          replicaId: -1,
          maxWaitMs: this.opts.maxWaitMs,
          minBytes: this.opts.minBytes,
          maxBytes: this.opts.maxBytes,
          isolationLevel: this.opts.isolationLevel,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          forgottenTopicsData: [],
          rackId: '',
        },
        { timeoutMs: this.cluster.requestTimeoutMs + this.opts.maxWaitMs },
      );
    } catch (e) {
      failure = e as Error;
    }
    this.nodesFetching.delete(node);
    for (const p of parts) p.fetching = false;
    if (this.closed) return;
    if (failure || !res) {
      if (ridesOut(failure)) {
        // The broker is gone or unreachable: its partitions wait for fresh metadata (a new leader elsewhere
        // is fetched from at once) and the broker itself for a backoff; the others' fetches go on.
        this.cluster.logger.debug('fetch failed; refreshing metadata', { node, error: failure.message });
        const mark = this.cluster.markStale();
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i]!;
          if (p.incarnation === incarnations[i] && isStaleMetadata(failure)) p.metadataMark = mark;
        }
        this.nodeFailed(node);
        this.kick();
      } else {
        this.fail(failure ?? new Error('no fetch response'));
      }
      return;
    }
    this.failingNodes.delete(node);
    const topLevel = res.errorCode;
    const index = new Map(parts.map((p, i) => [tpKey(p.topic, p.partition), i]));
    for (const t of res.responses) {
      for (const answer of t.partitions) {
        const i = index.get(tpKey(t.topic, answer.partitionIndex));
        if (i === undefined) continue;
        const p = parts[i]!;
        if (p.incarnation !== incarnations[i] || this.partitions.get(tpKey(p.topic, p.partition)) !== p) continue;
        const code = topLevel || answer.errorCode;
        if (code === 0) {
          p.failures = 0;
          p.highWatermark = answer.highWatermark;
          p.lastStableOffset = answer.lastStableOffset;
          p.logStartOffset = answer.logStartOffset;
          const records = answer.records;
          if (records && records.length > 0) {
            const next = nextOffsetOf(records);
            if (next === null) {
              // Only part of a batch fit: ask for more next time.
              p.maxBytes = Math.min(this.opts.maxBytes, p.maxBytes * 2);
            } else if (next > (p.fetchOffset ?? -1n)) {
              const aborted = answer.abortedTransactions;
              this.chunks.push({
                partition: p,
                incarnation: p.incarnation,
                records,
                nextOffset: next,
                aborted: this.opts.isolationLevel === 1 && aborted && aborted.length > 0 ? aborted : null,
              });
              p.fetchOffset = next;
              p.buffered++;
            }
          }
          continue;
        }
        if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          if (this.opts.autoOffsetReset === 'none') {
            this.fail(errorFor(code, `${p.topic}/${p.partition} offset ${p.fetchOffset} (autoOffsetReset is 'none')`));
            return;
          }
          p.incarnation++;
          p.buffered = 0;
          p.position = null;
          p.fetchOffset = null;
          p.reset = this.opts.autoOffsetReset;
          continue;
        }
        const err = errorFor(code, `fetch ${p.topic}/${p.partition}`);
        if (ridesOut(err)) {
          // Its leader moved (or is being elected): fetched again after fresh metadata and a backoff that grows
          // while the error repeats (a broker that names itself leader before it serves the partition).
          if (isStaleMetadata(err)) p.metadataMark = this.cluster.markStale();
          p.retryAt = Date.now() + backoffDelay(p.failures++, this.backoffOptions());
          this.cluster.logger.debug('fetch of a partition failed; retrying', { error: err.message });
          continue;
        }
        this.fail(err);
        return;
      }
    }
    this.wake();
    this.kick();
  }

  // -------------------------------------------------------------------------------------------------------
  // Finding positions

  /** Find positions of partitions waiting for one (see findPositions); retriable failures are tried again later. */
  private async resolvePositions(): Promise<void> {
    this.resolving = true;
    let retry = false;
    try {
      const todo = [...this.partitions.values()].filter((p) => p.reset !== null);
      retry = await findPositions(todo, {
        cluster: this.cluster,
        groupId: this.opts.groupId,
        autoOffsetReset: this.opts.autoOffsetReset,
        isolationLevel: this.opts.isolationLevel,
        committedOffsets: (partitions) => this.host.committedOffsets(partitions),
        isAssigned: (p) => this.partitions.get(tpKey(p.topic, p.partition)) === p,
      });
    } catch (e) {
      // A coordinator or leader moving (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, a lost broker): later.
      if (e instanceof KafkaError && (e.retriable || e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)) {
        this.cluster.logger.debug('finding positions failed; retrying', { error: e.message });
        retry = true;
      } else {
        this.fail(e as Error);
      }
    } finally {
      this.resolving = false;
    }
    if (retry) this.positionsRetryAt = Date.now() + this.positionsBackoff.next();
    else this.positionsBackoff.reset();
    this.wake();
    this.kick();
  }
}
