/**
 * Incremental fetch sessions (KIP-227) through the wire, with a raw client (neither librdkafka nor kafkajs opens
 * sessions: both send session 0, epoch -1, checked here to still be served as before): a full fetch with epoch 0
 * opens a session; an incremental fetch is answered with only the partitions that changed; an unknown session
 * FETCH_SESSION_ID_NOT_FOUND and a wrong epoch INVALID_FETCH_SESSION_EPOCH, after which a full fetch starts
 * over; a deleted partition of a session is answered with its error until forgotten; the cache holds at most
 * max.incremental.fetch.session.cache.slots sessions and evicts by Kafka's rules (a follower's session over a
 * consumer's). The cache's eviction rules over time are checked on the cache itself with explicit times.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { type CachedPartition, cachedPartition, FetchSessionCache } from '../../src/broker/fetch-sessions.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch, decodeRecordSet } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);

interface Part {
  partition: number;
  offset: bigint;
}

function fetchBody(
  sessionId: number,
  sessionEpoch: number,
  topics: { topic: string; parts: Part[] }[],
  forgotten: { topic: string; partitions: number[] }[] = [],
  o: { replicaId?: number; maxWaitMs?: number; minBytes?: number } = {},
): Struct {
  return {
    replicaId: o.replicaId ?? -1,
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: o.minBytes ?? 0,
    maxBytes: 50 * 1024 * 1024,
    isolationLevel: 0,
    sessionId,
    sessionEpoch,
    topics: topics.map((t) => ({
      topic: t.topic,
      partitions: t.parts.map((p) => ({ partition: p.partition, fetchOffset: p.offset, partitionMaxBytes: 1 << 20 })),
    })),
    forgottenTopicsData: forgotten,
    rackId: '',
  };
}

/** (topic, partition) → the partition's answer, for the partitions an answer carries. */
function answered(r: Struct): Map<string, Struct> {
  const m = new Map<string, Struct>();
  for (const t of r.responses as Struct[]) {
    for (const p of t.partitions as Struct[]) m.set(`${t.topic}-${p.partitionIndex}`, p);
  }
  return m;
}

async function values(records: Buffer | null): Promise<string[]> {
  if (!records || records.length === 0) return [];
  return (await decodeRecordSet(records)).map((r) => r.value?.toString() ?? '');
}

function parts(n: number, offset = 0n): Part[] {
  return Array.from({ length: n }, (_, partition) => ({ partition, offset }));
}

describe('fetch sessions through the wire', () => {
  let broker: BrokerProcess;
  let c: RawClient;

  async function createTopic(name: string, partitions: number) {
    const r = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(r.topics[0].errorCode, 0);
  }

  async function produce(topic: string, partition: number, vs: string[]) {
    const records = await buildBatch({ records: vs.map((v) => ({ key: null, value: Buffer.from(v) })) });
    const r = await c.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  }

  before(async () => {
    broker = await startBroker({ props: { 'auto.create.topics.enable': 'false' } });
    c = await RawClient.connect(broker.port);
  });
  after(async () => {
    c?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('an incremental fetch over 3 partitions answers only the one with new data', async () => {
    for (const version of [12, 7]) {
      const topic = `s3v${version}`;
      await createTopic(topic, 3);
      // Full fetch, epoch 0: every partition answered, a session opened.
      const full = await c.request(ApiKey.Fetch, version, fetchBody(0, 0, [{ topic, parts: parts(3) }]));
      assert.equal(full.errorCode, 0);
      const id = full.sessionId as number;
      assert.ok(id > 0, `a session was opened (v${version})`);
      assert.deepEqual([...answered(full).keys()].sort(), [`${topic}-0`, `${topic}-1`, `${topic}-2`]);
      const offset = (await c.request(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1n }] }],
      })) as Struct;
      const at = offset.topics[0].partitions[0].offset as bigint;

      // Nothing changed: the incremental answer carries no partition.
      const idle = await c.request(ApiKey.Fetch, version, fetchBody(id, 1, []));
      assert.equal(idle.errorCode, 0);
      assert.equal(idle.sessionId, id);
      assert.equal(answered(idle).size, 0, 'no partition changed');

      // Data in partition 1 only: only partition 1, with its records and new high watermark.
      await produce(topic, 1, [`hello-v${version}`]);
      const inc = await c.request(ApiKey.Fetch, version, fetchBody(id, 2, []));
      assert.equal(inc.errorCode, 0);
      const got = answered(inc);
      assert.deepEqual([...got.keys()], [`${topic}-1`]);
      const p1 = got.get(`${topic}-1`) as Struct;
      assert.equal(p1.highWatermark, at + 1n);
      assert.deepEqual(await values(p1.records), [`hello-v${version}`]);

      // The fetcher moves partition 1's position (only it is sent); the same data is not answered again.
      const moved = await c.request(
        ApiKey.Fetch,
        version,
        fetchBody(id, 3, [{ topic, parts: [{ partition: 1, offset: at + 1n }] }]),
      );
      assert.equal(moved.errorCode, 0);
      assert.equal(answered(moved).size, 0, 'position moved past the data, nothing new');

      // A long poll in a session is woken by an append to one of its partitions.
      const waiting = c.request(ApiKey.Fetch, version, fetchBody(id, 4, [], [], { maxWaitMs: 30_000, minBytes: 1 }));
      await new Promise((r) => setTimeout(r, 200));
      await produce(topic, 2, ['wake']);
      const woken = await waiting;
      assert.deepEqual([...answered(woken).keys()], [`${topic}-2`]);
      assert.deepEqual(await values((answered(woken).get(`${topic}-2`) as Struct).records), ['wake']);

      // A full fetch with epoch -1 closes the session: its id is unknown afterwards.
      const closed = await c.request(ApiKey.Fetch, version, fetchBody(id, -1, [{ topic, parts: parts(3) }]));
      assert.equal(closed.sessionId, 0);
      assert.equal(answered(closed).size, 3);
      const gone = await c.request(ApiKey.Fetch, version, fetchBody(id, 5, []));
      assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    }
  });

  test('unknown session and wrong epoch are refused; a full fetch starts over', async () => {
    await createTopic('e1', 1);
    await produce('e1', 0, ['a', 'b']);
    const unknown = await c.request(ApiKey.Fetch, 12, fetchBody(123456, 1, [{ topic: 'e1', parts: parts(1) }]));
    assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    assert.equal(unknown.sessionId, 0);
    assert.equal(answered(unknown).size, 0, 'no partition in a session error');

    const full = await c.request(ApiKey.Fetch, 12, fetchBody(0, 0, [{ topic: 'e1', parts: parts(1) }]));
    const id = full.sessionId as number;
    assert.ok(id > 0);
    assert.deepEqual(await values((answered(full).get('e1-0') as Struct).records), ['a', 'b']);
    const next = await c.request(
      ApiKey.Fetch,
      12,
      fetchBody(id, 1, [{ topic: 'e1', parts: [{ partition: 0, offset: 2n }] }]),
    );
    assert.equal(next.errorCode, 0);
    // The same epoch again (a duplicate), one ahead, and one far off: all INVALID_FETCH_SESSION_EPOCH.
    for (const epoch of [1, 3, 1000]) {
      const wrong = await c.request(ApiKey.Fetch, 12, fetchBody(id, epoch, []));
      assert.equal(wrong.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH, `epoch ${epoch}`);
      assert.equal(answered(wrong).size, 0);
    }
    // The session itself survives a wrong epoch: the right one still works.
    await produce('e1', 0, ['c']);
    const right = await c.request(ApiKey.Fetch, 12, fetchBody(id, 2, []));
    assert.equal(right.errorCode, 0);
    assert.deepEqual(await values((answered(right).get('e1-0') as Struct).records), ['c']);
    // Starting over: a full fetch naming the session with epoch 0 closes it and opens another.
    const again = await c.request(
      ApiKey.Fetch,
      12,
      fetchBody(id, 0, [{ topic: 'e1', parts: [{ partition: 0, offset: 3n }] }]),
    );
    assert.equal(again.errorCode, 0);
    assert.ok((again.sessionId as number) > 0 && again.sessionId !== id);
    assert.equal(
      (await c.request(ApiKey.Fetch, 12, fetchBody(id, 3, []))).errorCode,
      ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
    );
    assert.equal((await c.request(ApiKey.Fetch, 12, fetchBody(again.sessionId as number, 1, []))).errorCode, 0);
  });

  test('a deleted partition of a session is answered with its error until forgotten', async () => {
    await createTopic('keep', 1);
    await createTopic('doomed', 2);
    const full = await c.request(
      ApiKey.Fetch,
      12,
      fetchBody(0, 0, [
        { topic: 'keep', parts: parts(1) },
        { topic: 'doomed', parts: parts(2) },
      ]),
    );
    const id = full.sessionId as number;
    assert.ok(id > 0);
    const del = await c.request(ApiKey.DeleteTopics, 4, { topicNames: ['doomed'], timeoutMs: 5000 });
    assert.equal(del.responses[0].errorCode, 0);
    const after1 = await c.request(ApiKey.Fetch, 12, fetchBody(id, 1, []));
    assert.equal(after1.errorCode, 0);
    const got = answered(after1);
    assert.deepEqual([...got.keys()].sort(), ['doomed-0', 'doomed-1']);
    for (const p of got.values()) assert.equal(p.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Still answered with the error while in the session (the fetcher must learn of it).
    const after2 = await c.request(ApiKey.Fetch, 12, fetchBody(id, 2, []));
    assert.equal(answered(after2).size, 2);
    // Forgotten: the session goes on with the rest, answering what changes there.
    const forgot = await c.request(ApiKey.Fetch, 12, fetchBody(id, 3, [], [{ topic: 'doomed', partitions: [0, 1] }]));
    assert.equal(forgot.errorCode, 0);
    assert.equal(answered(forgot).size, 0);
    await produce('keep', 0, ['still here']);
    const kept = await c.request(ApiKey.Fetch, 12, fetchBody(id, 4, []));
    assert.deepEqual([...answered(kept).keys()], ['keep-0']);
    // Forgetting the last partition closes the session.
    const last = await c.request(ApiKey.Fetch, 12, fetchBody(id, 5, [], [{ topic: 'keep', partitions: [0] }]));
    assert.equal(last.errorCode, 0);
    assert.equal(last.sessionId, 0);
    assert.equal(
      (await c.request(ApiKey.Fetch, 12, fetchBody(id, 6, []))).errorCode,
      ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
    );
  });

  test('librdkafka (kcat) and kafkajs fetch sessionless (epoch -1) and consume everything', async () => {
    await createTopic('interop', 3);
    const sent: string[] = [];
    for (let p = 0; p < 3; p++) {
      const vs = [`p${p}-a`, `p${p}-b`];
      await produce('interop', p, vs);
      sent.push(...vs);
    }
    const { stdout } = await run(
      'kcat',
      ['-C', '-b', broker.bootstrap, '-t', 'interop', '-o', 'beginning', '-e', '-q'],
      {
        timeout: 60_000,
      },
    );
    assert.deepEqual(stdout.trim().split('\n').sort(), [...sent].sort());

    const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'sessions', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'sessions-kafkajs' });
    const seen: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'interop', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString() ?? '');
        },
      });
      await until('kafkajs consumed every record', async () => seen.length >= sent.length, 60_000);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen.sort(), [...sent].sort());
  });
});

describe('the session cache is bounded by its slots', () => {
  test('max.incremental.fetch.session.cache.slots=1: a follower evicts a consumer, consumers go sessionless', async () => {
    const broker = await startBroker({
      props: { 'auto.create.topics.enable': 'false', 'max.incremental.fetch.session.cache.slots': '1' },
    });
    const c = await RawClient.connect(broker.port);
    try {
      const r = await c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'b', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      assert.equal(r.topics[0].errorCode, 0);
      const topics = [{ topic: 'b', parts: parts(2) }];
      const a = await c.request(ApiKey.Fetch, 12, fetchBody(0, 0, topics));
      assert.ok((a.sessionId as number) > 0, 'the one slot taken');
      // A second consumer with as many partitions cannot take the slot of a recently created session.
      const b = await c.request(ApiKey.Fetch, 12, fetchBody(0, 0, topics));
      assert.equal(b.errorCode, 0);
      assert.equal(b.sessionId, 0, 'no room: served without a session');
      assert.equal(answered(b).size, 2);
      assert.equal((await c.request(ApiKey.Fetch, 12, fetchBody(a.sessionId as number, 1, []))).errorCode, 0);
      // A follower's session (replica id set) is worth more: it evicts the consumer's.
      const f = await c.request(ApiKey.Fetch, 12, fetchBody(0, 0, topics, [], { replicaId: 7 }));
      assert.ok((f.sessionId as number) > 0, 'the follower got the slot');
      const evicted = await c.request(ApiKey.Fetch, 12, fetchBody(a.sessionId as number, 2, []));
      assert.equal(evicted.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
      // The consumer starts over with a full fetch and is served (without a session: the follower's stays).
      const retry = await c.request(ApiKey.Fetch, 12, fetchBody(0, 0, topics));
      assert.equal(retry.errorCode, 0);
      assert.equal(retry.sessionId, 0);
      assert.equal(answered(retry).size, 2);
      assert.equal(
        (await c.request(ApiKey.Fetch, 12, fetchBody(f.sessionId as number, 1, [], [], { replicaId: 7 }))).errorCode,
        0,
      );
    } finally {
      c.close();
      await broker.stop();
      removeDir(broker.dataDir);
    }
  });

  test('slots 0 turns sessions off', async () => {
    const broker = await startBroker({ props: { 'max.incremental.fetch.session.cache.slots': '0' } });
    try {
      await RawClient.using(broker.port, async (c) => {
        const r = await c.request(ApiKey.Fetch, 12, fetchBody(0, 0, [{ topic: 'none', parts: parts(1) }]));
        assert.equal(r.errorCode, 0);
        assert.equal(r.sessionId, 0);
      });
    } finally {
      await broker.stop();
      removeDir(broker.dataDir);
    }
  });

  test("eviction over time, by Kafka's rules", () => {
    const mk = (n: number): CachedPartition[] =>
      Array.from({ length: n }, (_, i) =>
        cachedPartition('t', {
          partition: i,
          fetchOffset: 0n,
          partitionMaxBytes: 1,
          currentLeaderEpoch: -1,
          logStartOffset: -1n,
          lastFetchedEpoch: -1,
        }),
      );
    const cache = new FetchSessionCache(2, 120_000);
    const t0 = 1_000_000;
    const small = cache.create(t0, false, mk(1));
    const big = cache.create(t0, false, mk(5));
    assert.ok(small && big);
    assert.equal(cache.size, 2);
    // Full, everything recently created: a consumer gets nothing, however large.
    assert.equal(cache.create(t0 + 1000, false, mk(100)), null);
    assert.equal(cache.size, 2);
    // Past 2 minutes of age (but used meanwhile): a larger consumer session takes the smallest's place...
    cache.touch(small, t0 + 100_000);
    cache.touch(big, t0 + 100_000);
    assert.equal(cache.create(t0 + 130_000, false, mk(1)), null, 'not larger than the smallest: no eviction');
    const bigger = cache.create(t0 + 130_000, false, mk(3));
    assert.ok(bigger);
    assert.equal(cache.get(small.id), undefined, 'the smallest went');
    assert.ok(cache.get(big.id));
    // ...a follower's takes a consumer's at once, even a recently created one, the smaller first...
    const follower = cache.create(t0 + 131_000, true, mk(1));
    assert.ok(follower);
    assert.equal(cache.get(bigger.id), undefined);
    assert.ok(cache.get(big.id));
    // ...but not another follower's that is recently created.
    cache.touch(big, t0 + 131_000);
    const follower2 = cache.create(t0 + 132_000, true, mk(1));
    assert.ok(follower2, 'the consumer session went');
    assert.equal(cache.get(big.id), undefined);
    assert.equal(cache.create(t0 + 133_000, true, mk(50)), null, 'two young follower sessions stay');
    // A session unused for over 2 minutes goes first, whoever asks.
    cache.touch(follower2, t0 + 200_000);
    const late = cache.create(t0 + 260_000, false, mk(1));
    assert.ok(late, 'the stale follower session was replaced');
    assert.equal(cache.get(follower.id), undefined);
    assert.ok(cache.get(follower2.id));
    assert.equal(cache.size, 2);
    assert.equal(cache.evictions, 4);
    assert.equal(new FetchSessionCache(0).create(t0, true, mk(1)), null, 'slots 0: never a session');
  });
});
