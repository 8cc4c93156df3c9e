/**
 * The producer's accumulator on its own (no broker, no sender): which batches are ready when (linger,
 * batch.size, flush, retry backoff, delivery timeout), how records are cut into batches, the order of retried
 * batches, buffer memory and the reuse of acknowledged batches' buffers. Time is node:test's mock clock; the
 * sender is a recorder of the wake-ups the accumulator asks for. Topic metadata is put in the client's cache.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Cluster, ZERO_UUID } from '../../src/client/cluster.js';
import {
  type AccumulatorOptions,
  type DrainTrigger,
  type ProducerRecord,
  RecordAccumulator,
} from '../../src/client/producer/accumulator.js';
import type { ProducerBatch } from '../../src/client/producer/batch.js';
import { DeliveryGroup, type RecordMetadata } from '../../src/client/producer/delivery.js';
import { Compression } from '../../src/protocol/records/batch.js';
import { decodeBatch } from '../../src/protocol/records/record.js';

const T0 = 1_700_000_000_000;
const FAR = 1e12; // an expiry age that never applies

class Wakeups implements DrainTrigger {
  readonly at: number[] = [];
  soon = 0;
  schedule(at: number): void {
    this.at.push(at);
  }
  drainSoon(): void {
    this.soon++;
  }
}

function clusterWith(topic: string, partitions: number): Cluster {
  const cluster = new Cluster({ brokers: '127.0.0.1:1' });
  cluster.topics.set(topic, {
    name: topic,
    topicId: ZERO_UUID,
    isInternal: false,
    partitions: Array.from({ length: partitions }, (_, i) => ({
      partition: i,
      leader: 1,
      leaderEpoch: 0,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
      errorCode: 0,
    })),
  });
  return cluster;
}

function accumulator(opts: Partial<AccumulatorOptions> = {}, partitions = 1) {
  const cluster = clusterWith('t', partitions);
  const wakeups = new Wakeups();
  const acc = new RecordAccumulator(
    cluster,
    {
      lingerMs: 50,
      batchSize: 16_384,
      compression: Compression.None,
      compressionLevel: undefined,
      maxRequestSize: 1024 * 1024,
      bufferMemory: 32 * 1024 * 1024,
      metadataTimeoutMs: 60_000,
      partitioner: undefined,
      ...opts,
    },
    () => Promise.reject(new Error('no connecting in these tests')),
  );
  acc.trigger = wakeups;
  return { acc, wakeups, cluster };
}

/** Append records to partition 0; the promise settles when all are delivered (or one fails). */
function append(acc: RecordAccumulator, records: ProducerRecord[]): Promise<RecordMetadata[]> {
  return new Promise((resolve, reject) =>
    acc.appendAll(records, new DeliveryGroup(records.length, true, resolve, reject)),
  );
}

function records(n: number, valueBytes: number, from = 0): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: 't',
    partition: 0,
    value: Buffer.alloc(valueBytes, (from + i) & 0xff),
  }));
}

/** The values of a batch's records, decoded from its bytes. */
async function valuesOf(b: ProducerBatch): Promise<number[]> {
  const decoded = await decodeBatch(await b.bytes());
  return decoded.records.map((r) => r.value![0]!);
}

describe('producer accumulator', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: T0 }));
  afterEach(() => mock.timers.reset());

  test('linger: a batch is ready lingerMs after its first record, not before; the sender is woken for that time', () => {
    const { acc, wakeups } = accumulator({ lingerMs: 50 });
    void append(acc, records(3, 10));
    assert.deepEqual(wakeups.at, [T0 + 50], 'one wake-up, at the end of the linger');
    assert.equal(wakeups.soon, 0);

    let r = acc.ready(Date.now(), FAR);
    assert.equal(r.ready.length, 0);
    assert.equal(r.nextWake, T0 + 50);

    mock.timers.tick(49);
    void append(acc, records(2, 10, 3)); // into the same open batch: no new wake-up
    assert.deepEqual(wakeups.at, [T0 + 50]);
    r = acc.ready(Date.now(), FAR);
    assert.equal(r.ready.length, 0, 'still lingering at 49 ms');

    mock.timers.tick(1);
    r = acc.ready(Date.now(), FAR);
    assert.equal(r.ready.length, 1, 'ready at 50 ms');
    assert.equal(r.ready[0]!.recordCount, 5);
    assert.equal(r.nextWake, Number.POSITIVE_INFINITY);
  });

  test('flush and close make a lingering batch ready at once', () => {
    const { acc } = accumulator({ lingerMs: 10_000 });
    void append(acc, records(1, 10));
    assert.equal(acc.ready(Date.now(), FAR).ready.length, 0);
    acc.flushing++;
    assert.equal(acc.ready(Date.now(), FAR).ready.length, 1, 'flushing');
    acc.flushing--;
    assert.equal(acc.ready(Date.now(), FAR).ready.length, 0);
    acc.closing = true;
    assert.equal(acc.ready(Date.now(), FAR).ready.length, 1, 'closing');
  });

  test('batch.size: a batch is sealed before a record would overflow it, and is ready before the linger ends', async () => {
    const batchSize = 1000;
    const { acc, wakeups } = accumulator({ lingerMs: 10_000, batchSize });
    void append(acc, records(20, 100));
    const r = acc.ready(Date.now(), FAR);
    assert.equal(r.ready.length, 1, 'the full head is ready without waiting 10 s');
    const first = r.ready[0]!;
    assert.ok(first.sealed);
    assert.ok(first.size <= batchSize, `size ${first.size} within batch.size`);
    assert.ok(first.size + 124 > batchSize, `sealed only when the next record (~124 B) did not fit: ${first.size}`);
    // Every record in exactly one batch, in order: the first batch has the first ones.
    const n = first.recordCount;
    assert.deepEqual(
      await valuesOf(first),
      Array.from({ length: n }, (_, i) => i),
    );
    // Each new batch asked for a wake-up at its linger end.
    assert.equal(wakeups.at.length, Math.ceil(20 / n));
    acc.take(first);
    const next = acc.ready(Date.now(), FAR).ready[0]!;
    assert.ok(next.sealed, 'the second batch was sealed as full too');
    assert.deepEqual(
      await valuesOf(next),
      Array.from({ length: n }, (_, i) => n + i),
    );
  });

  test('a batch that reaches batch.size on an append wakes the sender at once', () => {
    const { acc, wakeups } = accumulator({ lingerMs: 10_000, batchSize: 200 });
    void append(acc, records(1, 10));
    assert.equal(wakeups.soon, 0);
    void append(acc, [{ topic: 't', partition: 0, value: Buffer.alloc(150) }]);
    assert.equal(wakeups.soon, 1, 'drainSoon once the batch is full');
    assert.equal(acc.ready(Date.now(), FAR).ready.length, 1);
  });

  test('retries: a requeued batch waits out its backoff and goes back in creation order', async () => {
    const { acc } = accumulator({ lingerMs: 0, batchSize: 200 });
    void append(acc, records(6, 100)); // one record per batch: 6 batches
    const sent: ProducerBatch[] = [];
    for (let i = 0; i < 4; i++) {
      const head = acc.ready(Date.now(), FAR).ready[0]!;
      acc.take(head);
      sent.push(head);
    }
    // Answers come back out of order; batches 1, 3 and 0 are retried after a backoff.
    for (const b of [sent[1]!, sent[3]!, sent[0]!]) {
      b.retryAt = Date.now() + 100;
      acc.requeue(b);
    }
    let r = acc.ready(Date.now(), FAR);
    assert.equal(r.ready.length, 0, 'the retried head waits for its backoff');
    assert.equal(r.nextWake, T0 + 100);
    mock.timers.tick(100);
    const order: number[] = [];
    for (;;) {
      r = acc.ready(Date.now(), FAR);
      const head = r.ready[0];
      if (!head) break;
      acc.take(head);
      order.push((await valuesOf(head))[0]!);
    }
    assert.deepEqual(order, [0, 1, 3, 4, 5], 'retried batches in creation order, before the never-sent ones');
  });

  test('delivery timeout: heads older than the age asked for come back as expired, off their queue', () => {
    const { acc } = accumulator({ lingerMs: 10_000, batchSize: 200 });
    void append(acc, records(2, 100));
    mock.timers.tick(500);
    void append(acc, records(1, 100, 2));
    mock.timers.tick(600);
    const r = acc.ready(Date.now(), 1000);
    assert.deepEqual(
      r.expired.map((b) => b.createdAt),
      [T0, T0],
      'the two batches of 1,100 ms expired',
    );
    assert.equal(r.ready.length, 0, 'the 600 ms old batch is neither expired nor ready');
    assert.equal(acc.ready(Date.now(), FAR).nextWake, T0 + 500 + 10_000, 'it is the head now');
  });

  test('bufferMemory: records beyond it wait in the backlog, in order, until a batch is released', async () => {
    mock.timers.reset(); // the backlog waits on promises, not on the clock
    const { acc, wakeups } = accumulator({ lingerMs: 0, batchSize: 2000, bufferMemory: 3000 });
    const delivered: number[] = [];
    const appended = records(40, 100).map((r, i) =>
      append(acc, [r]).then(() => {
        delivered.push(i);
      }),
    );
    assert.equal(acc.outstanding, 40, 'all 40 outstanding, buffered or waiting');
    const inBatches = () => {
      let n = 0;
      for (const b of acc.ready(Date.now(), FAR).ready) n += b.recordCount;
      return n;
    };
    const buffered = inBatches();
    assert.ok(buffered > 0 && buffered < 40, `only ${buffered} fit in 3,000 bytes`);
    await new Promise((r) => setImmediate(r));
    assert.ok(wakeups.soon > 0, 'the backlog asked the sender to drain');
    // Acknowledge batches one by one: the backlog moves in as space frees up, every record once and in order.
    let offset = 0n;
    const seen: number[] = [];
    while (acc.outstanding > 0) {
      const head = acc.ready(Date.now(), FAR).ready[0];
      if (!head) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      acc.take(head);
      seen.push(...(await valuesOf(head)));
      head.deliver(offset, -1n);
      offset += BigInt(head.recordCount);
      acc.release(head, true);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(appended);
    assert.deepEqual(
      seen,
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.deepEqual(
      delivered,
      Array.from({ length: 40 }, (_, i) => i),
    );
  });

  test("an acknowledged batch's buffer is encoded into by a later batch (not when the request had no answer)", async () => {
    for (const reuse of [true, false]) {
      const { acc } = accumulator({ lingerMs: 0, batchSize: 128 * 1024 });
      void append(acc, records(1000, 100));
      const first = acc.ready(Date.now(), FAR).ready[0]!;
      acc.take(first);
      const firstBytes = await first.bytes();
      first.deliver(0n, -1n);
      acc.release(first, reuse);
      void append(acc, records(1000, 100, 1000));
      // The rest of the first call's records and the new ones: the next batch started after the release.
      let last: ProducerBatch | undefined;
      for (let head = acc.ready(Date.now(), FAR).ready[0]; head; head = acc.ready(Date.now(), FAR).ready[0]) {
        acc.take(head);
        last = head;
      }
      const lastBytes = await last!.bytes();
      assert.equal(lastBytes.buffer === firstBytes.buffer, reuse, `reuse=${reuse}`);
    }
  });

  test('batches far below batch.size (transactions of 1,000 records) are sent from their spare buffer, not a copy of it', async () => {
    // As `bench produce --transactional-id --txn-size 1000`: each batch is 1,000 records of 100 B (~112 KB)
    // sent at once with batch.size 1 MiB. Its buffer (the spare buffers' 64 KB granule: 192 KB) is more than
    // 1.5 times the batch; the bytes sent must still be that buffer, so that the next batch encodes into it
    // again, instead of a fresh copy (and a fresh buffer) per batch (issue 17).
    const { acc } = accumulator({ lingerMs: 0, batchSize: 1024 * 1024 });
    const buffers: ArrayBuffer[] = [];
    for (let i = 0; i < 4; i++) {
      void append(acc, records(1000, 100, i));
      const b = acc.ready(Date.now(), FAR).ready[0]!;
      acc.take(b);
      const bytes = await b.bytes();
      assert.equal(b.recordCount, 1000);
      assert.deepEqual((await decodeBatch(bytes)).records.length, 1000);
      buffers.push(bytes.buffer as ArrayBuffer);
      b.deliver(BigInt(i * 1000), -1n);
      acc.release(b, true);
    }
    // The first batch's buffer was sized before any batch was seen; from the second one on, one buffer.
    assert.equal(buffers[2], buffers[1], "the third batch reuses the second one's buffer");
    assert.equal(buffers[3], buffers[1], 'the fourth batch reuses it too');
  });
});
