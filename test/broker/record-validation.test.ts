/**
 * Record-level validation on the produce path against a real `kstream serve` (issue 23, defect 4): batches
 * whose CRC is valid but whose records are malformed are answered with their error (code, error_message,
 * record_errors) over a raw socket and never stored — the log end does not move; a seeded fuzz of mutated
 * batches agrees with an independent decoding batch by batch; valid batches from kcat (every codec), kafkajs,
 * kafka-python and confluent-kafka are still stored; and afterwards kcat and kafka-python read the partition
 * to its end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  CORRUPT_MESSAGE,
  fuzzBatch,
  INVALID_RECORD,
  INVALID_TIMESTAMP,
  MALFORMED_CASES,
  prng,
  wellFormed,
} from '../protocol/malformed-batches.js';

const run = promisify(execFile);
const PY = '/usr/bin/python3';
const TOPIC = 'validated';
let broker: BrokerProcess;
let c: RawClient;
/** Records this test stored in TOPIC: what every reader must find at the end. */
let stored = 0n;

async function produce(topic: string, records: Buffer, opts: { version?: number; acks?: number } = {}) {
  const r = await c.request(
    ApiKey.Produce,
    opts.version ?? 9,
    {
      transactionalId: null,
      acks: opts.acks ?? 1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    },
    { noResponse: opts.acks === 0 },
  );
  return opts.acks === 0 ? null : (r.responses[0].partitionResponses[0] as Struct);
}

async function logEnd(topic = TOPIC): Promise<bigint> {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  const p = r.topics[0].partitions[0];
  assert.equal(p.errorCode, 0);
  return p.offset as bigint;
}

async function createTopic(name: string, configs: Record<string, string> = {}): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 5, {
    topics: [
      {
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
      },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(r.topics[0].errorCode, 0, r.topics[0].errorMessage);
}

describe('produce: records are validated before they are stored', () => {
  before(async () => {
    broker = await startBroker();
    c = await RawClient.connect(broker.port);
    c.socket.setNoDelay(true); // one request after another: no Nagle delay on each
    await createTopic(TOPIC);
    const first = await produce(TOPIC, await buildBatch({ records: [{ key: 'k', value: 'first' }] }));
    assert.equal(first?.errorCode, 0);
    stored = 1n;
  });

  after(async () => {
    c?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  for (const mc of MALFORMED_CASES) {
    test(`refused and not stored: ${mc.name}`, async () => {
      const batch = await mc.build();
      const before = await logEnd();
      const r = (await produce(TOPIC, batch)) as Struct;
      assert.equal(r.errorCode, mc.code, r.errorMessage);
      assert.match(r.errorMessage, mc.message);
      assert.equal(r.baseOffset, -1n);
      assert.deepEqual(
        (r.recordErrors as Struct[]).map((e) => e.batchIndex),
        mc.recordErrors,
      );
      for (const e of r.recordErrors as Struct[]) assert.match(e.batchIndexErrorMessage, mc.message);
      assert.equal(await logEnd(), before, 'the log end did not move');
    });
  }

  test('older Produce versions get the error code; acks=0 stores nothing either', async () => {
    const before = await logEnd();
    for (const version of [3, 7]) {
      const r = (await produce(TOPIC, await MALFORMED_CASES[0]!.build(), { version })) as Struct;
      assert.equal(r.errorCode, INVALID_RECORD);
    }
    for (const mc of MALFORMED_CASES) await produce(TOPIC, await mc.build(), { acks: 0 });
    assert.equal(await logEnd(), before, 'answered after the acks=0 requests on the same connection');
  });

  test('the topic rules: a compacted topic refuses keyless records; a timestamp out of range is refused', async () => {
    await createTopic('validated-compacted', { 'cleanup.policy': 'compact' });
    const keyless = await buildBatch({
      records: [
        { key: 'a', value: '1' },
        { key: null, value: '2' },
      ],
    });
    let r = (await produce('validated-compacted', keyless)) as Struct;
    assert.equal(r.errorCode, INVALID_RECORD);
    assert.deepEqual(
      (r.recordErrors as Struct[]).map((e) => [e.batchIndex, e.batchIndexErrorMessage]),
      [[1, 'a compacted topic does not accept a record without a key']],
    );
    assert.equal(await logEnd('validated-compacted'), 0n);
    r = (await produce('validated-compacted', await buildBatch({ records: [{ key: 'a', value: '1' }] }))) as Struct;
    assert.equal(r.errorCode, 0);

    await createTopic('validated-recent', { 'message.timestamp.difference.max.ms': '3600000' });
    const old = await buildBatch({
      records: [{ value: 'now' }, { value: 'a day ago', timestamp: Date.now() - 86_400_000 }],
    });
    r = (await produce('validated-recent', old)) as Struct;
    assert.equal(r.errorCode, INVALID_TIMESTAMP);
    assert.deepEqual(
      (r.recordErrors as Struct[]).map((e) => e.batchIndex),
      [1],
    );
    assert.equal(await logEnd('validated-recent'), 0n);
  });

  test('fuzz: 400 mutated CRC-valid batches; malformed ones are refused and never stored, valid ones are', async () => {
    const seed = Number(process.env.KSTREAM_FUZZ_SEED ?? 4);
    const rnd = prng(seed);
    let end = await logEnd();
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const { batch, how } = await fuzzBatch(rnd);
      const valid = await wellFormed(batch);
      const count = BigInt(batch.readInt32BE(57));
      const r = (await produce(TOPIC, batch)) as Struct;
      const what = `seed ${seed}, batch ${i} (${how}): ${r.errorCode} ${r.errorMessage}`;
      if (valid) {
        assert.equal(r.errorCode, 0, what);
        assert.equal(r.baseOffset, end, what);
        end += count;
        stored += count;
      } else {
        refused++;
        assert.ok([INVALID_RECORD, CORRUPT_MESSAGE].includes(r.errorCode), what);
        assert.ok(r.errorMessage, what);
      }
      assert.equal(await logEnd(), end, what);
    }
    assert.ok(refused > 100 && refused < 390, `${refused} of 400 refused`);
  });

  test('valid batches from every client are stored: kcat (each codec), kafkajs, kafka-python, confluent-kafka', async () => {
    let expected = await logEnd();
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const lines = Array.from({ length: 500 }, (_, i) => `k${i}\t${codec}-${i} ${'x'.repeat(i % 90)}`).join('\n');
      const p = run('kcat', ['-b', broker.bootstrap, '-P', '-t', TOPIC, '-p', '0', '-K', '\t', '-z', codec], {
        timeout: 60_000,
      });
      p.child.stdin?.end(`${lines}\n`);
      await p;
      expected += 500n;
      assert.equal(await logEnd(), expected, `kcat -z ${codec}`);
    }

    const kafka = new Kafka({ clientId: 'validation', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          compression,
          messages: Array.from({ length: 300 }, (_, i) => ({
            partition: 0,
            key: i % 3 ? `k${i}` : null,
            value: `kafkajs-${i}`,
            headers: i % 2 ? { h: `v${i}` } : {},
          })),
        });
        expected += 300n;
        assert.equal(await logEnd(), expected, `kafkajs compression ${compression}`);
      }
    } finally {
      await producer.disconnect();
    }

    const script = `
import sys
from kafka import KafkaProducer
import confluent_kafka
for codec in ['gzip', 'snappy', 'lz4']:
    p = KafkaProducer(bootstrap_servers=sys.argv[1], compression_type=codec, acks='all')
    for i in range(200):
        p.send(sys.argv[2], key=b'k%d' % i, value=(codec + '-%d' % i).encode(), partition=0, headers=[('h', b'v')])
    p.flush(); p.close()
cp = confluent_kafka.Producer({'bootstrap.servers': sys.argv[1], 'compression.type': 'zstd', 'acks': 'all'})
errors = []
for i in range(200):
    cp.produce(sys.argv[2], key=b'z%d' % i, value=b'confluent-zstd-%d' % i, partition=0, on_delivery=lambda e, m: e and errors.append(str(e)))
cp.flush(30)
print('errors', errors)
`;
    const { stdout } = await run(PY, ['-c', script, broker.bootstrap, TOPIC], { timeout: 120_000 });
    assert.match(stdout, /errors \[\]/);
    expected += 800n;
    assert.equal(await logEnd(), expected, 'kafka-python (gzip, snappy, lz4) and confluent-kafka (zstd)');
    stored = expected;
  });

  test('after all of it, kcat and kafka-python read the partition to its end', async () => {
    const end = await logEnd();
    assert.ok(end >= stored && stored > 3000n);
    const { stdout } = await run(
      'kcat',
      ['-b', broker.bootstrap, '-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\n'],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const offsets = stdout.split('\n').filter((l) => l !== '');
    assert.equal(offsets.length, Number(end), 'kcat read every record');
    assert.equal(offsets[offsets.length - 1], String(end - 1n));

    const script = `
import sys, time, json
from kafka import KafkaConsumer, TopicPartition
tp = TopicPartition(sys.argv[2], 0)
c = KafkaConsumer(bootstrap_servers=sys.argv[1], enable_auto_commit=False)
c.assign([tp]); c.seek_to_beginning(tp)
end = int(sys.argv[3]); n = 0; last = -1; deadline = time.time() + 60
while c.position(tp) < end and time.time() < deadline:
    for recs in c.poll(timeout_ms=1000).values():
        for r in recs:
            n += 1; last = r.offset
print(json.dumps({'count': n, 'last': last, 'position': c.position(tp)}))
c.close()
`;
    const py = await run(PY, ['-c', script, broker.bootstrap, TOPIC, String(end)], { timeout: 120_000 });
    assert.deepEqual(JSON.parse(py.stdout.trim().split('\n').pop() as string), {
      count: Number(end),
      last: Number(end) - 1,
      position: Number(end),
    });
  });
});
