/**
 * Fetch and ListOffsets semantics through the wire: long poll woken by an append, min_bytes, partition and
 * response max_bytes (first batch always whole), offsets out of range, ListOffsets earliest/latest/by time/
 * max timestamp, LogAppendTime topics, auto creation off.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch, decodeRecordSet } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: BrokerProcess;
let c: RawClient;
let work: string;

async function createTopic(name: string, partitions: number, configs: Record<string, string> = {}) {
  const r = await c.request(ApiKey.CreateTopics, 5, {
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return r.topics[0] as Struct;
}

async function produce(topic: string, partition: number, values: string[], timestamps?: bigint[]) {
  const records = await buildBatch({
    records: values.map((v, i) => ({ key: null, value: Buffer.from(v), timestamp: timestamps?.[i] })),
  });
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return r.responses[0].partitionResponses[0] as Struct;
}

function fetchReq(topic: string, parts: { partition: number; offset: bigint; max?: number }[], o: Struct = {}) {
  return c.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: o.minBytes ?? 0,
    maxBytes: o.maxBytes ?? 50 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: parts.map((p) => ({
          partition: p.partition,
          fetchOffset: p.offset,
          partitionMaxBytes: p.max ?? 1024 * 1024,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
}

async function listOffset(topic: string, partition: number, timestamp: bigint, version = 7) {
  const r = await c.request(ApiKey.ListOffsets, version, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      { name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] },
    ],
  });
  return r.topics[0].partitions[0] as Struct;
}

describe('fetch and list offsets', () => {
  before(async () => {
    work = tempDir();
    writeFileSync(join(work, 'server.properties'), 'auto.create.topics.enable=false\n');
    broker = await startBroker({ args: ['--config', join(work, 'server.properties')] });
    c = await RawClient.connect(broker.port);
  });
  after(async () => {
    c?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('auto creation off: metadata and produce for a missing topic get UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const md = await c.request(ApiKey.Metadata, 12, {
      topics: [{ name: 'nope', topicId: '0'.repeat(32) }],
      allowAutoTopicCreation: true,
    });
    assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce('nope', 0, ['x'])).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('a long poll is woken by an append and returns the new record', async () => {
    assert.equal((await createTopic('poll', 1)).errorCode, 0);
    const waiting = fetchReq('poll', [{ partition: 0, offset: 0n }], { maxWaitMs: 30_000, minBytes: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const producedAt = Date.now();
    assert.equal((await produce('poll', 0, ['wake up'])).errorCode, 0);
    // A second connection's produce must wake the first connection's fetch; the pipelined produce above
    // shares a connection, so also check the fetch answer arrived with the record.
    const r = await waiting;
    // Woken by the append, not answered at its 30 s deadline (which would also carry the record): this is a
    // bound on behaviour, far from the deadline, not a speed measurement.
    const wokenAfter = Date.now() - producedAt;
    assert.ok(wokenAfter < 10_000, `the long poll was answered ${wokenAfter} ms after the append`);
    const recs = await decodeRecordSet(r.responses[0].partitions[0].records);
    assert.deepEqual(
      recs.map((x) => x.value?.toString()),
      ['wake up'],
    );
  });

  test('pipelined requests on one connection are answered in request order', async () => {
    const order: string[] = [];
    const slow = fetchReq('poll', [{ partition: 0, offset: 1n }], { maxWaitMs: 400, minBytes: 1 }).then(() =>
      order.push('fetch'),
    );
    const fast = c
      .request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
      .then(() => order.push('apiVersions'));
    const md = c.request(ApiKey.Metadata, 1, { topics: null }).then(() => order.push('metadata'));
    await Promise.all([slow, fast, md]);
    assert.deepEqual(order, ['fetch', 'apiVersions', 'metadata']);
  });

  test('large produce requests (read in many socket chunks) are stored as sent, one after another and pipelined', async () => {
    // The broker assembles a produce frame that spans socket reads in a buffer it reuses for the next one
    // once the request is answered: smaller, larger, then three in flight at once (acks=all waits for fsync).
    assert.equal((await createTopic('big', 1)).errorCode, 0);
    const sizes = [300_000, 200_000, 400_000, 250_000, 350_000, 150_000];
    const values = sizes.map((n, i) => Buffer.alloc(n, String.fromCharCode(97 + i)));
    const send = async (v: Buffer, acks: number) => {
      const records = await buildBatch({ records: [{ key: null, value: v }] });
      const r = await c.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks,
        timeoutMs: 5000,
        topicData: [{ name: 'big', partitionData: [{ index: 0, records }] }],
      });
      return r.responses[0].partitionResponses[0] as Struct;
    };
    for (const v of values.slice(0, 3)) assert.equal((await send(v, 1)).errorCode, 0);
    const inFlight = await Promise.all(values.slice(3).map((v) => send(v, -1)));
    assert.deepEqual(
      inFlight.map((p) => [p.errorCode, p.baseOffset]),
      [
        [0, 3n],
        [0, 4n],
        [0, 5n],
      ],
    );
    const got: Buffer[] = [];
    while (got.length < values.length) {
      const r = await fetchReq('big', [{ partition: 0, offset: BigInt(got.length), max: 1 }]);
      for (const rec of await decodeRecordSet(r.responses[0].partitions[0].records)) got.push(rec.value as Buffer);
    }
    assert.equal(got.length, values.length);
    for (const [i, v] of got.entries())
      assert.ok(v.equals(values[i] as Buffer), `record ${i} differs from what was sent`);
  });

  test('min_bytes not reached: the fetch waits max_wait_ms and returns what there is', async () => {
    const r = await fetchReq('poll', [{ partition: 0, offset: 1n }], { maxWaitMs: 300, minBytes: 1 });
    const p = r.responses[0].partitions[0];
    assert.equal(p.errorCode, 0);
    assert.equal(p.records.length, 0);
    assert.equal(p.highWatermark, 1n);
  });

  test('partition and response max_bytes bound the answer; the first batch is always whole', async () => {
    await createTopic('sizes', 2);
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 5; i++) {
      await produce('sizes', 0, [`${i}${big}`]);
      await produce('sizes', 1, [`${i}${big}`]);
    }
    let r = await fetchReq('sizes', [{ partition: 0, offset: 0n, max: 100 }]);
    let recs = await decodeRecordSet(r.responses[0].partitions[0].records);
    assert.equal(recs.length, 1, 'a batch larger than partition_max_bytes still comes whole, alone');
    r = await fetchReq('sizes', [{ partition: 0, offset: 0n, max: 25_000 }]);
    recs = await decodeRecordSet(r.responses[0].partitions[0].records);
    assert.equal(recs.length, 2, 'two 10 kB batches fit in 25 kB');
    r = await fetchReq(
      'sizes',
      [
        { partition: 0, offset: 0n },
        { partition: 1, offset: 0n },
      ],
      { maxBytes: 15_000 },
    );
    const p0 = await decodeRecordSet(r.responses[0].partitions[0].records);
    const p1 = await decodeRecordSet(r.responses[0].partitions[1].records);
    assert.equal(p0.length, 1);
    assert.equal(p1.length, 0, 'the response limit is used up by the first partition');
    r = await fetchReq('sizes', [{ partition: 0, offset: 2n }]);
    recs = await decodeRecordSet(r.responses[0].partitions[0].records);
    assert.deepEqual(
      recs.map((x) => x.offset),
      [2n, 3n, 4n],
    );
  });

  test('fetch.max.bytes caps a response whatever the request asks (2 GiB asked, ~40 kB answered)', async () => {
    const capped = await startBroker({ props: { 'fetch.max.bytes': '40000' } });
    const main = c;
    c = await RawClient.connect(capped.port);
    try {
      await createTopic('capped', 2);
      const big = 'x'.repeat(10_000);
      for (let i = 0; i < 5; i++) {
        await produce('capped', 0, [`${i}${big}`]);
        await produce('capped', 1, [`${i}${big}`]);
      }
      const huge = 0x7fffffff;
      const r = await fetchReq(
        'capped',
        [
          { partition: 0, offset: 0n, max: huge },
          { partition: 1, offset: 0n, max: huge },
        ],
        { maxBytes: huge },
      );
      const sets = r.responses[0].partitions.map((p: Struct) => p.records as Buffer);
      const bytes = sets.reduce((n: number, b: Buffer) => n + b.length, 0);
      const records = (await decodeRecordSet(sets[0])).length + (await decodeRecordSet(sets[1])).length;
      assert.ok(bytes <= 40_000, `response carries ${bytes} bytes of records`);
      assert.equal(records, 3, 'three 10 kB batches fit in 40 kB; the other seven stay for the next fetch');
      // The first batch is still whole when larger than the cap (a consumer must never be stuck).
      await produce('capped', 0, ['y'.repeat(60_000)]);
      const one = await fetchReq('capped', [{ partition: 0, offset: 5n, max: huge }], { maxBytes: huge });
      assert.equal((await decodeRecordSet(one.responses[0].partitions[0].records)).length, 1);
    } finally {
      c.close();
      c = main;
      await capped.stop();
      removeDir(capped.dataDir);
    }
  });

  test('offsets out of range and unknown partitions get error codes', async () => {
    let r = await fetchReq('sizes', [{ partition: 0, offset: 99n }]);
    assert.equal(r.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    r = await fetchReq('sizes', [{ partition: 7, offset: 0n }]);
    assert.equal(r.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce('sizes', 9, ['x'])).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('ListOffsets: earliest, latest, by timestamp, max timestamp (v7), v0 old-style', async () => {
    await createTopic('times', 1);
    const t0 = 1_700_000_000_000n;
    await produce('times', 0, ['a', 'b', 'c'], [t0, t0 + 5000n, t0 + 2000n]);
    await produce('times', 0, ['d', 'e'], [t0 + 3000n, t0 + 4000n]);
    assert.equal((await listOffset('times', 0, -2n)).offset, 0n);
    assert.equal((await listOffset('times', 0, -1n)).offset, 5n);
    assert.deepEqual(
      { ...(await listOffset('times', 0, t0 + 2500n)) },
      { partitionIndex: 0, errorCode: 0, timestamp: t0 + 5000n, offset: 1n, leaderEpoch: 0, oldStyleOffsets: [] },
    );
    const max = await listOffset('times', 0, -3n);
    assert.equal(max.offset, 1n);
    assert.equal(max.timestamp, t0 + 5000n);
    const none = await listOffset('times', 0, t0 + 999_999n);
    assert.equal(none.offset, -1n);
    const v0 = await listOffset('times', 0, -1n, 0);
    assert.deepEqual(v0.oldStyleOffsets, [5n]);
  });

  test('LogAppendTime topics stamp the broker time', async () => {
    await createTopic('lat', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const before = BigInt(Date.now());
    const res = await produce('lat', 0, ['x', 'y'], [1n, 2n]);
    assert.ok(res.logAppendTimeMs >= before);
    const r = await fetchReq('lat', [{ partition: 0, offset: 0n }]);
    const recs = await decodeRecordSet(r.responses[0].partitions[0].records);
    for (const rec of recs) assert.equal(rec.timestamp, res.logAppendTimeMs);
  });

  test('CreateTopics rejects bad input per topic', async () => {
    assert.equal((await createTopic('poll', 1)).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal((await createTopic('bad/name', 1)).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal((await createTopic('zero', 0)).errorCode, ErrorCode.INVALID_PARTITIONS);
    const badValue = await createTopic('cfg', 1, { 'retention.ms': 'soon' });
    assert.equal(badValue.errorCode, ErrorCode.INVALID_CONFIG);
    // The message is the detail alone, as Kafka's brokers send it (the code names the error already).
    assert.equal(
      badValue.errorMessage,
      'Invalid value "soon" for configuration retention.ms: must be an integer (long)',
    );
    assert.equal((await createTopic('cfg2', 1, { 'no.such.key': '1' })).errorCode, ErrorCode.INVALID_CONFIG);
    const rf = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'rf3', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(rf.topics[0].errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  });

  test('internal topics: produce and delete are refused', async () => {
    // __consumer_offsets is created on the first FindCoordinator; a user cannot create it as a plain topic.
    assert.equal((await createTopic('__consumer_offsets', 1)).errorCode, ErrorCode.INVALID_REQUEST);
    const fc = await c.request(ApiKey.FindCoordinator, 3, { key: 'g', keyType: 0 });
    assert.equal(fc.errorCode, ErrorCode.NONE);
    assert.equal((await produce('__consumer_offsets', 0, ['junk'])).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const r = await c.request(ApiKey.DeleteTopics, 4, { topicNames: ['__consumer_offsets'], timeoutMs: 5000 });
    assert.equal(r.responses[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  });
});
