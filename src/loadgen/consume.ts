/**
 * `kstream bench consume`: reads --records records of a topic from the beginning (every partition, assign
 * mode, no group) as fast as possible with Consumer.batches(), and reports records/s and MB/s.
 */
import { Consumer } from '../client/consumer.js';
import {
  type BenchConnection,
  type BenchResult,
  benchAdmin,
  benchClientOptions,
  Progress,
  rates,
  setupDeadline,
} from './common.js';

export interface ConsumeBenchOptions extends BenchConnection {
  topic: string;
  /** Stop after this many records (or at the end of the topic if it has fewer). */
  records: number;
  /** Per partition per fetch. */
  fetchBytes: number;
  progress?: boolean;
}

export async function runConsumeBench(o: ConsumeBenchOptions): Promise<BenchResult & { endOfTopic: boolean }> {
  // The topic's partitions and the consumer's connection within --timeout; the measured reading is not bounded.
  const within = setupDeadline(o);
  const admin = benchAdmin(o);
  let partitions: number[];
  try {
    partitions = await within(
      (async () => {
        const [desc] = await admin.describeTopics([o.topic]);
        if (!desc || desc.error) throw desc?.error ?? new Error(`topic ${o.topic} not found`);
        return desc.partitions.map((p) => p.partition);
      })(),
    );
  } finally {
    await admin.close().catch(() => {});
  }
  const consumer = new Consumer({
    ...benchClientOptions(o),
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
    await within(consumer.connect());
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
