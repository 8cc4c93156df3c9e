/**
 * The record-level validation of produced batches (src/protocol/records/validate.ts, issue 23 defect 4):
 * every malformed-but-CRC-valid case gets its error code, message and record index; valid batches of every
 * codec and shape pass untouched; a seeded fuzz agrees with an independent decoding on every batch.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import {
  ATTR_LOG_APPEND_TIME,
  batchCrcOk,
  Compression,
  OFF,
  readBatchHeader,
} from '../../src/protocol/records/batch.js';
import { compress, compressionName } from '../../src/protocol/records/compression.js';
import {
  buildBatch,
  decodeBatch,
  encodeRecordsUncompressed,
  type RecordInput,
} from '../../src/protocol/records/record.js';
import {
  codecsPending,
  MAX_RECORD_ERRORS,
  type ProducedValidation,
  type RecordRules,
  validateProduced,
} from '../../src/protocol/records/validate.js';
import { zstdReady } from '../../src/protocol/records/zstd.js';
import {
  CORRUPT_MESSAGE,
  fuzzBatch,
  INVALID_RECORD,
  INVALID_TIMESTAMP,
  MALFORMED_CASES,
  prng,
  rawBatch,
  recordBytes,
  wellFormed,
} from './malformed-batches.js';

const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const MAX = 1 << 30;
const NOW = 1_700_000_000_000;

function rules(r: Partial<RecordRules> = {}): RecordRules {
  return { logAppendTime: false, compacted: false, timestampDifferenceMaxMs: Number.MAX_SAFE_INTEGER, now: NOW, ...r };
}

function refused(v: ProducedValidation): Extract<ProducedValidation, { ok: false }> {
  assert.equal(v.ok, false, 'expected the batch to be refused');
  return v as Extract<ProducedValidation, { ok: false }>;
}

describe('validateProduced: malformed records in CRC-valid batches', () => {
  test('zstd is loaded for the synchronous walk', async () => {
    await zstdReady();
  });

  for (const c of MALFORMED_CASES) {
    test(c.name, async () => {
      const batch = await c.build();
      const h = readBatchHeader(batch, 0);
      assert.ok(h && batchCrcOk(batch, h), 'the case keeps a valid CRC');
      const before = Buffer.from(batch);
      const v = refused(validateProduced(batch, MAX, rules()));
      assert.equal(v.errorCode, c.code, v.message);
      assert.match(v.message, c.message);
      assert.deepEqual(
        v.recordErrors.map((e) => e.batchIndex),
        c.recordErrors,
      );
      for (const e of v.recordErrors) assert.match(e.message, c.message);
      assert.ok(batch.equals(before), 'a refused batch is left as it was');
      if (!c.batchRule) assert.equal(await wellFormed(batch), false, 'the reference decoding refuses it too');
    });
  }

  test('the second of two batches is malformed: the message names it', async () => {
    const ok = await buildBatch({ records: [{ value: 'a' }] });
    const bad = await MALFORMED_CASES[0]!.build();
    const v = refused(validateProduced(Buffer.concat([ok, bad]), MAX, rules()));
    assert.equal(v.errorCode, INVALID_RECORD);
    assert.match(v.message, /^batch 1: the batch declares 1000000 records/);
  });

  test('lz4 / snappy decompress into a reused buffer: a truncated batch after a whole one is still refused', async () => {
    for (const codec of [Compression.Lz4, Compression.Snappy]) {
      for (const n of [10, 3000, 50, 20_000, 5]) {
        const records = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(i % 300) }));
        const section = encodeRecordsUncompressed(records, BigInt(NOW));
        const whole = rawBatch({
          section: await compress(codec, section),
          count: n,
          attributes: codec,
          baseTimestamp: BigInt(NOW),
        });
        assert.ok(validateProduced(whole, MAX, rules()).ok, `${Compression[codec]} ${n}`);
        // The same records cut short: the bytes after the cut are still in the reused buffer, and must not count.
        const cut = section.subarray(0, section.length - 3);
        const truncated = rawBatch({
          section: await compress(codec, cut),
          count: n,
          attributes: codec,
          baseTimestamp: BigInt(NOW),
        });
        const v = refused(validateProduced(truncated, MAX, rules()));
        assert.equal(v.errorCode, INVALID_RECORD);
        assert.match(v.message, new RegExp(`record ${n - 1}: `));
      }
    }
  });

  test('a decompressed payload beyond the limit is CORRUPT_MESSAGE', async () => {
    const section = encodeRecordsUncompressed([{ value: Buffer.alloc(64 * 1024) }]);
    const batch = rawBatch({ section: await compress(Compression.Gzip, section), count: 1, attributes: 1 });
    const v = refused(validateProduced(batch, MAX, rules({ maxDecompressedBytes: 4096 })));
    assert.equal(v.errorCode, CORRUPT_MESSAGE);
    assert.match(v.message, /exceeds the limit of 4096 bytes/);
    assert.ok(validateProduced(batch, MAX, rules()).ok);
  });
});

describe('validateProduced: the topic rules Kafka applies per record', () => {
  const keyless = (): Promise<Buffer> =>
    buildBatch({
      records: [{ key: 'a', value: '1' }, { key: null, value: '2' }, { key: 'c', value: '3' }, { value: '4' }],
    });

  test('a compacted topic refuses records without a key, listing each', async () => {
    const v = refused(validateProduced(await keyless(), MAX, rules({ compacted: true })));
    assert.equal(v.errorCode, INVALID_RECORD);
    assert.deepEqual(
      v.recordErrors.map((e) => e.batchIndex),
      [1, 3],
    );
    assert.match(v.recordErrors[0]!.message, /compacted topic does not accept a record without a key/);
    assert.match(v.message, /^2 of 4 records refused/);
    assert.ok(validateProduced(await keyless(), MAX, rules()).ok, 'without compaction they are fine');
    const keyed = await buildBatch({ records: [{ key: 'a', value: '1' }], compression: Compression.Lz4 });
    assert.ok(validateProduced(keyed, MAX, rules({ compacted: true })).ok);
  });

  test('at most MAX_RECORD_ERRORS are listed; the message gives the total', async () => {
    const records = Array.from({ length: MAX_RECORD_ERRORS + 50 }, () => ({ value: 'x' }));
    const v = refused(validateProduced(await buildBatch({ records }), MAX, rules({ compacted: true })));
    assert.equal(v.recordErrors.length, MAX_RECORD_ERRORS);
    assert.match(v.message, new RegExp(`^${MAX_RECORD_ERRORS + 50} of ${MAX_RECORD_ERRORS + 50} records refused`));
  });

  test('message.timestamp.difference.max.ms refuses records too far from now, with INVALID_TIMESTAMP', async () => {
    const batch = await buildBatch({
      records: [
        { value: 'now', timestamp: NOW },
        { value: 'old', timestamp: NOW - 10_000 },
        { value: 'future', timestamp: NOW + 10_000 },
        { value: 'close', timestamp: NOW - 500 },
      ],
    });
    const v = refused(validateProduced(Buffer.from(batch), MAX, rules({ timestampDifferenceMaxMs: 1000 })));
    assert.equal(v.errorCode, INVALID_TIMESTAMP);
    assert.deepEqual(
      v.recordErrors.map((e) => e.batchIndex),
      [1, 2],
    );
    assert.match(v.recordErrors[0]!.message, /timestamp 1699999990000 is out of range/);
    assert.ok(validateProduced(Buffer.from(batch), MAX, rules({ timestampDifferenceMaxMs: 10_000 })).ok);
    // No limit on a LogAppendTime topic: the broker's own time replaces them.
    assert.ok(
      validateProduced(Buffer.from(batch), MAX, rules({ timestampDifferenceMaxMs: 1000, logAppendTime: true })).ok,
    );
  });

  test('a producer may not set LogAppendTime on a LogAppendTime topic', async () => {
    const batch = await buildBatch({ records: [{ value: 'a' }, { value: 'b' }], timestampType: 'logAppend' });
    assert.ok(readBatchHeader(batch, 0)!.attributes & ATTR_LOG_APPEND_TIME);
    const v = refused(validateProduced(batch, MAX, rules({ logAppendTime: true })));
    assert.equal(v.errorCode, INVALID_TIMESTAMP);
    assert.deepEqual(
      v.recordErrors.map((e) => e.batchIndex),
      [0, 1],
    );
    assert.ok(validateProduced(batch, MAX, rules()).ok, 'a CreateTime topic keeps such a batch as it is');
  });

  test('maxTimestamp is set to the largest record timestamp, the CRC recomputed', async () => {
    const section = Buffer.concat([
      recordBytes({ offsetDelta: 0, timestampDelta: 5n }),
      recordBytes({ offsetDelta: 1, timestampDelta: 900n }),
      recordBytes({ offsetDelta: 2, timestampDelta: -3n }),
    ]);
    const batch = rawBatch({ section, count: 3, baseTimestamp: 1000n, maxTimestamp: 7n });
    const v = validateProduced(batch, MAX, rules());
    assert.ok(v.ok);
    assert.equal(v.batches[0]!.maxTimestamp, 1900n);
    const h = readBatchHeader(batch, 0)!;
    assert.equal(h.maxTimestamp, 1900n);
    assert.ok(batchCrcOk(batch, h));
    assert.equal(v.batches[0]!.crc, h.crc);
    // A correct one is left alone (no CRC pass).
    const again = Buffer.from(batch);
    assert.ok(validateProduced(again, MAX, rules()).ok);
    assert.ok(again.equals(batch));
  });

  test('record timestamps beyond 64 bits are refused', async () => {
    const section = recordBytes({ offsetDelta: 0, timestampDelta: 2n ** 62n });
    const v = refused(validateProduced(rawBatch({ section, count: 1, baseTimestamp: 2n ** 62n }), MAX, rules()));
    assert.equal(v.errorCode, INVALID_RECORD);
    assert.match(v.message, /overflow 64 bits/);
    const ok = rawBatch({ section, count: 1, baseTimestamp: 0n });
    assert.ok(validateProduced(ok, MAX, rules()).ok, 'a delta of 2^62 (a 9-byte varlong) itself is fine');
  });
});

describe('validateProduced: valid batches pass', () => {
  const bytesOrString = fc.oneof(
    fc.constant(null),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 40 }),
  );
  const recordArb: fc.Arbitrary<RecordInput> = fc.record(
    {
      key: bytesOrString,
      value: bytesOrString,
      headers: fc.array(
        fc.record({ key: fc.string({ maxLength: 12 }), value: fc.oneof(fc.constant(null), fc.string()) }),
        { maxLength: 4 },
      ),
      timestamp: fc.bigInt({ min: 0n, max: 2n ** 60n }),
    },
    { requiredKeys: [] },
  );

  for (const codec of CODECS) {
    test(`${compressionName(codec)}: property: any records built by our encoder are accepted unchanged`, async () => {
      await zstdReady();
      await fc.assert(
        fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 200 }), async (records) => {
          const batch = await buildBatch({ records, compression: codec });
          const copy = Buffer.from(batch);
          const v = validateProduced(batch, MAX, rules());
          assert.ok(v.ok, v.ok ? '' : v.message);
          assert.equal(v.records, records.length);
          assert.ok(batch.equals(copy), 'our encoder writes the right maxTimestamp already');
        }),
        { numRuns: codec === Compression.None ? 150 : 40 },
      );
    });
  }

  test('non-ASCII UTF-8 header keys are accepted (the careful walk checks them)', async () => {
    for (const codec of CODECS) {
      const batch = await buildBatch({
        records: [
          { value: 'a', headers: [{ key: 'clé ✓ 日本 🎉', value: 'v' }] },
          { value: 'b', headers: [{ key: 'ascii', value: null }] },
        ],
        compression: codec,
      });
      const v = validateProduced(batch, MAX, rules());
      assert.ok(v.ok, v.ok ? '' : v.message);
    }
  });

  test('records of every varint width: 20,000 records, 200-byte keys, headers, offsets past 2^14', async () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({
      key: i % 7 === 0 ? null : Buffer.alloc(i % 300, i),
      value: Buffer.alloc((i * 37) % 2000),
      headers: i % 5 === 0 ? [{ key: 'h'.repeat(i % 100), value: i % 2 ? null : 'v'.repeat(i % 200) }] : [],
      timestamp: NOW + ((i * 7919) % 100_000) - 50_000,
    }));
    for (const codec of CODECS) {
      const batch = await buildBatch({ records, compression: codec });
      const v = validateProduced(batch, MAX, rules());
      assert.ok(v.ok, v.ok ? '' : v.message);
    }
  });
});

describe('validateProduced: seeded fuzz over CRC-valid batches', () => {
  test('the verdict always agrees with an independent decoding (2,000 batches)', async () => {
    await zstdReady();
    const seed = Number(process.env.KSTREAM_FUZZ_SEED ?? 23);
    const rnd = prng(seed);
    let refusedCount = 0;
    for (let i = 0; i < 2000; i++) {
      const { batch, how } = await fuzzBatch(rnd);
      const expected = await wellFormed(batch);
      const before = Buffer.from(batch);
      const v = validateProduced(batch, MAX, rules());
      assert.equal(v.ok, expected, `seed ${seed}, batch ${i} (${how}): ${v.ok ? 'accepted' : v.message}`);
      if (v.ok) {
        const { records } = await decodeBatch(batch); // and our own client decodes what was accepted
        assert.equal(records.length, batch.readInt32BE(OFF.recordCount));
      } else {
        refusedCount++;
        assert.ok([INVALID_RECORD, CORRUPT_MESSAGE].includes(v.errorCode), `${how}: code ${v.errorCode}`);
        assert.ok(batch.equals(before), 'a refused batch is left as it was');
      }
    }
    // The generator must produce both kinds for the property to mean anything.
    assert.ok(refusedCount > 500 && refusedCount < 1900, `${refusedCount} of 2000 refused`);
  });

  test('fast-check: single-byte changes anywhere in a records section', async () => {
    await zstdReady();
    const samples = [1, 2, 3].map((s) => encodeRecordsUncompressed(sampleRecords(s), BigInt(NOW)));
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: samples.length - 1 }),
        fc.nat(),
        fc.nat({ max: 255 }),
        fc.constantFrom(...CODECS),
        async (which, at, value, codec) => {
          const section = Buffer.from(samples[which]!);
          section[at % section.length] = value;
          const n = sampleRecords(which + 1).length;
          const payload = codec === Compression.None ? section : await compress(codec, section);
          const batch = rawBatch({ section: payload, count: n, attributes: codec, baseTimestamp: BigInt(NOW) });
          const v = validateProduced(batch, MAX, rules());
          assert.equal(v.ok, await wellFormed(batch), v.ok ? 'accepted' : v.message);
        },
      ),
      { numRuns: 1500 },
    );
  });
});

function sampleRecords(s: number): RecordInput[] {
  return Array.from({ length: 3 + s }, (_, i) => ({
    key: i % 2 ? null : `key-${i}`,
    value: 'x'.repeat(i * 30),
    headers:
      i === 1
        ? [
            { key: 'a', value: 'b' },
            { key: 'c', value: null },
          ]
        : [],
    timestamp: NOW + i * 100 * s,
  }));
}

describe('codecsPending', () => {
  test('nothing to wait for without zstd, or once zstd is loaded', async () => {
    const plain = await buildBatch({ records: [{ value: 'a' }], compression: Compression.Gzip });
    assert.equal(codecsPending([plain, null]), null);
    await zstdReady();
    const z = await buildBatch({ records: [{ value: 'a' }], compression: Compression.Zstd });
    assert.equal(codecsPending([z]), null);
  });

  test('before zstd is loaded: one shared wait, which every caller gets until the load is done', async () => {
    // A fresh process, which has not loaded zstd (this one has); the batch is built here for that reason.
    const zstdBatch = (await buildBatch({ records: [{ value: 'zstd' }], compression: Compression.Zstd })).toString(
      'hex',
    );
    const dir = mkdtempSync(join(tmpdir(), 'kstream-validate-'));
    try {
      const src = (f: string) =>
        JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/protocol/records', f)).href);
      const script = join(dir, 'gate.mts');
      writeFileSync(
        script,
        `import { buildBatch } from ${src('record.js')};
import { codecsPending, validateProduced } from ${src('validate.js')};
const z = Buffer.from('${zstdBatch}', 'hex');
const plain = await buildBatch({ records: [{ value: 'plain' }] });
const unloaded = validateProduced(Buffer.from(z), 1 << 20);
const first = codecsPending([plain, z]);
const second = codecsPending([plain]);
const order = [];
const a = first.then(() => order.push('first'));
const b = second.then(() => order.push('second'));
await Promise.all([a, b]);
console.log(JSON.stringify({
  unloaded: unloaded.ok ? 'ok' : unloaded.errorCode,
  same: first === second,
  order,
  after: codecsPending([z]),
  valid: validateProduced(z, 1 << 20).ok,
}));
`,
      );
      const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
      assert.deepEqual(JSON.parse(out), {
        unloaded: 76, // UNSUPPORTED_COMPRESSION_TYPE: validation never waits by itself
        same: true, // a request with no zstd, asked while the load is under way, waits too: order is kept
        order: ['first', 'second'],
        after: null,
        valid: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
