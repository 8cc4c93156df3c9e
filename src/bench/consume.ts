/**
 * `kstream bench consume`: reads --records records of a topic from the beginning (every partition, assign
 * mode, no group) as fast as possible with Consumer.batches(), and reports records/s and MB/s.
 */
import { Admin } from '../client/admin.js';
import { Consumer } from '../client/consumer.js';
import { type BenchResult, Progress, rates } from './common.js';

export interface ConsumeBenchOptions {
  brokers: string;
  topic: string;
  /** Stop after this many records (or at the end of the topic if it has fewer). */
  records: number;
  /** Per partition per fetch. */
  fetchBytes: number;
  progress?: boolean;
}

export async function runConsumeBench(o: ConsumeBenchOptions): Promise<BenchResult & { endOfTopic: boolean }> {
  const admin = new Admin({ brokers: o.brokers });
  let partitions: number[];
  try {
    const [desc] = await admin.describeTopics([o.topic]);
    if (!desc || desc.error) throw desc?.error ?? new Error(`topic ${o.topic} not found`);
    partitions = desc.partitions.map((p) => p.partition);
  } finally {
    await admin.close();
  }
  const consumer = new Consumer({
    brokers: o.brokers,
    clientId: 'kstream-bench-consumer',
    autoOffsetReset: 'earliest',
    maxPartitionBytes: o.fetchBytes,
    maxBytes: Math.max(o.fetchBytes * partitions.length, 50 * 1024 * 1024),
  });
  let count = 0;
  let bytes = 0;
  let endOfTopic = true;
  const progress = new Progress('consume', o.records, () => count);
  try {
    await consumer.connect();
    consumer.assign(partitions.map((partition) => ({ topic: o.topic, partition, offset: 'earliest' as const })));
    if (o.progress !== false) progress.start();
    const start = performance.now();
    for await (const b of consumer.batches({ untilEnd: true })) {
      const recs = b.records;
      const n = Math.min(recs.length, o.records - count);
      for (let i = 0; i < n; i++) {
        const v = recs[i]!.value;
        if (v) bytes += v.length;
      }
      count += n;
      if (count >= o.records) {
        endOfTopic = false;
        break;
      }
    }
    const elapsedMs = performance.now() - start;
    progress.stop();
    return {
      bench: 'consume',
      topic: o.topic,
      records: count,
      bytes,
      elapsedMs: Math.round(elapsedMs * 1000) / 1000,
      ...rates(count, bytes, elapsedMs),
      endOfTopic,
      config: { requested: o.records, partitions: partitions.length, fetchBytes: o.fetchBytes },
    };
  } finally {
    progress.stop();
    await consumer.close();
  }
}
