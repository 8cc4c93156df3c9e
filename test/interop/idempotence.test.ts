/**
 * Idempotent producers of real clients against `kstream serve` (issue 16): confluent-kafka-python
 * (librdkafka) with enable.idempotence=true and kafkajs with idempotent: true get a producer id
 * (InitProducerId), produce, and every acknowledged record is stored once, in order; the stored batches
 * carry the producer id they were given (the clients did not fall back to non-idempotent sends).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { pyScript } from '../helpers/python.js';
import { storedProducerIds } from '../helpers/stored-batches.js';

const run = promisify(execFile);
let broker: BrokerProcess;

describe('idempotent producers of real clients against kstream serve', () => {
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('confluent-kafka-python enable.idempotence=true: every record once, in order, batches carry its producer id', async () => {
    const n = 20_000;
    const r = await pyScript('confluent_idempotent.py', [broker.bootstrap, 'idem-ck', String(n), '3']);
    assert.deepEqual(r, {
      produced: n,
      consumed: n,
      duplicates: 0,
      missing: 0,
      out_of_order: 0,
      errors: [],
      unflushed: 0,
      fatal: [],
    });
    for (let p = 0; p < 3; p++) {
      const ids = await storedProducerIds(broker.port, 'idem-ck', p);
      assert.equal(ids.size, 1, `partition ${p}: one producer id, got ${[...ids]}`);
      assert.ok([...ids][0]! >= 0n, `partition ${p}: idempotent batches (producer id ${[...ids][0]})`);
    }
  });

  test('kafkajs idempotent: true: every record once, in order, batches carry its producer id', async () => {
    const kafka = new Kafka({ clientId: 'idem-js', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'idem-js', numPartitions: 2 }] });
      await producer.connect();
      const n = 2_000;
      for (let s = 0; s < n; s += 100) {
        await producer.send({
          topic: 'idem-js',
          acks: -1,
          messages: Array.from({ length: 100 }, (_, i) => ({ key: String((s + i) % 7), value: String(s + i) })),
        });
      }
      const { stdout } = await run(
        'kcat',
        ['-b', broker.bootstrap, '-C', '-t', 'idem-js', '-e', '-q', '-f', '%p %s\n'],
        {
          timeout: 60_000,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const lines = stdout.split('\n').filter((l) => l);
      const values = lines.map((l) => Number(l.split(' ')[1]));
      assert.equal(values.length, n);
      assert.equal(new Set(values).size, n, 'each record once');
      const last = new Map<string, number>();
      for (const l of lines) {
        const [p, v] = l.split(' ') as [string, string];
        assert.ok(Number(v) > (last.get(p) ?? -1), `partition ${p} in order at ${v}`);
        last.set(p, Number(v));
      }
      for (let p = 0; p < 2; p++) {
        const ids = await storedProducerIds(broker.port, 'idem-js', p);
        assert.equal(ids.size, 1, `partition ${p}: one producer id, got ${[...ids]}`);
        assert.ok([...ids][0]! >= 0n, `partition ${p}: idempotent batches`);
      }
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  });
});
