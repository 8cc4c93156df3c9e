/**
 * kstream's own producer is idempotent by default (issue 16): a real `kstream serve` behind a TCP proxy that
 * loses the answer to one Produce request (it reaches the broker, which stores the batch; the client's
 * connection is then cut, as when a leader dies after appending). The producer sends the batch again: with
 * idempotence (the default) the broker recognizes the retry and the record is stored once, at the offset the
 * delivery report names; with `idempotent: false` the same run stores it twice. The stored batches carry the
 * producer id from InitProducerId.
 *
 * KIP-360's epoch bump waits for the old epoch's requests: the same proxy holds the broker's answers, so a
 * request of the old epoch is still in flight when a sequence error makes the producer bump its epoch; no
 * batch of the new epoch goes to the partition until that answer arrives.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Producer } from '../../src/client/producer.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { OFF, readBatchHeader } from '../../src/protocol/records/batch.js';
import { decodeRecordSet } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

/** Splits a byte stream into Kafka frames (4-byte size prefix). */
class Framer {
  private buf: Buffer = Buffer.alloc(0);
  push(d: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const out: Buffer[] = [];
    while (this.buf.length >= 4) {
      const n = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + n) break;
      out.push(this.buf.subarray(0, 4 + n));
      this.buf = this.buf.subarray(4 + n);
    }
    return out;
  }
}

/**
 * A proxy to the broker that can lose the answer to the next Produce request (and cut that connection), and
 * hold the broker's answers (in order) until the test releases them.
 */
interface LossyProxy {
  port: number;
  target: number;
  loseNextProduceAnswer(): void;
  lost: number;
  /** Produce requests the client sent so far. */
  produceRequests: number;
  /** From now on answers wait in the proxy, in order, until released. */
  holdAnswers(): void;
  /** Forward the held answers up to and including the first Produce answer among them (once it came). */
  releaseNextProduceAnswer(): Promise<void>;
  /** Forward every held answer and stop holding. */
  releaseAll(): void;
  /** True once the client has sent `n` Produce requests; false if it has not after `ms`. */
  produceRequestsReach(n: number, ms: number): Promise<boolean>;
  close(): Promise<void>;
}

async function startProxy(): Promise<LossyProxy> {
  const sockets = new Set<Socket>();
  let arm = false;
  let holding = false;
  const held: { to: Socket; frame: Buffer; produce: boolean }[] = [];
  const waiters = new Set<() => void>();
  const forward = (n: number): void => {
    for (const h of held.splice(0, n)) if (!h.to.destroyed) h.to.write(h.frame);
  };
  const proxy: LossyProxy = {
    port: 0,
    target: 0,
    lost: 0,
    produceRequests: 0,
    loseNextProduceAnswer() {
      arm = true;
    },
    holdAnswers() {
      holding = true;
    },
    async releaseNextProduceAnswer() {
      const i = await until('a Produce answer from the broker', async () => {
        const at = held.findIndex((h) => h.produce);
        return at >= 0 ? at + 1 : null;
      });
      forward(i);
    },
    releaseAll() {
      holding = false;
      forward(held.length);
    },
    produceRequestsReach(n, ms) {
      return new Promise<boolean>((resolve) => {
        const check = (): void => {
          if (proxy.produceRequests < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          resolve(false);
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server: Server = createServer((client) => {
    sockets.add(client);
    const upstream = connect({ host: '127.0.0.1', port: proxy.target });
    sockets.add(upstream);
    const up = new Framer();
    const down = new Framer();
    let dropCorrelation: number | null = null;
    const produceCorrelations = new Set<number>();
    client.on('data', (d) => {
      for (const f of up.push(d)) {
        if (f.readInt16BE(4) === ApiKey.Produce) {
          produceCorrelations.add(f.readInt32BE(8));
          proxy.produceRequests++;
          for (const w of [...waiters]) w();
          if (arm) {
            arm = false;
            dropCorrelation = f.readInt32BE(8);
          }
        }
        upstream.write(f);
      }
    });
    upstream.on('data', (d) => {
      for (const f of down.push(d)) {
        const correlation = f.readInt32BE(4);
        if (dropCorrelation !== null && correlation === dropCorrelation) {
          // The broker answered (so it stored the batch): the client never sees it.
          proxy.lost++;
          client.destroy();
          upstream.destroy();
          return;
        }
        const produce = produceCorrelations.delete(correlation);
        if (holding) held.push({ to: client, frame: f, produce });
        else client.write(f);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.port = (server.address() as { port: number }).port;
  return proxy;
}

let proxy: LossyProxy;
let broker: BrokerProcess;

/** Every record of partition 0 of `topic`, with the producer id and epoch of its batch. */
async function stored(
  topic: string,
): Promise<{ value: string; offset: bigint; producerId: bigint; producerEpoch: number }[]> {
  return RawClient.using(broker.port, async (c) => {
    const r = await c.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const records = r.responses[0].partitions[0].records as Buffer | null;
    const out: { value: string; offset: bigint; producerId: bigint; producerEpoch: number }[] = [];
    if (!records) return out;
    for (let pos = 0; pos < records.length; ) {
      const h = readBatchHeader(records, pos);
      if (!h) break;
      const one = records.subarray(pos, pos + h.size);
      for (const rec of await decodeRecordSet(one)) {
        out.push({
          value: String(rec.value),
          offset: rec.offset,
          producerId: one.readBigInt64BE(OFF.producerId),
          producerEpoch: one.readInt16BE(OFF.producerEpoch),
        });
      }
      pos += h.size;
    }
    return out;
  });
}

describe('kstream producer: idempotent by default', () => {
  before(async () => {
    proxy = await startProxy();
    broker = await startBroker({ args: ['--advertised-port', String(proxy.port)] });
    proxy.target = broker.port;
  });
  after(async () => {
    await proxy?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  for (const idempotent of [true, false]) {
    test(`a Produce answer lost after the broker stored the batch: ${idempotent ? 'stored once (default)' : 'stored twice (idempotent: false)'}`, async () => {
      const topic = idempotent ? 'lossy-idem' : 'lossy-plain';
      const admin = new Admin({ brokers: `127.0.0.1:${proxy.port}` });
      await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
      await admin.close();
      const producer = new Producer({
        brokers: `127.0.0.1:${proxy.port}`,
        lingerMs: 0,
        retryBackoffMs: 50,
        ...(idempotent ? {} : { idempotent: false }),
      });
      try {
        await producer.send({ topic, value: 'first' });
        proxy.loseNextProduceAnswer();
        const lost = proxy.lost;
        const report = await producer.send({ topic, value: 'retried' });
        assert.equal(proxy.lost, lost + 1, 'one answer was lost');
        await producer.send({ topic, value: 'last' });
        const records = await stored(topic);
        const values = records.map((r) => r.value);
        if (idempotent) {
          assert.deepEqual(values, ['first', 'retried', 'last']);
          assert.equal(report.offset, 1n, 'the delivery report names the stored offset');
          const ids = new Set(records.map((r) => r.producerId));
          assert.equal(ids.size, 1);
          assert.ok([...ids][0]! >= 0n, 'batches carry the producer id');
        } else {
          assert.deepEqual(values, ['first', 'retried', 'retried', 'last']);
          assert.ok(records.every((r) => r.producerId === -1n));
        }
      } finally {
        await producer.close();
      }
    });
  }
  test('an epoch bump (KIP-360) waits for the requests of the old epoch still in flight', async () => {
    const topic = 'bump-waits';
    const admin = new Admin({ brokers: `127.0.0.1:${proxy.port}` });
    await admin.createTopics([
      { topic, numPartitions: 1, replicationFactor: 1, configs: { 'max.message.bytes': '1000' } },
    ]);
    await admin.close();
    const producer = new Producer({ brokers: `127.0.0.1:${proxy.port}`, lingerMs: 0, retryBackoffMs: 20 });
    try {
      await producer.send({ topic, value: 'first' });
      const base = proxy.produceRequests;
      proxy.holdAnswers();
      // Sequence 1: refused by the broker (larger than max.message.bytes) and failed for good: a gap.
      const tooLarge = producer.send({ topic, value: 'x'.repeat(2000) });
      tooLarge.catch(() => {});
      assert.ok(await proxy.produceRequestsReach(base + 1, 30_000));
      // Sequences 2 and 3, each in its own request, both answered OUT_OF_ORDER_SEQUENCE_NUMBER (the gap).
      const b = producer.send({ topic, value: 'B' });
      assert.ok(await proxy.produceRequestsReach(base + 2, 30_000));
      const c = producer.send({ topic, value: 'C' });
      assert.ok(await proxy.produceRequestsReach(base + 3, 30_000));
      await proxy.releaseNextProduceAnswer();
      await assert.rejects(tooLarge, (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.MESSAGE_TOO_LARGE);
      // B's OUT_OF_ORDER_SEQUENCE_NUMBER, with nothing older outstanding: the producer bumps its epoch. C's
      // request (old epoch) is still in flight: B must not go out again with the new epoch before C's answer,
      // however long that takes (well past B's 20 ms retry backoff here).
      await proxy.releaseNextProduceAnswer();
      const early = await proxy.produceRequestsReach(base + 4, 1500);
      proxy.releaseAll();
      assert.equal(early, false, 'no request of the new epoch while a request of the old epoch was in flight');
      const [rb, rc] = await Promise.all([b, c]);
      assert.deepEqual([rb.offset, rc.offset], [1n, 2n]);
      const records = await stored(topic);
      assert.deepEqual(
        records.map((r) => [r.value, r.producerEpoch]),
        [
          ['first', 0],
          ['B', 1],
          ['C', 1],
        ],
        'B and C stored once, in order, with the new epoch from sequence 0',
      );
      assert.equal(new Set(records.map((r) => r.producerId)).size, 1);
    } finally {
      proxy.releaseAll();
      await producer.close();
    }
  });
});
