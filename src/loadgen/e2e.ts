/**
 * `kstream bench e2e`: produce→consume latency. A producer sends at --throughput records/s, paced in rounds of
 * about a millisecond (every record due by then, in one send call), each value stamped with its send time (float64 little-endian epoch milliseconds with microsecond precision, in the value's
 * first 8 bytes); a consumer in the same process, assigned to every partition at its current end, records
 * (receive time − stamp) of every record in an HDR histogram.
 *
 * The clock starts once the consumer is ready: it has a position and has had a first fetch answered for every
 * partition, so the consumer's start-up (metadata, connection) is not counted as latency. `warmupRecords`
 * (the idea of the --warmup-records option proposed for kafka-producer-perf-test): the first
 * records are sent and consumed like the others, but their latency goes to a separate histogram
 * (`warmupLatencyMs`), so a cold process (JIT, first allocations) is reported apart from the steady state.
 */
import { Consumer } from '../client/consumer.js';
import { Producer, type ProducerRecord } from '../client/producer.js';
import {
  type BenchResult,
  benchAdmin,
  benchClientOptions,
  createHistogram,
  ensureTopic,
  type ProducingOptions,
  Progress,
  payload,
  rates,
  setupDeadline,
  sleep,
  summarize,
} from './common.js';

/** `recordSize` is at least 8 (the timestamp). */
export interface E2eBenchOptions extends ProducingOptions {
  /** Records at the start whose latency is reported separately (warmupLatencyMs). Default 0. */
  warmupRecords?: number;
  /** Give up waiting for the consumer after this long without progress. */
  idleTimeoutMs?: number;
}

/** Pause between paced sending rounds (a timer fires after >= 1 ms). */
const SEND_TICK_MS = 1;

const nowMs = () => performance.timeOrigin + performance.now();

export async function runE2eBench(o: E2eBenchOptions): Promise<BenchResult> {
  if (o.recordSize < 8) throw new RangeError('--record-size must be at least 8 for e2e (the send timestamp)');
  // Topic, end offsets and connections within --timeout; the measured phase after them is not bounded by it.
  const within = setupDeadline(o);
  await ensureTopic(o, o.topic, o.partitions, within);
  const admin = benchAdmin(o);
  let ends: { partition: number; high: bigint }[];
  try {
    ends = await within(
      (async () => {
        const offs = await admin.fetchTopicOffsets([o.topic]);
        for (const p of offs) if (p.error) throw p.error;
        return offs.map((p) => ({ partition: p.partition, high: p.high }));
      })(),
    );
  } finally {
    await admin.close().catch(() => {});
  }
  const consumer = new Consumer({ ...benchClientOptions(o), clientId: 'kstream-bench-e2e', maxWaitMs: 100 });
  const producer = new Producer({
    ...benchClientOptions(o),
    clientId: 'kstream-bench-e2e',
    acks: o.acks,
    compression: o.compression,
    batchSize: o.batchSize,
    lingerMs: o.lingerMs,
    maxInFlight: o.maxInFlight ?? 5,
    ...(o.idempotence === false ? { idempotent: false } : {}),
  });
  const hist = await createHistogram();
  const warmHist = await createHistogram();
  const warmup = Math.max(0, Math.min(o.warmupRecords ?? 0, o.records));
  /** Send stamp of the first measured record (records stamped earlier are warm-up); null while warming up. */
  let measureFrom: number | null = warmup === 0 ? 0 : null;
  let lastStamp = 0;
  const template = payload(o.recordSize);
  let sent = 0;
  let consumed = 0;
  let bytes = 0;
  let failure: Error | null = null;
  const progress = new Progress('e2e', o.records, () => consumed);
  try {
    await within(Promise.all([consumer.connect(), producer.connect()]));
    consumer.assign(ends.map((e) => ({ topic: o.topic, partition: e.partition, offset: e.high })));
    await consumerReady(
      consumer,
      o.topic,
      ends.map((e) => e.partition),
    );
    let lastProgress = performance.now();
    const reading = (async () => {
      // Ended by closing the consumer (an AbortSignal would get a listener per wait in the client).
      for await (const b of consumer.batches()) {
        const t = nowMs();
        for (const r of b.records) {
          const v = r.value;
          if (!v || v.length < 8) continue;
          const stamp = v.readDoubleLE(0);
          const us = Math.max(1, Math.round((t - stamp) * 1000));
          if (measureFrom !== null && stamp >= measureFrom) hist.recordValue(us);
          else warmHist.recordValue(us);
          bytes += v.length;
          consumed++;
        }
        lastProgress = performance.now();
        if (consumed >= o.records) break;
      }
    })();
    if (o.progress !== false) progress.start();
    const start = performance.now();
    // Paced sending: each round sends what is due by now (at most 5,000 records), then waits for the next
    // millisecond tick (a timer) while paced, or only yields (setImmediate) while unlimited or behind. Like
    // kafka-producer-perf-test's ThroughputThrottler (which sleeps only once it is 2 ms ahead), the records of
    // a tick go out together; a round right after the previous one (setImmediate) sent ~10 records per
    // Produce request, ~10,000 requests and as many fetch wake-ups per second at 100k records/s, keeping
    // both processes busy and lengthening the tail. A record's latency still starts at its send() call.
    while (sent < o.records) {
      if (failure) throw failure;
      const due =
        o.throughput > 0
          ? Math.min(o.records, Math.floor(((performance.now() - start) * o.throughput) / 1000) + 1)
          : o.records;
      if (due <= sent) {
        await sleep(1);
        continue;
      }
      if (producer.pendingRecords > 200_000) {
        await sleep(1);
        continue;
      }
      // A round never straddles the end of the warm-up: its records share one stamp.
      const k = Math.min(due - sent, 5000, sent < warmup ? warmup - sent : Number.POSITIVE_INFINITY);
      // Strictly increasing stamps, so that no warm-up record shares the first measured record's stamp.
      const stamp = Math.max(nowMs(), lastStamp + 0.001);
      lastStamp = stamp;
      if (measureFrom === null && sent >= warmup) measureFrom = stamp;
      // The records of a round share one stamp, hence one value and one record object: the producer copies
      // the bytes into its batch and never changes a record. (A Buffer and an object per record were ~200
      // bytes of garbage per record, a third of this process's allocations: more scavenges, a longer tail.)
      const value = Buffer.from(template);
      value.writeDoubleLE(stamp, 0);
      const batch: ProducerRecord[] = new Array<ProducerRecord>(k).fill({ topic: o.topic, value });
      sent += k;
      producer.sendAll(batch).catch((e: Error) => {
        failure ??= e;
      });
      if (o.throughput > 0 && sent >= due) await sleep(SEND_TICK_MS);
      else await new Promise<void>((r) => setImmediate(r));
    }
    await producer.flush();
    if (failure) throw failure;
    lastProgress = performance.now();
    const idle = o.idleTimeoutMs ?? 30_000;
    while (consumed < o.records && performance.now() - lastProgress < idle) await sleep(5);
    const elapsedMs = performance.now() - start;
    await consumer.close();
    await reading;
    progress.stop();
    return {
      bench: 'e2e',
      topic: o.topic,
      records: sent,
      consumed,
      bytes,
      elapsedMs: Math.round(elapsedMs * 1000) / 1000,
      ...rates(consumed, bytes, elapsedMs),
      latencyMs: summarize(hist),
      ...(warmup > 0 ? { warmupLatencyMs: summarize(warmHist) } : {}),
      config: {
        recordSize: o.recordSize,
        partitions: o.partitions,
        acks: o.acks === -1 ? 'all' : o.acks,
        compression: o.compression,
        batchSize: o.batchSize,
        lingerMs: o.lingerMs,
        maxInFlight: o.maxInFlight ?? 5,
        throughput: o.throughput,
        warmupRecords: warmup,
      },
    };
  } finally {
    progress.stop();
    await Promise.allSettled([producer.close(), consumer.close()]);
  }
}

/**
 * Wait (at most 10 s) until every partition has a position and a first fetch answered (its high watermark is
 * known), so that the next fetch is already waiting on the broker when the first record is sent.
 */
async function consumerReady(consumer: Consumer, topic: string, partitions: number[]): Promise<void> {
  const until = performance.now() + 10_000;
  const ready = () =>
    partitions.every((partition) => {
      const tp = { topic, partition };
      return consumer.position(tp) !== null && (consumer.watermarks(tp)?.highWatermark ?? -1n) >= 0n;
    });
  while (!ready() && performance.now() < until) await sleep(2);
}
