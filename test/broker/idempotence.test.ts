/**
 * The idempotent producer over the wire (issue 16, KIP-98 / KIP-360), with raw requests and the record-batch
 * builder kstream's client uses: InitProducerId hands out ids never reused after a restart; a retried batch is
 * answered with its original offset and not stored again (also after a clean restart and after kill -9);
 * bad input (sequence gaps, stale epochs, producer ids never allocated, sequence overflow) gets Kafka's error
 * code, nothing is stored, and other producers go on. Compaction keeps a producer's last batch (emptied), so a
 * restart without producer snapshots still recognizes its retry; kcat reads the compacted log.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BatchHeader, readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);

interface Pid {
  producerId: bigint;
  producerEpoch: number;
}

async function initProducerId(c: RawClient, version = 4): Promise<Pid> {
  const r = await c.request(ApiKey.InitProducerId, version, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  assert.equal(r.errorCode, 0, `InitProducerId v${version}`);
  return { producerId: r.producerId as bigint, producerEpoch: r.producerEpoch as number };
}

async function createTopic(c: RawClient, name: string, configs: Record<string, string> = {}): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 5, {
    topics: [
      {
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal((r.topics[0] as Struct).errorCode, 0);
}

/** A batch of `count` records from `pid` starting at sequence `seq` (values name the sequence). */
function batch(pid: bigint, epoch: number, seq: number, count: number): Promise<Buffer> {
  return buildBatch({
    records: Array.from({ length: count }, (_, i) => ({ value: `p${pid}-e${epoch}-s${seq + i}` })),
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: seq,
  });
}

async function produce(c: RawClient, topic: string, records: Buffer): Promise<Struct> {
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return r.responses[0].partitionResponses[0] as Struct;
}

async function logEnd(c: RawClient, topic: string): Promise<bigint> {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  return r.topics[0].partitions[0].offset as bigint;
}

function expectOk(r: Struct, baseOffset: bigint, what: string): void {
  assert.equal(r.errorCode, 0, `${what}: ${r.errorMessage}`);
  assert.equal(r.baseOffset, baseOffset, what);
}

describe('idempotent produce over the wire', () => {
  const dirs: string[] = [];
  const brokers: BrokerProcess[] = [];
  after(async () => {
    for (const b of brokers) await b.kill();
    for (const d of dirs) removeDir(d);
  });
  async function start(dataDir?: string, props?: Record<string, string>): Promise<BrokerProcess> {
    const dir = dataDir ?? tempDir();
    if (!dirs.includes(dir)) dirs.push(dir);
    const b = await startBroker({ dataDir: dir, ...(props ? { props } : {}) });
    brokers.push(b);
    return b;
  }

  test('InitProducerId v0-5 hands out distinct ids, none of them again after a restart', async () => {
    let b = await start();
    const first = await RawClient.using(b.port, async (c) => {
      const ids: bigint[] = [];
      for (const v of [0, 1, 2, 3, 4, 5]) {
        const p = await initProducerId(c, v);
        assert.equal(p.producerEpoch, 0);
        ids.push(p.producerId);
      }
      // A transactional id goes to its transaction coordinator (test/txn), which may still be loading at first;
      // an empty one is a bad request; id and epoch go together.
      const tx = await until('transactional InitProducerId', async () => {
        const r = await c.request(ApiKey.InitProducerId, 4, {
          transactionalId: 'tx',
          transactionTimeoutMs: 1000,
          producerId: -1n,
          producerEpoch: -1,
        });
        return r.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? null : r;
      });
      assert.deepEqual([tx.errorCode, tx.producerEpoch], [0, 0]);
      const empty = await c.request(ApiKey.InitProducerId, 4, {
        transactionalId: '',
        transactionTimeoutMs: 1000,
        producerId: -1n,
        producerEpoch: -1,
      });
      assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
      const half = await c.request(ApiKey.InitProducerId, 4, {
        transactionalId: null,
        transactionTimeoutMs: 1000,
        producerId: 5n,
        producerEpoch: -1,
      });
      assert.equal(half.errorCode, ErrorCode.INVALID_REQUEST);
      return ids;
    });
    assert.equal(new Set(first).size, first.length, `distinct: ${first}`);
    assert.equal(await b.stop(), 0);
    b = await start(b.dataDir);
    const second = await RawClient.using(b.port, async (c) => [
      (await initProducerId(c)).producerId,
      (await initProducerId(c)).producerId,
    ]);
    for (const id of second) assert.ok(!first.includes(id), `${id} handed out again after a restart`);
    await b.kill();
    b = await start(b.dataDir);
    const third = await RawClient.using(b.port, async (c) => (await initProducerId(c)).producerId);
    assert.ok(![...first, ...second].includes(third), `${third} handed out again after kill -9`);
    await b.stop();
  });

  test('a retried batch gets its original offset and is not stored again; only the last 5 batches are remembered', async () => {
    const b = await start();
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'dup');
      const { producerId: pid, producerEpoch: epoch } = await initProducerId(c);
      const b0 = await batch(pid, epoch, 0, 3);
      expectOk(await produce(c, 'dup', b0), 0n, 'first send');
      expectOk(await produce(c, 'dup', await buildBatch({ records: [{ value: 'plain' }] })), 3n, 'non-idempotent');
      expectOk(await produce(c, 'dup', await batch(pid, epoch, 0, 3)), 0n, 'retry of the first batch');
      assert.equal(await logEnd(c, 'dup'), 4n, 'the retry was not stored');
      // Five more batches: the first one drops out of the remembered five.
      for (let i = 0; i < 5; i++) {
        expectOk(await produce(c, 'dup', await batch(pid, epoch, 3 + 2 * i, 2)), 4n + 2n * BigInt(i), `batch ${i}`);
      }
      expectOk(await produce(c, 'dup', await batch(pid, epoch, 5, 2)), 6n, 'retry of a remembered batch');
      const old = await produce(c, 'dup', await batch(pid, epoch, 0, 3));
      assert.equal(old.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a batch older than the last five');
      assert.equal(await logEnd(c, 'dup'), 14n);
    });
    await b.stop();
  });

  test('bad input gets Kafka error codes, stores nothing, and other producers go on', async () => {
    const b = await start();
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'bad');
      const a = await initProducerId(c);
      const other = await initProducerId(c);
      const pa = a.producerId;
      expectOk(await produce(c, 'bad', await batch(pa, 0, 0, 2)), 0n, 'first');
      let end = 2n;
      let otherSeq = 0;
      const refused = async (records: Buffer, code: number, what: string) => {
        const r = await produce(c, 'bad', records);
        assert.equal(r.errorCode, code, `${what}: got ${r.errorCode} ${r.errorMessage}`);
        assert.equal(await logEnd(c, 'bad'), end, `${what}: nothing stored`);
        // Another producer is not affected.
        expectOk(await produce(c, 'bad', await batch(other.producerId, 0, otherSeq++, 1)), end, `other after ${what}`);
        end += 1n;
      };
      await refused(await batch(pa, 0, 5, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'sequence gap');
      await refused(await batch(pa, 0, 1, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'sequence already passed');
      await refused(await batch(pa, 1, 3, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'new epoch not at 0');
      expectOk(await produce(c, 'bad', await batch(pa, 1, 0, 1)), end, 'bumped epoch starts at 0');
      end += 1n;
      await refused(await batch(pa, 0, 2, 1), ErrorCode.INVALID_PRODUCER_EPOCH, 'stale epoch');
      await refused(await batch(123_456_789_012n, 0, 0, 1), ErrorCode.UNKNOWN_PRODUCER_ID, 'id never allocated');
      await refused(await batch(pa, 1, -2_147_483_648, 1), ErrorCode.INVALID_RECORD, 'overflowed (negative) sequence');
      // Two idempotent batches in one partition's records (Kafka takes one).
      const two = Buffer.concat([await batch(pa, 1, 1, 1), await batch(pa, 1, 2, 1)]);
      await refused(two, ErrorCode.INVALID_RECORD, 'two batches');
      // The producer itself goes on where it was.
      expectOk(await produce(c, 'bad', await batch(pa, 1, 1, 1)), end, 'producer a after the refusals');
      end += 1n;
      // Sequences wrap from int32 max to 0, as in Kafka.
      const w = (await initProducerId(c)).producerId;
      expectOk(await produce(c, 'bad', await batch(w, 0, 2_147_483_646, 2)), end, 'up to int32 max');
      end += 2n;
      expectOk(await produce(c, 'bad', await batch(w, 0, 0, 1)), end, 'wrapped to 0');
      end += 1n;
      await refused(await batch(w, 0, 2, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'gap after the wrap');
    });
    await b.stop();
  });

  for (const how of ['clean restart', 'kill -9'] as const) {
    test(`a retried batch is recognized after a ${how} (producer state from snapshot and log)`, async () => {
      let b = await start();
      const sent: { records: Buffer; base: bigint }[] = [];
      let pid = -1n;
      await RawClient.using(b.port, async (c) => {
        // Small segments: several rolls (a snapshot each), then a tail after the last one.
        await createTopic(c, 'r', { 'segment.bytes': '4096' });
        pid = (await initProducerId(c)).producerId;
        let seq = 0;
        for (let i = 0; i < 60; i++) {
          const records = await batch(pid, 0, seq, 5);
          const r = await produce(c, 'r', Buffer.from(records));
          expectOk(r, BigInt(seq), `batch ${i}`);
          sent.push({ records, base: BigInt(seq) });
          seq += 5;
        }
      });
      const partDir = join(b.dataDir, 'r-0');
      if (how === 'clean restart') {
        assert.equal(await b.stop(), 0);
        assert.ok(
          readdirSync(partDir).includes(`${'300'.padStart(20, '0')}.snapshot`),
          `snapshot at the log end: ${readdirSync(partDir)}`,
        );
      } else {
        await b.kill();
      }
      b = await start(b.dataDir);
      await RawClient.using(b.port, async (c) => {
        for (const i of [59, 57, 55]) {
          const s = sent[i]!;
          expectOk(await produce(c, 'r', s.records), s.base, `retry of batch ${i}`);
        }
        assert.equal(await logEnd(c, 'r'), 300n, 'retries not stored');
        const gap = await produce(c, 'r', await batch(pid, 0, 301, 1));
        assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'the state knows the last sequence');
        expectOk(await produce(c, 'r', await batch(pid, 0, 300, 1)), 300n, 'next sequence');
      });
      await b.stop();
    });
  }
  test('compaction empties the last batch of a producer but keeps it: a retry of it is a duplicate after a restart without snapshots', async () => {
    const props = { 'log.cleaner.backoff.ms': '200' };
    let b = await start(undefined, props);
    const keyed = (pid: bigint, seq: number, keys: string[]) =>
      buildBatch({
        records: keys.map((k) => ({ key: k, value: `${k}-s${seq}` })),
        producerId: pid,
        producerEpoch: 0,
        baseSequence: seq,
      });
    let pid = -1n;
    let last: Buffer = Buffer.alloc(0);
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'cp', { 'cleanup.policy': 'compact', 'segment.bytes': '1024' });
      pid = (await initProducerId(c)).producerId;
      expectOk(await produce(c, 'cp', await keyed(pid, 0, ['a', 'b'])), 0n, 'first batch');
      last = await keyed(pid, 2, ['c', 'd']);
      expectOk(await produce(c, 'cp', last), 2n, 'last batch');
      // Another producer's newer values for all four keys, then a record larger than a segment closes it.
      const newer = await buildBatch({ records: ['a', 'b', 'c', 'd'].map((k) => ({ key: k, value: `${k}-new` })) });
      expectOk(await produce(c, 'cp', newer), 4n, 'newer values');
      const filler = await buildBatch({ records: [{ key: 'filler', value: 'f'.repeat(2000) }] });
      expectOk(await produce(c, 'cp', filler), 8n, 'filler');
    });
    // The cleaner removes every record of the producer, and keeps its last batch's header.
    const stored = async () =>
      RawClient.using(b.port, async (c) => {
        const r = await c.request(ApiKey.Fetch, 12, {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic: 'cp', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
          forgottenTopicsData: [],
          rackId: '',
        });
        const records = r.responses[0].partitions[0].records as Buffer;
        const out: BatchHeader[] = [];
        for (let pos = 0; pos < records.length; ) {
          const h = readBatchHeader(records, pos);
          if (!h || pos + h.size > records.length) break;
          out.push(h);
          pos += h.size;
        }
        return out;
      });
    const deadline = Date.now() + 60_000;
    let ofProducer: BatchHeader[] = [];
    for (;;) {
      ofProducer = (await stored()).filter((h) => h.producerId === pid);
      if (ofProducer.length === 1 && ofProducer[0]!.recordCount === 0) break;
      assert.ok(Date.now() < deadline, `not compacted: ${JSON.stringify(ofProducer.map((h) => h.recordCount))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const h = ofProducer[0]!;
    assert.deepEqual([h.baseOffset, h.lastOffsetDelta, h.baseSequence], [2n, 1, 2], 'the last batch, emptied');
    // A real client reads the compacted log, the empty batch included.
    const { stdout } = await run('kcat', ['-b', b.bootstrap, '-C', '-t', 'cp', '-e', '-q', '-f', '%o %k\\n'], {
      timeout: 60_000,
    });
    assert.deepEqual(stdout.trim().split('\n'), ['4 a', '5 b', '6 c', '7 d', '8 filler']);
    // A clean stop writes a snapshot; without any, the state is rebuilt from the log alone.
    assert.equal(await b.stop(), 0);
    const partDir = join(b.dataDir, 'cp-0');
    for (const n of readdirSync(partDir)) if (n.endsWith('.snapshot')) unlinkSync(join(partDir, n));
    b = await start(b.dataDir, props);
    await RawClient.using(b.port, async (c) => {
      expectOk(await produce(c, 'cp', last), 2n, 'a retry of the last batch: its original offset');
      assert.equal(await logEnd(c, 'cp'), 9n, 'the retry is not stored');
      const gap = await produce(c, 'cp', await keyed(pid, 5, ['e']));
      assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'the state knows the last sequence');
      expectOk(await produce(c, 'cp', await keyed(pid, 4, ['e'])), 9n, 'the next sequence');
    });
    await b.stop();
  });
});
