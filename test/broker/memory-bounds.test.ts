/**
 * Memory a client can make the broker hold, measured on a real `kstream serve` (VmRSS of its process):
 * - a client that pipelines 100 Fetches of ~10 MB and never reads: the broker stops reading that connection's
 *   requests once its unsent responses pass queued.max.response.bytes.per.connection (as Kafka mutes a channel),
 *   so memory stays bounded; once the client reads, every response comes, in order and correct;
 * - connections that send the start of ~99 MB requests and stall: only queued.max.request.bytes of them is
 *   taken (the rest are not read from), a larger request from another client waits for that memory and is
 *   answered once the stalled ones close, and kcat keeps producing and consuming meanwhile;
 * - after such connections close, memory does not keep growing from round to round.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/wire.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

/** kcat against the broker, `input` on its stdin; its stdout. */
function kcat(b: BrokerProcess, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile('kcat', ['-b', b.bootstrap, ...args], { timeout: 30_000 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
    p.stdin?.end(input);
  });
}
const MB = 1024 * 1024;

function rssMb(b: BrokerProcess): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${b.child.pid}/status`, 'utf8'));
  return Number(m?.[1]) / 1024;
}

/** RSS once it stops moving (GC and socket buffers settle): the median of a few samples. */
async function settledRss(b: BrokerProcess): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 300));
    xs.push(rssMb(b));
  }
  return xs.sort((x, y) => x - y)[2] as number;
}

async function connectSocket(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  await new Promise<void>((res, rej) => {
    s.once('connect', () => res());
    s.once('error', rej);
  });
  s.on('error', () => {});
  return s;
}

function fetchFrame(topic: string, correlationId: number, maxBytes: number): Buffer {
  return Buffer.concat(
    encodeRequest(
      { apiKey: ApiKey.Fetch, apiVersion: 12, correlationId, clientId: 'pipeliner' },
      {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: maxBytes }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
    ),
  );
}

/** Collect response frames from a socket without copying them more than once; `onFrame` sees each one. */
function frames(s: Socket, onFrame: (frame: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let have = 0;
  let need = -1;
  s.on('data', (d: Buffer) => {
    chunks.push(d);
    have += d.length;
    for (;;) {
      if (need < 0 && have >= 4) {
        const head = chunks[0] && chunks[0].length >= 4 ? chunks[0] : Buffer.concat(chunks);
        need = 4 + head.readInt32BE(0);
      }
      if (need < 0 || have < need) return;
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, have);
      chunks.length = 0;
      if (all.length > need) chunks.push(all.subarray(need));
      have -= need;
      const frame = all.subarray(4, need);
      need = -1;
      onFrame(frame);
    }
  });
}

async function produce(c: RawClient, topic: string, records: Buffer): Promise<number> {
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return r.responses[0].partitionResponses[0].errorCode as number;
}

describe('a client that pipelines Fetches and never reads', () => {
  let broker: BrokerProcess;
  const TOPIC = 'big';
  let expected: Buffer;

  before(async () => {
    broker = await startBroker();
    await RawClient.using(broker.port, async (c) => {
      const meta = await c.request(ApiKey.Metadata, 12, {
        topics: [{ name: TOPIC, topicId: '00000000000000000000000000000000' }],
        allowAutoTopicCreation: true,
      });
      assert.equal(meta.topics[0].errorCode, 0);
      // ~10.8 MB of incompressible records, so each Fetch below answers ~10 MB.
      for (let i = 0; i < 12; i++) {
        const batch = await buildBatch({ records: [{ key: null, value: randomBytes(900_000) }] });
        assert.equal(await produce(c, TOPIC, batch), 0);
      }
    });
    // What one Fetch returns, read the ordinary way.
    const s = await connectSocket(broker.port);
    expected = await new Promise<Buffer>((resolve) => {
      frames(s, (f) => {
        const r = decodeResponse(ApiKey.Fetch, 12, f);
        resolve(Buffer.from(r.body.responses[0].partitions[0].records as Buffer));
      });
      s.write(fetchFrame(TOPIC, 1, 10 * MB));
    });
    s.destroy();
    assert.ok(expected.length > 9 * MB, `one fetch returns ${expected.length} bytes`);
  });

  after(async () => {
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });

  test('100 pipelined 10 MB Fetches hold bounded memory; read later, all answers come in order', async () => {
    const base = await settledRss(broker);
    const s = await connectSocket(broker.port);
    s.pause();
    const N = 100;
    for (let i = 0; i < N; i++) s.write(fetchFrame(TOPIC, 1000 + i, 10 * MB));
    // Give the broker time to do whatever it does with them (today: read 100 x 10 MB into memory).
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 300));
      peak = Math.max(peak, rssMb(broker));
    }
    assert.ok(peak - base < 200, `broker RSS grew by ${Math.round(peak - base)} MB (from ${Math.round(base)} MB)`);
    // Now read: every response, in request order, each the same ~10 MB of records.
    let next = 1000;
    let bad = '';
    const done = new Promise<void>((resolve) => {
      frames(s, (f) => {
        const r = decodeResponse(ApiKey.Fetch, 12, f);
        const p = r.body.responses[0].partitions[0] as Struct;
        if (r.correlationId !== next) bad ||= `response ${r.correlationId} where ${next} was due`;
        else if (p.errorCode !== 0 || !(p.records as Buffer).equals(expected)) bad ||= `response ${next} differs`;
        next++;
        if (next === 1000 + N) resolve();
      });
    });
    s.resume();
    await done;
    s.destroy();
    assert.equal(bad, '');
    assert.equal(next, 1000 + N);
  });

  test('connections that pipeline and close unread do not make memory grow from round to round', async () => {
    const round = async () => {
      const s = await connectSocket(broker.port);
      s.pause();
      for (let i = 0; i < 50; i++) s.write(fetchFrame(TOPIC, i, 10 * MB));
      await new Promise((r) => setTimeout(r, 1500));
      s.destroy();
      return settledRss(broker);
    };
    const first = await round();
    let last = first;
    for (let i = 0; i < 3; i++) last = await round();
    assert.ok(last - first < 100, `RSS ${Math.round(first)} MB after the first round, ${Math.round(last)} MB after 4`);
    // And the connection's state is gone: a new client is served at once.
    await RawClient.using(broker.port, async (c) => {
      const v = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
      assert.equal(v.errorCode, 0);
    });
  });
});

/** A broker with these properties and an auto-created topic of one partition (stopped and removed after). */
function brokerWithTopic(props: Record<string, string>, topic: string): { broker(): BrokerProcess } {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBroker({ props });
    await RawClient.using(broker.port, async (c) => {
      const meta = await c.request(ApiKey.Metadata, 12, {
        topics: [{ name: topic, topicId: '00000000000000000000000000000000' }],
        allowAutoTopicCreation: true,
      });
      assert.equal(meta.topics[0].errorCode, 0);
    });
  });
  after(async () => {
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });
  return { broker: () => broker };
}

describe('stalled large requests', () => {
  const TOPIC = 'stall';
  // One budget the size of the largest request: a stalled 99 MB request leaves room for no other large one.
  const node = brokerWithTopic(
    {
      'queued.max.request.bytes': String(100 * MB),
      'socket.request.max.bytes': String(100 * MB),
      'message.max.bytes': String(4 * MB),
    },
    TOPIC,
  );

  test('8 connections sending the start of 99 MB requests take at most queued.max.request.bytes; others work', async () => {
    const broker = node.broker();
    const base = await settledRss(broker);
    const SIZE = 99 * MB;
    const stalled: Socket[] = [];
    // Each sends a Produce header and ~95 MB of its body as fast as the broker takes it, then stalls.
    const send = async (s: Socket) => {
      const head = Buffer.alloc(4 + 10);
      head.writeInt32BE(SIZE, 0);
      head.writeInt16BE(ApiKey.Produce, 4);
      head.writeInt16BE(9, 6);
      head.writeInt32BE(1, 8);
      head.writeInt16BE(-1, 12);
      s.write(head);
      const chunk = Buffer.alloc(MB, 0x55);
      for (let sent = 0; sent < 95 * MB; sent += MB) {
        if (!s.write(chunk)) {
          // Wait for the broker to take it, at most 3 s: a connection it does not read stays stuck here.
          const drained = await new Promise<boolean>((res) => {
            const t = setTimeout(() => res(false), 3000);
            s.once('drain', () => {
              clearTimeout(t);
              res(true);
            });
          });
          if (!drained) return;
        }
      }
    };
    for (let i = 0; i < 8; i++) stalled.push(await connectSocket(broker.port));
    try {
      await Promise.all(stalled.map(send));
      const held = (await settledRss(broker)) - base;
      assert.ok(held < 300, `8 stalled 99 MB requests: broker RSS grew by ${Math.round(held)} MB`);

      // Small requests are not held back: kcat produces and consumes.
      await kcat(broker, ['-P', '-t', TOPIC], 'while-stalled-1\nwhile-stalled-2\n');
      const out = await kcat(broker, ['-C', '-t', TOPIC, '-o', 'beginning', '-e', '-q']);
      assert.deepEqual(out.trim().split('\n'), ['while-stalled-1', 'while-stalled-2']);

      // A 2 MB request needs request memory: it waits while the stalled ones hold it ...
      const big = await RawClient.connect(broker.port);
      try {
        const batch = await buildBatch({ records: [{ key: null, value: randomBytes(2 * MB) }] });
        let answered = false;
        const answer = produce(big, TOPIC, batch).then((code) => {
          answered = true;
          return code;
        });
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(answered, false, 'a large request waits while the memory is taken');
        // ... and is answered once they close.
        for (const s of stalled) s.destroy();
        assert.equal(await answer, ErrorCode.NONE);
      } finally {
        big.close();
      }
      // Again: the memory went back to the budget (a second round behaves the same, not worse).
      const again: Socket[] = [];
      for (let i = 0; i < 8; i++) again.push(await connectSocket(broker.port));
      try {
        await Promise.all(again.map(send));
        const held2 = (await settledRss(broker)) - base;
        assert.ok(held2 < 300, `second round: broker RSS grew by ${Math.round(held2)} MB`);
      } finally {
        for (const s of again) s.destroy();
      }
      await until('the broker serves again after the second round', async () =>
        RawClient.using(broker.port, async (c) => {
          const v = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
          return v.errorCode === 0;
        }),
      );
    } finally {
      for (const s of stalled) s.destroy();
    }
  });
});

describe('an abandoned long poll', () => {
  const TOPIC = 'quiet';
  // Room for one large request at a time.
  const node = brokerWithTopic(
    {
      'queued.max.request.bytes': String(4 * MB),
      'socket.request.max.bytes': String(4 * MB),
      'message.max.bytes': String(3 * MB),
    },
    TOPIC,
  );

  test('a large Fetch waiting 10 minutes for data gives its request memory back when its client goes', async () => {
    const broker = node.broker();
    // A 3 MB Fetch (its rack id carries the bulk) long-polling an empty partition for 10 minutes: it holds
    // 3 MB of the 4 MB request budget while it waits.
    const poller = await connectSocket(broker.port);
    const frame = Buffer.concat(
      encodeRequest(
        { apiKey: ApiKey.Fetch, apiVersion: 12, correlationId: 1, clientId: 'poller' },
        {
          replicaId: -1,
          maxWaitMs: 600_000,
          minBytes: 1,
          maxBytes: MB,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: MB }] }],
          forgottenTopicsData: [],
          rackId: 'r'.repeat(3 * MB),
        },
      ),
    );
    poller.write(frame);
    await new Promise((r) => setTimeout(r, 1000));
    // The client goes away without waiting for its answer.
    poller.destroy();
    // A 2 MB produce needs request memory: answered once the abandoned poll gave its 3 MB back (it waited the
    // poll's 10 minutes before).
    const c = await RawClient.connect(broker.port);
    try {
      const batch = await buildBatch({ records: [{ key: null, value: randomBytes(2 * MB) }] });
      const answer = produce(c, TOPIC, batch);
      const code = await Promise.race([
        answer,
        new Promise<string>((r) => setTimeout(() => r('still waiting after 20 s'), 20_000)),
      ]);
      assert.equal(code, ErrorCode.NONE);
    } finally {
      c.close();
    }
  });
});
