/**
 * confluent-kafka-python (librdkafka) and kafka-python 2.0.2, Debian's, against a real `kstream serve`:
 * produce with acks=all and each codec, consume with assign(), every record identical.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { pyScript } from '../helpers/python.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
let broker: BrokerProcess;

describe('Python clients against kstream serve', () => {
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  for (const codec of CODECS) {
    test(`confluent-kafka-python: acks=all, ${codec}, assign() reads every record`, async () => {
      const n = 20_000;
      const r = await pyScript('confluent_roundtrip.py', [broker.bootstrap, `ck-${codec}`, codec, String(n)]);
      assert.deepEqual(r, {
        produced: n,
        consumed: n,
        errors: [],
        unflushed: 0,
        mismatches: [],
        contiguous: true,
        partitions: 3,
      });
    });
  }

  for (const codec of CODECS) {
    test(`kafka-python 2.0.2: acks=all, ${codec}, assign() reads every record`, async () => {
      const n = 5_000;
      const r = await pyScript('kafka_python_roundtrip.py', [broker.bootstrap, `kp-${codec}`, codec, String(n)]);
      assert.deepEqual(r, { produced: n, consumed: n, errors: [], mismatches: [], contiguous: true });
    });
  }
});
