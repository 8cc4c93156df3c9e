/**
 * Bad input against a real `kstream serve`: random bytes, truncated frames, a 2 GiB length prefix, unknown
 * API keys and versions, malformed bodies, corrupt batches. Each gets an error code or its connection is
 * closed; a concurrent well-behaved client keeps working; stored data stays intact; memory stays bounded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { OFF } from '../../src/protocol/records/batch.js';
import { buildBatch, decodeRecordSet } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: BrokerProcess;
const TOPIC = 'bad-input';

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

async function produce(c: RawClient, records: Buffer, acks = 1, version = 9) {
  return c.request(ApiKey.Produce, version, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
}

async function fetchAll(c: RawClient) {
  const r = await c.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 64 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 64 * 1024 * 1024 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const p = r.responses[0].partitions[0];
  return {
    errorCode: p.errorCode as number,
    hw: p.highWatermark as bigint,
    records: p.records ? await decodeRecordSet(p.records) : [],
  };
}

describe('bad input', () => {
  let good: RawClient;
  let goodLoop: Promise<number>;
  let stopLoop = false;

  before(async () => {
    broker = await startBroker();
    good = await RawClient.connect(broker.port);
    const meta = await good.request(ApiKey.Metadata, 12, {
      topics: [{ name: TOPIC, topicId: '00000000000000000000000000000000' }],
      allowAutoTopicCreation: true,
    });
    assert.equal(meta.topics[0].errorCode, 0);
    const batch = await buildBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('first') }] });
    const r = await produce(good, batch);
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
    // A well-behaved client that keeps producing and reading while the bad input arrives.
    goodLoop = (async () => {
      let n = 0;
      while (!stopLoop) {
        const b = await buildBatch({ records: [{ key: Buffer.from('good'), value: Buffer.from(`good-${n}`) }] });
        const res = await produce(good, b);
        assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
        n++;
        await new Promise((res2) => setTimeout(res2, 5));
      }
      return n;
    })();
  });

  after(async () => {
    stopLoop = true;
    good?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('random bytes close only that connection', async () => {
    const other = await RawClient.connect(broker.port);
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.connect(broker.port);
      c.write(randomBytes(1 + ((i * 37) % 500)));
      // Either the broker closes it, or it waits for the rest of a frame: both fine; we close.
      await c.waitClosed(100);
      c.close();
    }
    // The connection opened before the garbage, and a new one, are both still served.
    for (const c of [other, await RawClient.connect(broker.port)]) {
      const v = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
      assert.equal(v.errorCode, 0);
      const md = await c.request(ApiKey.Metadata, 12, {
        topics: [{ name: TOPIC, topicId: '00000000000000000000000000000000' }],
        allowAutoTopicCreation: false,
      });
      assert.equal(md.topics[0].errorCode, 0, 'the topic produced to before is still there');
      c.close();
    }
  });

  test('a 2 GiB length prefix is refused before allocation', async () => {
    const before = rssKb(broker.child.pid as number);
    for (let i = 0; i < 5; i++) {
      const c = await RawClient.connect(broker.port);
      const b = Buffer.alloc(4);
      b.writeInt32BE(0x7fffffff);
      c.write(b);
      assert.equal(await c.waitClosed(2000), true, 'connection closed');
    }
    const neg = await RawClient.connect(broker.port);
    neg.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    assert.equal(await neg.waitClosed(2000), true, 'negative size closes the connection');
    const grown = rssKb(broker.child.pid as number) - before;
    assert.ok(grown < 100 * 1024, `RSS grew by ${grown} kB`);
  });

  test('a truncated frame then disconnect leaves the broker serving', async () => {
    const c = await RawClient.connect(broker.port);
    const b = Buffer.alloc(4 + 10);
    b.writeInt32BE(100);
    c.write(b);
    c.close();
    const c2 = await RawClient.connect(broker.port);
    const v = await c2.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.equal(v.errorCode, 0);
    c2.close();
  });

  test('unknown api key and unsupported version close the connection; ApiVersions answers v0', async () => {
    const c = await RawClient.connect(broker.port);
    const frame = Buffer.alloc(4 + 10);
    frame.writeInt32BE(10);
    frame.writeInt16BE(999, 4);
    frame.writeInt16BE(0, 6);
    frame.writeInt32BE(7, 8);
    frame.writeInt16BE(-1, 12);
    c.write(frame);
    assert.equal(await c.waitClosed(2000), true);

    const c2 = await RawClient.connect(broker.port);
    const f2 = Buffer.from(frame);
    f2.writeInt16BE(ApiKey.Metadata, 4);
    f2.writeInt16BE(99, 6);
    c2.write(f2);
    assert.equal(await c2.waitClosed(2000), true);

    // ApiVersions v99: a v0 response with UNSUPPORTED_VERSION and our versions.
    const c3 = await RawClient.connect(broker.port);
    const f3 = Buffer.from(frame);
    f3.writeInt16BE(ApiKey.ApiVersions, 4);
    f3.writeInt16BE(99, 6);
    const got = new Promise<Buffer>((res) => c3.socket.once('data', res));
    c3.write(f3);
    const resp = await got;
    assert.equal(resp.readInt32BE(4), 7, 'correlation id echoed');
    assert.equal(resp.readInt16BE(8), ErrorCode.UNSUPPORTED_VERSION);
    c3.close();
  });

  test('a malformed body closes the connection', async () => {
    const c = await RawClient.connect(broker.port);
    // Metadata v1 claiming 1,000,000 topics in a 20-byte body.
    const body = Buffer.alloc(4 + 10 + 4);
    body.writeInt32BE(14);
    body.writeInt16BE(ApiKey.Metadata, 4);
    body.writeInt16BE(1, 6);
    body.writeInt32BE(9, 8);
    body.writeInt16BE(-1, 12);
    body.writeInt32BE(1_000_000, 14);
    c.write(body);
    assert.equal(await c.waitClosed(2000), true);
  });

  test('corrupt batches get CORRUPT_MESSAGE / MESSAGE_TOO_LARGE and store nothing', async () => {
    const c = await RawClient.connect(broker.port);
    const { hw: hwBefore } = await fetchAll(c);
    const batch = await buildBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('will be corrupted') }] });
    const flipped = Buffer.from(batch);
    flipped[flipped.length - 2] ^= 0xff;
    let r = await produce(c, flipped);
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);

    const truncated = batch.subarray(0, batch.length - 3);
    r = await produce(c, truncated);
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);

    const badMagic = Buffer.from(batch);
    badMagic[OFF.magic] = 1;
    r = await produce(c, badMagic);
    assert.notEqual(r.responses[0].partitionResponses[0].errorCode, 0);

    const huge = await buildBatch({ records: [{ key: null, value: randomBytes(2 * 1024 * 1024) }] });
    r = await produce(c, huge);
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.MESSAGE_TOO_LARGE);

    r = await produce(c, batch, 5);
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_REQUIRED_ACKS);

    r = await produce(c, batch, 1, 2);
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.UNSUPPORTED_VERSION);

    const after = await fetchAll(c);
    assert.equal(after.errorCode, 0);
    const bad = after.records.filter((x) => x.value?.toString() === 'will be corrupted');
    assert.equal(bad.length, 0, 'nothing of the rejected batches was stored');
    assert.ok(after.hw >= hwBefore);
    c.close();
  });

  test('the well-behaved client kept working and every record it wrote is intact', async () => {
    stopLoop = true;
    const n = await goodLoop;
    assert.ok(n > 0);
    const c = await RawClient.connect(broker.port);
    const { records } = await fetchAll(c);
    const goods = records.filter((x) => x.key?.toString() === 'good').map((x) => x.value?.toString());
    assert.deepEqual(
      goods,
      Array.from({ length: n }, (_, i) => `good-${i}`),
    );
    assert.equal(records[0]?.value?.toString(), 'first');
    records.forEach((rec, i) => {
      assert.equal(rec.offset, BigInt(i));
    });
    c.close();
  });
});
