/**
 * The TypeScript types of messages are derived from their definitions (src/protocol/codec/schema.ts: Decoded,
 * Encodable). This file is type-checked by `npm test` (tsconfig.test.json): each `@ts-expect-error` below must
 * stay an error, so the typecheck fails the day the types stop catching a field a message does not have.
 * At run time it checks that the decoded objects have exactly the fields the types promise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader } from '../../src/protocol/codec/reader.js';
import {
  compile,
  type Decoded,
  type Encodable,
  type FieldDef,
  type MessageDef,
} from '../../src/protocol/codec/schema.js';
import { Writer } from '../../src/protocol/codec/writer.js';
import { Api, type RequestOf, type ResponseInput } from '../../src/protocol/messages/index.js';

type Produce = typeof Api.Produce;

function roundTrip<D extends MessageDef>(def: D, version: number, value: Encodable<D>): Decoded<D> {
  const c = compile(def, version);
  const w = new Writer(64);
  c.encode(w, value);
  return c.decode(new Reader(w.finish())) as Decoded<D>;
}

/** The field names of the struct reached by `path` from `fields`, sorted. */
function fieldNames(fields: readonly FieldDef[], ...path: string[]): string[] {
  let fs = fields;
  for (const name of path) fs = fs.find((f) => f.name === name)?.fields ?? [];
  return fs.map((f) => f.name).sort();
}

/** Reads of fields a message does not have: compile errors. */
export function misreads(req: RequestOf<Produce>): unknown[] {
  return [
    // @ts-expect-error ProduceRequest has no `topics` (it is `topicData`)
    req.topics,
    // @ts-expect-error a partition's records are `records`, not `recordSet`
    req.topicData[0]?.partitionData[0]?.recordSet,
    // @ts-expect-error acks is a number, not a string
    req.acks.toUpperCase(),
  ];
}

/** Writes of fields a message does not have: compile errors. */
export function miswrites(): ResponseInput<Produce>[] {
  return [
    {
      responses: [
        {
          name: 't',
          partitionResponses: [
            // @ts-expect-error misspelled field in a response partition
            { index: 0, errorCode: 0, baseOfset: 5n },
          ],
        },
      ],
    },
    // @ts-expect-error throttleTimeMs is a number
    { throttleTimeMs: 'soon' },
  ];
}

test('decoded fields have the types the definition gives them', () => {
  const records = Buffer.from('abc');
  const req = roundTrip(Api.Produce.request, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: 'orders', partitionData: [{ index: 3, records }] }],
  });
  // These assignments are type checks as much as value checks: each side's type comes from the definition.
  const acks: number = req.acks;
  const txn: string | null = req.transactionalId;
  const first = req.topicData[0]!.partitionData[0]!;
  const index: number = first.index;
  const bytes: Buffer | null = first.records;
  assert.equal(acks, -1);
  assert.equal(txn, null);
  assert.equal(index, 3);
  assert.deepEqual(bytes, records);
  assert.deepEqual(Object.keys(req).sort(), fieldNames(Api.Produce.request.fields));
});

test('absent fields decode to their defaults with their types (int64 as bigint)', () => {
  const res = roundTrip(Api.Fetch.response, 4, {
    responses: [{ topic: 't', partitions: [{ partitionIndex: 0, highWatermark: 10 }] }],
  });
  const p = res.responses[0]!.partitions[0]!;
  const hw: bigint = p.highWatermark;
  const logStart: bigint = p.logStartOffset; // v5+: absent in v4, default -1
  assert.equal(hw, 10n);
  assert.equal(logStart, -1n);
  assert.deepEqual(Object.keys(p).sort(), fieldNames(Api.Fetch.response.fields, 'responses', 'partitions'));
});
