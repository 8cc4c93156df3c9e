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
 * Transactions (KIP-98): a transactional batch of a producer without an open transaction opens one at its first
 * offset; a control batch (COMMIT/ABORT marker) closes it. The last stable offset is the first offset of the
 * earliest transaction not yet decided (open, or whose marker the high watermark has not passed), else the high
 * watermark: read_committed consumers read up to it. A partition no transaction touched keeps both sets empty
 * and its LSO is its high watermark at no cost.
 *
 * Per batch, not per record: one Map lookup and a few typed-array writes; no allocation per batch once a
 * producer is known.
 */
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  type BatchHeader,
  OFF,
} from '../protocol/records/batch.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { BatchBuilder } from '../protocol/records/record.js';

/** Batches remembered per producer (Kafka's, and the Java client's max.in.flight.requests.per.connection). */
export const BATCHES_PER_PRODUCER = 5;
export const SNAPSHOT_SUFFIX = '.snapshot';
/** Kafka's default producer.id.expiration.ms: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/** Snapshots kept per partition (the newest ones); older ones are deleted when a new one is written. */
const SNAPSHOTS_KEPT = 3;
const INT32_MAX = 0x7fffffff;
const SNAPSHOT_MAGIC = 0x4b535053; // "KSPS"
const SNAPSHOT_VERSION = 2;
/** Control record types (the key's second int16). */
export const CONTROL_ABORT = 0;
export const CONTROL_COMMIT = 1;

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
  /** The coordinator epoch of its last transaction marker (-1: none): older coordinators are fenced. */
  coordinatorEpoch = -1;
  /** First offset of its open transaction in this partition, -1n when none is open. */
  currentTxnFirstOffset = -1n;

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

  /** A marker in `epoch`: a new epoch forgets the old epoch's batches (they are no retries of the new one's). */
  bumpEpoch(epoch: number): void {
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.count = 0;
    this.head = 0;
  }
}

/** A transaction a marker closed: its producer, first offset and the marker's offset. */
export interface CompletedTxn {
  producerId: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
  isAbort: boolean;
}

/** The marker of a control batch: COMMIT or ABORT (CONTROL_*) and the coordinator epoch that wrote it. */
export interface TxnMarker {
  type: number;
  coordinatorEpoch: number;
}

/** One control batch: the marker of `producerId`'s transaction. */
export function buildMarkerBatch(
  producerId: bigint,
  producerEpoch: number,
  commit: boolean,
  coordinatorEpoch: number,
  timestamp: bigint = BigInt(Date.now()),
): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? CONTROL_COMMIT : CONTROL_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  const b = new BatchBuilder(
    {
      producerId,
      producerEpoch,
      baseSequence: -1,
      attributesExtra: ATTR_TRANSACTIONAL | ATTR_CONTROL,
      defaultTimestamp: timestamp,
    },
    128,
  );
  b.append({ key, value });
  return b.buildUncompressed();
}

/**
 * The control record of the (uncompressed) control batch at `buf[o]`: key int16 version, int16 type; value
 * int16 version, int32 coordinator epoch. Null when it holds no record or does not parse (a control batch of a
 * kind kstream does not know: it closes nothing).
 */
export function readControlRecord(buf: Buffer, o: number): TxnMarker | null {
  const end = o + OFF.batchLength + 4 + buf.readInt32BE(o + OFF.batchLength);
  if (buf.readInt32BE(o + OFF.recordCount) < 1 || end > buf.length) return null;
  let p = o + BATCH_HEADER_SIZE;
  const varint = (): number => {
    let u = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= end) return Number.NaN;
      const x = buf[p++] as number;
      u |= (x & 0x7f) << shift;
      if ((x & 0x80) === 0) return (u >>> 1) ^ -(u & 1);
    }
    return Number.NaN;
  };
  varint(); // record length
  p++; // attributes
  // Timestamp delta: a varlong, large and negative once the cleaner stamped a delete horizon as the base
  // timestamp (KIP-534): skipped whole (up to 10 bytes).
  for (let i = 0; i < 10 && p < end; i++) if (((buf[p++] as number) & 0x80) === 0) break;
  varint(); // offset delta
  const keyLen = varint();
  if (!(keyLen >= 4) || p + keyLen > end) return null;
  const type = buf.readInt16BE(p + 2);
  p += keyLen;
  const valueLen = varint();
  if (!(valueLen >= 6) || p + valueLen > end) return null;
  return { type, coordinatorEpoch: buf.readInt32BE(p + 2) };
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
  /** The coordinator epoch of its last marker (-1: none). */
  coordinatorEpoch: number;
  /** First offset of its open transaction, -1n when none. */
  currentTxnStartOffset: bigint;
}

export class ProducerStateManager {
  readonly producers = new Map<bigint, ProducerEntry>();
  /** Open transactions: producer id → first offset (insertion order = offset order, appends only grow). */
  private readonly ongoing = new Map<bigint, bigint>();
  /** Transactions whose marker is written but not yet below the high watermark: still unstable. */
  private unreplicated: CompletedTxn[] = [];
  /** A transactional batch or a marker was ever taken in (truncation then rebuilds the state: see PartitionLog). */
  sawTransactions = false;
  /**
   * The directory's file names while a log opens (PartitionLog.load sets it, then clears it): snapshotOffsets()
   * takes them instead of listing the directory again; writes and deletes of snapshots keep it current.
   */
  listing: Set<string> | null = null;

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
    if (e.currentTxnFirstOffset >= 0n && epoch === e.epoch && (h.attributes & ATTR_TRANSACTIONAL) === 0) {
      throw new KafkaError(
        ErrorCode.INVALID_TXN_STATE,
        `producer ${h.producerId} sent a non-transactional batch while its transaction is open`,
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
    transactional = false,
  ): void {
    let e = this.producers.get(producerId);
    if (e === undefined) {
      e = new ProducerEntry(producerId, epoch);
      this.producers.set(producerId, e);
    }
    if (transactional && e.currentTxnFirstOffset < 0n) {
      e.currentTxnFirstOffset = baseOffset;
      this.ongoing.set(producerId, baseOffset);
      this.sawTransactions = true;
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

  /**
   * Take the batch whose header starts at `buf[o]` into the state, if idempotent or transactional (a whole header
   * present; for a control batch, the whole batch). Returns the transaction a marker closed, if any.
   */
  updateFromHeader(buf: Buffer, o: number, maxTimestamp?: bigint): CompletedTxn | null {
    const pid = buf.readBigInt64BE(o + OFF.producerId);
    if (pid < 0n) return null;
    const attributes = buf.readInt16BE(o + OFF.attributes);
    const epoch = buf.readInt16BE(o + OFF.producerEpoch);
    const baseOffset = buf.readBigInt64BE(o + OFF.baseOffset);
    const ts = maxTimestamp ?? buf.readBigInt64BE(o + OFF.maxTimestamp);
    if ((attributes & ATTR_CONTROL) !== 0) {
      // Control batches (transaction markers) carry no sequence: they close the producer's transaction.
      const m = readControlRecord(buf, o);
      if (m === null) return null;
      return this.completeTxn(pid, epoch, m, baseOffset, ts);
    }
    this.update(
      pid,
      epoch,
      buf.readInt32BE(o + OFF.baseSequence),
      buf.readInt32BE(o + OFF.lastOffsetDelta),
      baseOffset,
      ts,
      (attributes & ATTR_TRANSACTIONAL) !== 0,
    );
    return null;
  }

  // ---- transactions --------------------------------------------------------------------------------------

  /** A batch the broker writes for a producer (coordinator origin): an older epoch is INVALID_PRODUCER_EPOCH. */
  checkEpoch(producerId: bigint, epoch: number): void {
    const e = this.producers.get(producerId);
    if (e !== undefined && epoch < e.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `producer ${producerId} has epoch ${epoch}, older than its current epoch ${e.epoch}`,
      );
    }
  }

  /**
   * Check a marker the coordinator asks this leader to write (Kafka's checks): an epoch older than the
   * producer's is INVALID_PRODUCER_EPOCH, a coordinator epoch older than the last marker's
   * TRANSACTION_COORDINATOR_FENCED.
   */
  checkMarker(producerId: bigint, epoch: number, coordinatorEpoch: number): void {
    const e = this.producers.get(producerId);
    if (e === undefined) return;
    if (epoch < e.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `marker for producer ${producerId} has epoch ${epoch}, older than its current epoch ${e.epoch}`,
      );
    }
    if (coordinatorEpoch < e.coordinatorEpoch) {
      throw new KafkaError(
        ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        `marker for producer ${producerId} from coordinator epoch ${coordinatorEpoch}, older than ${e.coordinatorEpoch}`,
      );
    }
  }

  /**
   * A marker written at `offset`: the producer's open transaction (if any) is decided. Returns it (to go into
   * the aborted-transaction index when aborted), or null when the producer had none open here.
   */
  completeTxn(producerId: bigint, epoch: number, m: TxnMarker, offset: bigint, ts: bigint): CompletedTxn | null {
    let e = this.producers.get(producerId);
    if (e === undefined) {
      e = new ProducerEntry(producerId, epoch);
      this.producers.set(producerId, e);
    }
    this.sawTransactions = true;
    e.bumpEpoch(epoch);
    if (m.coordinatorEpoch > e.coordinatorEpoch) e.coordinatorEpoch = m.coordinatorEpoch;
    if (ts > e.lastTimestamp) e.lastTimestamp = ts;
    const first = e.currentTxnFirstOffset;
    if (first < 0n) return null;
    e.currentTxnFirstOffset = -1n;
    this.ongoing.delete(producerId);
    const done: CompletedTxn = {
      producerId,
      firstOffset: first,
      lastOffset: offset,
      isAbort: m.type === CONTROL_ABORT,
    };
    this.unreplicated.push(done);
    return done;
  }

  /** Whether any transaction is open or undecided below the high watermark (the LSO may lag the HW). */
  get hasUnstable(): boolean {
    return this.ongoing.size > 0 || this.unreplicated.length > 0;
  }

  /** How many transactions are open. */
  get ongoingCount(): number {
    return this.ongoing.size;
  }

  /**
   * The last stable offset for high watermark `hw`: the first offset of the earliest open transaction, or of a
   * decided one whose marker the high watermark has not passed yet; else `hw`.
   */
  lastStableOffset(hw: bigint): bigint {
    if (this.ongoing.size === 0 && this.unreplicated.length === 0) return hw;
    let lso = hw;
    if (this.unreplicated.length > 0) {
      this.unreplicated = this.unreplicated.filter((t) => t.lastOffset >= hw);
      for (const t of this.unreplicated) if (t.firstOffset < lso) lso = t.firstOffset;
    }
    for (const first of this.ongoing.values()) {
      if (first < lso) lso = first;
      break; // insertion order is offset order: the first one is the earliest
    }
    return lso;
  }

  /**
   * The offset below which everything is decided, apart from `done` itself: what the aborted-transaction
   * index records with an aborted transaction (a fetch searching the index may stop at an entry whose value is
   * past its range).
   */
  firstUndecidedExcept(done: CompletedTxn): bigint {
    let lso = done.lastOffset + 1n;
    for (const t of this.unreplicated) if (t !== done && t.firstOffset < lso) lso = t.firstOffset;
    for (const first of this.ongoing.values()) {
      if (first < lso) lso = first;
      break;
    }
    return lso;
  }

  /** Re-sort the open transactions by first offset (after a snapshot load or truncation put them out of order). */
  private sortOngoing(): void {
    const all = [...this.ongoing].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    this.ongoing.clear();
    for (const [k, v] of all) this.ongoing.set(k, v);
  }

  /**
   * The log was truncated at `offset`: forget what lay at or above it. A transaction opened at or above it is
   * gone; one whose marker was cut off (a marker the high watermark had not passed) is open again.
   */
  truncateFrom(offset: bigint): void {
    for (const t of this.unreplicated) {
      if (t.lastOffset < offset || t.firstOffset >= offset) continue;
      const e = this.producers.get(t.producerId);
      if (e !== undefined) {
        e.currentTxnFirstOffset = t.firstOffset;
        this.ongoing.set(t.producerId, t.firstOffset);
      }
    }
    this.unreplicated = this.unreplicated.filter((t) => t.lastOffset < offset);
    for (const [pid, first] of this.ongoing) {
      if (first < offset) continue;
      this.ongoing.delete(pid);
      const e = this.producers.get(pid);
      if (e !== undefined) e.currentTxnFirstOffset = -1n;
    }
    this.sortOngoing();
    for (const [pid, e] of this.producers) {
      if (e.lastDataOffset < offset) continue;
      e.truncateFrom(offset);
      if (e.count === 0 && e.currentTxnFirstOffset < 0n) this.producers.delete(pid);
    }
  }

  /** The log start moved up to `offset`: producers whose every batch lies below it are gone (their transactions too). */
  removeBefore(offset: bigint): void {
    for (const [pid, e] of this.producers) {
      if (e.lastDataOffset >= offset) continue;
      // A producer known only by its markers (its epoch bumped, its coordinator's epoch) stays for fencing, until
      // it expires (producer.id.expiration.ms).
      if (e.count === 0 && e.coordinatorEpoch >= 0) continue;
      this.producers.delete(pid);
      this.ongoing.delete(pid);
    }
    this.unreplicated = this.unreplicated.filter((t) => t.lastOffset >= offset);
  }

  /** Remove producers whose last batch is older than `expirationMs` (producer.id.expiration.ms). */
  removeExpired(nowMs: number, expirationMs: number): number {
    const cutoff = BigInt(nowMs - expirationMs);
    let n = 0;
    for (const [pid, e] of this.producers) {
      // A producer with an open transaction never expires (its transaction would never be decided here).
      if (e.lastTimestamp <= cutoff && e.currentTxnFirstOffset < 0n) {
        this.producers.delete(pid);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
    this.unreplicated = [];
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
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnStartOffset: e.currentTxnFirstOffset,
      }));
  }

  // ---- snapshots -----------------------------------------------------------------------------------------
  //
  // magic u32 "KSPS" | version i16 | crc32c u32 (of everything after it) | offset i64 | producers i32 |
  // per producer: id i64 | epoch i16 | lastTimestamp i64 | coordinatorEpoch i32 (v2) | currentTxnFirstOffset i64 (v2) |
  //               batches i8 | per batch: firstSeq i32 | lastSeq i32 | firstOffset i64 | lastOffset i64 | timestamp i64

  /** The state as a snapshot file's bytes: the state of every batch below `offset`. */
  serialize(offset: bigint): Buffer {
    let size = 4 + 2 + 4 + 8 + 4;
    for (const e of this.producers.values()) size += 8 + 2 + 8 + 4 + 8 + 1 + e.count * 32;
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
      b.writeInt32BE(e.coordinatorEpoch, p + 18);
      b.writeBigInt64BE(e.currentTxnFirstOffset, p + 22);
      b.writeInt8(e.count, p + 30);
      p += 31;
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
    const version = b.readInt16BE(4);
    if (version !== 1 && version !== SNAPSHOT_VERSION) bad(`unknown version ${version}`);
    const head = version === 1 ? 19 : 31;
    if (crc32c(b, 10, b.length) !== b.readUInt32BE(6)) bad('checksum mismatch');
    const offset = b.readBigInt64BE(10);
    const n = b.readInt32BE(18);
    const next = new Map<bigint, ProducerEntry>();
    let p = 22;
    for (let k = 0; k < n; k++) {
      if (p + head > b.length) bad('truncated');
      const e = new ProducerEntry(b.readBigInt64BE(p), b.readInt16BE(p + 8));
      const ts = b.readBigInt64BE(p + 10);
      if (version >= 2) {
        e.coordinatorEpoch = b.readInt32BE(p + 18);
        e.currentTxnFirstOffset = b.readBigInt64BE(p + 22);
      }
      const count = b.readInt8(p + head - 1);
      if (count < 0 || count > BATCHES_PER_PRODUCER) bad(`${count} batches`);
      p += head;
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
    this.clear();
    for (const [k, v] of next) {
      this.producers.set(k, v);
      if (v.currentTxnFirstOffset >= 0n) this.ongoing.set(k, v.currentTxnFirstOffset);
      if (v.currentTxnFirstOffset >= 0n || v.coordinatorEpoch >= 0) this.sawTransactions = true;
    }
    this.sortOngoing();
    return offset;
  }

  /** Offsets of the snapshot files in the directory, ascending. */
  snapshotOffsets(): bigint[] {
    let names: Iterable<string>;
    try {
      names = this.listing ?? readdirSync(this.dir);
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
    this.listing?.add(snapshotFileName(offset));
    for (const o of this.snapshotOffsets().slice(0, -SNAPSHOTS_KEPT)) this.deleteSnapshot(o);
  }

  deleteSnapshot(offset: bigint): void {
    this.listing?.delete(snapshotFileName(offset));
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
        // Synchronous like snapshotOffsets(): read at a log's open, where thread-pool trips dominate start-up.
        const read = this.load(readFileSync(this.snapshotPath(o)));
        if (read !== o) throw new Error(`damaged producer snapshot: it says offset ${read}`);
        return o;
      } catch (e) {
        warn(`Ignoring producer snapshot ${this.snapshotPath(o)}: ${(e as Error).message}`);
        this.deleteSnapshot(o);
      }
    }
    this.clear();
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
