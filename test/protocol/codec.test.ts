import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader } from '../../src/protocol/codec/reader.js';
import { compile } from '../../src/protocol/codec/schema.js';
import { Writer } from '../../src/protocol/codec/writer.js';
import { ApiVersionsResponse } from '../../src/protocol/messages/api-versions.js';
import { decodeResponse, encodeResponse } from '../../src/protocol/wire.js';

test('varint and varlong round-trip at the edges', () => {
  const ints = [0, 1, -1, 63, -64, 64, 300, -300, 2 ** 31 - 1, -(2 ** 31)];
  const longs = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 1234567890123n];
  const w = new Writer(4);
  for (const i of ints) w.varint(i);
  for (const l of longs) w.varlong(l);
  const r = new Reader(w.finish());
  for (const i of ints) assert.equal(r.varint(), i);
  for (const l of longs) assert.equal(r.varlong(), l);
  assert.equal(r.bad, false);
  assert.equal(r.remaining, 0);
});

test('reader is sticky-bad past the end', () => {
  const r = new Reader(Buffer.from([0, 1]));
  assert.equal(r.int32(), 0);
  assert.equal(r.bad, true);
  assert.equal(r.int16(), 0);
});

test('ApiVersions v3 response with tagged fields round-trips; absent fields get defaults', () => {
  const body = {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
    throttleTimeMs: 0,
    finalizedFeaturesEpoch: 5n,
  };
  const frame = Buffer.concat(encodeResponse(18, 3, 42, body));
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  const { correlationId, body: got, error } = decodeResponse(18, 3, frame.subarray(4));
  assert.equal(error, undefined);
  assert.equal(correlationId, 42);
  assert.deepEqual(got.apiKeys, body.apiKeys);
  assert.equal(got.finalizedFeaturesEpoch, 5n);
  assert.deepEqual(got.supportedFeatures, []);
  const v0 = compile(ApiVersionsResponse, 0).decode(
    new Reader(
      compile(ApiVersionsResponse, 0) &&
        (() => {
          const w = new Writer();
          compile(ApiVersionsResponse, 0).encode(w, body);
          return w.finish();
        })(),
    ),
  );
  assert.equal(v0.throttleTimeMs, 0);
  assert.equal(v0.finalizedFeaturesEpoch, -1n);
});
