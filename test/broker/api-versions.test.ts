/**
 * ApiVersions edge cases over a raw socket against a real `kstream serve`, answered as Kafka's broker answers
 * them: a v3 request whose client software name/version are empty (its fields left at their defaults) or not
 * `[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?` gets INVALID_REQUEST with no api keys, and the connection stays
 * usable; a newer version gets UNSUPPORTED_VERSION in v0; a body that cannot be decoded closes the connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { decodeResponse } from '../../src/protocol/wire.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: BrokerProcess;

/** An ApiVersions request frame of `version` (header v2 from v3 on) followed by `body` bytes. */
function apiVersionsFrame(version: number, correlationId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 1);
  head.writeInt16BE(ApiKey.ApiVersions, 4);
  head.writeInt16BE(version, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(1, 12);
  head.write('t', 14);
  const flexible = version >= 3;
  const h = flexible ? Buffer.concat([head, Buffer.from([0])]) : head;
  const frame = Buffer.concat([h, body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** A v3 body: client software name and version as compact strings, then an empty tagged-field block. */
function names(name: string, version: string): Buffer {
  const cs = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s) + 1]), Buffer.from(s)]);
  return Buffer.concat([cs(name), cs(version), Buffer.from([0])]);
}

/** Send one raw frame and decode the response frame that comes back as ApiVersions v`version`. */
async function exchange(c: RawClient, frame: Buffer, version: number): Promise<ReturnType<typeof decodeResponse>> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      c.socket.off('data', onData);
      c.socket.off('close', onClose);
      resolve(decodeResponse(ApiKey.ApiVersions, version, buf.subarray(4, 4 + buf.readInt32BE(0))));
    };
    const onClose = () => reject(new Error('connection closed'));
    c.socket.on('data', onData);
    c.socket.once('close', onClose);
    c.write(frame);
  });
}

describe('ApiVersions as Kafka answers it', () => {
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });

  test('v3 with the software name and version left empty: INVALID_REQUEST, and the connection stays open', async () => {
    await RawClient.using(broker.port, async (c) => {
      const r = await exchange(c, apiVersionsFrame(3, 11, names('', '')), 3);
      assert.equal(r.error, undefined);
      assert.equal(r.correlationId, 11);
      assert.equal(r.body.errorCode, ErrorCode.INVALID_REQUEST);
      assert.deepEqual(r.body.apiKeys, []);
      // The same connection then negotiates normally.
      const ok = await exchange(c, apiVersionsFrame(3, 12, names('t', '1')), 3);
      assert.equal(ok.correlationId, 12);
      assert.equal(ok.body.errorCode, 0);
      assert.ok((ok.body.apiKeys as unknown[]).length > 10);
    });
  });

  test('v3 with a name or version outside the allowed characters: INVALID_REQUEST', async () => {
    for (const [name, version] of [
      ['my client', '1.0'],
      ['-lead', '1'],
      ['client', '1.0-'],
      ['client', ''],
    ]) {
      await RawClient.using(broker.port, async (c) => {
        const r = await exchange(c, apiVersionsFrame(3, 5, names(name, version)), 3);
        assert.equal(r.body.errorCode, ErrorCode.INVALID_REQUEST, `${name} / ${version}`);
      });
    }
    // What real clients send is accepted.
    for (const [name, version] of [
      ['librdkafka', '2.0.2'],
      ['confluent-kafka-python', '1.7.0-rdkafka-2.0.2'],
      ['kstream', '0.1.0'],
    ]) {
      await RawClient.using(broker.port, async (c) => {
        const r = await exchange(c, apiVersionsFrame(3, 5, names(name, version)), 3);
        assert.equal(r.body.errorCode, 0, `${name} / ${version}`);
      });
    }
  });

  test('v0..v2 carry no names and are answered', async () => {
    for (const v of [0, 1, 2]) {
      await RawClient.using(broker.port, async (c) => {
        const r = await exchange(c, apiVersionsFrame(v, 3, Buffer.alloc(0)), v);
        assert.equal(r.body.errorCode, 0);
        assert.ok((r.body.apiKeys as unknown[]).length > 10);
      });
    }
  });

  test('a version newer than ours, whatever its body: UNSUPPORTED_VERSION in v0 with our ApiVersions range', async () => {
    await RawClient.using(broker.port, async (c) => {
      const r = await exchange(c, apiVersionsFrame(9, 4, Buffer.alloc(0)), 0);
      assert.equal(r.body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
      const av = (r.body.apiKeys as { apiKey: number; maxVersion: number }[]).find(
        (k) => k.apiKey === ApiKey.ApiVersions,
      );
      assert.equal(av?.maxVersion, 3);
    });
  });

  test('a v3 request with an empty body, or one cut short, is answered INVALID_REQUEST; the connection stays open', async () => {
    for (const body of [Buffer.alloc(0), Buffer.from([5, 0x61])]) {
      await RawClient.using(broker.port, async (c) => {
        const r = await exchange(c, apiVersionsFrame(3, 9, body), 3);
        assert.equal(r.correlationId, 9);
        assert.equal(r.body.errorCode, ErrorCode.INVALID_REQUEST);
        assert.deepEqual(r.body.apiKeys, []);
        const ok = await exchange(c, apiVersionsFrame(3, 10, names('t', '1')), 3);
        assert.equal(ok.body.errorCode, 0);
      });
    }
  });

  test('another request with an undecodable body still closes that connection only', async () => {
    const c = await RawClient.connect(broker.port);
    const frame = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 1);
    frame.writeInt32BE(frame.length - 4, 0);
    frame.writeInt16BE(ApiKey.Metadata, 4);
    frame.writeInt16BE(1, 6);
    frame.writeInt32BE(7, 8);
    frame.writeInt16BE(-1, 12);
    c.write(frame);
    assert.equal(await c.waitClosed(5000), true);
    await RawClient.using(broker.port, async (c2) => {
      const r = await c2.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
      assert.equal(r.errorCode, 0);
    });
  });
});
