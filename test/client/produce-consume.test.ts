/**
 * Our producer and consumer against a real `kstream serve`: 100,000 records per codec (keys, binary values,
 * headers, explicit timestamps; some null keys, values and header values) read back identical in assign mode;
 * acks 0/1/all; delivery reports; sticky null-key partitioning; LogAppendTime; seek by offset, time and
 * relative to the end; pause/resume; unknown topics and partitions. An AbortSignal ending a waiting iteration
 * in time: consumer-abort.test.ts (run alone for its bound).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { KafkaError } from '../../src/client/errors.js';
import { Producer, type ProducerRecord, type RecordMetadata } from '../../src/client/producer.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { BufferPool } from '../../src/util/buffer-pool.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';

const N = 100_000;
let broker: BrokerProcess;
let work: string;
let admin: Admin;

function record(topic: string, i: number, base: number): ProducerRecord {
  const value = Buffer.alloc(20 + (i % 80));
  for (let j = 0; j < value.length; j++) value[j] = (i * 31 + j * 7) & 0xff;
  const headers =
    i % 3 === 0
      ? []
      : i % 3 === 1
        ? [{ key: 'h1', value: `v${i}` }]
        : [
            { key: 'trace', value: Buffer.from([i & 0xff, 0, 255]) },
            { key: 'nil', value: null },
          ];
  return {
    topic,
    key: i % 10 === 9 ? null : `key-${i % 1000}`,
    value: i % 997 === 5 ? null : value,
    headers,
    timestamp: base + i,
  };
}

function same(got: ConsumerRecord, sent: ProducerRecord, md: RecordMetadata): void {
  const buf = (v: Buffer | string | null | undefined) => (v === undefined || v === null ? null : Buffer.from(v));
  assert.equal(got.offset, md.offset);
  assert.equal(got.partition, md.partition);
  assert.deepEqual(got.key, buf(sent.key));
  assert.deepEqual(got.value, buf(sent.value));
  assert.equal(got.timestamp, BigInt(sent.timestamp as number));
  assert.deepEqual(
    got.headers.map((h) => [h.key, h.value]),
    (sent.headers ?? []).map((h) => [h.key, buf(h.value)]),
  );
}

async function consumeAll(topic: string, partitions: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ brokers: broker.bootstrap, maxWaitMs: 100 });
  consumer.assign(Array.from({ length: partitions }, (_, p) => ({ topic, partition: p, offset: 'earliest' as const })));
  const out: ConsumerRecord[] = [];
  try {
    for await (const r of consumer.records({ untilEnd: true })) out.push(r);
  } finally {
    await consumer.close();
  }
  return out;
}

describe('producer and consumer against kstream serve', () => {
  before(async () => {
    work = tempDir();
    const props = join(work, 'server.properties');
    writeFileSync(props, 'num.partitions=1\n');
    broker = await startBroker({ args: ['--config', props] });
    admin = new Admin({ brokers: broker.bootstrap });
  });

  after(async () => {
    await admin?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    test(`100,000 records with compression ${codec} round-trip identical`, async () => {
      const topic = `rt-${codec}`;
      const [created] = await admin.createTopics([{ topic, numPartitions: 3 }]);
      assert.equal(created?.error, null);
      const producer = new Producer({ brokers: broker.bootstrap, compression: codec, lingerMs: 2 });
      const base = Date.now() - 1_000_000;
      const sent = Array.from({ length: N }, (_, i) => record(topic, i, base));
      const t0 = performance.now();
      const reports = await producer.sendBatch(sent);
      const produceMs = performance.now() - t0;
      await producer.close();
      assert.equal(reports.length, N);
      const t1 = performance.now();
      const got = await consumeAll(topic, 3);
      const consumeMs = performance.now() - t1;
      assert.equal(got.length, N, 'every record read back');
      const byPosition = new Map<string, number>();
      reports.forEach((r, i) => {
        byPosition.set(`${r.partition}/${r.offset}`, i);
      });
      const perPartition = new Map<number, bigint>();
      for (const r of got) {
        const i = byPosition.get(`${r.partition}/${r.offset}`);
        assert.notEqual(i, undefined, `record at ${r.partition}/${r.offset} was produced`);
        same(r, sent[i!]!, reports[i!]!);
        const expected = perPartition.get(r.partition) ?? 0n;
        assert.equal(r.offset, expected, 'offsets contiguous from 0 per partition');
        perPartition.set(r.partition, expected + 1n);
      }
      // Keyed records all landed on their murmur2 partition; null keys were spread (sticky batches).
      assert.equal(perPartition.size, 3);
      console.log(
        `# ${codec}: produce ${Math.round(N / (produceMs / 1000))} records/s, consume ${Math.round(N / (consumeMs / 1000))} records/s`,
      );
    });
  }

  test('acks 0, 1 and all; delivery reports carry offsets and timestamps', async () => {
    const topic = 'acks';
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    for (const acks of [-1, 1] as const) {
      const producer = new Producer({ brokers: broker.bootstrap, acks });
      const before = Date.now();
      const md = await producer.send({ topic, value: `acks=${acks}` });
      assert.equal(md.topic, topic);
      assert.equal(md.partition, 0);
      assert.ok(md.offset >= 0n);
      assert.ok(md.timestamp >= BigInt(before) && md.timestamp <= BigInt(Date.now()));
      await producer.close();
    }
    const fire = new Producer({ brokers: broker.bootstrap, acks: 0 });
    const reports = await Promise.all(Array.from({ length: 10 }, (_, i) => fire.send({ topic, value: `a0-${i}` })));
    assert.ok(
      reports.every((r) => r.offset === -1n),
      'acks=0: no offsets',
    );
    await fire.close();
    const got = await consumeAll(topic, 1);
    assert.deepEqual(
      got.map((r) => r.value?.toString()),
      ['acks=-1', 'acks=1', ...Array.from({ length: 10 }, (_, i) => `a0-${i}`)],
    );
  });

  test('null keys: sticky partitioning fills batches on one partition at a time, all partitions used', async () => {
    const topic = 'sticky';
    await admin.createTopics([{ topic, numPartitions: 4 }]);
    const producer = new Producer({ brokers: broker.bootstrap, batchSize: 2000, lingerMs: 50 });
    // ~150 records per batch: ~130 batches, each next partition picked at random among the other three, so
    // missing a partition is (2/3)^130-unlikely (with 2,000 records, ~13 batches, it happened about 1 run in 10).
    const n = 20_000;
    const reports = await producer.sendBatch(Array.from({ length: n }, (_, i) => ({ topic, value: `v${i}` })));
    await producer.close();
    const used = new Set(reports.map((r) => r.partition));
    assert.equal(used.size, 4, 'every partition got some');
    let switches = 0;
    for (let i = 1; i < reports.length; i++) if (reports[i]!.partition !== reports[i - 1]!.partition) switches++;
    assert.ok(switches < n / 50, `runs of records per partition (switched ${switches} times)`);
  });

  test('batches far larger and smaller than the previous one (buffer sized from it, grown): every record, in order', async () => {
    const topic = 'batch-sizes';
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const producer = new Producer({ brokers: broker.bootstrap, lingerMs: 0, batchSize: 256 * 1024 });
    const values: Buffer[] = [];
    // 1, 3,000 (~300 KiB: grows from the 1-record batch's size past batch.size), 2, 5,000 records, one value size each.
    for (const [n, size] of [
      [1, 10],
      [3000, 100],
      [2, 7],
      [5000, 60],
    ] as const) {
      const recs = Array.from({ length: n }, (_, i) => {
        const value = Buffer.alloc(size, (values.length + i) & 0xff);
        return { topic, value };
      });
      for (const r of recs) values.push(r.value);
      await producer.sendAll(recs);
    }
    await producer.close();
    const got = await consumeAll(topic, 1);
    assert.equal(got.length, values.length);
    got.forEach((r, i) => {
      assert.ok(r.value?.equals(values[i]!), `record ${i}`);
    });
  });

  test('buffers of acknowledged batches are reused by later batches: every record as sent, for acks 1 and all', async () => {
    for (const acks of [1, -1] as const) {
      const topic = `reuse-${acks}`;
      await admin.createTopics([{ topic, numPartitions: 1 }]);
      const producer = new Producer({ brokers: broker.bootstrap, acks, lingerMs: 1, batchSize: 128 * 1024 });
      const spares = () =>
        (producer as unknown as { accumulator: { spareBuffers: BufferPool } }).accumulator.spareBuffers.idleBufferBytes;
      const values: Buffer[] = [];
      let reused = 0;
      // Rounds of ~2.5 batches each, every value distinct: a batch encoded into a buffer still being sent, or one
      // handed out twice, would show as a wrong record.
      for (let round = 0; round < 12; round++) {
        const recs = Array.from({ length: 3000 }, (_, i) => {
          const value = Buffer.alloc(90 + ((round + i) % 20));
          value.writeUInt32BE(values.length + i, 0);
          value.fill((round * 7 + i) & 0xff, 4);
          return { topic, value };
        });
        for (const r of recs) values.push(r.value);
        const before = spares();
        await producer.sendAll(recs);
        if (before > 0) reused++;
      }
      await producer.close();
      assert.ok(reused > 0, 'spare buffers were there to reuse');
      const got = await consumeAll(topic, 1);
      assert.equal(got.length, values.length);
      for (const [i, r] of got.entries()) assert.ok(r.value?.equals(values[i] as Buffer), `acks=${acks}: record ${i}`);
    }
  });

  test('sendAll, sendBatch and send interleaved in the same batches: order kept, every report right', async () => {
    const topic = 'interleaved';
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const producer = new Producer({ brokers: broker.bootstrap, lingerMs: 20, batchSize: 64 * 1024 });
    const calls: Promise<unknown>[] = [];
    const reported = new Map<string, RecordMetadata>();
    const values: string[] = [];
    for (let c = 0; c < 60; c++) {
      const n = 1 + ((c * 37) % 150);
      const recs = Array.from({ length: n }, (_, i) => ({ topic, value: `c${c}-${i}` }));
      for (const r of recs) values.push(r.value);
      if (c % 3 === 0) calls.push(producer.sendAll(recs));
      else if (c % 3 === 1) {
        calls.push(
          producer.sendBatch(recs).then((mds) => {
            assert.equal(mds.length, n);
            mds.forEach((md, i) => {
              reported.set(recs[i]!.value, md);
            });
          }),
        );
      } else {
        for (const r of recs) calls.push(producer.send(r).then((md) => reported.set(r.value, md)));
      }
    }
    const results = await Promise.all(calls);
    assert.ok(results.filter((r) => r === undefined).length > 0, 'sendAll resolves with nothing');
    await producer.close();
    const got = await consumeAll(topic, 1);
    assert.deepEqual(
      got.map((r) => r.value?.toString()),
      values,
      'records in call order',
    );
    for (const r of got) {
      const md = reported.get(r.value!.toString());
      if (md) assert.equal(md.offset, r.offset, `report of ${r.value}`);
    }
    assert.ok(reported.size > 0);
  });

  test('LogAppendTime topics report the broker time', async () => {
    const topic = 'log-append';
    const [r] = await admin.createTopics([
      { topic, numPartitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } },
    ]);
    assert.equal(r?.error, null);
    const producer = new Producer({ brokers: broker.bootstrap });
    const md = await producer.send({ topic, value: 'x', timestamp: 1000 });
    await producer.close();
    assert.ok(md.timestamp > 1_000_000n, `log append time ${md.timestamp}`);
    const [got] = await consumeAll(topic, 1);
    assert.equal(got?.timestamp, md.timestamp);
  });

  test('seek: offsets, earliest/latest, timestamps, relative to the end; position and pause/resume', async () => {
    const topic = 'seek';
    await admin.createTopics([{ topic, numPartitions: 2 }]);
    const producer = new Producer({ brokers: broker.bootstrap, lingerMs: 0 });
    const base = 1_700_000_000_000;
    const sent: ProducerRecord[] = [];
    for (let i = 0; i < 100; i++) sent.push({ topic, partition: i % 2, value: `${i}`, timestamp: base + i * 1000 });
    await producer.sendBatch(sent);
    await producer.close();

    const consumer = new Consumer({ brokers: broker.bootstrap, maxWaitMs: 100 });
    const take = async (n: number): Promise<ConsumerRecord[]> => {
      const out: ConsumerRecord[] = [];
      if (n === 0) return out;
      for await (const r of consumer.records({ untilEnd: true })) {
        out.push(r);
        if (out.length === n) break;
      }
      return out;
    };
    try {
      const p0 = { topic, partition: 0 };
      const p1 = { topic, partition: 1 };
      consumer.assign([
        { ...p0, offset: 10 },
        { ...p1, offset: 'latest' },
      ]);
      const first = await take(3);
      assert.deepEqual(
        first.map((r) => [r.partition, r.offset]),
        [
          [0, 10n],
          [0, 11n],
          [0, 12n],
        ],
      );
      assert.equal(consumer.position(p0), 13n, 'position: after the last record handed out');
      assert.equal(consumer.position(p1), 50n, 'latest = log end');

      consumer.seek(p0, { timestamp: base + 41_000 }); // record 42 (even) is the first at or after it: offset 21
      let [r] = await take(1);
      assert.deepEqual([r?.partition, r?.offset, r?.value?.toString()], [0, 21n, '42']);

      consumer.seek(p0, -3);
      consumer.seek(p1, -2);
      const tail = await take(5);
      assert.deepEqual(tail.map((x) => `${x.partition}/${x.offset}`).sort(), ['0/47', '0/48', '0/49', '1/48', '1/49']);

      consumer.seek(p0, 'earliest');
      consumer.seek(p1, 0);
      consumer.pause([p0]);
      assert.deepEqual(consumer.paused(), [p0]);
      const onlyP1 = await take(50);
      assert.ok(
        onlyP1.every((x) => x.partition === 1),
        'a paused partition yields nothing',
      );
      assert.equal(await take(0).then(() => consumer.position(p0)), 0n);
      consumer.resume([p0]);
      [r] = await take(1);
      assert.deepEqual([r?.partition, r?.offset], [0, 0n]);

      consumer.seek(p0, { timestamp: base + 10_000_000 }); // after every record: the end
      assert.deepEqual(await take(1), []);
      assert.equal(consumer.position(p0), 50n);

      // The batch iterator: whole batches, filtered to the position.
      consumer.seek(p0, 5);
      consumer.seek(p1, 50);
      let n = 0;
      let firstOffset = -1n;
      for await (const b of consumer.batches({ untilEnd: true })) {
        if (firstOffset < 0n) firstOffset = b.records[0]!.offset;
        n += b.records.length;
        assert.equal(b.highWatermark, 50n);
      }
      assert.equal(firstOffset, 5n);
      assert.equal(n, 45);
    } finally {
      await consumer.close();
    }
  });

  test('leaving an iteration midway and starting again continues exactly after the last record handed out', async () => {
    const topic = 'resume';
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const producer = new Producer({ brokers: broker.bootstrap, batchSize: 4096 });
    await producer.sendBatch(Array.from({ length: 3000 }, (_, i) => ({ topic, value: `${i}` })));
    await producer.close();
    const consumer = new Consumer({ brokers: broker.bootstrap, maxWaitMs: 100, maxPartitionBytes: 16384 });
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const seen: bigint[] = [];
    try {
      for (const n of [3, 10, 1, 500]) {
        let k = 0;
        for await (const r of consumer.records()) {
          seen.push(r.offset);
          if (++k === n) break;
        }
        assert.equal(consumer.position({ topic, partition: 0 }), BigInt(seen.length));
      }
      for (const n of [1, 3]) {
        let k = 0;
        for await (const b of consumer.batches()) {
          for (const r of b.records) seen.push(r.offset);
          if (++k === n) break;
        }
        assert.equal(consumer.position({ topic, partition: 0 }), BigInt(seen.length));
      }
      for await (const r of consumer.records({ untilEnd: true })) seen.push(r.offset);
    } finally {
      await consumer.close();
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 3000 }, (_, i) => BigInt(i)),
    );
  });

  test('unknown topics and partitions: clear per-record errors', async () => {
    const producer = new Producer({
      brokers: broker.bootstrap,
      allowAutoTopicCreation: false,
      metadataTimeoutMs: 800,
    });
    try {
      await assert.rejects(
        producer.send({ topic: 'no-such-topic', value: 'x' }),
        (e: unknown) =>
          e instanceof KafkaError &&
          e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
          /topic no-such-topic not present in metadata after \d+ ms/.test(e.message),
      );
      await assert.rejects(
        producer.send({ topic: 'acks', partition: 7, value: 'x' }),
        /UNKNOWN_TOPIC_OR_PARTITION: partition 7 of topic acks does not exist \(it has 1\)/,
      );
      // The producer still works for good records.
      assert.ok((await producer.send({ topic: 'acks', value: 'fine' })).offset > 0n);
      await assert.rejects(
        producer.send({ topic: 'bad topic name!', value: 'x' }),
        /INVALID_TOPIC_EXCEPTION|UNKNOWN_TOPIC/,
      );
    } finally {
      await producer.close();
    }
    const big = new Producer({ brokers: broker.bootstrap, maxRequestSize: 1000 });
    await assert.rejects(big.send({ topic: 'acks', value: Buffer.alloc(5000) }), /MESSAGE_TOO_LARGE/);
    await big.close();
  });
});
