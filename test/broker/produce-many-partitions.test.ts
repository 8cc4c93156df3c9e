/**
 * A Produce request holding many partitions, some of them refused, against a real `kstream serve` over a raw
 * socket (issue 22): each partition is answered with its own Kafka error code, nothing of a refused one is
 * stored, the others are; and many such requests pipelined on one connection (their answers leave a turn
 * together, connection.ts) are all answered, in order, with the offsets the log gave them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { MALFORMED_CASES } from '../protocol/malformed-batches.js';

const TOPIC = 'many';
const PARTITIONS = 4;
let broker: BrokerProcess;
let c: RawClient;

async function logEnds(): Promise<bigint[]> {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      {
        name: TOPIC,
        partitions: Array.from({ length: PARTITIONS }, (_, i) => ({
          partitionIndex: i,
          currentLeaderEpoch: -1,
          timestamp: -1n,
        })),
      },
    ],
  });
  const ps = r.topics[0].partitions as Struct[];
  for (const p of ps) assert.equal(p.errorCode, 0);
  return ps.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.offset as bigint);
}

function produceRequest(parts: { index: number; records: Buffer }[], extraTopic = true): Promise<Struct> {
  const topicData = [{ name: TOPIC, partitionData: parts }];
  if (extraTopic)
    topicData.push({ name: 'no-such-topic', partitionData: [parts[0] as { index: number; records: Buffer }] });
  return c.request(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData });
}

/** Error codes by topic and partition index, in the answer's order. */
function codes(r: Struct): [string, number, number][] {
  return (r.responses as Struct[]).flatMap((t) =>
    (t.partitionResponses as Struct[]).map((p): [string, number, number] => [
      t.name as string,
      p.index as number,
      p.errorCode as number,
    ]),
  );
}

describe('a Produce request with many partitions, some refused', () => {
  before(async () => {
    broker = await startBroker();
    c = await RawClient.connect(broker.port);
    const r = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(r.topics[0].errorCode, 0, r.topics[0].errorMessage);
  });

  after(async () => {
    c?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('each partition answered with its own code; nothing of a refused one stored', async () => {
    const two = await buildBatch({
      records: [
        { key: 'a', value: 'x' },
        { key: 'b', value: 'y' },
      ],
    });
    const one = await buildBatch({ records: [{ key: 'c', value: 'z' }] });
    const bad = MALFORMED_CASES[0] as (typeof MALFORMED_CASES)[number];
    const r = await produceRequest([
      { index: 0, records: two },
      { index: 1, records: await bad.build() },
      { index: 2, records: one },
      { index: 9, records: one },
      { index: 3, records: two },
    ]);
    assert.deepEqual(codes(r), [
      [TOPIC, 0, 0],
      [TOPIC, 1, bad.code],
      [TOPIC, 2, 0],
      [TOPIC, 9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [TOPIC, 3, 0],
      ['no-such-topic', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const ps = (r.responses as Struct[])[0].partitionResponses as Struct[];
    assert.deepEqual(
      ps.map((p) => p.baseOffset),
      [0n, -1n, 0n, -1n, 0n],
    );
    assert.deepEqual(await logEnds(), [2n, 0n, 1n, 2n], 'the refused partition stores nothing');
  });

  test('200 such requests pipelined on one connection: all answered, in order, with their offsets', async () => {
    const before = await logEnds();
    const one = await buildBatch({ records: [{ key: 'k', value: 'v' }] });
    const bad = await (MALFORMED_CASES[0] as (typeof MALFORMED_CASES)[number]).build();
    const N = 200;
    // Sent without waiting for answers: many are read, handled and answered in the same turn.
    const answers = await Promise.all(
      Array.from({ length: N }, () =>
        produceRequest(
          [
            { index: 0, records: one },
            { index: 1, records: bad },
            { index: 2, records: one },
          ],
          false,
        ),
      ),
    );
    answers.forEach((r, i) => {
      const ps = (r.responses as Struct[])[0].partitionResponses as Struct[];
      assert.deepEqual(
        ps.map((p) => [p.index, p.errorCode, p.baseOffset]),
        [
          [0, 0, (before[0] as bigint) + BigInt(i)],
          [1, (MALFORMED_CASES[0] as (typeof MALFORMED_CASES)[number]).code, -1n],
          [2, 0, (before[2] as bigint) + BigInt(i)],
        ],
        `request ${i}`,
      );
    });
    const after = await logEnds();
    assert.deepEqual(after, [
      (before[0] as bigint) + BigInt(N),
      before[1],
      (before[2] as bigint) + BigInt(N),
      before[3],
    ]);
  });
});
