import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KafkaError } from '../../src/protocol/errors.js';
import {
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  batchCrcOk,
  Compression,
  OFF,
  readBatchHeader,
  rewriteCrc,
  validateProducedBatches,
} from '../../src/protocol/records/batch.js';
import { compress, compressionName } from '../../src/protocol/records/compression.js';
import { crc32c, crc32cImplementation, crc32cTable } from '../../src/protocol/records/crc32c.js';
import {
  BatchBuilder,
  batchCompression,
  batchLastOffset,
  buildBatch,
  controlRecordType,
  decodeBatch,
  decodeBatches,
  decodeRecordSet,
  decodeRecords,
  encodeRecordsUncompressed,
  isControlBatch,
  isTransactionalBatch,
  iterateBatches,
  type KafkaRecord,
  type RecordInput,
  recordSize,
  varlongSize,
} from '../../src/protocol/records/record.js';

const require = createRequire(import.meta.url);
const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const FIXTURES = JSON.parse(readFileSync(new URL('./fixtures/compression-fixtures.json', import.meta.url), 'utf8')) as {
  librdkafka: Record<string, string>;
};

function asBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function assertRecordsMatch(got: KafkaRecord[], input: readonly RecordInput[], baseOffset: bigint, defaultTs: bigint) {
  assert.equal(got.length, input.length);
  input.forEach((r, i) => {
    const g = got[i]!;
    assert.equal(g.offset, baseOffset + BigInt(i));
    assert.equal(g.timestamp, r.timestamp === undefined ? defaultTs : BigInt(r.timestamp));
    assert.ok(sameBytes(g.key, asBuffer(r.key)), `key of record ${i}`);
    assert.ok(sameBytes(g.value, asBuffer(r.value)), `value of record ${i}`);
    const headers = r.headers ?? [];
    assert.equal(g.headers.length, headers.length);
    headers.forEach((h, j) => {
      assert.equal(g.headers[j]!.key, h.key);
      assert.ok(sameBytes(g.headers[j]!.value, asBuffer(h.value)));
    });
  });
}

function assertCorrupt(e: unknown, re: RegExp): boolean {
  assert.ok(e instanceof KafkaError, `expected KafkaError, got ${String(e)}`);
  assert.equal(e.code, 2); // CORRUPT_MESSAGE
  assert.match(e.message, re);
  return true;
}

const bytesOrString = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

const recordArb: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: bytesOrString,
    value: bytesOrString,
    headers: fc.array(
      fc.record({
        key: fc.string({ unit: 'grapheme', maxLength: 12 }),
        value: fc.oneof(
          fc.constant(null),
          fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
          fc.string(),
        ),
      }),
      { maxLength: 4 },
    ),
    timestamp: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 45n }), fc.integer({ min: 0, max: 2 ** 41 })),
  },
  { requiredKeys: [] },
);

/** Bit-at-a-time CRC32C: the definition the table-driven one must match. */
function crc32cReference(buf: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= buf[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  // Both implementations: crc32c (the CPU instruction from 256 bytes on, when @node-rs/crc32 loads) and the table
  // code it falls back to.
  for (const [name, f] of [
    ['crc32c', crc32c],
    ['crc32cTable', crc32cTable],
  ] as const) {
    test(`${name}: known values (RFC 3720 B.4)`, () => {
      assert.equal(f(Buffer.alloc(32, 0)), 0x8a9136aa);
      assert.equal(f(Buffer.alloc(32, 0xff)), 0x62a8ab43);
      assert.equal(f(Buffer.from('123456789')), 0xe3069283);
    });

    test(`${name}: matches the bitwise definition at every alignment, length and continuation`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 0, maxLength: 1500 }),
          fc.nat(7),
          fc.nat(),
          fc.nat(),
          (bytes, shift, a, b) => {
            // A view at an odd byte offset of its ArrayBuffer exercises the unaligned head.
            const backing = new Uint8Array(bytes.length + shift);
            backing.set(bytes, shift);
            const buf = backing.subarray(shift);
            const start = bytes.length === 0 ? 0 : a % bytes.length;
            const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
            assert.equal(f(buf, start, end), crc32cReference(buf, start, end));
            const mid = start + ((end - start) >>> 1);
            assert.equal(f(buf, mid, end, f(buf, start, mid)), crc32cReference(buf, start, end));
          },
        ),
        { numRuns: 500 },
      );
    });
  }

  test('a Buffer, a subarray of one and a plain Uint8Array of the same bytes give the same value', () => {
    const bytes = Buffer.alloc(5000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    const want = crc32cReference(bytes, 3, 4999);
    assert.equal(crc32c(bytes, 3, 4999), want);
    assert.equal(crc32c(bytes.subarray(3, 4999)), want);
    assert.equal(crc32c(new Uint8Array(bytes.subarray(3, 4999))), want);
  });

  test('the CPU instruction serves on this platform (its prebuilt binary is installed with the package)', {
    skip: process.platform === 'linux' && process.arch === 'x64' ? false : 'only checked on linux-x64',
  }, () => {
    assert.equal(crc32cImplementation(), 'instruction');
  });
});

describe('BatchBuilder.appendFields', () => {
  test('the same bytes as append() for every record shape and timestamp', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        (records, base) => {
          const opts = { defaultTimestamp: BigInt(base) };
          const a = new BatchBuilder(opts);
          const b = new BatchBuilder(opts);
          for (const r of records) {
            const ts = r.timestamp === undefined ? base : Number(r.timestamp);
            a.append({ ...r, timestamp: BigInt(ts) });
            b.appendFields(r.key, r.value, r.headers, ts);
          }
          assert.deepEqual(b.buildUncompressed(), a.buildUncompressed());
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('buildBatch → decodeBatch', () => {
  for (const codec of CODECS) {
    test(`${compressionName(codec)}: property: random records round-trip`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(recordArb, { minLength: 1, maxLength: 25 }),
          fc.bigInt({ min: 0n, max: 2n ** 62n }),
          async (records, baseOffset) => {
            const defaultTimestamp = 1_700_000_000_000n;
            const batch = await buildBatch({ records, baseOffset, compression: codec, defaultTimestamp });
            const h = readBatchHeader(batch, 0)!;
            assert.equal(h.size, batch.length);
            assert.ok(batchCrcOk(batch, h));
            assert.equal(batchCompression(h), codec);
            assert.equal(h.recordCount, records.length);
            assert.equal(h.lastOffsetDelta, records.length - 1);
            const ts = records.map((r) => (r.timestamp === undefined ? defaultTimestamp : BigInt(r.timestamp)));
            assert.equal(h.baseTimestamp, ts[0]);
            let max = ts[0]!;
            for (const t of ts) if (t > max) max = t;
            assert.equal(h.maxTimestamp, max);
            const v = validateProducedBatches(batch, 1 << 30);
            assert.ok(v.ok, v.ok ? '' : v.message);
            const { header, records: got } = await decodeBatch(batch);
            assert.deepEqual(header, h);
            assertRecordsMatch(got, records, baseOffset, defaultTimestamp);
          },
        ),
        { numRuns: codec === Compression.None ? 200 : 60 },
      );
    });
  }

  test('header defaults and options', async () => {
    const batch = await buildBatch({
      records: [{ value: 'a', timestamp: 1000n }],
      baseOffset: 42n,
      producerId: 7n,
      producerEpoch: 3,
      baseSequence: 99,
      partitionLeaderEpoch: 5,
      attributesExtra: ATTR_TRANSACTIONAL | 0x07,
    });
    const h = readBatchHeader(batch, 0)!;
    assert.equal(h.baseOffset, 42n);
    assert.equal(h.magic, 2);
    assert.equal(h.partitionLeaderEpoch, 5);
    assert.equal(h.producerId, 7n);
    assert.equal(h.producerEpoch, 3);
    assert.equal(h.baseSequence, 99);
    assert.equal(h.attributes, ATTR_TRANSACTIONAL); // compression bits of attributesExtra are ignored
    assert.ok(isTransactionalBatch(h) && !isControlBatch(h));
    assert.equal(batchLastOffset(h), 42n);
    const plain = readBatchHeader(await buildBatch({ records: [{ value: 'a' }] }), 0)!;
    assert.equal(plain.producerId, -1n);
    assert.equal(plain.producerEpoch, -1);
    assert.equal(plain.baseSequence, -1);
    assert.equal(plain.partitionLeaderEpoch, -1);
    const now = BigInt(Date.now());
    assert.ok(plain.baseTimestamp <= now && plain.baseTimestamp > now - 60_000n);
  });

  test('timestamps: out of order, negative deltas, deltas beyond int32, LogAppendTime', async () => {
    const records = [
      { value: 'a', timestamp: 5_000_000_000_000n },
      { value: 'b', timestamp: 1n },
      { value: 'c', timestamp: 9_000_000_000_000n },
      { value: 'd', timestamp: 5_000_000_000_001n },
    ];
    const { header, records: got } = await decodeBatch(await buildBatch({ records }));
    assert.equal(header.baseTimestamp, 5_000_000_000_000n);
    assert.equal(header.maxTimestamp, 9_000_000_000_000n);
    assert.deepEqual(
      got.map((r) => r.timestamp),
      records.map((r) => r.timestamp),
    );
    const appendTime = await buildBatch({ records, timestampType: 'logAppend' });
    const decoded = await decodeBatch(appendTime);
    assert.ok(decoded.header.attributes & ATTR_LOG_APPEND_TIME);
    assert.ok(decoded.records.every((r) => r.timestamp === decoded.header.maxTimestamp));
    assert.equal(varlongSize(-1n), 1);
    assert.equal(varlongSize(2n ** 40n), 6);
    assert.equal(varlongSize(-(2n ** 63n)), 10);
  });

  test('an empty batch is refused', async () => {
    await assert.rejects(buildBatch({ records: [] }), /at least one record/);
  });

  test('a batch at a position inside a larger buffer', async () => {
    const batch = await buildBatch({ records: [{ key: 'k', value: 'v' }], compression: Compression.Lz4 });
    const buf = Buffer.concat([Buffer.alloc(13, 0xee), batch, Buffer.alloc(5)]);
    const { header, records } = await decodeBatch(buf, 13);
    assert.equal(header.position, 13);
    assert.equal(records[0]!.value!.toString(), 'v');
  });

  test('a large batch: 20,000 records with 8 MiB of values through every codec', async () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({
      key: `key-${i % 100}`,
      value: Buffer.alloc(420, i & 0xff),
      headers: i % 10 === 0 ? [{ key: 'trace', value: `t-${i}` }] : undefined,
    }));
    for (const codec of CODECS) {
      const batch = await buildBatch({ records, compression: codec, defaultTimestamp: 1n });
      const { records: got } = await decodeBatch(batch);
      assert.equal(got.length, records.length);
      assert.ok(got[19_999]!.value!.equals(records[19_999]!.value));
      assert.equal(got[19_990]!.headers[0]!.value!.toString(), 't-19990');
    }
  });
});

describe('builder helpers', () => {
  test('BatchBuilder: incremental appends, exact sizes, sync build without compression', async () => {
    const records: RecordInput[] = [
      { key: 'k1', value: 'v1', timestamp: 10n },
      { key: null, value: Buffer.from([1, 2, 3]), timestamp: 12, headers: [{ key: 'h', value: 'x' }] },
      { value: 'é'.repeat(200), timestamp: 11n },
    ];
    const b = new BatchBuilder({ baseOffset: 100n }, 16);
    let expected = BATCH_HEADER_SIZE;
    records.forEach((r, i) => {
      b.append(r);
      expected += recordSize(r, i, BigInt(r.timestamp!) - 10n);
      assert.equal(b.sizeInBytes, expected);
    });
    assert.equal(b.recordCount, 3);
    const batch = b.buildUncompressed();
    assert.equal(batch.length, expected);
    assert.throws(() => b.append({ value: 'late' }), /already built/);
    const section = encodeRecordsUncompressed(records);
    assert.ok(section.equals(batch.subarray(BATCH_HEADER_SIZE)));
    const h = readBatchHeader(batch, 0)!;
    assertRecordsMatch(decodeRecords(section, h), records, 100n, 0n);
    assert.throws(
      () => new BatchBuilder({ compression: Compression.Gzip }).append({ value: 'x' }).buildUncompressed(),
      /configured with compression/,
    );
  });

  test('control batches: built, recognised, skipped by record-set decoding', async () => {
    const marker = Buffer.alloc(4);
    marker.writeInt16BE(0, 0);
    marker.writeInt16BE(1, 2); // COMMIT
    const value = Buffer.from([0, 0, 0, 0, 0, 5]);
    const control = await buildBatch({
      records: [{ key: marker, value }],
      baseOffset: 2n,
      producerId: 9n,
      attributesExtra: ATTR_TRANSACTIONAL | ATTR_CONTROL,
    });
    const data = await buildBatch({ records: [{ value: 'x' }, { value: 'y' }], baseOffset: 0n, producerId: 9n });
    const after = await buildBatch({ records: [{ value: 'z' }], baseOffset: 3n });
    const { header, records } = await decodeBatch(control);
    assert.ok(isControlBatch(header));
    assert.equal(controlRecordType(records[0]!), 'commit');
    const buf = Buffer.concat([data, control, after]);
    assert.deepEqual(
      (await decodeRecordSet(buf)).map((r) => [r.offset, r.value!.toString()]),
      [
        [0n, 'x'],
        [1n, 'y'],
        [3n, 'z'],
      ],
    );
    assert.equal((await decodeRecordSet(buf, { skipControlBatches: false })).length, 4);
    const set = await decodeBatches(buf, { skipControlBatches: true });
    assert.equal(set.batches.length, 2);
    assert.equal(set.nextOffset, 4n);
  });
});

describe('record sets (fetch responses)', () => {
  test('a truncated last batch is skipped silently, at every cut point', async () => {
    const a = await buildBatch({ records: [{ value: 'a' }, { value: 'b' }], baseOffset: 0n });
    const b = await buildBatch({ records: [{ value: 'c' }], baseOffset: 2n, compression: Compression.Zstd });
    const c = await buildBatch({ records: [{ value: 'd' }], baseOffset: 3n, compression: Compression.Snappy });
    const full = Buffer.concat([a, b, c]);
    for (let cut = a.length + b.length; cut < full.length; cut++) {
      const part = full.subarray(0, cut);
      const set = await decodeBatches(part);
      assert.equal(set.batches.length, 2);
      assert.equal(set.nextOffset, 3n);
      assert.equal(set.partialBytes, cut - a.length - b.length);
      const seen: string[] = [];
      for await (const batch of iterateBatches(part)) seen.push(...batch.records.map((r) => r.value!.toString()));
      assert.deepEqual(seen, ['a', 'b', 'c']);
    }
    assert.deepEqual(
      (await decodeRecordSet(full)).map((r) => r.value!.toString()),
      ['a', 'b', 'c', 'd'],
    );
    const none = await decodeBatches(full.subarray(0, 30));
    assert.deepEqual(none, { batches: [], nextOffset: null, partialBytes: 30 });
    assert.deepEqual(await decodeRecordSet(Buffer.alloc(0)), []);
  });

  test('a corrupt batch before the end is an error, not a silent skip', async () => {
    const a = await buildBatch({ records: [{ value: 'a' }] });
    const b = await buildBatch({ records: [{ value: 'b' }], baseOffset: 1n });
    const bad = Buffer.concat([a, b]);
    bad[a.length - 1]! ^= 0xff;
    await assert.rejects(decodeRecordSet(bad), (e) => assertCorrupt(e, /CRC mismatch in batch at byte 0/));
    const tiny = Buffer.concat([a, Buffer.alloc(12)]);
    await assert.rejects(decodeBatches(tiny), (e) => assertCorrupt(e, /invalid batch length/));
  });
});

describe('corrupt batches', () => {
  async function sample(codec = Compression.None): Promise<Buffer> {
    return buildBatch({
      records: [
        { key: 'k', value: 'hello', headers: [{ key: 'h', value: 'v' }] },
        { key: null, value: 'world' },
      ],
      compression: codec,
    });
  }

  /** Replace the records section (fixing lengths and the CRC) to get past the CRC check. */
  function withRecords(batch: Buffer, section: Buffer, count?: number): Buffer {
    const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), section]);
    out.writeInt32BE(out.length - 12, OFF.batchLength);
    if (count !== undefined) out.writeInt32BE(count, OFF.recordCount);
    rewriteCrc(out, 0, out.length);
    return out;
  }

  test('a flipped byte anywhere the CRC covers is caught', async () => {
    for (const codec of CODECS) {
      const batch = await sample(codec);
      for (let i = OFF.attributes; i < batch.length; i++) {
        const bad = Buffer.from(batch);
        bad[i]! ^= 0x10;
        await assert.rejects(decodeBatch(bad), (e) => assertCorrupt(e, /CRC mismatch/));
      }
    }
  });

  test('wrong CRC, truncation, bad magic, bad length', async () => {
    const batch = await sample();
    const wrongCrc = Buffer.from(batch);
    wrongCrc.writeUInt32BE(12345, OFF.crc);
    await assert.rejects(decodeBatch(wrongCrc), (e) => assertCorrupt(e, /CRC mismatch/));
    await assert.rejects(decodeBatch(batch.subarray(0, batch.length - 1)), (e) => assertCorrupt(e, /truncated/));
    await assert.rejects(decodeBatch(batch.subarray(0, 20)), (e) => assertCorrupt(e, /truncated/));
    const v1 = Buffer.from(batch);
    v1[OFF.magic] = 1;
    await assert.rejects(decodeBatch(v1), (e) => assertCorrupt(e, /magic 1 is not supported/));
    const shortLen = Buffer.from(batch);
    shortLen.writeInt32BE(10, OFF.batchLength);
    await assert.rejects(decodeBatch(shortLen), (e) => assertCorrupt(e, /invalid batch length/));
    const codec7 = Buffer.from(batch);
    codec7.writeInt16BE(7, OFF.attributes);
    rewriteCrc(codec7, 0, codec7.length);
    await assert.rejects(decodeBatch(codec7), (e) => assertCorrupt(e, /unknown compression codec 7/));
  });

  test('record count, lengths and trailing bytes are checked', async () => {
    const batch = await sample();
    const section = batch.subarray(BATCH_HEADER_SIZE);
    await assert.rejects(decodeBatch(withRecords(batch, section, 3)), (e) => assertCorrupt(e, /declares 3 records/));
    await assert.rejects(decodeBatch(withRecords(batch, section, 1)), (e) => assertCorrupt(e, /bytes after/));
    await assert.rejects(decodeBatch(withRecords(batch, Buffer.concat([section, Buffer.from([0])]))), (e) =>
      assertCorrupt(e, /1 bytes after the batch's 2 records/),
    );
    // Key length -2 (zig-zag 3) in the first record.
    const badKey = Buffer.from(section);
    assert.equal(badKey[4], 2); // key length 1
    badKey[4] = 3;
    await assert.rejects(decodeBatch(withRecords(batch, badKey)), (e) => assertCorrupt(e, /invalid key length -2/));
    // A record length that passes the end of the section.
    const badLen = Buffer.from(section);
    badLen[0] = 0x7e;
    await assert.rejects(decodeBatch(withRecords(batch, badLen)), (e) => assertCorrupt(e, /invalid record length 63/));
    // Compressed: a payload that is not what the codec says (CRC fixed).
    const garbage = withRecords(await sample(Compression.Lz4), Buffer.from('definitely not an lz4 frame'));
    await assert.rejects(decodeBatch(garbage), (e) => assertCorrupt(e, /lz4: not an LZ4 frame/));
  });

  test('property: any mutation of the records section decodes or throws KafkaError(CORRUPT_MESSAGE)', async () => {
    const batches = await Promise.all(CODECS.map((c) => sample(c)));
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: batches.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.option(fc.nat()),
        async (which, flips, cut) => {
          const batch = batches[which]!;
          let section = Buffer.from(batch.subarray(BATCH_HEADER_SIZE));
          for (const [at, x] of flips) section[at % section.length]! ^= x;
          if (cut !== null) section = section.subarray(0, cut % section.length);
          try {
            const { records } = await decodeBatch(withRecords(batch, section));
            assert.equal(records.length, 2);
          } catch (e) {
            assertCorrupt(e, /./);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('interoperability', () => {
  const kafkajsRequire = (p: string) => require(`kafkajs/src/protocol/${p}`);
  const { RecordBatch } = kafkajsRequire('recordBatch/v0/index.js');
  const KRecord = kafkajsRequire('recordBatch/record/v0/index.js');
  const KDecoder = kafkajsRequire('decoder.js');
  const decodeKafkajsBatch = kafkajsRequire('recordBatch/v0/decoder.js');
  const Long = require('kafkajs/src/utils/long.js');

  test('kafkajs decodes our batches (none, gzip)', async () => {
    for (const codec of [Compression.None, Compression.Gzip]) {
      const batch = await buildBatch({
        records: [
          { key: 'k1', value: 'v1', timestamp: 1000n, headers: [{ key: 'a', value: 'b' }] },
          { key: null, value: Buffer.from([0, 1, 2]), timestamp: 999n },
        ],
        baseOffset: 5n,
        compression: codec,
      });
      const got = await decodeKafkajsBatch(new KDecoder(batch));
      assert.equal(got.firstOffset, '5');
      assert.equal(got.lastOffsetDelta, 1);
      assert.equal(got.maxTimestamp, '1000');
      assert.equal(got.records.length, 2);
      assert.equal(got.records[0].key.toString(), 'k1');
      assert.equal(got.records[0].headers.a.toString(), 'b');
      assert.equal(got.records[1].key, null);
      assert.equal(got.records[1].offset, '6');
      assert.equal(got.records[1].timestamp, '999');
      assert.deepEqual([...got.records[1].value], [0, 1, 2]);
    }
  });

  test('we decode kafkajs batches (none, gzip)', async () => {
    for (const codec of [Compression.None, Compression.Gzip]) {
      const records = [
        KRecord({
          offsetDelta: 0,
          timestampDelta: 0,
          key: Buffer.from('a'),
          value: Buffer.from('1'),
          headers: { x: 'y' },
        }),
        KRecord({ offsetDelta: 1, timestampDelta: 5, key: null, value: Buffer.from('2') }),
      ];
      const encoded = await RecordBatch({
        compression: codec,
        firstOffset: Long.fromValue(10),
        firstTimestamp: 2000,
        maxTimestamp: 2005,
        lastOffsetDelta: 1,
        records,
      });
      const { header, records: got } = await decodeBatch(encoded.buffer);
      assert.equal(header.baseOffset, 10n);
      assert.deepEqual(
        got.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value!.toString()]),
        [
          [10n, 2000n, 'a', '1'],
          [11n, 2005n, null, '2'],
        ],
      );
      assert.equal(got[0]!.headers[0]!.value!.toString(), 'y');
    }
  });

  test('librdkafka 2.0.2 batches (gzip, snappy raw block, lz4, zstd) decode', async () => {
    for (const [codec, b64] of Object.entries(FIXTURES.librdkafka)) {
      const buf = Buffer.from(b64, 'base64');
      const set = await decodeBatches(buf);
      assert.equal(set.partialBytes, 0);
      assert.equal(compressionName(batchCompression(set.batches[0]!.header)), codec);
      const records = set.batches.flatMap((b) => b.records);
      assert.equal(records.length, 50);
      records.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i));
        assert.equal(r.timestamp, 1_700_000_000_000n + BigInt(i));
        assert.equal(r.key?.toString() ?? null, i % 7 === 0 ? null : `key-${i}`);
        assert.equal(r.value?.toString() ?? null, i % 11 === 5 ? null : `value-${i}-`.repeat(i * 3));
        if (i % 3 === 0) {
          assert.deepEqual(
            r.headers.map((h) => [h.key, h.value?.toString() ?? null]),
            [
              ['hé', 'x'.repeat(i)],
              ['null', null],
            ],
          );
        } else {
          assert.deepEqual(r.headers, []);
        }
      });
    }
  });

  test('re-compressing a librdkafka batch’s records with each codec keeps them intact', async () => {
    const buf = Buffer.from(FIXTURES.librdkafka.lz4!, 'base64');
    const { header, records } = await decodeBatch(buf);
    const section = encodeRecordsUncompressed(
      records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
    );
    for (const codec of CODECS) {
      const again = await buildBatch({
        records: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
        compression: codec,
      });
      const d = await decodeBatch(again);
      assert.equal(d.header.baseTimestamp, header.baseTimestamp);
      assert.deepEqual(d.records, records);
      assert.ok((await compress(codec, section)).length > 0);
    }
  });
});
