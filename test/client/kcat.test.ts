/**
 * Interop with librdkafka through kcat, both ways, for every codec: what our producer writes (keys, null keys,
 * UTF-8 values, headers, timestamps) kcat reads identically, and what kcat writes our consumer reads
 * identically. Keyed records land on the same partitions as librdkafka's `partitioner=murmur2_random` (the
 * Java client's default partitioner).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Admin } from '../../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { murmur2Partition } from '../../src/client/partitioner.js';
import { Producer, type ProducerRecord } from '../../src/client/producer.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';

const run = promisify(execFile);
const N = 20_000;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
let broker: BrokerProcess;
let admin: Admin;

function kcat(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const p = run('kcat', ['-b', broker.bootstrap, ...args], { maxBuffer: 512 * 1024 * 1024, timeout: 60_000 });
  if (input !== undefined) p.child.stdin?.end(input);
  return p;
}

interface KcatMessage {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

async function kcatRead(topic: string): Promise<KcatMessage[]> {
  const { stdout } = await kcat(['-C', '-t', topic, '-e', '-q', '-J', '-o', 'beginning']);
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as KcatMessage);
}

async function ourRead(topic: string, partitions: number): Promise<ConsumerRecord[]> {
  const c = new Consumer({ brokers: broker.bootstrap, maxWaitMs: 100 });
  c.assign(Array.from({ length: partitions }, (_, p) => ({ topic, partition: p, offset: 'earliest' as const })));
  const out: ConsumerRecord[] = [];
  try {
    for await (const r of c.records({ untilEnd: true })) out.push(r);
  } finally {
    await c.close();
  }
  return out;
}

describe('interop with kcat (librdkafka 2.0)', () => {
  before(async () => {
    broker = await startBroker();
    admin = new Admin({ brokers: broker.bootstrap });
  });

  after(async () => {
    await admin?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  for (const codec of CODECS) {
    test(`our producer (${codec}) → kcat reads ${N} records identically`, async () => {
      const topic = `ours-${codec}`;
      await admin.createTopics([{ topic, numPartitions: 3 }]);
      const base = 1_750_000_000_000;
      const sent: ProducerRecord[] = Array.from({ length: N }, (_, i) => ({
        topic,
        key: i % 7 === 0 ? null : `k${i % 500}-é`,
        value: `value ${i} ✓ ${'x'.repeat(i % 40)}`,
        headers: i % 2 === 0 ? [{ key: 'n', value: String(i) }] : [],
        timestamp: base + i,
      }));
      const producer = new Producer({ brokers: broker.bootstrap, compression: codec });
      const reports = await producer.sendBatch(sent);
      await producer.close();
      const got = await kcatRead(topic);
      assert.equal(got.length, N);
      const index = new Map(reports.map((r, i) => [`${r.partition}/${r.offset}`, i]));
      for (const m of got) {
        const i = index.get(`${m.partition}/${m.offset}`);
        assert.notEqual(i, undefined);
        const s = sent[i!]!;
        assert.equal(m.key, s.key ?? null);
        assert.equal(m.payload, s.value);
        assert.equal(m.ts, base + i!);
        assert.deepEqual(m.headers ?? [], i! % 2 === 0 ? ['n', String(i)] : []);
      }
    });

    test(`kcat (${codec}) → our consumer reads ${N} records identically`, async () => {
      const topic = `theirs-${codec}`;
      await admin.createTopics([{ topic, numPartitions: 3 }]);
      const lines = Array.from({ length: N }, (_, i) => `key-${i % 333}\tv${i} é✓ ${'y'.repeat(i % 30)}`);
      await kcat(
        ['-P', '-t', topic, '-K', '\t', '-z', codec, '-H', 'origin=kcat', '-H', 'n=1', '-X', 'linger.ms=5'],
        `${lines.join('\n')}\n`,
      );
      const [ours, theirs] = await Promise.all([ourRead(topic, 3), kcatRead(topic)]);
      assert.equal(ours.length, N);
      assert.equal(theirs.length, N);
      const byPos = new Map(theirs.map((m) => [`${m.partition}/${m.offset}`, m]));
      const seen = new Set<string>();
      for (const r of ours) {
        const m = byPos.get(`${r.partition}/${r.offset}`);
        assert.ok(m, `kcat also sees ${r.partition}/${r.offset}`);
        assert.equal(r.key?.toString(), m.key);
        assert.equal(r.value?.toString(), m.payload);
        assert.equal(r.timestamp, BigInt(m.ts));
        assert.deepEqual(
          r.headers.flatMap((h) => [h.key, h.value?.toString()]),
          ['origin', 'kcat', 'n', '1'],
        );
        seen.add(`${r.key}\t${r.value}`);
      }
      assert.equal(seen.size, N, 'every line read once');
      for (const l of lines) assert.ok(seen.has(l));
    });
  }

  test('keys land on the same partitions as librdkafka partitioner=murmur2_random', async () => {
    const partitions = 7;
    await admin.createTopics([
      { topic: 'part-kcat', numPartitions: partitions },
      { topic: 'part-ours', numPartitions: partitions },
    ]);
    const keys = Array.from({ length: 1000 }, (_, i) =>
      i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `${i}` : `ключ-${i}-✓`,
    );
    await kcat(
      ['-P', '-t', 'part-kcat', '-K', '\t', '-X', 'partitioner=murmur2_random'],
      `${keys.map((k) => `${k}\tv`).join('\n')}\n`,
    );
    const producer = new Producer({ brokers: broker.bootstrap });
    const reports = await producer.sendBatch(keys.map((key) => ({ topic: 'part-ours', key, value: 'v' })));
    await producer.close();
    const theirs = new Map((await kcatRead('part-kcat')).map((m) => [m.key!, m.partition]));
    assert.equal(theirs.size, keys.length);
    const used = new Set<number>();
    keys.forEach((k, i) => {
      assert.equal(reports[i]!.partition, theirs.get(k), `key ${k}`);
      assert.equal(murmur2Partition(k, partitions), theirs.get(k));
      used.add(reports[i]!.partition);
    });
    assert.equal(used.size, partitions);
  });
});
