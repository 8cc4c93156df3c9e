/**
 * The consumer: assign mode (explicit partitions, seek by offset / earliest / latest / time / relative to the
 * end) or subscribe mode (a consumer group, see group.ts), a fetch loop per leader broker with long polling,
 * and async iterators over records or batches.
 *
 * Fetching: one Fetch in flight per broker for all fetchable partitions it leads (assigned, not paused, position
 * known, fewer than two undelivered chunks buffered, so the next fetch overlaps with processing). Responses are
 * kept as raw record sets and decoded (decompressed) when the iterator reaches them.
 *
 * Positions: a record counts as consumed when the iterator is asked for the next one (or the loop exits), so
 * a commit, automatic or on rebalance, never covers a record the application is still processing.
 */
import type { Struct } from '../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, OFF } from '../protocol/records/batch.js';
import { batchLastOffset, isControlBatch, iterateBatches, type KafkaRecord } from '../protocol/records/record.js';
import { type Assignor, type AssignorName, resolveAssignor } from './assignors.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import { errorFor } from './errors.js';
import { type GroupHost, GroupMember, type TopicPartition } from './group.js';
import { commitOffsets, fetchCommittedOffsets, findCoordinator, type OffsetToCommit } from './group-api.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type ListOffsetsItem, listOffsets } from './list-offsets.js';
import { backoff } from './retry.js';

const INT32_MAX = 0x7fffffff;

export type { TopicPartition } from './group.js';

/**
 * Where to start reading a partition: an offset (a negative one counts back from the end, like kcat's
 * `-o -10`), 'earliest', 'latest', or the first offset whose timestamp is at or after a time.
 */
export type SeekTarget = bigint | number | 'earliest' | 'latest' | { timestamp: number | bigint | Date };

export type OffsetResetPolicy = 'earliest' | 'latest' | 'none';

export interface AssignSpec extends TopicPartition {
  /** Default: the group's committed offset (with groupId), else autoOffsetReset. */
  offset?: SeekTarget;
}

export interface ConsumerRecord extends KafkaRecord {
  topic: string;
  partition: number;
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  /** Records at or after the position (a compressed batch can start before it). */
  records: KafkaRecord[];
  highWatermark: bigint;
}

export type RebalanceListener = (partitions: TopicPartition[]) => void | Promise<void>;

export interface ConsumerOptions extends ClusterOptions {
  /** Needed for subscribe() and commits. */
  groupId?: string;
  /** Static membership (KIP-345). */
  groupInstanceId?: string;
  /** Default 45 s. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin. Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Default 3 s. */
  heartbeatIntervalMs?: number;
  /** In order of preference. Default ['range', 'cooperative-sticky'] (the Java default). */
  assignors?: (AssignorName | Assignor)[];
  /** Where to start without a committed offset, or after OFFSET_OUT_OF_RANGE. Default 'latest'. */
  autoOffsetReset?: OffsetResetPolicy;
  /** Commit positions periodically, on rebalance and on close (with groupId). Default true. */
  autoCommit?: boolean;
  /** Default 5 s. */
  autoCommitIntervalMs?: number;
  /** Long-poll wait of a fetch. Default 500 ms. */
  maxWaitMs?: number;
  /** Default 1. */
  minBytes?: number;
  /** Per fetch. Default 50 MiB. */
  maxBytes?: number;
  /** Per partition per fetch. Default 1 MiB. */
  maxPartitionBytes?: number;
  /** How often a group member checks its topics for new partitions / pattern matches. Default 30 s. */
  metadataCheckMs?: number;
  onPartitionsAssigned?: RebalanceListener;
  onPartitionsRevoked?: RebalanceListener;
  /** Default: onPartitionsRevoked. */
  onPartitionsLost?: RebalanceListener;
}

export interface IterateOptions {
  /** End the iteration once every assigned partition is consumed up to its high watermark (kcat -e). */
  untilEnd?: boolean;
  /** Stop when this signal aborts. */
  signal?: AbortSignal;
}

/** How a position is still to be found; 'none' = nowhere (autoOffsetReset 'none'): an error. */
type Reset = Exclude<SeekTarget, bigint | number> | { fromEnd: bigint } | 'committed' | 'none';

class PartitionState {
  position: bigint | null = null;
  fetchOffset: bigint | null = null;
  reset: Reset | null = null;
  epoch = 0;
  paused = false;
  inFlight = false;
  buffered = 0;
  highWatermark = -1n;
  logStartOffset = -1n;
  maxBytes: number;
  lastCommitted: bigint | null = null;
  constructor(
    readonly topic: string,
    readonly partition: number,
    maxBytes: number,
  ) {
    this.maxBytes = maxBytes;
  }
}

interface Chunk {
  state: PartitionState;
  epoch: number;
  records: Buffer;
  nextOffset: bigint;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
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

export class Consumer {
  readonly cluster: Cluster;
  private readonly opts: ConsumerOptions;
  private readonly autoOffsetReset: OffsetResetPolicy;
  private readonly autoCommit: boolean;
  private readonly maxWaitMs: number;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly maxPartitionBytes: number;
  private readonly states = new Map<string, PartitionState>();
  private readonly buffer: Chunk[] = [];
  private bufferHead = 0;
  private readonly nodesInFlight = new Set<number>();
  private waiters: (() => void)[] = [];
  private group: GroupMember | null = null;
  private resolving = false;
  private refreshing = false;
  private fatal: Error | null = null;
  private closed = false;
  private iterating = false;
  private connected: Promise<void> | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private commitChain: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private metadataMisses = 0;

  constructor(opts: ConsumerOptions) {
    this.opts = opts;
    this.cluster = new Cluster({ ...opts, allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false });
    this.autoOffsetReset = opts.autoOffsetReset ?? 'latest';
    this.autoCommit = (opts.autoCommit ?? true) && opts.groupId !== undefined;
    this.maxWaitMs = opts.maxWaitMs ?? 500;
    this.minBytes = opts.minBytes ?? 1;
    // Both go on the wire as int32: a larger wish (e.g. partitions × per-partition bytes) is capped, not an error.
    this.maxBytes = Math.min(opts.maxBytes ?? 50 * 1024 * 1024, INT32_MAX);
    this.maxPartitionBytes = Math.min(opts.maxPartitionBytes ?? 1024 * 1024, INT32_MAX);
  }

  /** Connect to the cluster (optional: assign/subscribe connect). Rejects if no broker can be reached. */
  connect(): Promise<void> {
    this.connected ??= this.cluster.connect().catch((e) => {
      this.connected = null;
      throw e;
    });
    return this.connected;
  }

  // -------------------------------------------------------------------------------------------------------
  // Assignment

  /** Assign mode: consume exactly these partitions (replacing any previous assignment). */
  assign(partitions: readonly AssignSpec[]): void {
    if (this.group) throw new TypeError('assign() cannot be used with subscribe()');
    this.checkOpen();
    const next = new Set(partitions.map((p) => key(p.topic, p.partition)));
    for (const [k, s] of this.states) {
      if (!next.has(k)) {
        s.epoch++;
        this.states.delete(k);
      }
    }
    for (const p of partitions) {
      const k = key(p.topic, p.partition);
      let s = this.states.get(k);
      if (!s) {
        s = new PartitionState(p.topic, p.partition, this.maxPartitionBytes);
        this.states.set(k, s);
        if (p.offset === undefined) s.reset = this.opts.groupId ? 'committed' : this.autoOffsetReset;
      }
      if (p.offset !== undefined) this.applyTarget(s, p.offset);
    }
    this.cluster.addTopics(partitions.map((p) => p.topic));
    this.startAutoCommit();
    this.kick();
  }

  /** Subscribe mode: join the consumer group `groupId` for these topics (or every topic matching a pattern). */
  subscribe(topics: string[] | RegExp): void {
    this.checkOpen();
    if (!this.opts.groupId) throw new TypeError('subscribe() needs a groupId');
    if (this.states.size > 0 && !this.group) throw new TypeError('subscribe() cannot be used after assign()');
    if (!this.group) {
      const assignors = (this.opts.assignors ?? ['range', 'cooperative-sticky']).map(resolveAssignor);
      this.group = new GroupMember(this.cluster, this.groupHost(), {
        groupId: this.opts.groupId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 45_000,
        rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs ?? 60_000,
        heartbeatIntervalMs: this.opts.heartbeatIntervalMs ?? 3_000,
        assignors,
        metadataCheckMs: this.opts.metadataCheckMs ?? 30_000,
      });
    }
    this.group.subscribe(topics);
    this.startAutoCommit();
  }

  /** Currently assigned partitions. */
  assignment(): TopicPartition[] {
    return [...this.states.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** Move the position of an assigned partition; buffered records of it are dropped. */
  seek(tp: TopicPartition, target: SeekTarget): void {
    const s = this.states.get(key(tp.topic, tp.partition));
    if (!s) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${tp.topic}/${tp.partition} is not assigned`);
    s.epoch++;
    s.buffered = 0;
    this.applyTarget(s, target);
    this.kick();
  }

  /** The next offset to be consumed, or null while it is being resolved. */
  position(tp: TopicPartition): bigint | null {
    return this.states.get(key(tp.topic, tp.partition))?.position ?? null;
  }

  /** Watermarks seen in the last fetch of a partition (-1 before the first). */
  watermarks(tp: TopicPartition): { highWatermark: bigint; logStartOffset: bigint } | null {
    const s = this.states.get(key(tp.topic, tp.partition));
    return s ? { highWatermark: s.highWatermark, logStartOffset: s.logStartOffset } : null;
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const s = this.states.get(key(tp.topic, tp.partition));
      if (s) s.paused = true;
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const s = this.states.get(key(tp.topic, tp.partition));
      if (s) s.paused = false;
    }
    this.kick();
    this.signal();
  }

  paused(): TopicPartition[] {
    return [...this.states.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** This member's id, generation, the group's assignor and leader (subscribe mode), for diagnostics. */
  groupMetadata(): { memberId: string; generationId: number; protocol: string | null; leaderId: string } | null {
    const g = this.group;
    return g
      ? { memberId: g.memberId, generationId: g.generationId, protocol: g.protocolName, leaderId: g.leaderId }
      : null;
  }

  // -------------------------------------------------------------------------------------------------------
  // Commits

  /** Commit offsets (default: the position of every assigned partition) and wait for the answer. */
  async commit(offsets?: readonly OffsetToCommit[]): Promise<void> {
    const groupId = this.opts.groupId;
    if (!groupId) throw new TypeError('commit() needs a groupId');
    const list = offsets ?? this.currentPositions();
    if (list.length === 0) return;
    if (this.group) {
      await this.group.commit(list);
    } else {
      const coordinator = await findCoordinator(this.cluster, groupId);
      const results = await commitOffsets(
        this.cluster,
        coordinator,
        { groupId, generationId: -1, memberId: '', groupInstanceId: null },
        list,
      );
      const failed = results.find((r) => r.error);
      if (failed?.error) throw failed.error;
    }
    for (const o of list) {
      const s = this.states.get(key(o.topic, o.partition));
      if (s) s.lastCommitted = BigInt(o.offset);
    }
  }

  /**
   * Commit without waiting: commits run one after another in call order. Errors go to `callback` (or are
   * dropped: a later commit supersedes a failed one).
   */
  commitAsync(offsets?: readonly OffsetToCommit[], callback?: (err: Error | null) => void): void {
    const list = offsets ?? this.currentPositions();
    this.commitChain = this.commitChain.then(() =>
      this.commit(list).then(
        () => callback?.(null),
        (e: Error) => {
          if (callback) callback(e);
          else this.cluster.logger.warn('async commit failed', { error: e.message });
        },
      ),
    );
  }

  /** OffsetFetch from the group's coordinator for these partitions, grouped by topic. */
  private async fetchCommitted(
    groupId: string,
    tps: readonly { topic: string; partition: number }[],
    pool?: 'group' | 'default',
  ) {
    const coordinator = this.group
      ? await this.group.ensureCoordinator()
      : await findCoordinator(this.cluster, groupId);
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) {
      const l = byTopic.get(tp.topic) ?? [];
      l.push(tp.partition);
      byTopic.set(tp.topic, l);
    }
    return fetchCommittedOffsets(
      this.cluster,
      coordinator,
      groupId,
      [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      pool ? { pool } : {},
    );
  }

  /** The group's committed offsets for partitions (default: the assigned ones). */
  async committed(partitions?: readonly TopicPartition[]): Promise<Map<string, bigint>> {
    const groupId = this.opts.groupId;
    if (!groupId) throw new TypeError('committed() needs a groupId');
    const res = await this.fetchCommitted(groupId, partitions ?? this.assignment());
    const out = new Map<string, bigint>();
    for (const r of res) {
      if (r.error) throw r.error;
      out.set(`${r.topic}/${r.partition}`, r.offset);
    }
    return out;
  }

  private currentPositions(): OffsetToCommit[] {
    const out: OffsetToCommit[] = [];
    for (const s of this.states.values()) {
      if (s.position !== null) out.push({ topic: s.topic, partition: s.partition, offset: s.position });
    }
    return out;
  }

  private startAutoCommit(): void {
    if (!this.autoCommit || this.commitTimer) return;
    this.commitTimer = setInterval(() => {
      const changed = this.currentPositions().filter(
        (o) => this.states.get(key(o.topic, o.partition))?.lastCommitted !== o.offset,
      );
      if (changed.length > 0 && (!this.group || this.group.stable)) this.commitAsync(changed);
    }, this.opts.autoCommitIntervalMs ?? 5_000);
    this.commitTimer.unref();
  }

  // -------------------------------------------------------------------------------------------------------
  // Iteration

  /** Records one by one: `for await (const r of consumer.records()) …`. */
  async *records(opts: IterateOptions = {}): AsyncGenerator<ConsumerRecord, void, undefined> {
    this.beginIteration();
    let pending: { s: PartitionState; epoch: number; next: bigint } | null = null;
    const consumed = () => {
      if (pending && pending.s.epoch === pending.epoch) pending.s.position = pending.next;
      pending = null;
    };
    try {
      for (;;) {
        consumed();
        const chunk = await this.nextChunk(opts);
        if (!chunk) return;
        const s = chunk.state;
        let completed = false;
        try {
          for await (const b of iterateBatches(chunk.records)) {
            if (chunk.epoch !== s.epoch) break;
            const last = batchLastOffset(b.header);
            if (!isControlBatch(b.header)) {
              for (const r of b.records) {
                if (chunk.epoch !== s.epoch) break;
                if (s.position !== null && r.offset < s.position) continue;
                pending = { s, epoch: chunk.epoch, next: r.offset + 1n };
                yield {
                  topic: s.topic,
                  partition: s.partition,
                  offset: r.offset,
                  timestamp: r.timestamp,
                  key: r.key,
                  value: r.value,
                  headers: r.headers,
                };
                consumed();
              }
            }
            if (chunk.epoch === s.epoch && s.position !== null && last + 1n > s.position) s.position = last + 1n;
          }
          completed = chunk.epoch === s.epoch;
        } finally {
          consumed();
          this.chunkDone(chunk, completed);
        }
      }
    } finally {
      consumed();
      this.iterating = false;
    }
  }

  /** Record batches (as fetched, per partition): fewer objects than records() for high-volume consumers. */
  async *batches(opts: IterateOptions = {}): AsyncGenerator<ConsumerBatch, void, undefined> {
    this.beginIteration();
    let pending: { s: PartitionState; epoch: number; next: bigint } | null = null;
    const consumed = () => {
      if (pending && pending.s.epoch === pending.epoch && (pending.s.position ?? -1n) < pending.next) {
        pending.s.position = pending.next;
      }
      pending = null;
    };
    try {
      for (;;) {
        consumed();
        const chunk = await this.nextChunk(opts);
        if (!chunk) return;
        const s = chunk.state;
        let completed = false;
        try {
          for await (const b of iterateBatches(chunk.records)) {
            if (chunk.epoch !== s.epoch) break;
            const last = batchLastOffset(b.header);
            const pos = s.position ?? -1n;
            if (isControlBatch(b.header) || last < pos) {
              if (last + 1n > pos) s.position = last + 1n;
              continue;
            }
            const records =
              b.records[0] && b.records[0].offset < pos ? b.records.filter((r) => r.offset >= pos) : b.records;
            pending = { s, epoch: chunk.epoch, next: last + 1n };
            if (records.length === 0) {
              consumed();
              continue;
            }
            yield { topic: s.topic, partition: s.partition, records, highWatermark: s.highWatermark };
            consumed();
          }
          completed = chunk.epoch === s.epoch;
        } finally {
          consumed();
          this.chunkDone(chunk, completed);
        }
      }
    } finally {
      consumed();
      this.iterating = false;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    return this.records();
  }

  private beginIteration(): void {
    if (this.iterating) throw new TypeError('only one iterator of a consumer may be active at a time');
    this.checkOpen();
    this.iterating = true;
    if (!this.connected) this.connect().catch((e: Error) => this.setFatal(e));
    this.kick();
  }

  /**
   * A chunk was handed out entirely (`completed`: the position moves past it, over trailing control batches or
   * compacted gaps), or the iteration left it midway (loop exited, decoding failed): then the partition is
   * fetched again from the position, and what was buffered after the chunk is dropped.
   */
  private chunkDone(chunk: Chunk, completed: boolean): void {
    const s = chunk.state;
    if (chunk.epoch === s.epoch) {
      if (completed) {
        s.buffered = Math.max(0, s.buffered - 1);
        if (s.position !== null && chunk.nextOffset > s.position) s.position = chunk.nextOffset;
      } else {
        s.epoch++;
        s.buffered = 0;
        s.fetchOffset = s.position;
      }
    }
    this.kick();
  }

  private async nextChunk(opts: IterateOptions): Promise<Chunk | null> {
    for (;;) {
      if (this.fatal) throw this.fatal;
      if (this.closed || opts.signal?.aborted) return null;
      while (this.bufferHead < this.buffer.length) {
        const c = this.buffer[this.bufferHead]!;
        this.buffer[this.bufferHead] = undefined as unknown as Chunk;
        this.bufferHead++;
        if (this.bufferHead === this.buffer.length) {
          this.buffer.length = 0;
          this.bufferHead = 0;
        }
        const live = this.states.get(key(c.state.topic, c.state.partition)) === c.state && c.epoch === c.state.epoch;
        if (!live) continue;
        if (c.state.paused) {
          // Held back until resumed (kept in order at the end of the buffer).
          this.buffer.push(c);
          if (this.onlyPausedBuffered()) break;
          continue;
        }
        return c;
      }
      if (opts.untilEnd && this.atEnd()) return null;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  private onlyPausedBuffered(): boolean {
    for (let i = this.bufferHead; i < this.buffer.length; i++) if (!this.buffer[i]!.state.paused) return false;
    return true;
  }

  /** Every assigned, unpaused partition consumed up to the high watermark of its last fetch. */
  private atEnd(): boolean {
    if (this.group && !this.group.stable) return false;
    for (let i = this.bufferHead; i < this.buffer.length; i++) {
      const c = this.buffer[i]!;
      if (c.epoch === c.state.epoch && !c.state.paused) return false;
    }
    for (const s of this.states.values()) {
      if (s.paused) continue;
      if (s.reset !== null || s.position === null || s.highWatermark < 0n) return false;
      if (s.position < s.highWatermark) return false;
    }
    return true;
  }

  private signal(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private setFatal(e: Error): void {
    this.fatal ??= e;
    this.signal();
  }

  // -------------------------------------------------------------------------------------------------------
  // Fetching

  private applyTarget(s: PartitionState, target: SeekTarget): void {
    if (typeof target === 'number' || typeof target === 'bigint') {
      const off = BigInt(target);
      if (off >= 0n) {
        s.position = off;
        s.fetchOffset = off;
        s.reset = null;
      } else {
        s.position = null;
        s.fetchOffset = null;
        s.reset = { fromEnd: -off };
      }
      return;
    }
    s.position = null;
    s.fetchOffset = null;
    s.reset = target;
  }

  /** Start whatever can start: offset resolution, one fetch per broker without one in flight. */
  private kick(): void {
    if (this.closed || this.fatal) return;
    if (!this.connected) {
      this.connect().then(
        () => this.kick(),
        (e: Error) => this.setFatal(e),
      );
      return;
    }
    this.cluster.refreshIfOld();
    let needReset = false;
    let needMetadata = false;
    const byNode = new Map<number, PartitionState[]>();
    for (const s of this.states.values()) {
      if (s.reset !== null) {
        needReset = true;
        continue;
      }
      if (s.paused || s.inFlight || s.fetchOffset === null || s.buffered >= 2) continue;
      const leader = this.cluster.leaderFor(s.topic, s.partition);
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      if (this.nodesInFlight.has(leader)) continue;
      let list = byNode.get(leader);
      if (!list) {
        list = [];
        byNode.set(leader, list);
      }
      list.push(s);
    }
    if (needReset && !this.resolving) void this.resolvePositions();
    if (needMetadata) {
      // Topic unknown or leaderless: refresh with a growing backoff instead of hammering the brokers.
      this.metadataMisses++;
      if (this.metadataMisses % 50 === 0) {
        const missing = [...this.states.values()]
          .filter((s) => this.cluster.leaderFor(s.topic, s.partition) < 0)
          .map((s) => `${s.topic}/${s.partition}`);
        this.cluster.logger.warn('no leader known for assigned partitions', { partitions: missing.join(',') });
      }
      // The first miss (a partition just assigned) refreshes at once; repeated misses back off.
      this.refreshSoon(this.metadataMisses === 1 ? 0 : backoff(Math.min(this.metadataMisses, 5), this.cluster.retry));
    } else {
      this.metadataMisses = 0;
    }
    for (const [node, parts] of byNode) void this.fetchFrom(node, parts);
  }

  private refreshSoon(delay = 0): void {
    if (this.refreshing || this.closed) return;
    this.refreshing = true;
    this.cluster.markStale();
    setTimeout(() => {
      this.cluster
        .refreshMetadata()
        .catch(() => {})
        .finally(() => {
          this.refreshing = false;
          this.kick();
        });
    }, delay);
  }

  private retrySoon(ms: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, ms);
  }

  private async fetchFrom(node: number, parts: PartitionState[]): Promise<void> {
    this.nodesInFlight.add(node);
    const epochs = parts.map((s) => s.epoch);
    for (const s of parts) s.inFlight = true;
    const byTopic = new Map<string, Struct[]>();
    for (const s of parts) {
      let l = byTopic.get(s.topic);
      if (!l) {
        l = [];
        byTopic.set(s.topic, l);
      }
      l.push({
        partition: s.partition,
        currentLeaderEpoch: -1,
        fetchOffset: s.fetchOffset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: s.maxBytes,
      });
    }
    let failure: Error | null = null;
    let res: Struct | null = null;
    try {
      res = await this.cluster.request(
        node,
        ApiKey.Fetch,
        {
          replicaId: -1,
          maxWaitMs: this.maxWaitMs,
          minBytes: this.minBytes,
          maxBytes: this.maxBytes,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          forgottenTopicsData: [],
          rackId: '',
        },
        { timeoutMs: this.cluster.requestTimeoutMs + this.maxWaitMs },
      );
    } catch (e) {
      failure = e as Error;
    }
    this.nodesInFlight.delete(node);
    for (const s of parts) s.inFlight = false;
    if (this.closed) return;
    if (failure || !res) {
      if (failure instanceof KafkaError && failure.retriable) {
        this.cluster.markStale();
        this.refreshSoon(backoff(1, this.cluster.retry));
      } else {
        this.setFatal(failure ?? new Error('no fetch response'));
      }
      return;
    }
    const topLevel = (res.errorCode as number) ?? 0;
    const index = new Map(parts.map((s, i) => [key(s.topic, s.partition), i]));
    let retryLater = false;
    let gotData = false;
    for (const t of res.responses as Struct[]) {
      for (const p of t.partitions as Struct[]) {
        const i = index.get(key(t.topic, p.partitionIndex));
        if (i === undefined) continue;
        const s = parts[i]!;
        if (s.epoch !== epochs[i] || this.states.get(key(s.topic, s.partition)) !== s) continue;
        const code = topLevel || (p.errorCode as number);
        if (code === 0) {
          s.highWatermark = p.highWatermark as bigint;
          s.logStartOffset = p.logStartOffset as bigint;
          const records = p.records as Buffer | null;
          if (records && records.length > 0) {
            const next = nextOffsetOf(records);
            if (next === null) {
              // Only part of a batch fit: ask for more next time.
              s.maxBytes = Math.min(this.maxBytes, s.maxBytes * 2);
            } else if (next > (s.fetchOffset ?? -1n)) {
              this.buffer.push({ state: s, epoch: s.epoch, records, nextOffset: next });
              s.fetchOffset = next;
              s.buffered++;
              gotData = true;
            }
          }
          continue;
        }
        if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          if (this.autoOffsetReset === 'none') {
            this.setFatal(
              errorFor(code, `${s.topic}/${s.partition} offset ${s.fetchOffset} (autoOffsetReset is 'none')`),
            );
            return;
          }
          s.epoch++;
          s.buffered = 0;
          s.position = null;
          s.fetchOffset = null;
          s.reset = this.autoOffsetReset;
          continue;
        }
        const err = errorFor(code, `fetch ${s.topic}/${s.partition}`);
        if (err.retriable) {
          retryLater = true;
          continue;
        }
        this.setFatal(err);
        return;
      }
    }
    if (retryLater) this.refreshSoon(backoff(1, this.cluster.retry));
    this.signal();
    if (gotData || !retryLater) this.kick();
  }

  /** Resolve positions of partitions waiting for one: committed offsets, then ListOffsets. */
  private async resolvePositions(): Promise<void> {
    this.resolving = true;
    try {
      const todo = [...this.states.values()].filter((s) => s.reset !== null);
      const epochs = new Map(todo.map((s) => [s, s.epoch]));
      const committed = todo.filter((s) => s.reset === 'committed');
      if (committed.length > 0) {
        const groupId = this.opts.groupId!;
        const res = await this.fetchCommitted(groupId, committed, this.group ? 'group' : 'default');
        const found = new Map(res.map((r) => [key(r.topic, r.partition), r]));
        for (const s of committed) {
          if (s.epoch !== epochs.get(s)) continue;
          const r = found.get(key(s.topic, s.partition));
          if (r?.error && !r.error.retriable) throw r.error;
          if (r && !r.error && r.offset >= 0n) {
            s.position = r.offset;
            s.fetchOffset = r.offset;
            s.lastCommitted = r.offset;
            s.reset = null;
          } else if (!r?.error) {
            if (this.autoOffsetReset === 'none') {
              throw new KafkaError(
                ErrorCode.OFFSET_OUT_OF_RANGE,
                `no committed offset for ${s.topic}/${s.partition} in group ${groupId} and autoOffsetReset is 'none'`,
              );
            }
            s.reset = this.autoOffsetReset;
          }
        }
      }
      const items: ListOffsetsItem[] = [];
      const plan: { s: PartitionState; kind: 'earliest' | 'latest' | 'time' | 'fromEnd'; at: number[] }[] = [];
      for (const s of todo) {
        const r = s.reset;
        if (r === null || r === 'committed' || s.epoch !== epochs.get(s)) continue;
        if (r === 'none') {
          throw new KafkaError(
            ErrorCode.OFFSET_OUT_OF_RANGE,
            `no offset to start ${s.topic}/${s.partition} from and autoOffsetReset is 'none'`,
          );
        }
        const at: number[] = [];
        const push = (timestamp: bigint) => {
          at.push(items.length);
          items.push({ topic: s.topic, partition: s.partition, timestamp });
        };
        if (r === 'earliest') {
          push(EARLIEST_TIMESTAMP);
          plan.push({ s, kind: 'earliest', at });
        } else if (r === 'latest') {
          push(LATEST_TIMESTAMP);
          plan.push({ s, kind: 'latest', at });
        } else if ('fromEnd' in r) {
          push(EARLIEST_TIMESTAMP);
          push(LATEST_TIMESTAMP);
          plan.push({ s, kind: 'fromEnd', at });
        } else {
          const t = r.timestamp;
          push(t instanceof Date ? BigInt(t.getTime()) : BigInt(t));
          push(LATEST_TIMESTAMP);
          plan.push({ s, kind: 'time', at });
        }
      }
      if (items.length > 0) {
        const results = await listOffsets(this.cluster, items);
        let retry = false;
        for (const { s, kind, at } of plan) {
          if (s.epoch !== epochs.get(s) || this.states.get(key(s.topic, s.partition)) !== s) continue;
          const rs = at.map((i) => results[i]!);
          const err = rs.find((r) => r.error)?.error;
          if (err) {
            if (err.retriable) {
              retry = true;
              continue;
            }
            throw err;
          }
          let offset: bigint;
          if (kind === 'earliest' || kind === 'latest') offset = rs[0]!.offset;
          else if (kind === 'fromEnd') {
            const back = (s.reset as { fromEnd: bigint }).fromEnd;
            offset = rs[1]!.offset - back;
            if (offset < rs[0]!.offset) offset = rs[0]!.offset;
          } else offset = rs[0]!.offset >= 0n ? rs[0]!.offset : rs[1]!.offset;
          s.position = offset;
          s.fetchOffset = offset;
          s.reset = null;
        }
        if (retry) this.retrySoon(backoff(2, this.cluster.retry));
      }
    } catch (e) {
      if (e instanceof KafkaError && (e.retriable || e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)) {
        this.retrySoon(backoff(2, this.cluster.retry));
      } else {
        this.setFatal(e as Error);
      }
    } finally {
      this.resolving = false;
    }
    this.signal();
    this.kick();
  }

  // -------------------------------------------------------------------------------------------------------
  // Group callbacks

  private groupHost(): GroupHost {
    return {
      onAssigned: async (tps) => {
        for (const tp of tps) {
          const k = key(tp.topic, tp.partition);
          if (this.states.has(k)) continue;
          const s = new PartitionState(tp.topic, tp.partition, this.maxPartitionBytes);
          s.reset = 'committed';
          this.states.set(k, s);
        }
        this.cluster.addTopics(tps.map((t) => t.topic));
        await this.callListener(this.opts.onPartitionsAssigned, tps);
        this.kick();
        this.signal();
      },
      onRevoked: async (tps) => {
        if (this.autoCommit) {
          const offsets: OffsetToCommit[] = [];
          for (const tp of tps) {
            const s = this.states.get(key(tp.topic, tp.partition));
            if (s && s.position !== null && s.position !== s.lastCommitted) {
              offsets.push({ topic: s.topic, partition: s.partition, offset: s.position });
            }
          }
          await this.commitChain;
          await this.commit(offsets).catch((e: Error) =>
            this.cluster.logger.warn('commit on revoke failed', { error: e.message }),
          );
        }
        await this.callListener(this.opts.onPartitionsRevoked, tps);
        this.drop(tps);
      },
      onLost: async (tps) => {
        await this.callListener(this.opts.onPartitionsLost ?? this.opts.onPartitionsRevoked, tps);
        this.drop(tps);
      },
      onFatal: (err) => this.setFatal(err),
    };
  }

  private drop(tps: TopicPartition[]): void {
    for (const tp of tps) {
      const k = key(tp.topic, tp.partition);
      const s = this.states.get(k);
      if (s) {
        s.epoch++;
        this.states.delete(k);
      }
    }
    this.signal();
  }

  private async callListener(l: RebalanceListener | undefined, tps: TopicPartition[]): Promise<void> {
    if (!l) return;
    try {
      await l(tps);
    } catch (e) {
      this.cluster.logger.warn('rebalance listener failed', { error: (e as Error).message });
    }
  }

  // -------------------------------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'the consumer is closed');
  }

  /** Leave the group (committing first with autoCommit) and close connections. Iterators end. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = null;
    try {
      if (this.group) {
        await this.group.stop();
      } else if (this.autoCommit && this.states.size > 0 && !this.fatal) {
        await this.commitChain;
        await this.commit().catch((e: Error) =>
          this.cluster.logger.warn('commit on close failed', { error: e.message }),
        );
      }
      await this.commitChain;
    } finally {
      this.closed = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.signal();
      await this.cluster.close();
    }
  }
}
