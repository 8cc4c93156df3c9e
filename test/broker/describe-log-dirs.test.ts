/**
 * DescribeLogDirs (35) against a real `kstream serve`: the data dir with every partition's size (equal to its
 * segment files on disk), offset lag and isFutureKey, the volume's total/usable bytes in v4, topic filters;
 * every advertised version through the raw protocol, and v0 / v4 bytes built and parsed with kafkajs's own
 * Encoder/Decoder (an implementation we did not write), so field order and types are checked independently
 * of our codec. The cluster case (each broker answers for its own replicas) is in test/cluster/log-dirs.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Admin } from '../../src/client/index.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
// kafkajs's protocol primitives (it has no DescribeLogDirs request of its own).
type KEncoder = {
  writeInt16(v: number): KEncoder;
  writeInt32(v: number): KEncoder;
  writeString(v: string | null): KEncoder;
  writeUVarInt(v: number): KEncoder;
  writeUVarIntString(v: string): KEncoder;
  writeArray(a: unknown[], type?: string): KEncoder;
  writeNullableArray(a: unknown[] | null, type?: string): KEncoder;
  writeEncoder(e: KEncoder): KEncoder;
  size(): number;
  buffer: Buffer;
};
type KDecoder = {
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readBoolean(): boolean;
  readString(): string;
  readUVarIntString(): string;
  readArray<T>(f: (d: KDecoder) => T): T[];
  readUVarIntArray<T>(f: (d: KDecoder) => T): T[];
  readTaggedFields(): void;
  canReadBytes(n: number): boolean;
};
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KEncoder;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => KDecoder;

let broker: BrokerProcess;
let admin: Admin;

/** Bytes of a partition's .log segment files on disk (what Kafka reports as the partition size). */
function segmentBytes(topic: string, partition: number): bigint {
  const dir = join(broker.dataDir, `${topic}-${partition}`);
  let n = 0n;
  for (const f of readdirSync(dir)) if (f.endsWith('.log')) n += BigInt(statSync(join(dir, f)).size);
  return n;
}

async function produce(topic: string, partition: number, lines: number): Promise<void> {
  const p = run('kcat', ['-b', broker.bootstrap, '-P', '-t', topic, '-p', String(partition)], { timeout: 30_000 });
  p.child.stdin?.end(`${Array.from({ length: lines }, (_, i) => `record ${i} ${'x'.repeat(i % 50)}`).join('\n')}\n`);
  await p;
}

/** One request frame (header v1 or v2) built with kafkajs's Encoder; the whole response frame back. */
function exchange(version: number, body: KEncoder): Promise<Buffer> {
  const req = new Encoder().writeInt16(ApiKey.DescribeLogDirs).writeInt16(version).writeInt32(7).writeString('kjs-raw');
  if (version >= 2) req.writeUVarInt(0); // request header v2: tagged fields
  req.writeEncoder(body);
  const frame = new Encoder().writeInt32(req.size()).writeEncoder(req).buffer;
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: broker.port }, () => s.write(frame));
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        s.destroy();
        resolve(buf.subarray(4, 4 + buf.readInt32BE(0)));
      }
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before a whole response')));
  });
}

before(async () => {
  broker = await startBroker();
  admin = new Admin({ brokers: broker.bootstrap, clientId: 'log-dirs-test' });
  await admin.connect();
  const created = await admin.createTopics([
    { topic: 'ld', numPartitions: 3 },
    { topic: 'other', numPartitions: 1 },
  ]);
  assert.deepEqual(
    created.map((c) => c.error),
    [null, null],
  );
  await produce('ld', 0, 200);
  await produce('ld', 2, 7);
  await produce('other', 0, 1);
});
after(async () => {
  await admin?.close();
  await broker?.stop();
  removeDir(broker?.dataDir ?? '');
});

test('advertised in ApiVersions as 0-4', async () => {
  const c = await RawClient.connect(broker.port);
  try {
    const res = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const k = (res.apiKeys as Struct[]).find((a) => a.apiKey === ApiKey.DescribeLogDirs);
    assert.deepEqual(k && { min: k.minVersion, max: k.maxVersion }, { min: 0, max: 4 });
  } finally {
    c.close();
  }
});

test('admin.describeLogDirs: the data dir, every partition with its size on disk, volume bytes', async () => {
  const [b, ...rest] = await admin.describeLogDirs();
  assert.equal(rest.length, 0);
  assert.ok(b);
  assert.equal(b.broker, 1);
  assert.equal(b.error, null);
  assert.equal(b.logDirs.length, 1);
  const d = b.logDirs[0]!;
  assert.equal(d.error, null);
  assert.equal(realpathSync(d.logDir), realpathSync(broker.dataDir));
  assert.ok(d.totalBytes !== null && d.totalBytes > 0n, String(d.totalBytes));
  assert.ok(d.usableBytes !== null && d.usableBytes >= 0n && d.usableBytes <= d.totalBytes);
  const ours = d.replicas.filter((r) => r.topic === 'ld' || r.topic === 'other');
  assert.deepEqual(
    ours.map((r) => ({ ...r })),
    [
      { topic: 'ld', partition: 0, size: segmentBytes('ld', 0), offsetLag: 0n, isFuture: false },
      { topic: 'ld', partition: 1, size: 0n, offsetLag: 0n, isFuture: false },
      { topic: 'ld', partition: 2, size: segmentBytes('ld', 2), offsetLag: 0n, isFuture: false },
      { topic: 'other', partition: 0, size: segmentBytes('other', 0), offsetLag: 0n, isFuture: false },
    ],
  );
  assert.ok(ours[0]!.size > ours[2]!.size && ours[2]!.size > 0n);
  // Nothing else: __consumer_offsets exists only once a group is used (first FindCoordinator).
  assert.deepEqual([...new Set(d.replicas.map((r) => r.topic))].sort(), ['ld', 'other']);
});

test('a topic filter: only the named partitions this broker holds; unknown ones are left out', async () => {
  const [b] = await admin.describeLogDirs({
    topics: [
      { topic: 'ld', partitions: [2, 9, 0] },
      { topic: 'ghost', partitions: [0] },
    ],
  });
  assert.deepEqual(
    b?.logDirs[0]?.replicas.map((r) => `${r.topic}/${r.partition}`),
    ['ld/0', 'ld/2'],
  );
  const [none] = await admin.describeLogDirs({ topics: [] });
  assert.deepEqual(none?.logDirs[0]?.replicas, []);
  const [missing] = await admin.describeLogDirs({ brokers: [42] });
  assert.match(String(missing?.error), /BROKER_NOT_AVAILABLE/);
});

test('every version 0-4 through the raw protocol gives the same sizes; v3+ error code, v4 volume bytes', async () => {
  const c = await RawClient.connect(broker.port);
  try {
    for (let v = 0; v <= 4; v++) {
      const res = await c.request(ApiKey.DescribeLogDirs, v, { topics: [{ topic: 'ld', partitions: [0, 1] }] });
      assert.equal(res.errorCode, 0, `v${v}`);
      const [d, ...more] = res.results as Struct[];
      assert.equal(more.length, 0);
      assert.equal(d?.errorCode, 0);
      assert.deepEqual(d?.topics, [
        {
          name: 'ld',
          partitions: [
            { partitionIndex: 0, partitionSize: segmentBytes('ld', 0), offsetLag: 0n, isFutureKey: false },
            { partitionIndex: 1, partitionSize: 0n, offsetLag: 0n, isFutureKey: false },
          ],
        },
      ]);
      if (v >= 4) assert.ok(d?.totalBytes > 0n && d?.usableBytes > 0n, `v${v}`);
      else assert.equal(d?.totalBytes, -1n, `v${v}: not in this version, decoded as the default`);
    }
  } finally {
    c.close();
  }
});

test("kafkajs's Encoder/Decoder: a v0 and a v4 exchange parse field by field", async () => {
  // v0: topics = [{ topic 'ld', partitions [0] }] (non-flexible); response header v0.
  const v0 = new Decoder(
    await exchange(0, new Encoder().writeArray([new Encoder().writeString('ld').writeArray([0], 'int32')])),
  );
  assert.equal(v0.readInt32(), 7);
  assert.equal(v0.readInt32(), 0, 'throttle_time_ms');
  const dirs0 = v0.readArray((d) => ({
    errorCode: d.readInt16(),
    logDir: d.readString(),
    topics: d.readArray((t) => ({
      name: t.readString(),
      partitions: t.readArray((p) => ({
        partition: p.readInt32(),
        size: p.readInt64().toString(),
        lag: p.readInt64().toString(),
        future: p.readBoolean(),
      })),
    })),
  }));
  assert.equal(v0.canReadBytes(1), false, 'every byte consumed');
  assert.equal(dirs0.length, 1);
  assert.equal(realpathSync(dirs0[0]!.logDir), realpathSync(broker.dataDir));
  assert.deepEqual(dirs0[0]!.topics, [
    { name: 'ld', partitions: [{ partition: 0, size: String(segmentBytes('ld', 0)), lag: '0', future: false }] },
  ]);

  // v4: topics = null (all), flexible; response header v1 (tagged fields after the correlation id).
  const v4 = new Decoder(await exchange(4, new Encoder().writeUVarInt(0).writeUVarInt(0)));
  assert.equal(v4.readInt32(), 7);
  v4.readTaggedFields();
  assert.equal(v4.readInt32(), 0, 'throttle_time_ms');
  assert.equal(v4.readInt16(), 0, 'error_code');
  const dirs4 = v4.readUVarIntArray((d) => {
    const r = {
      errorCode: d.readInt16(),
      logDir: d.readUVarIntString(),
      topics: d.readUVarIntArray((t) => {
        const topic = {
          name: t.readUVarIntString(),
          partitions: t.readUVarIntArray((p) => {
            const x = {
              partition: p.readInt32(),
              size: p.readInt64().toString(),
              lag: p.readInt64().toString(),
              future: p.readBoolean(),
            };
            p.readTaggedFields();
            return x;
          }),
        };
        t.readTaggedFields();
        return topic;
      }),
      total: d.readInt64().toString(),
      usable: d.readInt64().toString(),
    };
    d.readTaggedFields();
    return r;
  });
  v4.readTaggedFields();
  assert.equal(v4.canReadBytes(1), false, 'every byte consumed');
  assert.equal(dirs4.length, 1);
  const d4 = dirs4[0]!;
  assert.equal(d4.errorCode, 0);
  assert.ok(BigInt(d4.total) > 0n && BigInt(d4.usable) <= BigInt(d4.total));
  const ld = d4.topics.find((t) => t.name === 'ld');
  assert.deepEqual(ld?.partitions, [
    { partition: 0, size: String(segmentBytes('ld', 0)), lag: '0', future: false },
    { partition: 1, size: '0', lag: '0', future: false },
    { partition: 2, size: String(segmentBytes('ld', 2)), lag: '0', future: false },
  ]);
  assert.deepEqual(
    d4.topics.map((t) => t.name),
    ['ld', 'other'],
  );
});
