/**
 * Connections and failure modes: version negotiation (highest common version, UNSUPPORTED_VERSION, the
 * ApiVersions v0 fallback), pipelining with responses split at any byte, request and connect timeouts, a broker
 * that is down or dies: always a clear KafkaError within the timeout, never a hang.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Connection, pickVersion } from '../../src/client/connection.js';
import { Consumer } from '../../src/client/consumer.js';
import { KafkaError, NetworkError, RequestTimeoutError } from '../../src/client/errors.js';
import { Producer } from '../../src/client/producer.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Api, ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { apiVersionsBody, type FakeBroker, frameOf, startFakeBroker } from './fake-broker.js';

const RANGES: Record<number, [number, number]> = {
  [ApiKey.ApiVersions]: [0, 3],
  [ApiKey.Produce]: [0, 7],
  [ApiKey.Fetch]: [4, 11],
  [ApiKey.Metadata]: [0, 8],
  [ApiKey.CreateTopics]: [7, 9],
};

function metadataBody(n: number) {
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: n, host: 'h', port: n, rack: null }],
    clusterId: 'c',
    controllerId: 1,
    topics: [],
  };
}

async function timed<T>(p: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
    return { error: null, ms: Date.now() - t0 };
  } catch (e) {
    return { error: e, ms: Date.now() - t0 };
  }
}

describe('connection against a scripted broker', () => {
  const fakes: FakeBroker[] = [];
  after(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });

  async function fake(onRequest: Parameters<typeof startFakeBroker>[0]): Promise<FakeBroker> {
    const f = await startFakeBroker(onRequest);
    fakes.push(f);
    return f;
  }

  test('negotiates the highest version both sides support; none in common → UNSUPPORTED_VERSION', async () => {
    const f = await fake((req) => {
      if (req.header.apiKey === ApiKey.ApiVersions) req.reply(apiVersionsBody(RANGES));
    });
    const c = await Connection.connect({ host: '127.0.0.1', port: f.port });
    try {
      assert.equal(c.version(ApiKey.Produce), 7);
      assert.equal(c.version(ApiKey.Fetch), 11);
      assert.equal(c.version(ApiKey.Metadata), 8);
      assert.equal(c.supports(ApiKey.Fetch, 12), false);
      assert.throws(
        () => c.version(ApiKey.CreateTopics),
        (e: unknown) =>
          e instanceof KafkaError &&
          e.code === ErrorCode.UNSUPPORTED_VERSION &&
          /does not support CreateTopics .*\(broker: 7-9, client: 0-6\)/.test(e.message),
      );
      await assert.rejects(c.request(Api.DeleteRecords, {}), /does not support DeleteRecords .*broker: not offered/);
    } finally {
      c.close();
    }
    // Client limits narrow our definitions: Produce needs v3+ (RecordBatch v2).
    assert.equal(pickVersion(ApiKey.Produce, { min: 0, max: 2 }).version, null);
    assert.equal(pickVersion(ApiKey.Produce, { min: 0, max: 99 }).version, 9);
    assert.equal(pickVersion(ApiKey.Fetch, { min: 0, max: 99 }, 10).version, 10);
  });

  test('a broker without ApiVersions v3 answers v0 UNSUPPORTED_VERSION; the client retries with its version', async () => {
    const seen: number[] = [];
    const f = await fake((req) => {
      if (req.header.apiKey !== ApiKey.ApiVersions) return;
      seen.push(req.header.apiVersion);
      if (req.header.apiVersion > 2) {
        req.write(
          frameOf(ApiKey.ApiVersions, 0, req.header.correlationId, {
            errorCode: ErrorCode.UNSUPPORTED_VERSION,
            apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 2 }],
          }),
        );
      } else req.reply(apiVersionsBody({ ...RANGES, [ApiKey.ApiVersions]: [0, 2] }));
    });
    const c = await Connection.connect({ host: '127.0.0.1', port: f.port });
    c.close();
    assert.deepEqual(seen, [3, 2]);
    assert.equal(c.brokerVersions.get(ApiKey.Metadata)?.max, 8);
  });

  test('pipelining: 200 requests in flight, answered in order in 1-byte and coalesced writes', async () => {
    const held: { id: number; v: number }[] = [];
    const f = await fake((req) => {
      if (req.header.apiKey === ApiKey.ApiVersions) {
        req.reply(apiVersionsBody(RANGES));
        return;
      }
      held.push({ id: req.header.correlationId, v: req.header.apiVersion });
      if (held.length === 200) {
        const frames = held.map((h, i) => frameOf(ApiKey.Metadata, h.v, h.id, metadataBody(i)));
        // The first 10 responses a byte at a time, the rest in one write.
        const slow = Buffer.concat(frames.slice(0, 10));
        let i = 0;
        const drip = () => {
          if (i < slow.length) {
            req.socket.write(slow.subarray(i, i + 1));
            i++;
            setImmediate(drip);
          } else req.socket.write(Buffer.concat(frames.slice(10)));
        };
        drip();
      }
    });
    const c = await Connection.connect({ host: '127.0.0.1', port: f.port });
    try {
      const all = Array.from({ length: 200 }, () => c.request(Api.Metadata, { topics: [] }));
      assert.equal(c.inFlight, 200);
      const res = await Promise.all(all);
      res.forEach((r, i) => {
        assert.equal(r.brokers[0].nodeId, i, 'each response goes to its own request');
      });
      assert.equal(c.inFlight, 0);
    } finally {
      c.close();
    }
  });

  test('a request without an answer times out; the others in flight fail and the connection closes', async () => {
    const f = await fake((req) => {
      if (req.header.apiKey === ApiKey.ApiVersions) req.reply(apiVersionsBody(RANGES));
      // Metadata is never answered.
    });
    const c = await Connection.connect({ host: '127.0.0.1', port: f.port, requestTimeoutMs: 300 });
    const first = timed(c.request(Api.Metadata, { topics: [] }));
    const second = timed(c.request(Api.Metadata, { topics: [] }, { timeoutMs: 5000 }));
    const a = await first;
    const b = await second;
    assert.ok(a.error instanceof RequestTimeoutError, String(a.error));
    assert.match(
      (a.error as Error).message,
      /REQUEST_TIMED_OUT: 127\.0\.0\.1:\d+: no response to Metadata v8 within 300 ms/,
    );
    assert.ok(a.ms >= 280 && a.ms < 1500, `timed out after ${a.ms} ms`);
    assert.ok(b.error instanceof NetworkError, String(b.error));
    assert.match((b.error as Error).message, /connection closed after a Metadata request timed out/);
    assert.ok(c.closed);
    await assert.rejects(c.request(Api.Metadata, { topics: [] }), NetworkError);
  });

  test('a server that accepts but never speaks Kafka: connect fails within connectTimeoutMs', async () => {
    const f = await fake(() => {});
    const r = await timed(Connection.connect({ host: '127.0.0.1', port: f.port, connectTimeoutMs: 400 }));
    assert.ok(r.error instanceof RequestTimeoutError, String(r.error));
    assert.match((r.error as Error).message, /no answer to ApiVersions within 400 ms \(is this a Kafka broker\?\)/);
    assert.ok(r.ms < 1500, `${r.ms} ms`);
  });

  test('the broker closing the connection fails pending requests with a NetworkError', async () => {
    const f = await fake((req) => {
      if (req.header.apiKey === ApiKey.ApiVersions) req.reply(apiVersionsBody(RANGES));
      else req.socket.destroy();
    });
    const c = await Connection.connect({ host: '127.0.0.1', port: f.port });
    const closed = new Promise<Error>((resolve) => c.onClose(resolve));
    await assert.rejects(
      c.request(Api.Metadata, { topics: [] }),
      /NETWORK_EXCEPTION: .*connection closed by the broker/,
    );
    assert.match((await closed).message, /closed by the broker/);
  });

  test('a response with an unexpected correlation id closes the connection', async () => {
    const f = await fake((req) => {
      if (req.header.apiKey === ApiKey.ApiVersions) req.reply(apiVersionsBody(RANGES));
      else req.write(frameOf(ApiKey.Metadata, req.header.apiVersion, req.header.correlationId + 100, metadataBody(1)));
    });
    const c = await Connection.connect({ host: '127.0.0.1', port: f.port });
    await assert.rejects(c.request(Api.Metadata, { topics: [] }), /correlation id \d+ does not match/);
    assert.ok(c.closed);
  });
});

describe('broker down', () => {
  let broker: BrokerProcess;
  let deadPort: number;

  before(async () => {
    broker = await startBroker();
    const probe = await startBroker();
    deadPort = probe.port;
    await probe.stop();
    removeDir(probe.dataDir);
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('connection refused: a NetworkError naming the address, at once', async () => {
    const r = await timed(Connection.connect({ host: '127.0.0.1', port: deadPort }));
    assert.ok(r.error instanceof NetworkError);
    assert.equal((r.error as KafkaError).code, ErrorCode.NETWORK_EXCEPTION);
    assert.equal((r.error as KafkaError).retriable, true);
    assert.match(
      (r.error as Error).message,
      new RegExp(`127\\.0\\.0\\.1:${deadPort}: connection refused \\(is a broker running there\\?\\)`),
    );
    assert.ok(r.ms < 1000);
  });

  test('admin, producer and consumer fail with a clear error within their timeouts', async () => {
    const brokers = `127.0.0.1:${deadPort}`;
    const admin = new Admin({ brokers, retry: { retries: 2 } });
    const a = await timed(admin.listTopics());
    await admin.close();
    assert.ok(a.error instanceof NetworkError, String(a.error));
    assert.match((a.error as Error).message, /could not reach any broker: .*connection refused/);
    assert.ok(a.ms < 3000, `admin took ${a.ms} ms`);

    const producer = new Producer({ brokers, metadataTimeoutMs: 1500, retryBackoffMs: 50 });
    const p = await timed(producer.send({ topic: 't', value: 'x' }));
    await producer.close();
    assert.ok(p.error instanceof KafkaError, String(p.error));
    assert.match((p.error as Error).message, /connection refused|not present in metadata/);
    assert.ok(p.ms < 5000, `producer took ${p.ms} ms`);

    const consumer = new Consumer({ brokers, retry: { retries: 1 } });
    consumer.assign([{ topic: 't', partition: 0, offset: 0 }]);
    const c = await timed(
      (async () => {
        for await (const _ of consumer.records()) break;
      })(),
    );
    await consumer.close();
    assert.ok(c.error instanceof NetworkError, String(c.error));
    assert.ok(c.ms < 3000, `consumer took ${c.ms} ms`);
  });

  test('a broker killed under a producer: sends fail after deliveryTimeoutMs with the reason', async () => {
    const victim = await startBroker();
    try {
      const producer = new Producer({
        brokers: victim.bootstrap,
        deliveryTimeoutMs: 2000,
        retryBackoffMs: 50,
        acks: 1,
      });
      const ok = await producer.send({ topic: 'dies', value: 'before' });
      assert.equal(ok.offset, 0n);
      await victim.kill();
      const r = await timed(producer.send({ topic: 'dies', value: 'after' }));
      assert.ok(r.error instanceof KafkaError, String(r.error));
      assert.match((r.error as Error).message, /connection refused|closed|expired|could not reach/);
      assert.ok(r.ms < 6000, `took ${r.ms} ms`);
      await producer.close();
    } finally {
      await victim.kill();
      removeDir(victim.dataDir);
    }
  });

  test('against a live broker: bootstrap skips a dead address', async () => {
    const admin = new Admin({ brokers: [`127.0.0.1:${deadPort}`, broker.bootstrap] });
    try {
      const c = await admin.describeCluster();
      assert.equal(c.brokers.length, 1);
      assert.equal(c.brokers[0]?.port, broker.port);
    } finally {
      await admin.close();
    }
  });
});
