/**
 * The idempotent producer's side of KIP-98 / KIP-360, as the Java client and franz-go do it: a producer id
 * and epoch from InitProducerId when the producer connects, a sequence per partition stamped into each batch
 * when it is first sent (a retry carries the same id, epoch and sequence, so the partition's leader answers a
 * retry of a stored batch with its original offset instead of storing it twice), and the answers to the
 * sequence errors:
 *
 * - OUT_OF_ORDER_SEQUENCE_NUMBER while an older batch of the same partition is still unacknowledged: that one
 *   failed (or is being retried) first; this batch is retried after it.
 * - OUT_OF_ORDER_SEQUENCE_NUMBER with nothing older outstanding, or UNKNOWN_PRODUCER_ID, or
 *   INVALID_PRODUCER_EPOCH: the partition lost the producer's state (or a batch failed for good and left a
 *   gap): the producer bumps its epoch by itself (KIP-360; a new producer id when the epoch would overflow)
 *   and every partition starts again at sequence 0; the batch is retried with the new epoch. As the Java
 *   client does, a partition starts its new epoch only once every request still in flight with the old one
 *   has completed or failed (mayStamp): a batch of the new epoch overtaking one of the old would be refused
 *   as INVALID_PRODUCER_EPOCH, or be written before it, out of order. Requeued old-epoch batches are
 *   stamped again, in their order, when they go out.
 *
 * A transactional producer (transactions.ts) gets its id and epoch from its transaction coordinator
 * (setProducer) and never bumps its epoch by itself: a sequence error that is not about an older batch stands,
 * the batch fails, and the transaction must be aborted (the epoch is bumped by the coordinator then, KIP-360).
 *
 * A broker that does not offer InitProducerId at all (older than Kafka 0.11, or a scripted test broker) gets
 * plain batches when idempotence is only the default; asked for explicitly, the producer fails instead.
 *
 * Per batch, not per record: one Map lookup per partition for its next sequence.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, type ResponseOf } from '../../protocol/messages/index.js';
import type { Cluster } from '../cluster.js';
import { errorFor } from '../errors.js';
import type { PartitionQueue, ProducerBatch } from './batch.js';

const EPOCH_MAX = 0x7fff;
const INT32_MAX = 0x7fffffff;

/** The sequence after a batch of `count` records from `seq` (wrapping from int32 max to 0, as Kafka's). */
function nextSequence(seq: number, count: number): number {
  return seq > INT32_MAX - count ? seq + count - INT32_MAX - 1 : seq + count;
}

export class IdempotentState {
  producerId = -1n;
  epoch = -1;
  /** The next sequence of each partition (by its queue) in the current epoch. */
  private readonly next = new Map<PartitionQueue, number>();
  /** Batches sent and not settled yet, per partition (to tell whether an older one is outstanding). */
  private readonly outstanding = new Map<PartitionQueue, Set<ProducerBatch>>();
  /** Batches in requests that have no answer yet, per partition. */
  private readonly inFlight = new Map<PartitionQueue, Set<ProducerBatch>>();
  /** In-flight batches stamped with an older producer id or epoch than the current one (after a bump). */
  private staleInFlight = 0;
  private initializing: Promise<void> | null = null;
  /** The broker offers no InitProducerId and idempotence was not asked for: batches go out plain. */
  disabled = false;

  constructor(
    private readonly cluster: Cluster,
    /** Asked for explicitly (idempotent: true): a broker without InitProducerId is an error. */
    private readonly required: boolean,
    /** Part of a transactional producer: batches are marked transactional; no epoch bump of its own. */
    readonly transactional = false,
  ) {}

  /** The id and epoch a transaction coordinator gave (InitProducerId): every partition starts at sequence 0. */
  setProducer(producerId: bigint, epoch: number): void {
    this.producerId = producerId;
    this.epoch = epoch;
    this.next.clear();
  }

  get ready(): boolean {
    return this.producerId >= 0n || this.disabled;
  }

  /** InitProducerId (on any broker); again after close/reconnect or an epoch overflow. */
  init(): Promise<void> {
    if (this.transactional) {
      return Promise.reject(
        new KafkaError(ErrorCode.INVALID_TXN_STATE, 'a transactional producer gets its id from initTransactions()'),
      );
    }
    this.initializing ??= this.requestId().finally(() => {
      this.initializing = null;
    });
    return this.initializing;
  }

  private async requestId(): Promise<void> {
    let res: ResponseOf<typeof Api.InitProducerId>;
    try {
      res = await this.cluster.request('any', Api.InitProducerId, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.UNSUPPORTED_VERSION) {
        if (!this.required) {
          this.disabled = true;
          return;
        }
        throw new KafkaError(
          ErrorCode.UNSUPPORTED_VERSION,
          'the broker does not support idempotent producers (InitProducerId); turn idempotence off',
        );
      }
      throw e;
    }
    if (res.errorCode !== 0) throw errorFor(res.errorCode, 'InitProducerId', null);
    this.producerId = res.producerId;
    this.epoch = res.producerEpoch;
    this.next.clear();
  }

  /**
   * Whether `b` may go out now: not while a request of an older epoch to its partition is in flight (the new
   * epoch starts at sequence 0 only after those have completed or failed).
   */
  mayStamp(b: ProducerBatch): boolean {
    if (this.staleInFlight === 0 || this.disabled) return true;
    for (const o of this.inFlight.get(b.queue) ?? []) if (this.isStale(o)) return false;
    return true;
  }

  private isStale(b: ProducerBatch): boolean {
    return b.producerId !== this.producerId || b.producerEpoch !== this.epoch;
  }

  /** Before `b` goes out: stamp id, epoch and sequence on its first send, or again after an epoch bump. */
  beforeSend(b: ProducerBatch): void {
    if (this.disabled) return;
    let set = this.outstanding.get(b.queue);
    if (!set) {
      set = new Set();
      this.outstanding.set(b.queue, set);
    }
    set.add(b);
    let sent = this.inFlight.get(b.queue);
    if (!sent) {
      sent = new Set();
      this.inFlight.set(b.queue, sent);
    }
    sent.add(b);
    if (b.producerId === this.producerId && b.producerEpoch === this.epoch) return;
    const seq = this.next.get(b.queue) ?? 0;
    b.stamp(this.producerId, this.epoch, seq, this.transactional);
    this.next.set(b.queue, nextSequence(seq, b.recordCount));
  }

  /** The request that carried `b` was answered (or failed): `b` is no longer in flight. */
  answered(b: ProducerBatch): void {
    const sent = this.inFlight.get(b.queue);
    if (!sent?.delete(b)) return;
    if (sent.size === 0) this.inFlight.delete(b.queue);
    if (this.staleInFlight > 0 && this.isStale(b)) this.staleInFlight--;
  }

  /** `b` is settled (acknowledged or failed for good). */
  settled(b: ProducerBatch): void {
    const set = this.outstanding.get(b.queue);
    if (set?.delete(b) && set.size === 0) this.outstanding.delete(b.queue);
  }

  /**
   * A sequence error for `b`: true when the batch is to be retried (after an older one, or with a bumped
   * epoch), false when the error stands.
   */
  onSequenceError(b: ProducerBatch, code: number): boolean {
    if (this.disabled) return false;
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && this.olderOutstanding(b)) return true;
    if (this.transactional) return false;
    if (
      code !== ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER &&
      code !== ErrorCode.UNKNOWN_PRODUCER_ID &&
      code !== ErrorCode.INVALID_PRODUCER_EPOCH
    ) {
      return false;
    }
    // Bump once per epoch: batches of the old epoch failing after the bump are re-stamped on their next send.
    if (b.producerId === this.producerId && b.producerEpoch === this.epoch) this.bumpEpoch();
    return true;
  }

  private olderOutstanding(b: ProducerBatch): boolean {
    for (const o of this.outstanding.get(b.queue) ?? []) if (o !== b && o.ordinal < b.ordinal) return true;
    for (const o of b.queue.batches) if (o.ordinal < b.ordinal) return true;
    return false;
  }

  /**
   * KIP-360: a new epoch, every partition's sequences from 0 (a partition stamps its first batch of the new
   * epoch only when its old-epoch requests are answered: mayStamp); a new producer id when the epoch is used up.
   */
  private bumpEpoch(): void {
    this.next.clear();
    // Everything in flight now carries the old epoch.
    this.staleInFlight = 0;
    for (const sent of this.inFlight.values()) this.staleInFlight += sent.size;
    if (this.epoch >= EPOCH_MAX) {
      this.producerId = -1n;
      this.epoch = -1;
      void this.init().catch(() => {});
      return;
    }
    this.epoch++;
  }
}
