/**
 * `kstream bench produce`: like kafka-producer-perf-test. N producer instances (one event loop) each send their
 * share of the records, as fast as possible or paced to a total --throughput, and report records/s, MB/s and
 * latency (send → acknowledged).
 *
 * The payload is constant, so every record is the SAME ProducerRecord object with ONE value buffer (the
 * producer copies it into the batch when it is appended), and records go in with sendAll() on one reused
 * array: the benchmark itself allocates nothing per record. Latency is taken per sendAll() chunk (the time
 * until every record of the chunk is acknowledged, i.e. the chunk's slowest record, counted once per record),
 * like the Java tool's sampling it does not time each record alone.
 */
import { Producer, type ProducerRecord } from '../client/producer.js';
import {
  type BenchResult,
  benchClientOptions,
  createHistogram,
  ensureTopic,
  type LatencyHistogram,
  type ProducingOptions,
  Progress,
  payload,
  rates,
  setupDeadline,
  sleep,
  summarize,
} from './common.js';

export interface ProduceBenchOptions extends ProducingOptions {
  producers: number;
  /** Transactional: producer instance i uses `${transactionalId}-${i}`, committing every txnSize records. */
  transactionalId?: string;
  txnSize?: number;
}

/** Records handed to sendAll() at once: about one batch of them, at most 1,000. */
export function chunkSize(batchSize: number, recordSize: number): number {
  return Math.max(1, Math.min(1000, Math.floor(batchSize / (recordSize + 12))));
}

interface Shared {
  hist: LatencyHistogram;
  acked: number;
}

async function runOne(
  producer: Producer,
  record: ProducerRecord,
  count: number,
  perSecond: number,
  chunk: number,
  maxOutstanding: number,
  shared: Shared,
  txnSize = 0,
): Promise<void> {
  if (txnSize > 0)
    return runTransactions(producer, record, count, perSecond, Math.min(chunk, txnSize), txnSize, shared);
  const full: ProducerRecord[] = new Array(chunk).fill(record);
  let sent = 0;
  let outstanding = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const start = performance.now();
  await producer.connect();
  while (sent < count) {
    if (failure) throw failure;
    const k = Math.min(chunk, count - sent);
    if (perSecond > 0) {
      const due = start + (sent * 1000) / perSecond;
      const now = performance.now();
      if (due > now + 1) await sleep(due - now);
    }
    while (outstanding + k > maxOutstanding && !failure) {
      await new Promise<void>((r) => {
        wake = r;
      });
    }
    if (failure) throw failure;
    const t0 = performance.now();
    outstanding += k;
    sent += k;
    producer.sendAll(k === chunk ? full : full.slice(0, k)).then(
      () => {
        shared.hist.recordValueWithCount(Math.max(1, Math.round((performance.now() - t0) * 1000)), k);
        shared.acked += k;
        outstanding -= k;
        const w = wake;
        wake = null;
        w?.();
      },
      (e: Error) => {
        failure ??= e;
        const w = wake;
        wake = null;
        w?.();
      },
    );
  }
  await producer.flush();
  if (failure) throw failure;
}

/**
 * Transactions of txnSize records, one after the other (as kafka-producer-perf-test with --transactional-id):
 * begin, hand the records over in chunks, commit (which flushes them and writes the markers). A record counts
 * as acknowledged when its transaction commits; latency is per transaction, from its first record to its commit.
 */
async function runTransactions(
  producer: Producer,
  record: ProducerRecord,
  count: number,
  perSecond: number,
  chunk: number,
  txnSize: number,
  shared: Shared,
): Promise<void> {
  const full: ProducerRecord[] = new Array(chunk).fill(record);
  let sent = 0;
  const start = performance.now();
  while (sent < count) {
    const size = Math.min(txnSize, count - sent);
    if (perSecond > 0) {
      const due = start + (sent * 1000) / perSecond;
      const now = performance.now();
      if (due > now + 1) await sleep(due - now);
    }
    const t0 = performance.now();
    producer.beginTransaction();
    const sends: Promise<unknown>[] = [];
    for (let done = 0; done < size; done += chunk) {
      const k = Math.min(chunk, size - done);
      sends.push(producer.sendAll(k === chunk ? full : full.slice(0, k)));
    }
    await producer.commitTransaction();
    await Promise.all(sends);
    sent += size;
    shared.hist.recordValueWithCount(Math.max(1, Math.round((performance.now() - t0) * 1000)), size);
    shared.acked += size;
  }
}

export async function runProduceBench(o: ProduceBenchOptions): Promise<BenchResult> {
  // Topic, connections and metadata within --timeout; the measured sending after them is not bounded by it.
  const within = setupDeadline(o);
  await ensureTopic(o, o.topic, o.partitions, within);
  const value = payload(o.recordSize);
  const record: ProducerRecord = { topic: o.topic, value };
  const chunk = chunkSize(o.batchSize, o.recordSize);
  // The producer's own buffer is 32 MiB: keep up to 3/4 of it in records outstanding per producer, so that
  // records go straight into batches (a full buffer parks every further record in the producer's backlog).
  const maxOutstanding = Math.max(chunk * 4, Math.floor((24 * 1024 * 1024) / (o.recordSize + 16)));
  const producers = Array.from(
    { length: o.producers },
    (_, i) =>
      new Producer({
        ...benchClientOptions(o),
        clientId: `kstream-bench-${i}`,
        acks: o.acks,
        compression: o.compression,
        batchSize: o.batchSize,
        lingerMs: o.lingerMs,
        maxInFlight: o.maxInFlight ?? 5,
        // Off when asked; else the client's default (on with acks all and at most 5 in flight).
        ...(o.idempotence === false ? { idempotent: false } : {}),
        ...(o.transactionalId !== undefined ? { transactionalId: `${o.transactionalId}-${i}` } : {}),
      }),
  );
  const shared: Shared = { hist: await createHistogram(), acked: 0 };
  const progress = new Progress('produce', o.records, () => shared.acked);
  try {
    await within(
      (async () => {
        await Promise.all(producers.map((p) => p.connect()));
        if (o.transactionalId !== undefined) await Promise.all(producers.map((p) => p.initTransactions()));
        // The topic's partitions and leaders known before the clock starts (else the first records wait for them).
        await Promise.all(producers.map((p) => p.cluster.metadataFor([o.topic])));
      })(),
    );
    const base = Math.floor(o.records / o.producers);
    const perSecond = o.throughput > 0 ? o.throughput / o.producers : 0;
    if (o.progress !== false) progress.start();
    const start = performance.now();
    await Promise.all(
      producers.map((p, i) =>
        runOne(
          p,
          record,
          base + (i < o.records % o.producers ? 1 : 0),
          perSecond,
          chunk,
          maxOutstanding,
          shared,
          o.transactionalId !== undefined ? (o.txnSize ?? 1000) : 0,
        ),
      ),
    );
    const elapsedMs = performance.now() - start;
    progress.stop();
    const bytes = shared.acked * o.recordSize;
    return {
      bench: 'produce',
      topic: o.topic,
      records: shared.acked,
      bytes,
      elapsedMs: Math.round(elapsedMs * 1000) / 1000,
      ...rates(shared.acked, bytes, elapsedMs),
      latencyMs: summarize(shared.hist),
      config: {
        recordSize: o.recordSize,
        partitions: o.partitions,
        acks: o.acks === -1 ? 'all' : o.acks,
        compression: o.compression,
        batchSize: o.batchSize,
        lingerMs: o.lingerMs,
        maxInFlight: o.maxInFlight ?? 5,
        idempotence: producers[0]?.idempotence?.disabled === false,
        ...(o.transactionalId !== undefined ? { transactionSize: o.txnSize ?? 1000 } : {}),
        throughput: o.throughput,
        producers: o.producers,
        chunk,
      },
    };
  } finally {
    progress.stop();
    await Promise.allSettled(producers.map((p) => p.close()));
  }
}
