/**
 * `kstream topic describe T --producers` (issue 16): each partition's idempotent producers as its leader
 * remembers them (DescribeProducers v0), in text and json; also the raw DescribeProducers answer for a
 * partition that does not exist.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
const b = () => ['-b', broker.bootstrap];
const TS = 1_700_000_000_000n; // 2023-11-14T22:13:20.000Z

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
  removeDir(broker?.dataDir ?? '');
});

async function produceIdempotent(c: RawClient, partition: number, pid: bigint, seq: number, count: number) {
  const records = await buildBatch({
    records: Array.from({ length: count }, (_, i) => ({ value: `v${seq + i}`, timestamp: TS + BigInt(seq + i) })),
    producerId: pid,
    producerEpoch: 0,
    baseSequence: seq,
  });
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'tp', partitionData: [{ index: partition, records }] }],
  });
  assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
}

test('topic describe --producers lists each partition idempotent producers (text and json)', async () => {
  let r = await kstream(['topic', 'create', 'tp', '-p', '3', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  const [p1, p2] = await RawClient.using(broker.port, async (c) => {
    const ids: bigint[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await c.request(ApiKey.InitProducerId, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
      ids.push(res.producerId as bigint);
    }
    await produceIdempotent(c, 0, ids[0]!, 0, 3);
    await produceIdempotent(c, 0, ids[0]!, 3, 2);
    await produceIdempotent(c, 0, ids[1]!, 0, 1);
    await produceIdempotent(c, 2, ids[1]!, 0, 7);
    const none = await c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: 'nope', partitionIndexes: [0] }] });
    assert.equal(none.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return ids as [bigint, bigint];
  });

  r = await kstream(['topic', 'describe', 'tp', '--producers', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  const section = r.stdout.slice(r.stdout.indexOf('PRODUCERS\n'));
  const w = Math.max('PRODUCER-ID'.length, String(p1).length, String(p2).length);
  const id = (p: bigint | string) => String(p).padEnd(w);
  assert.equal(
    section,
    'PRODUCERS\n' +
      `PARTITION  ${id('PRODUCER-ID')}  EPOCH  LAST-SEQUENCE  LAST-TIMESTAMP\n` +
      `0          ${id(p1)}  0      4              2023-11-14T22:13:20.004Z\n` +
      `0          ${id(p2)}  0      0              2023-11-14T22:13:20.000Z\n` +
      `2          ${id(p2)}  0      6              2023-11-14T22:13:20.006Z\n`,
  );

  r = await kstream(['topic', 'describe', 'tp', '--producers', '-o', 'json', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).producers, {
    producers: [
      { partition: 0, producerId: Number(p1), producerEpoch: 0, lastSequence: 4, lastTimestamp: Number(TS + 4n) },
      { partition: 0, producerId: Number(p2), producerEpoch: 0, lastSequence: 0, lastTimestamp: Number(TS) },
      { partition: 2, producerId: Number(p2), producerEpoch: 0, lastSequence: 6, lastTimestamp: Number(TS + 6n) },
    ],
    errors: [],
  });

  // Without the flag, no producers section (the output stays as it was).
  r = await kstream(['topic', 'describe', 'tp', ...b()]);
  assert.ok(!r.stdout.includes('PRODUCERS'));
});
