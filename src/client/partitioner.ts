/**
 * Partitioners. Keyed records use the Java client's default: toPositive(murmur2(keyBytes)) % numPartitions,
 * the same as librdkafka's `partitioner=murmur2_random`, so the same key lands on the same partition whatever
 * Kafka producer wrote it. Records without a key are partitioned "sticky" (KIP-480): all go to one partition
 * until its batch is sent, then another partition is picked.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Java client's default partitioner picks for a key. */
export function murmur2Partition(key: Uint8Array | string, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return toPositive(murmur2(bytes)) % numPartitions;
}

export interface PartitionerContext {
  topic: string;
  key: Buffer | string | null | undefined;
  /** Number of partitions of the topic. */
  partitionCount: number;
  /** Partitions that currently have a leader (may be empty when metadata is incomplete). */
  availablePartitions: readonly number[];
}

/** A custom partitioner returns a partition number; returning -1 falls back to the default. */
export type Partitioner = (ctx: PartitionerContext) => number;

/**
 * The default partitioner: murmur2 for keys, sticky for null keys. `onNewBatch(topic, partition)` tells it a
 * batch for that partition was closed, so the next null-key record picks a new sticky partition.
 */
export class DefaultPartitioner {
  private readonly sticky = new Map<string, number>();

  partition(ctx: PartitionerContext): number {
    return this.partitionOf(ctx.topic, ctx.key, ctx.partitionCount, ctx.availablePartitions);
  }

  /** partition() without a context object (the producer's per-record path). */
  partitionOf(
    topic: string,
    key: Buffer | string | null | undefined,
    partitionCount: number,
    availablePartitions: readonly number[],
  ): number {
    if (key !== null && key !== undefined) return murmur2Partition(key, partitionCount);
    const current = this.sticky.get(topic);
    if (current !== undefined && current < partitionCount) return current;
    return this.pickSticky(topic, partitionCount, availablePartitions, -1);
  }

  /** The batch of the sticky partition was closed: move to another partition for the next null-key record. */
  onBatchClosed(topic: string, partition: number, partitionCount: number, available: readonly number[]): void {
    if (this.sticky.get(topic) === partition) this.pickSticky(topic, partitionCount, available, partition);
  }

  private pickSticky(topic: string, count: number, available: readonly number[], previous: number): number {
    const pool = available.length > 0 ? available : Array.from({ length: count }, (_, i) => i);
    let p = pool[Math.floor(Math.random() * pool.length)]!;
    if (pool.length > 1 && p === previous) {
      // Never stay on the previous partition when another one is available.
      const i = pool.indexOf(p);
      p = pool[(i + 1 + Math.floor(Math.random() * (pool.length - 1))) % pool.length]!;
    }
    this.sticky.set(topic, p);
    return p;
  }
}
