/**
 * kstream's own producer is idempotent by default (issue 16): a real `kstream serve` behind a TCP proxy that
 * loses the answer to one Produce request (it reaches the broker, which stores the batch; the client's
 * connection is then cut, as when a leader dies after appending). The producer sends the batch again: with
 * idempotence (the default) the broker recognizes the retry and the record is stored once, at the offset the
 * delivery report names; with `idempotent: false` the same run stores it twice. The stored batches carry the
 * producer id from InitProducerId.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Producer } from '../../src/client/producer.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { OFF, readBatchHeader } from '../../src/protocol/records/batch.js';
import { decodeRecordSet } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

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

/** A proxy to the broker that can lose the answer to the next Produce request (and cut that connection). */
interface LossyProxy {
  port: number;
  target: number;
  loseNextProduceAnswer(): void;
  lost: number;
  close(): Promise<void>;
}

async function startProxy(): Promise<LossyProxy> {
  const sockets = new Set<Socket>();
  let arm = false;
  const proxy: LossyProxy = {
    port: 0,
    target: 0,
    lost: 0,
    loseNextProduceAnswer() {
      arm = true;
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
    client.on('data', (d) => {
      for (const f of up.push(d)) {
        if (arm && f.readInt16BE(4) === ApiKey.Produce) {
          arm = false;
          dropCorrelation = f.readInt32BE(8);
        }
        upstream.write(f);
      }
    });
    upstream.on('data', (d) => {
      for (const f of down.push(d)) {
        if (dropCorrelation !== null && f.readInt32BE(4) === dropCorrelation) {
          // The broker answered (so it stored the batch): the client never sees it.
          proxy.lost++;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(f);
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

/** Every record of partition 0 of `topic`, with the producer id of its batch. */
async function stored(topic: string): Promise<{ value: string; offset: bigint; producerId: bigint }[]> {
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
    const out: { value: string; offset: bigint; producerId: bigint }[] = [];
    if (!records) return out;
    for (let pos = 0; pos < records.length; ) {
      const h = readBatchHeader(records, pos);
      if (!h) break;
      const one = records.subarray(pos, pos + h.size);
      for (const rec of await decodeRecordSet(one)) {
        out.push({ value: String(rec.value), offset: rec.offset, producerId: one.readBigInt64BE(OFF.producerId) });
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
});
