/**
 * Golden bytes: request frames captured from real clients (kcat/librdkafka 2.0.2, confluent-kafka-python
 * 1.7.0, kafka-python 2.0.2) by scripts/capture-fixtures.ts decode to the values those clients sent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Reader } from '../../src/protocol/codec/reader.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { Compression } from '../../src/protocol/records/batch.js';
import { decodeBatch } from '../../src/protocol/records/record.js';
import { decodeRequestBody, decodeRequestHeader, encodeRequest, type RequestHeader } from '../../src/protocol/wire.js';

const DIR = join(import.meta.dirname, 'fixtures', 'requests');

function load(name: string): { header: RequestHeader; body: Struct; bytes: Buffer } {
  const bytes = Buffer.from(readFileSync(join(DIR, `${name}.hex`), 'utf8').trim(), 'hex');
  const r = new Reader(bytes);
  const header = decodeRequestHeader(r);
  const body = decodeRequestBody(header, r);
  assert.ok(body, `${name} decodes`);
  assert.equal(r.remaining, 0, `${name}: every byte consumed`);
  return { header, body, bytes };
}

/** Re-encoding what we decoded gives the client's exact bytes. */
function reencodes(name: string): void {
  const { header, body, bytes } = load(name);
  const frame = Buffer.concat(encodeRequest(header, body));
  assert.deepEqual(frame.subarray(4), bytes, `${name} re-encodes byte-identically`);
}

test('librdkafka ApiVersions v3 (flexible, request header v2)', () => {
  const { header, body } = load('kcat-ApiVersions-v3');
  assert.deepEqual(header, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
  assert.deepEqual(body, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
  const c = load('confluent-ApiVersions-v3');
  assert.equal(c.body.clientSoftwareName, 'confluent-kafka-python');
  assert.equal(c.body.clientSoftwareVersion, '1.7.0-rdkafka-2.0.2');
  reencodes('kcat-ApiVersions-v3');
});

test('kafka-python ApiVersions v0 and Metadata v0/v1 (all topics: [] in v0, null in v1)', () => {
  assert.equal(load('kafka-python-ApiVersions-v0').header.clientId, 'kafka-python-producer-1');
  assert.deepEqual(load('kafka-python-Metadata-v0').body.topics, []);
  assert.equal(load('kafka-python-Metadata-v1').body.topics, null);
  for (const n of ['kafka-python-ApiVersions-v0', 'kafka-python-Metadata-v0', 'kafka-python-Metadata-v1']) reencodes(n);
});

test('librdkafka Metadata v4 asks for one topic with auto creation allowed', () => {
  const { body } = load('kcat-Metadata-v4');
  assert.deepEqual(
    body.topics.map((t: Struct) => t.name),
    ['golden'],
  );
  assert.equal(body.allowAutoTopicCreation, true);
  reencodes('kcat-Metadata-v4');
});

test('librdkafka Fetch v11 and ListOffsets v2', () => {
  const f = load('kcat-Fetch-v11').body;
  assert.equal(f.replicaId, -1);
  assert.equal(f.isolationLevel, 1);
  assert.equal(f.sessionEpoch, -1);
  assert.equal(f.topics[0].topic, 'golden');
  assert.deepEqual(
    { ...f.topics[0].partitions[0] },
    {
      partition: 0,
      currentLeaderEpoch: -1,
      fetchOffset: 0n,
      logStartOffset: -1n,
      partitionMaxBytes: 1048576,
      lastFetchedEpoch: -1,
    },
  );
  const l = load('kcat-ListOffsets-v2').body;
  assert.equal(l.topics[0].partitions[0].timestamp, -2n, 'earliest');
  reencodes('kcat-Fetch-v11');
  reencodes('kcat-ListOffsets-v2');
});

const X = 'x'.repeat(200);
const produced: [string, Compression, { key: string; value: string; headers: [string, string][] }[]][] = [
  [
    'kcat-Produce-v7',
    Compression.Snappy,
    [
      { key: 'k1', value: `v1${X}`, headers: [] },
      { key: 'k2', value: `v2${X}`, headers: [] },
    ],
  ],
  ['confluent-Produce-v7', Compression.Zstd, [{ key: 'ck', value: `confluent${X}`, headers: [['h', '1']] }]],
  ['kafka-python-Produce-v7', Compression.Gzip, [{ key: 'kp', value: `kafka-python${X}`, headers: [['h', '2']] }]],
];

for (const [name, codec, records] of produced) {
  test(`${name}: acks=all, one compressed RecordBatch v2 with the sent records`, async () => {
    const { body } = load(name);
    assert.equal(body.acks, -1);
    assert.equal(body.transactionalId, null);
    const pd = body.topicData[0].partitionData[0];
    const { header, records: got } = await decodeBatch(pd.records);
    assert.equal(header.magic, 2);
    assert.equal(header.attributes & 7, codec);
    assert.deepEqual(
      got.map((r) => ({
        key: r.key?.toString(),
        value: r.value?.toString(),
        headers: r.headers.map((h) => [h.key, h.value?.toString()]),
      })),
      records,
    );
    reencodes(name);
  });
}
