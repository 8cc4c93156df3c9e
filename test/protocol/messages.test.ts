/**
 * Round-trip property tests for every registered message definition, for every version it declares.
 *
 * The arbitraries are derived from the definitions themselves (FieldDef lists), so a new field or version is
 * covered without touching this file: for a version, every field that exists in it (or is tagged in it) gets
 * a random value of its wire type, nulls only where the field is nullable in that version; fields absent in
 * that version get a junk value that the encoder must ignore, and must decode to their default.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import { Reader } from '../../src/protocol/codec/reader.js';
import { compile, type FieldDef, inVersions, type MessageDef, type Struct } from '../../src/protocol/codec/schema.js';
import { Writer } from '../../src/protocol/codec/writer.js';
import { FetchResponse } from '../../src/protocol/messages/fetch.js';
import { APIS } from '../../src/protocol/messages/index.js';
import { MetadataRequest } from '../../src/protocol/messages/metadata.js';
import { ProduceRequest } from '../../src/protocol/messages/produce.js';
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../src/protocol/wire.js';

const NUM_RUNS = 30;
const FRAME_RUNS = 8;

function versionsOf(def: MessageDef): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(def.validVersions);
  if (!m) throw new Error(`${def.name}: validVersions must be a closed range, got ${def.validVersions}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Whether a field is on the wire in version v (as a plain field or in the tagged-field block). */
function present(f: FieldDef, v: number, flexible: boolean): boolean {
  if (flexible && f.tag !== undefined && inVersions(f.taggedVersions, v)) return true;
  return inVersions(f.versions, v);
}

function isTagged(f: FieldDef, v: number, flexible: boolean): boolean {
  return flexible && f.tag !== undefined && inVersions(f.taggedVersions, v);
}

/** The default a decoder must produce for a field, computed from the definition independently of the codec. */
function defaultOf(f: FieldDef): unknown {
  if (f.type === 'struct') {
    if (f.default === null) return null;
    return Object.fromEntries((f.fields ?? []).map((x) => [x.name, defaultOf(x)]));
  }
  if (f.type.startsWith('[]')) return f.default === null ? null : [];
  if (f.default !== undefined) {
    return f.type === 'int64' && f.default !== null ? BigInt(f.default as number | bigint) : f.default;
  }
  switch (f.type) {
    case 'int64':
      return 0n;
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    case 'uuid':
      return '0'.repeat(32);
    default:
      return 0;
  }
}

/** A well-typed, non-default value for a field absent in the version under test: encoders must skip it. */
function junkOf(f: FieldDef): unknown {
  switch (f.type) {
    case 'struct':
      return {};
    case '[]struct':
      return [{}];
    case 'int64':
      return 77n;
    case 'bool':
      return f.default !== true;
    case 'string':
      return 'junk';
    case 'bytes':
    case 'records':
      return Buffer.from('junk');
    case 'uuid':
      return 'ab'.repeat(16);
    default:
      if (f.type.startsWith('[]')) return [];
      return 77;
  }
}

const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const stringArb = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 }));
const smallBytesArb = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
// Occasionally a buffer above the writer's by-reference threshold, to exercise the vectored path.
const recordsArb = fc.oneof(
  { weight: 4, arbitrary: smallBytesArb },
  { weight: 1, arbitrary: fc.integer({ min: 4096, max: 6000 }).map((n) => Buffer.alloc(n, n & 0xff)) },
);

function primitiveArb(t: string): fc.Arbitrary<unknown> {
  switch (t) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double();
    case 'bool':
      return fc.boolean();
    case 'string':
      return stringArb;
    case 'bytes':
      return smallBytesArb;
    case 'records':
      return recordsArb;
    case 'uuid':
      return uuidArb;
    default:
      throw new Error(`no arbitrary for type ${t}`);
  }
}

interface Gen {
  /** What to hand to encode. */
  input: Struct;
  /** What decode must return. */
  expected: Struct;
}

function fieldArb(f: FieldDef, v: number, flexible: boolean, depth: number): fc.Arbitrary<unknown> {
  const nullable = inVersions(f.nullableVersions, v) || f.type === 'records';
  let arb: fc.Arbitrary<unknown>;
  if (f.type === 'struct') {
    arb = structArb(f.fields ?? [], v, flexible, depth + 1);
  } else if (f.type === '[]struct') {
    arb = fc.array(structArb(f.fields ?? [], v, flexible, depth + 1), { maxLength: depth === 0 ? 3 : 2 });
  } else if (f.type.startsWith('[]')) {
    arb = fc.array(primitiveArb(f.type.slice(2)), { maxLength: 4 });
  } else {
    arb = primitiveArb(f.type);
  }
  if (nullable) arb = fc.option(arb, { nil: null, freq: 4 });
  if (isTagged(f, v, flexible)) {
    // Tagged fields: sometimes left at their default (and so omitted from the wire), sometimes set.
    const d = defaultOf(f);
    const dGen = f.type === 'struct' && d !== null ? { input: d, expected: d } : d;
    arb = fc.oneof(fc.constant(dGen), arb);
  }
  return arb;
}

/** A generator for one struct at one version: {input, expected} pairs (struct values carry both). */
function structArb(fields: readonly FieldDef[], v: number, flexible: boolean, depth = 0): fc.Arbitrary<Gen> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    parts[f.name] = present(f, v, flexible) ? fieldArb(f, v, flexible, depth) : fc.constant(junkOf(f));
  }
  return fc.record(parts).map((raw) => {
    const input: Struct = {};
    const expected: Struct = {};
    for (const f of fields) {
      const x = raw[f.name];
      if (!present(f, v, flexible)) {
        input[f.name] = x;
        expected[f.name] = defaultOf(f);
        continue;
      }
      if (f.type === 'struct' && x !== null) {
        input[f.name] = (x as Gen).input;
        expected[f.name] = (x as Gen).expected;
      } else if (f.type === '[]struct' && x !== null) {
        input[f.name] = (x as Gen[]).map((g) => g.input);
        expected[f.name] = (x as Gen[]).map((g) => g.expected);
      } else {
        input[f.name] = x;
        expected[f.name] = x;
      }
    }
    return { input, expected };
  });
}

const arbCache = new Map<MessageDef, Map<number, fc.Arbitrary<Gen>>>();
function messageArb(def: MessageDef, v: number): fc.Arbitrary<Gen> {
  let byV = arbCache.get(def);
  if (!byV) {
    byV = new Map();
    arbCache.set(def, byV);
  }
  let a = byV.get(v);
  if (!a) {
    a = structArb(def.fields, v, inVersions(def.flexibleVersions, v));
    byV.set(v, a);
  }
  return a;
}

function withContext(ctx: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) e.message = `${ctx}: ${e.message}`;
    throw e;
  }
}

test('registry: api keys are unique and request/response declare the same versions', () => {
  const keys = new Set<number>();
  for (const a of APIS) {
    assert.ok(!keys.has(a.key), `duplicate api key ${a.key}`);
    keys.add(a.key);
    assert.equal(a.request.type, 'request');
    assert.equal(a.response.type, 'response');
    assert.equal(a.request.validVersions, a.response.validVersions, a.name);
    assert.equal(a.request.flexibleVersions, a.response.flexibleVersions, a.name);
  }
});

for (const api of APIS) {
  test(`${api.name} (key ${api.key}) v${api.request.validVersions}: every version round-trips`, () => {
    for (const def of [api.request, api.response]) {
      for (const v of versionsOf(def)) {
        withContext(`${def.name} v${v}`, () => {
          const codec = compile(def, v);
          fc.assert(
            fc.property(messageArb(def, v), ({ input, expected }) => {
              const w = new Writer(32);
              codec.encode(w, input);
              const bytes = w.finish();
              const r = new Reader(bytes);
              const got = codec.decode(r);
              assert.equal(r.bad, false, r.reason);
              assert.equal(r.remaining, 0, 'decoder left bytes unread');
              assert.deepStrictEqual(got, expected);
            }),
            { numRuns: NUM_RUNS },
          );
        });
      }
    }
  });

  test(`${api.name} (key ${api.key}): request and response frames round-trip through wire.ts`, () => {
    for (const v of versionsOf(api.request)) {
      withContext(`${api.name} v${v} frame`, () => {
        fc.assert(
          fc.property(
            messageArb(api.request, v),
            messageArb(api.response, v),
            fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
            fc.option(stringArb, { nil: null }),
            (req, res, correlationId, clientId) => {
              const header = { apiKey: api.key, apiVersion: v, correlationId, clientId };
              const frame = Buffer.concat(encodeRequest(header, req.input));
              assert.equal(frame.readInt32BE(0), frame.length - 4);
              const r = new Reader(frame.subarray(4));
              const h = decodeRequestHeader(r);
              assert.deepStrictEqual(h, header);
              const body = decodeRequestBody(h, r);
              assert.equal(r.bad, false, r.reason);
              assert.equal(r.remaining, 0, 'request frame left bytes unread');
              assert.deepStrictEqual(body, req.expected);

              const out = Buffer.concat(encodeResponse(api.key, v, correlationId, res.input));
              assert.equal(out.readInt32BE(0), out.length - 4);
              const dec = decodeResponse(api.key, v, out.subarray(4));
              assert.equal(dec.error, undefined);
              assert.equal(dec.correlationId, correlationId);
              assert.deepStrictEqual(dec.body, res.expected);
            },
          ),
          { numRuns: FRAME_RUNS },
        );
      });
    }
  });
}

// ---- Known bytes, written out by hand from the protocol guide ----

function hex(s: string): Buffer {
  const digits = s
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, ''))
    .join('')
    .replace(/\s/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex ${digits}`);
  return Buffer.from(digits, 'hex');
}

function encodeBody(def: MessageDef, v: number, body: Struct): Buffer {
  const w = new Writer();
  compile(def, v).encode(w, body);
  return w.finish();
}

function decodeAll(def: MessageDef, v: number, bytes: Buffer): Struct {
  const r = new Reader(bytes);
  const out = compile(def, v).decode(r);
  assert.equal(r.bad, false, r.reason);
  assert.equal(r.remaining, 0);
  return out;
}

test('Metadata v12 request: null topics (= all), header v2, compact nullable array', () => {
  const frame = Buffer.concat(
    encodeRequest(
      { apiKey: 3, apiVersion: 12, correlationId: 7, clientId: 'ks' },
      { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true },
    ),
  );
  const expected = hex(`
    00000011              // size 17
    0003 000c 00000007    // api key 3, version 12, correlation id 7
    0002 6b73             // client id: int16-length string even in header v2
    00                    // header tagged fields
    00                    // topics: compact array length 0 = null
    00                    // allow_auto_topic_creation false
    01                    // include_topic_authorized_operations true
    00                    // body tagged fields`);
  assert.deepEqual(frame, expected);
  const r = new Reader(frame.subarray(4));
  const h = decodeRequestHeader(r);
  const body = decodeRequestBody(h, r);
  assert.equal(body?.topics, null);
  assert.equal(body?.includeClusterAuthorizedOperations, false, 'absent in v12: default');
});

test('Metadata v12 request: topics by id (null name) and by name', () => {
  const id = '0123456789abcdef0011223344556677';
  const body = {
    topics: [
      { topicId: id, name: null },
      { topicId: '0'.repeat(32), name: 'orders' },
    ],
    allowAutoTopicCreation: true,
    includeTopicAuthorizedOperations: false,
  };
  const bytes = hex(`
    03                                  // topics: 2 elements (N+1)
    0123456789abcdef0011223344556677    // topic_id
    00                                  // name: null compact string
    00                                  // topic tagged fields
    00000000000000000000000000000000    // topic_id: zero uuid
    07 6f7264657273                     // name "orders" (N+1)
    00
    01 00                               // allow_auto_topic_creation, include_topic_authorized_operations
    00`);
  assert.deepEqual(encodeBody(MetadataRequest, 12, body), bytes);
  assert.deepStrictEqual(decodeAll(MetadataRequest, 12, bytes), {
    ...body,
    includeClusterAuthorizedOperations: false,
  });
  // v0: no nullable array, an empty array means all topics; v1+ null.
  assert.throws(() => encodeBody(MetadataRequest, 0, { topics: null }));
  assert.deepEqual(encodeBody(MetadataRequest, 1, { topics: null }), hex('ffffffff'));
});

test('Fetch v12 response: tagged divergingEpoch / currentLeader, unknown tags skipped', () => {
  const partition = {
    partitionIndex: 3,
    errorCode: 0,
    highWatermark: 10n,
    lastStableOffset: 10n,
    logStartOffset: 0n,
    divergingEpoch: { epoch: 4, endOffset: 9n },
    currentLeader: { leaderId: 1, leaderEpoch: 5 },
    snapshotId: { endOffset: -1n, epoch: -1 },
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: Buffer.from([0xaa, 0xbb, 0xcc]),
  };
  const body = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 't', partitions: [partition] }] };
  const bytes = hex(`
    00000000 0000 00000000     // throttle_time_ms, error_code, session_id
    02                         // responses: 1
    02 74                      // topic "t"
    02                         // partitions: 1
    00000003 0000              // partition_index, error_code
    000000000000000a           // high_watermark
    000000000000000a           // last_stable_offset
    0000000000000000           // log_start_offset
    00                         // aborted_transactions: null
    ffffffff                   // preferred_read_replica
    04 aabbcc                  // records (N+1)
    02                         // 2 tagged fields (snapshot_id is at its default: omitted)
    00 0d 00000004 0000000000000009 00  // tag 0 diverging_epoch: 13 bytes, its own (empty) tag buffer included
    01 09 00000001 00000005 00          // tag 1 current_leader: 9 bytes
    00                         // topic tagged fields
    00                         // response tagged fields`);
  assert.deepEqual(encodeBody(FetchResponse, 12, body), bytes);
  assert.deepStrictEqual(decodeAll(FetchResponse, 12, bytes), body);

  // A peer may send tags we do not know (here tag 9, 2 bytes): they are skipped, known ones still read.
  const withUnknown = Buffer.from(bytes);
  const tagsAt = withUnknown.indexOf(hex('0200 0d'));
  const patched = Buffer.concat([
    withUnknown.subarray(0, tagsAt),
    hex('01 09 02 ffff'),
    withUnknown.subarray(tagsAt + 1 + (2 + 13) + (2 + 9)),
  ]);
  const got = decodeAll(FetchResponse, 12, patched);
  assert.deepStrictEqual(got.responses[0].partitions[0].divergingEpoch, { epoch: -1, endOffset: -1n });
  assert.deepStrictEqual(got.responses[0].partitions[0].currentLeader, { leaderId: -1, leaderEpoch: -1 });
  assert.deepEqual(got.responses[0].partitions[0].records, Buffer.from([0xaa, 0xbb, 0xcc]));
});

test('Produce v3 request: null transactionalId, int32-length records', () => {
  const body = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'ab', partitionData: [{ index: 1, records: Buffer.from([1, 2, 3, 4]) }] }],
  };
  const bytes = hex(`
    ffff              // transactional_id: null (int16 -1)
    ffff              // acks -1
    00007530          // timeout_ms 30000
    00000001          // topic_data: 1
    0002 6162         // name "ab"
    00000001          // partition_data: 1
    00000001          // index 1
    00000004 01020304 // records`);
  assert.deepEqual(encodeBody(ProduceRequest, 3, body), bytes);
  assert.deepStrictEqual(decodeAll(ProduceRequest, 3, bytes), body);
  // v2 has no transactional id at all; it decodes as null.
  assert.deepStrictEqual(decodeAll(ProduceRequest, 2, bytes.subarray(2)), body);
  // Null records are written as length -1.
  const nullRecords = { ...body, topicData: [{ name: 'ab', partitionData: [{ index: 1, records: null }] }] };
  assert.deepEqual(encodeBody(ProduceRequest, 3, nullRecords).subarray(-4), hex('ffffffff'));
});

// ---- Cross-check with an independent implementation ----
// kafkajs (a devDependency, used for interop tests) speaks the non-flexible versions. Bytes its request
// encoders produce must decode with our definitions, consuming every byte; bytes our response definitions
// produce must decode with its parsers to the same values. This guards field order and types, which the
// round-trip properties above cannot (they only prove our encoder and decoder agree with each other).

type KafkajsRequest = { apiVersion: number; encode(): Promise<{ buffer: Buffer }> };
type KafkajsResponse = { decode(b: Buffer): Promise<Record<string, unknown>> };
const kafkajs = createRequire(import.meta.url);
const kjsRequest = (path: string) =>
  kafkajs(`kafkajs/src/protocol/requests/${path}/request.js`) as (args: unknown) => KafkajsRequest;
const kjsResponse = (path: string) => kafkajs(`kafkajs/src/protocol/requests/${path}/response.js`) as KafkajsResponse;
const spec = (key: number) => {
  const a = APIS.find((x) => x.key === key);
  if (!a) throw new Error(`api ${key} not registered`);
  return a;
};

test('kafkajs request encoders decode with our definitions', async () => {
  const cases: [string, number, unknown, Struct][] = [
    ['metadata/v6', 3, { topics: ['a'], allowAutoTopicCreation: false }, { allowAutoTopicCreation: false }],
    [
      'fetch/v11',
      1,
      {
        replicaId: -1,
        maxWaitTime: 500,
        minBytes: 1,
        maxBytes: 1000,
        isolationLevel: 1,
        sessionId: 7,
        sessionEpoch: 3,
        topics: [
          {
            topic: 't',
            partitions: [{ partition: 2, currentLeaderEpoch: 5, fetchOffset: '10', logStartOffset: '1', maxBytes: 99 }],
          },
        ],
        rackId: 'r1',
      },
      { sessionEpoch: 3, rackId: 'r1' },
    ],
    [
      'listOffsets/v3',
      2,
      { replicaId: -1, isolationLevel: 1, topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: -2 }] }] },
      { isolationLevel: 1 },
    ],
    [
      'listOffsets/v0',
      2,
      { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: -1 }] }] },
      { replicaId: -1 },
    ],
    [
      'joinGroup/v5',
      11,
      {
        groupId: 'g',
        sessionTimeout: 30000,
        rebalanceTimeout: 60000,
        memberId: 'm',
        groupInstanceId: 'i',
        protocolType: 'consumer',
        groupProtocols: [{ name: 'range', metadata: Buffer.from([1]) }],
      },
      { rebalanceTimeoutMs: 60000, groupInstanceId: 'i', protocolType: 'consumer' },
    ],
    [
      'syncGroup/v3',
      14,
      { groupId: 'g', generationId: 3, memberId: 'm', groupInstanceId: null, groupAssignment: [] },
      { generationId: 3 },
    ],
    [
      'heartbeat/v3',
      12,
      { groupId: 'g', groupGenerationId: 3, memberId: 'm', groupInstanceId: 'x' },
      { groupInstanceId: 'x' },
    ],
    ['leaveGroup/v3', 13, { groupId: 'g', members: [{ memberId: 'm', groupInstanceId: null }] }, { groupId: 'g' }],
    [
      'offsetCommit/v5',
      8,
      {
        groupId: 'g',
        groupGenerationId: 3,
        memberId: 'm',
        topics: [{ topic: 't', partitions: [{ partition: 0, offset: '42' }] }],
      },
      { generationId: 3 },
    ],
    [
      'offsetCommit/v2',
      8,
      { groupId: 'g', groupGenerationId: 3, memberId: 'm', retentionTime: 9, topics: [] },
      { retentionTimeMs: 9n },
    ],
    ['offsetFetch/v4', 9, { groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0 }] }] }, { groupId: 'g' }],
    ['findCoordinator/v2', 10, { coordinatorKey: 'g', coordinatorType: 1 }, { key: 'g', keyType: 1 }],
    [
      'createTopics/v3',
      19,
      { topics: [{ topic: 't', numPartitions: 3, replicationFactor: 1 }], validateOnly: true, timeout: 5000 },
      { timeoutMs: 5000, validateOnly: true },
    ],
    ['deleteTopics/v1', 20, { topics: ['a', 'b'], timeout: 5000 }, { topicNames: ['a', 'b'] }],
    [
      'describeConfigs/v2',
      32,
      { resources: [{ type: 2, name: 't', configNames: ['retention.ms'] }], includeSynonyms: true },
      {
        includeSynonyms: true,
        resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }],
      },
    ],
    [
      'alterConfigs/v1',
      33,
      { resources: [{ type: 2, name: 't', configEntries: [{ name: 'a', value: 'b' }] }], validateOnly: true },
      { validateOnly: true },
    ],
    [
      'createPartitions/v1',
      37,
      { topicPartitions: [{ topic: 't', count: 5, assignments: [[1], [2]] }], validateOnly: false, timeout: 5000 },
      { timeoutMs: 5000 },
    ],
    [
      'deleteRecords/v1',
      21,
      { topics: [{ topic: 't', partitions: [{ partition: 0, offset: '5' }] }], timeout: 5000 },
      { timeoutMs: 5000 },
    ],
    ['initProducerId/v1', 22, { transactionalId: null, transactionTimeout: 6000 }, { transactionTimeoutMs: 6000 }],
    ['saslHandshake/v1', 17, { mechanism: 'PLAIN' }, { mechanism: 'PLAIN' }],
  ];
  for (const [path, key, args, some] of cases) {
    const req = kjsRequest(path)(args);
    const r = new Reader((await req.encode()).buffer);
    const got = compile(spec(key).request, req.apiVersion).decode(r);
    assert.equal(r.bad, false, `${path}: ${r.reason}`);
    assert.equal(r.remaining, 0, `${path}: bytes left`);
    for (const [k, x] of Object.entries(some)) assert.deepStrictEqual(got[k], x, `${path}.${k}`);
  }
});

test('our response encodings decode with kafkajs parsers', async () => {
  const cases: [string, number, number, Struct, (d: Record<string, unknown>) => unknown, unknown][] = [
    [
      'metadata/v6',
      3,
      6,
      {
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: 'r' }],
        clusterId: 'c',
        controllerId: 1,
        topics: [
          {
            name: 't',
            partitions: [{ partitionIndex: 2, leaderId: 1, replicaNodes: [1], isrNodes: [1], offlineReplicas: [3] }],
          },
        ],
      },
      (d) =>
        (d.topicMetadata as { partitionMetadata: { offlineReplicas: number[] }[] }[])[0]?.partitionMetadata[0]
          ?.offlineReplicas,
      [3],
    ],
    [
      'produce/v7',
      0,
      7,
      {
        responses: [
          { name: 't', partitionResponses: [{ index: 1, baseOffset: 100n, logAppendTimeMs: 5n, logStartOffset: 3n }] },
        ],
      },
      (d) => (d.topics as { partitions: { logStartOffset: string }[] }[])[0]?.partitions[0]?.logStartOffset,
      '3',
    ],
    [
      'fetch/v11',
      1,
      11,
      {
        sessionId: 5,
        responses: [
          {
            topic: 't',
            partitions: [
              {
                partitionIndex: 1,
                highWatermark: 10n,
                abortedTransactions: [{ producerId: 4n, firstOffset: 3n }],
                preferredReadReplica: 2,
                records: Buffer.alloc(0),
              },
            ],
          },
        ],
      },
      (d) =>
        (d.responses as { partitions: { preferredReadReplica: number }[] }[])[0]?.partitions[0]?.preferredReadReplica,
      2,
    ],
    [
      'listOffsets/v3',
      2,
      3,
      { topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: 5n, offset: 77n }] }] },
      (d) => (d.responses as { partitions: { offset: string }[] }[])[0]?.partitions[0]?.offset,
      '77',
    ],
    [
      'joinGroup/v5',
      11,
      5,
      {
        generationId: 4,
        protocolName: 'range',
        leader: 'l',
        memberId: 'm',
        members: [{ memberId: 'm', groupInstanceId: 'i', metadata: Buffer.from([1]) }],
      },
      (d) => (d.members as { groupInstanceId: string }[])[0]?.groupInstanceId,
      'i',
    ],
    [
      'offsetFetch/v4',
      9,
      4,
      {
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42n, metadata: 'md' }] }],
        errorCode: 16,
      },
      (d) => d.errorCode,
      16,
    ],
    [
      'describeGroups/v2',
      15,
      2,
      {
        groups: [
          {
            groupId: 'g',
            groupState: 'Stable',
            members: [{ memberId: 'm', clientHost: '/h', memberAssignment: Buffer.from([2]) }],
          },
        ],
      },
      (d) => (d.groups as { members: { clientHost: string }[] }[])[0]?.members[0]?.clientHost,
      '/h',
    ],
    [
      'describeConfigs/v2',
      32,
      2,
      {
        results: [
          {
            resourceType: 2,
            resourceName: 't',
            configs: [{ name: 'a', value: 'b', configSource: 1, synonyms: [{ name: 'a', value: 'b', source: 5 }] }],
          },
        ],
      },
      (d) =>
        (d.resources as { configEntries: { configSynonyms: { configSource: number }[] }[] }[])[0]?.configEntries[0]
          ?.configSynonyms[0]?.configSource,
      5,
    ],
    ['initProducerId/v1', 22, 1, { producerId: 1000n, producerEpoch: 2 }, (d) => d.producerEpoch, 2],
    [
      'findCoordinator/v2',
      10,
      2,
      { nodeId: 3, host: 'h', port: 9 },
      (d) => d.coordinator,
      { nodeId: 3, host: 'h', port: 9 },
    ],
  ];
  for (const [path, key, v, body, pick, want] of cases) {
    const w = new Writer();
    compile(spec(key).response, v).encode(w, body);
    assert.deepStrictEqual(pick(await kjsResponse(path).decode(w.finish())), want, path);
  }
});
