/**
 * Our consumer against a real `kstream serve`: an AbortSignal ends an iteration that is waiting for records
 * (on a topic with none, and on a topic that does not exist: that just waits, it is no error) within 1.5 s of
 * the abort. Its own file, run alone by scripts/run-tests.js for that bound (produce-consume.test.ts has the
 * rest of the client's round trips, with no bound in time).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';

let broker: BrokerProcess;
let admin: Admin;

before(async () => {
  broker = await startBroker();
  admin = new Admin({ brokers: broker.bootstrap });
  const [created] = await admin.createTopics([{ topic: 'quiet', numPartitions: 1 }]);
  assert.equal(created?.error, null);
});

after(async () => {
  await admin?.close();
  await broker?.stop();
  removeDir(broker?.dataDir ?? '');
});

test('an AbortSignal ends a waiting iteration (an unknown topic just waits, it is no error)', async () => {
  const consumer = new Consumer({ brokers: broker.bootstrap });
  try {
    consumer.assign([
      { topic: 'quiet', partition: 0, offset: 'latest' },
      { topic: 'not-created', partition: 0, offset: 0 },
    ]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    const t0 = Date.now();
    const got: ConsumerRecord[] = [];
    for await (const r of consumer.records({ signal: ac.signal })) got.push(r);
    assert.deepEqual(got, []);
    assert.ok(Date.now() - t0 < 2000, `returned ${Date.now() - t0} ms after the iteration started (abort at 500)`);
  } finally {
    await consumer.close();
  }
});
