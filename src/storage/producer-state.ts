/**
 * Producer state of one partition (KIP-98 idempotence, Kafka's ProducerStateManager): for every producer id
 * that wrote to the partition, its epoch and the sequence ranges and offsets of its last 5 batches. The leader
 * checks each idempotent batch a client sends against it (a retried batch is answered with its original
 * offsets and not appended again; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch
 * INVALID_PRODUCER_EPOCH); every append (as leader, as follower, and when the log is read back at start)
 * updates it from the batch header alone, so leader and followers hold the same state.
 *
 * The state is a pure function of the log's batch headers: it is rebuilt at start from the last snapshot
 * (`<offset>.snapshot` beside the segments: the state of every batch below that offset) plus the batches after
 * it. PartitionLog writes a snapshot when it rolls a segment and when it closes; truncation drops the batches
 * cut off from the state, a log start that moves up drops producers whose batches are all gone, and producers
 * silent for `producer.id.expiration.ms` expire.
 *
 * Per batch, not per record: one Map lookup and a few typed-array writes; no allocation per batch once a
 * producer is known.
 */
import { readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ATTR_CONTROL, type BatchHeader, OFF } from '../protocol/records/batch.js';
import { crc32c } from '../protocol/records/crc32c.js';

/** Batches remembered per producer (Kafka's, and the Java client's max.in.flight.requests.per.connection). */
export const BATCHES_PER_PRODUCER = 5;
export const SNAPSHOT_SUFFIX = '.snapshot';
/** Kafka's default producer.id.expiration.ms: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/** Snapshots kept per partition (the newest ones); older ones are deleted when a new one is written. */
const SNAPSHOTS_KEPT = 3;
const INT32_MAX = 0x7fffffff;
const SNAPSHOT_MAGIC = 0x4b535053; // "KSPS"
const SNAPSHOT_VERSION = 1;

/** The last sequence of a batch of `count` records from `base`, wrapping past int32 max to 0 as Kafka does. */
export function lastSequenceOf(base: number, lastOffsetDelta: number): number {
  return base > INT32_MAX - lastOffsetDelta ? lastOffsetDelta - (INT32_MAX - base) - 1 : base + lastOffsetDelta;
}

function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (next === 0 && last === INT32_MAX);
}

/** One producer's state in one partition: its epoch and a ring of its last batches (oldest first from `head`). */
export class ProducerEntry {
  count = 0;
  private head = 0;
  readonly firstSeq = new Int32Array(BATCHES_PER_PRODUCER);
  readonly lastSeq = new Int32Array(BATCHES_PER_PRODUCER);
  readonly firstOffset = new BigInt64Array(BATCHES_PER_PRODUCER);
  readonly lastOffset = new BigInt64Array(BATCHES_PER_PRODUCER);
  readonly timestamp = new BigInt64Array(BATCHES_PER_PRODUCER);
  /** The max timestamp of its last batch (what expiration and DescribeProducers look at). */
  lastTimestamp = -1n;

  constructor(
    readonly producerId: bigint,
    public epoch: number,
  ) {}

  /** Ring slot of the i-th remembered batch, oldest first. */
  slot(i: number): number {
    return (this.head + i) % BATCHES_PER_PRODUCER;
  }

  addBatch(epoch: number, firstSeq: number, lastSeq: number, first: bigint, last: bigint, ts: bigint): void {
    if (epoch !== this.epoch) {
      // A new epoch starts a new sequence space: the old epoch's batches are no longer retries of anything.
      this.epoch = epoch;
      this.count = 0;
      this.head = 0;
    }
    let s: number;
    if (this.count < BATCHES_PER_PRODUCER) s = this.slot(this.count++);
    else {
      s = this.head;
      this.head = (this.head + 1) % BATCHES_PER_PRODUCER;
    }
    this.firstSeq[s] = firstSeq;
    this.lastSeq[s] = lastSeq;
    this.firstOffset[s] = first;
    this.lastOffset[s] = last;
    this.timestamp[s] = ts;
    this.lastTimestamp = ts;
  }

  /** The last sequence written, -1 when no batch is remembered. */
  get lastSequence(): number {
    return this.count === 0 ? -1 : (this.lastSeq[this.slot(this.count - 1)] as number);
  }

  /** The last offset written, -1n when no batch is remembered. */
  get lastDataOffset(): bigint {
    return this.count === 0 ? -1n : (this.lastOffset[this.slot(this.count - 1)] as bigint);
  }

  /** Slot of a remembered batch with exactly this epoch and sequence range, or -1. */
  findBatch(epoch: number, firstSeq: number, lastSeq: number): number {
    if (epoch !== this.epoch) return -1;
    for (let i = 0; i < this.count; i++) {
      const s = this.slot(i);
      if (this.firstSeq[s] === firstSeq && this.lastSeq[s] === lastSeq) return s;
    }
    return -1;
  }

  /** Forget the remembered batches at or above `offset` (the log was truncated there). */
  truncateFrom(offset: bigint): void {
    while (this.count > 0 && (this.firstOffset[this.slot(this.count - 1)] as bigint) >= offset) this.count--;
  }
}

/** A retried batch found in the state: the offsets and timestamp it was stored with. */
export interface DuplicateBatch {
  firstOffset: bigint;
  lastOffset: bigint;
  timestamp: bigint;
}

/** One producer as DescribeProducers shows it. */
export interface ProducerSummary {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
}

export class ProducerStateManager {
  readonly producers = new Map<bigint, ProducerEntry>();

  constructor(readonly dir: string) {}

  get size(): number {
    return this.producers.size;
  }

  /**
   * Check one idempotent batch a client sent (Kafka's order: a retry of a remembered batch first, then the
   * epoch, then the sequence). Returns the stored batch when it is a retry (not to be appended again), null
   * when it may be appended; throws a KafkaError otherwise. A producer without state here (new, expired, or
   * whose batches retention removed) may start at any sequence, as in Kafka (KIP-360).
   */
  checkClientBatch(h: BatchHeader): DuplicateBatch | null {
    const e = this.producers.get(h.producerId);
    if (e === undefined) return null;
    const epoch = h.producerEpoch;
    const first = h.baseSequence;
    const s = e.findBatch(epoch, first, lastSequenceOf(first, h.lastOffsetDelta));
    if (s >= 0) {
      return {
        firstOffset: e.firstOffset[s] as bigint,
        lastOffset: e.lastOffset[s] as bigint,
        timestamp: e.timestamp[s] as bigint,
      };
    }
    if (epoch < e.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `producer ${h.producerId} has epoch ${epoch}, older than its current epoch ${e.epoch}`,
      );
    }
    if (epoch !== e.epoch) {
      if (first !== 0) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${h.producerId} starts its new epoch ${epoch} at sequence ${first}, not 0`,
        );
      }
    } else if (!inSequence(e.lastSequence, first)) {
      throw new KafkaError(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `out of order sequence ${first} from producer ${h.producerId} (epoch ${epoch}): expected ${e.lastSequence + 1}`,
      );
    }
    return null;
  }

  /** Take an appended batch (as leader, follower or at load) into the state. */
  update(
    producerId: bigint,
    epoch: number,
    baseSequence: number,
    lastOffsetDelta: number,
    baseOffset: bigint,
    maxTimestamp: bigint,
  ): void {
    let e = this.producers.get(producerId);
    if (e === undefined) {
      e = new ProducerEntry(producerId, epoch);
      this.producers.set(producerId, e);
    }
    e.addBatch(
      epoch,
      baseSequence,
      lastSequenceOf(baseSequence, lastOffsetDelta),
      baseOffset,
      baseOffset + BigInt(lastOffsetDelta),
      maxTimestamp,
    );
  }

  /** Take the batch whose header starts at `buf[o]` (a whole header present) into the state, if idempotent. */
  updateFromHeader(buf: Buffer, o: number, maxTimestamp?: bigint): void {
    const pid = buf.readBigInt64BE(o + OFF.producerId);
    if (pid < 0n) return;
    // Control batches (transaction markers) carry no sequence.
    if ((buf.readInt16BE(o + OFF.attributes) & ATTR_CONTROL) !== 0) return;
    this.update(
      pid,
      buf.readInt16BE(o + OFF.producerEpoch),
      buf.readInt32BE(o + OFF.baseSequence),
      buf.readInt32BE(o + OFF.lastOffsetDelta),
      buf.readBigInt64BE(o + OFF.baseOffset),
      maxTimestamp ?? buf.readBigInt64BE(o + OFF.maxTimestamp),
    );
  }

  /** The log was truncated at `offset`: forget what lay at or above it. */
  truncateFrom(offset: bigint): void {
    for (const [pid, e] of this.producers) {
      if (e.lastDataOffset < offset) continue;
      e.truncateFrom(offset);
      if (e.count === 0) this.producers.delete(pid);
    }
  }

  /** The log start moved up to `offset`: producers whose every batch lies below it are gone. */
  removeBefore(offset: bigint): void {
    for (const [pid, e] of this.producers) if (e.lastDataOffset < offset) this.producers.delete(pid);
  }

  /** Remove producers whose last batch is older than `expirationMs` (producer.id.expiration.ms). */
  removeExpired(nowMs: number, expirationMs: number): number {
    const cutoff = BigInt(nowMs - expirationMs);
    let n = 0;
    for (const [pid, e] of this.producers) {
      if (e.lastTimestamp <= cutoff) {
        this.producers.delete(pid);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.producers.clear();
  }

  /** Every producer, ordered by id. */
  summaries(): ProducerSummary[] {
    return [...this.producers.values()]
      .sort((a, b) => (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0))
      .map((e) => ({
        producerId: e.producerId,
        producerEpoch: e.epoch,
        lastSequence: e.lastSequence,
        lastTimestamp: e.lastTimestamp,
      }));
  }

  // ---- snapshots -----------------------------------------------------------------------------------------
  //
  // magic u32 "KSPS" | version i16 | crc32c u32 (of everything after it) | offset i64 | producers i32 |
  // per producer: id i64 | epoch i16 | lastTimestamp i64 | batches i8 |
  //               per batch: firstSeq i32 | lastSeq i32 | firstOffset i64 | lastOffset i64 | timestamp i64

  /** The state as a snapshot file's bytes: the state of every batch below `offset`. */
  serialize(offset: bigint): Buffer {
    let size = 4 + 2 + 4 + 8 + 4;
    for (const e of this.producers.values()) size += 8 + 2 + 8 + 1 + e.count * 32;
    const b = Buffer.allocUnsafe(size);
    b.writeUInt32BE(SNAPSHOT_MAGIC, 0);
    b.writeInt16BE(SNAPSHOT_VERSION, 4);
    b.writeBigInt64BE(offset, 10);
    b.writeInt32BE(this.producers.size, 18);
    let p = 22;
    for (const e of this.producers.values()) {
      b.writeBigInt64BE(e.producerId, p);
      b.writeInt16BE(e.epoch, p + 8);
      b.writeBigInt64BE(e.lastTimestamp, p + 10);
      b.writeInt8(e.count, p + 18);
      p += 19;
      for (let i = 0; i < e.count; i++) {
        const s = e.slot(i);
        b.writeInt32BE(e.firstSeq[s] as number, p);
        b.writeInt32BE(e.lastSeq[s] as number, p + 4);
        b.writeBigInt64BE(e.firstOffset[s] as bigint, p + 8);
        b.writeBigInt64BE(e.lastOffset[s] as bigint, p + 16);
        b.writeBigInt64BE(e.timestamp[s] as bigint, p + 24);
        p += 32;
      }
    }
    b.writeUInt32BE(crc32c(b, 10, size), 6);
    return b;
  }

  /** Replace the state with a snapshot's; returns its offset. Throws (the state unchanged) when it is damaged. */
  load(b: Buffer): bigint {
    const bad = (why: string): never => {
      throw new Error(`damaged producer snapshot: ${why}`);
    };
    if (b.length < 22) bad('too short');
    if (b.readUInt32BE(0) !== SNAPSHOT_MAGIC) bad('bad magic');
    if (b.readInt16BE(4) !== SNAPSHOT_VERSION) bad(`unknown version ${b.readInt16BE(4)}`);
    if (crc32c(b, 10, b.length) !== b.readUInt32BE(6)) bad('checksum mismatch');
    const offset = b.readBigInt64BE(10);
    const n = b.readInt32BE(18);
    const next = new Map<bigint, ProducerEntry>();
    let p = 22;
    for (let k = 0; k < n; k++) {
      if (p + 19 > b.length) bad('truncated');
      const e = new ProducerEntry(b.readBigInt64BE(p), b.readInt16BE(p + 8));
      const ts = b.readBigInt64BE(p + 10);
      const count = b.readInt8(p + 18);
      if (count < 0 || count > BATCHES_PER_PRODUCER) bad(`${count} batches`);
      p += 19;
      if (p + count * 32 > b.length) bad('truncated');
      for (let i = 0; i < count; i++) {
        e.addBatch(
          e.epoch,
          b.readInt32BE(p),
          b.readInt32BE(p + 4),
          b.readBigInt64BE(p + 8),
          b.readBigInt64BE(p + 16),
          b.readBigInt64BE(p + 24),
        );
        p += 32;
      }
      e.lastTimestamp = ts;
      next.set(e.producerId, e);
    }
    if (p !== b.length) bad('trailing bytes');
    this.producers.clear();
    for (const [k, v] of next) this.producers.set(k, v);
    return offset;
  }

  /** Offsets of the snapshot files in the directory, ascending. */
  snapshotOffsets(): bigint[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: bigint[] = [];
    for (const n of names) {
      const o = parseSnapshotName(n);
      if (o !== null) out.push(o);
    }
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  snapshotPath(offset: bigint): string {
    return join(this.dir, snapshotFileName(offset));
  }

  /**
   * Write the state as the snapshot at `offset` (a temp file renamed over it), then delete all but the newest
   * few. Synchronous, so that snapshots and the truncations that delete them can never be reordered; not
   * fsynced: a snapshot torn by a power loss fails its CRC at the next open and is ignored (the state is then
   * rebuilt from an older one and more of the log).
   */
  writeSnapshot(offset: bigint): void {
    const path = this.snapshotPath(offset);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, this.serialize(offset));
    renameSync(tmp, path);
    for (const o of this.snapshotOffsets().slice(0, -SNAPSHOTS_KEPT)) this.deleteSnapshot(o);
  }

  deleteSnapshot(offset: bigint): void {
    try {
      unlinkSync(this.snapshotPath(offset));
    } catch {
      /* gone already */
    }
  }

  /** Delete the snapshots whose offsets match `pred`. */
  deleteSnapshots(pred: (offset: bigint) => boolean): void {
    for (const o of this.snapshotOffsets()) if (pred(o)) this.deleteSnapshot(o);
  }

  /**
   * Load the newest intact snapshot at an offset in [min, max] (damaged ones are reported through `warn` and
   * deleted). Returns its offset, or null (the state then empty) when there is none.
   */
  async loadLatestSnapshot(min: bigint, max: bigint, warn: (msg: string) => void): Promise<bigint | null> {
    const all = this.snapshotOffsets();
    for (let i = all.length - 1; i >= 0; i--) {
      const o = all[i] as bigint;
      if (o > max || o < min) continue;
      try {
        const read = this.load(await readFile(this.snapshotPath(o)));
        if (read !== o) throw new Error(`damaged producer snapshot: it says offset ${read}`);
        return o;
      } catch (e) {
        warn(`Ignoring producer snapshot ${this.snapshotPath(o)}: ${(e as Error).message}`);
        this.deleteSnapshot(o);
      }
    }
    this.producers.clear();
    return null;
  }
}

export function snapshotFileName(offset: bigint): string {
  return `${offset.toString().padStart(20, '0')}${SNAPSHOT_SUFFIX}`;
}

function parseSnapshotName(name: string): bigint | null {
  if (!name.endsWith(SNAPSHOT_SUFFIX)) return null;
  const digits = name.slice(0, -SNAPSHOT_SUFFIX.length);
  return /^\d{20}$/.test(digits) ? BigInt(digits) : null;
}
