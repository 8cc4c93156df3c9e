/**
 * The TypeScript types of messages are derived from their definitions (src/protocol/codec/schema.ts: Decoded,
 * Encodable). This file is type-checked by `npm test` (tsconfig.test.json): each `@ts-expect-error` below must
 * stay an error, so the typecheck fails the day the types stop catching a field a message does not have.
 * At run time it checks that the decoded objects have exactly the fields the types promise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineHandler } from '../../src/broker/router.js';
import type { Connection } from '../../src/client/connection.js';
import { Reader } from '../../src/protocol/codec/reader.js';
import {
  compile,
  type Decoded,
  type Encodable,
  type FieldDef,
  inVersions,
  type MessageDef,
  parseVersions,
  type Struct,
} from '../../src/protocol/codec/schema.js';
import { Writer } from '../../src/protocol/codec/writer.js';
import { APIS, Api, type RequestOf, type ResponseInput } from '../../src/protocol/messages/index.js';

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

/** A broker handler reading a field its request lacks, through the real handler type: a compile error. */
export const misreadingHandler = defineHandler(Api.Produce, {
  minVersion: 3,
  maxVersion: 9,
  handle(req) {
    // @ts-expect-error ProduceRequest has no `topics` (it is `topicData`)
    const topics: unknown = req.topics;
    return topics === undefined ? null : { responses: [], throttleTimeMs: 0 };
  },
});

/** A client reading a response field that does not exist, or sending a request field that does not: errors. */
export async function clientMisreads(conn: Connection): Promise<unknown[]> {
  const res = await conn.request(Api.Metadata, { topics: null });
  await conn.request(Api.Metadata, {
    // @ts-expect-error MetadataRequest has `topics`, not `topicNames`
    topicNames: [],
  });
  return [
    // @ts-expect-error MetadataResponse has no top-level `partitions` (each topic has its own)
    res.partitions,
    // @ts-expect-error a broker is `nodeId`, not `brokerId` (that is DescribeCluster's)
    res.brokers[0]?.brokerId,
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

// ---- The types are honest: what the decoder yields for every field in every version has the derived type ----

/** Whether `v` has the type StructOf/DecodedField derive for `f` (schema.ts): the same rules, at run time. */
function hasDerivedType(f: FieldDef, v: unknown): boolean {
  const nullable = f.nullableVersions !== undefined || f.default === null;
  if (v === null) return nullable || f.type === 'records';
  if (f.type === 'struct') return isStruct(f.fields ?? [], v);
  if (f.type.startsWith('[]')) {
    if (!Array.isArray(v)) return false;
    const elem: FieldDef = { name: f.name, type: f.type.slice(2) as FieldDef['type'], versions: f.versions };
    if (f.type === '[]struct') return v.every((e) => isStruct(f.fields ?? [], e));
    return v.every((e) => e !== null && hasDerivedType(elem, e));
  }
  switch (f.type) {
    case 'int64':
      return typeof v === 'bigint';
    case 'bool':
      return typeof v === 'boolean';
    case 'string':
    case 'uuid':
      return typeof v === 'string';
    case 'bytes':
    case 'records':
      return Buffer.isBuffer(v);
    default:
      return typeof v === 'number';
  }
}

/** Every field of the definition present (absent versions included), each with its derived type, and no other. */
function isStruct(fields: readonly FieldDef[], v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Struct;
  const names = fields.map((f) => f.name).sort();
  if (JSON.stringify(Object.keys(o).sort()) !== JSON.stringify(names)) return false;
  return fields.every((f) => hasDerivedType(f, o[f.name]));
}

/** A value for every field present in `version` (one element per array); nullable ones null when `nulls`. */
function sample(fields: readonly FieldDef[], version: number, nulls: boolean): Struct {
  const out: Struct = {};
  for (const f of fields) {
    if (!inVersions(f.versions, version) && !inVersions(f.taggedVersions, version)) continue;
    if (nulls && inVersions(f.nullableVersions, version)) {
      out[f.name] = null;
      continue;
    }
    const one = (t: string): unknown => {
      switch (t) {
        case 'struct':
          return sample(f.fields ?? [], version, nulls);
        case 'int64':
          return 7n;
        case 'bool':
          return true;
        case 'string':
          return 's';
        case 'uuid':
          return '0123456789abcdef0123456789abcdef';
        case 'bytes':
        case 'records':
          return Buffer.from('ab');
        default:
          return 1;
      }
    };
    out[f.name] = f.type.startsWith('[]') ? [one(f.type.slice(2))] : one(f.type);
  }
  return out;
}

test("every message, every version: decoded values (absent fields' defaults included) have the derived types", () => {
  let checked = 0;
  for (const api of APIS) {
    for (const def of [api.request, api.response]) {
      const { min, max } = parseVersions(def.validVersions);
      for (let v = min; v <= max; v++) {
        for (const value of [{}, sample(def.fields, v, false), sample(def.fields, v, true)]) {
          const c = compile(def, v);
          const w = new Writer(64);
          c.encode(w, value);
          const r = new Reader(w.finish());
          const decoded = c.decode(r);
          assert.equal(r.bad, false, `${def.name} v${v}: ${r.reason}`);
          assert.ok(isStruct(def.fields, decoded), `${def.name} v${v}: a decoded field does not have its type`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 100);
});
