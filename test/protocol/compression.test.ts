import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { KafkaError } from '../../src/protocol/errors.js';
import { Compression } from '../../src/protocol/records/batch.js';
import {
  CompressionError,
  compress,
  compressionName,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  decompress,
  parseCompression,
} from '../../src/protocol/records/compression.js';
import { lz4CompressFrame, lz4DecompressFrame } from '../../src/protocol/records/lz4.js';
import { snappyCompressRaw, snappyCompressXerial, snappyDecompress } from '../../src/protocol/records/snappy.js';
import { xxhash32 } from '../../src/protocol/records/xxhash32.js';
import { ZSTD_MAX_LEVEL, zstdCompress, zstdDecompress, zstdScan } from '../../src/protocol/records/zstd.js';

const require = createRequire(import.meta.url);
const CODECS = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
const REAL_CODECS = CODECS.slice(1);
const FIXTURES = JSON.parse(readFileSync(new URL('./fixtures/compression-fixtures.json', import.meta.url), 'utf8')) as {
  text: Record<string, string>;
};

/** The input of the "text" fixtures (produced with snappy-java, lz4-java, the lz4 and zstd CLIs). */
function sampleText(n: number): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `{"id":${i % 500},"name":"user-${i % 7}","score":${(i * 7919) % 10}}\n`;
  return Buffer.from(s.slice(0, n));
}

function pseudoRandom(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function hasTool(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], input: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return r.stdout;
}

async function rejectsWith(p: Promise<unknown>, re: RegExp, limit = false): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CompressionError, `expected CompressionError, got ${String(e)}`);
    assert.ok(e instanceof KafkaError);
    assert.equal(e.code, 2); // CORRUPT_MESSAGE
    assert.equal(e.limitExceeded, limit);
    assert.match(e.message, re);
    return true;
  });
}

describe('codec names', () => {
  test('parse Kafka compression.type names, case-insensitively', () => {
    assert.equal(parseCompression('none'), Compression.None);
    assert.equal(parseCompression('GZIP'), Compression.Gzip);
    assert.equal(parseCompression(' snappy '), Compression.Snappy);
    assert.equal(parseCompression('lz4'), Compression.Lz4);
    assert.equal(parseCompression('zstd'), Compression.Zstd);
    assert.throws(() => parseCompression('brotli'), /UNSUPPORTED_COMPRESSION_TYPE: unknown compression type "brotli"/);
    for (const c of CODECS) assert.equal(parseCompression(compressionName(c)), c);
    assert.throws(() => compressionName(7 as Compression), /unknown compression codec id 7/);
  });

  test('an unknown codec id is refused both ways', async () => {
    await assert.rejects(compress(5 as Compression, Buffer.from('x')), /UNSUPPORTED_COMPRESSION_TYPE/);
    await assert.rejects(decompress(6 as Compression, Buffer.from('x')), /UNSUPPORTED_COMPRESSION_TYPE/);
  });
});

describe('round trips', () => {
  const sizes = [0, 1, 4, 12, 13, 17, 100, 65535, 65536, 65537, 200_000];
  for (const codec of REAL_CODECS) {
    test(`${compressionName(codec)}: edge sizes, random and repetitive`, async () => {
      for (const n of sizes) {
        for (const data of [pseudoRandom(n, n + 1), sampleText(n), Buffer.alloc(n, 0x61)]) {
          const packed = await compress(codec, data);
          assert.ok((await decompress(codec, packed)).equals(data), `size ${n}`);
        }
      }
    });

    test(`${compressionName(codec)}: property: decompress(compress(x)) = x`, async () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 3000 }),
        // Repetitive data with long and overlapping matches.
        fc
          .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }))
          .map(([unit, times]) => Buffer.concat(Array.from({ length: times }, () => unit))),
      );
      await fc.assert(
        fc.asyncProperty(bytes, async (arr) => {
          const data = Buffer.from(arr);
          assert.ok((await decompress(codec, await compress(codec, data))).equals(data));
        }),
        { numRuns: 60 },
      );
    });
  }

  test('none passes data through', async () => {
    const data = Buffer.from('plain');
    assert.equal(await compress(Compression.None, data), data);
    assert.equal(await decompress(Compression.None, data), data);
  });

  test('zstd: 8 MiB compressible + 8 MiB incompressible streams through the 16 MiB heap', async () => {
    const compressible = sampleText(8 << 20);
    const incompressible = pseudoRandom(8 << 20, 7);
    for (const data of [compressible, incompressible, Buffer.concat([compressible, incompressible])]) {
      const packed = await compress(Compression.Zstd, data);
      assert.ok((await decompress(Compression.Zstd, packed)).equals(data));
    }
    const packed = await compress(Compression.Zstd, compressible);
    assert.ok(packed.length < compressible.length / 10);
  });

  test('zstd: levels above the heap-safe maximum are clamped, and still decode', async () => {
    const data = sampleText(1 << 20);
    for (const level of [1, ZSTD_MAX_LEVEL, 19, 22]) {
      assert.ok((await decompress(Compression.Zstd, await compress(Compression.Zstd, data, { level }))).equals(data));
    }
  });

  test('gzip: level option and multi-member input', async () => {
    const data = sampleText(50_000);
    const fast = await compress(Compression.Gzip, data, { level: 1 });
    const best = await compress(Compression.Gzip, data, { level: 9 });
    assert.ok(best.length <= fast.length);
    const members = Buffer.concat([zlib.gzipSync(data.subarray(0, 10)), zlib.gzipSync(data.subarray(10))]);
    assert.ok((await decompress(Compression.Gzip, members)).equals(data));
  });
});

describe('framings Kafka clients expect', () => {
  test('snappy is written with the xerial framing in 32 KiB chunks, like snappy-java', async () => {
    const data = sampleText(70_000);
    const packed = await compress(Compression.Snappy, data);
    assert.equal(packed.subarray(0, 8).toString('hex'), '82534e4150505900');
    assert.equal(packed.readInt32BE(8), 1);
    assert.equal(packed.readInt32BE(12), 1);
    // Three chunks (32 KiB, 32 KiB, the rest), each a raw block whose length preamble gives its input size.
    const inputs: number[] = [];
    for (let pos = 16; pos < packed.length; ) {
      const size = packed.readInt32BE(pos);
      const block = packed.subarray(pos + 4, pos + 4 + size);
      inputs.push(snappyDecompress(block).length);
      pos += 4 + size;
    }
    assert.deepEqual(inputs, [32768, 32768, 70_000 - 65536]);
  });

  test('snappy reads raw blocks (librdkafka, kafkajs-snappy) and the xerial framing (Java)', () => {
    const data = sampleText(100_000);
    assert.ok(snappyDecompress(snappyCompressRaw(data)).equals(data));
    assert.ok(snappyDecompress(snappyCompressXerial(data, 1000)).equals(data));
    const java = Buffer.from(
      FIXTURES.text['snappy-java 1.1.8 SnappyOutputStream (xerial framing, 32 KiB chunks)']!,
      'base64',
    );
    assert.ok(snappyDecompress(java).equals(sampleText(70_000)));
    // A raw block wrapped as a single xerial chunk (snappy-java accepts any chunk size).
    const raw = snappyCompressRaw(data);
    const one = Buffer.concat([java.subarray(0, 16), Buffer.from([0, 0, 0, 0]), raw]);
    one.writeInt32BE(raw.length, 16);
    assert.ok(snappyDecompress(one).equals(data));
  });

  test('lz4 frames: magic, FLG 0x60 (independent blocks), BD 64 KiB, header checksum, end mark', async () => {
    const packed = await compress(Compression.Lz4, sampleText(200_000));
    assert.equal(packed.readUInt32LE(0), 0x184d2204);
    assert.equal(packed[4], 0x60);
    assert.equal(packed[5], 0x40);
    assert.equal(packed[6], (xxhash32(packed, 4, 6) >>> 8) & 0xff);
    assert.equal(packed[6], 0x82); // the same descriptor librdkafka and the Java client write
    assert.equal(packed.readUInt32LE(packed.length - 4), 0);
    // Every block fits 64 KiB.
    let pos = 7;
    let blocks = 0;
    for (let w = packed.readUInt32LE(pos); w !== 0; w = packed.readUInt32LE(pos)) {
      assert.ok((w & 0x7fffffff) <= 65536);
      pos += 4 + (w & 0x7fffffff);
      blocks++;
    }
    assert.equal(blocks, 4);
  });

  test('lz4 reads frames from lz4-java (block + content checksums) and linked-block frames', () => {
    const text = sampleText(70_000);
    for (const name of [
      'lz4-java 1.8.0 LZ4FrameOutputStream 64 KiB blocks, block + content checksums',
      'lz4 1.9.4 CLI -B4 -BD (linked blocks, content checksum)',
    ]) {
      assert.ok(lz4DecompressFrame(Buffer.from(FIXTURES.text[name]!, 'base64')).equals(text), name);
    }
  });

  test('lz4 block sizes 64 KiB..4 MiB, skippable and concatenated frames', () => {
    const data = pseudoRandom(300_000, 3).map((b, i) => (i % 3 === 0 ? b : 0x20));
    for (const bs of [65536, 262144, 1048576, 4194304] as const) {
      const f = lz4CompressFrame(data, bs);
      assert.equal((f[5]! >>> 4) & 7, { 65536: 4, 262144: 5, 1048576: 6, 4194304: 7 }[bs]);
      assert.ok(lz4DecompressFrame(f).equals(data));
    }
    const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const two = Buffer.concat([lz4CompressFrame(data.subarray(0, 10)), skippable, lz4CompressFrame(data.subarray(10))]);
    assert.ok(lz4DecompressFrame(two).equals(data));
  });

  test('zstd: frames without content size (ours), with it (CLI from a file), several and skippable frames', async () => {
    const text = sampleText(70_000);
    const ours = await zstdCompress(text);
    assert.equal(ours.readUInt32LE(0), 0xfd2fb528);
    assert.equal(zstdScan(ours).contentSize, null);
    const cli = Buffer.from(FIXTURES.text['zstd CLI -3 (content size, checksum)']!, 'base64');
    assert.equal(zstdScan(cli).contentSize, 70_000);
    assert.ok((await zstdDecompress(cli)).equals(text));
    const two = Buffer.from(
      FIXTURES.text['zstd CLI -19 --no-check two frames (first half with content size, second half without)']!,
      'base64',
    );
    assert.equal(zstdScan(two).frames, 2);
    assert.equal(zstdScan(two).contentSize, null);
    assert.ok((await zstdDecompress(two)).equals(text));
    const mixed = Buffer.concat([ours, Buffer.from([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]), cli]);
    assert.ok((await zstdDecompress(mixed)).equals(Buffer.concat([text, text])));
  });

  test('gzip interoperates with kafkajs’s gzip codec', async () => {
    const codec = require('kafkajs/src/protocol/message/compression/gzip.js') as {
      compress(encoder: { buffer: Buffer }): Promise<Buffer>;
      decompress(buf: Buffer): Promise<Buffer>;
    };
    const data = sampleText(123_456);
    assert.ok((await codec.decompress(await compress(Compression.Gzip, data))).equals(data));
    assert.ok((await decompress(Compression.Gzip, await codec.compress({ buffer: data }))).equals(data));
  });
});

describe('independent decoders and encoders (CLI tools, when installed)', () => {
  const lz4 = hasTool('lz4');
  const zstd = hasTool('zstd');
  const inputs = [Buffer.alloc(0), Buffer.from('x'), sampleText(300_000), pseudoRandom(150_000), Buffer.alloc(5 << 20)];

  test('lz4 CLI decodes our frames; we decode its frames of every block size and flag', { skip: !lz4 }, () => {
    for (const data of inputs) {
      assert.ok(run('lz4', ['-d', '-c'], lz4CompressFrame(data)).equals(data));
      for (const flags of [['-B5'], ['-B6', '-BD'], ['-B7', '--content-size'], ['-B4', '-BX', '--no-frame-crc']]) {
        assert.ok(lz4DecompressFrame(run('lz4', ['-q', ...flags, '-c'], data)).equals(data), flags.join(' '));
      }
    }
  });

  test('zstd CLI decodes our frames; we decode its frames', { skip: !zstd }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstream-zstd-'));
    try {
      for (const data of inputs) {
        assert.ok(run('zstd', ['-d', '-c'], await zstdCompress(data)).equals(data));
        // From a file the CLI writes the content size (single-segment when it fits the window); from stdin not.
        writeFileSync(join(dir, 'in'), data);
        for (const flags of [['-1'], ['-19', '--no-check'], ['-3', '--no-content-size'], ['--long=23', '-3']]) {
          const fromFile = run('zstd', ['-q', ...flags, '-c', join(dir, 'in')], Buffer.alloc(0));
          assert.ok((await zstdDecompress(fromFile)).equals(data), flags.join(' '));
          assert.ok((await zstdDecompress(run('zstd', ['-q', ...flags, '-c'], data))).equals(data), flags.join(' '));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('corrupt input gives a clear error, never a hang or a crash', () => {
  test('truncated and malformed frames', async () => {
    const text = sampleText(300_000);
    const lz4 = lz4CompressFrame(text);
    await rejectsWith(decompress(Compression.Lz4, lz4.subarray(0, lz4.length - 1)), /lz4: input truncated/);
    await rejectsWith(decompress(Compression.Lz4, lz4.subarray(0, 100)), /lz4: input truncated in block/);
    await rejectsWith(decompress(Compression.Lz4, Buffer.from('not lz4 at all')), /lz4: not an LZ4 frame/);
    const badHc = Buffer.from(lz4);
    badHc[6]! ^= 1;
    await rejectsWith(decompress(Compression.Lz4, badHc), /lz4: frame descriptor checksum mismatch/);
    const linkedFlag = Buffer.from(lz4);
    linkedFlag[4] = 0x40;
    linkedFlag[6] = (xxhash32(linkedFlag, 4, 6) >>> 8) & 0xff;
    assert.ok((await decompress(Compression.Lz4, linkedFlag)).equals(text), 'independent blocks read as linked');

    const zst = await zstdCompress(text);
    await rejectsWith(decompress(Compression.Zstd, zst.subarray(0, zst.length - 1)), /zstd: input truncated/);
    await rejectsWith(decompress(Compression.Zstd, zst.subarray(0, 5)), /zstd: input truncated in frame header/);
    await rejectsWith(decompress(Compression.Zstd, Buffer.from('garbage!')), /zstd: not a zstd frame/);
    await rejectsWith(decompress(Compression.Zstd, Buffer.concat([zst, Buffer.from('xyzw')])), /bad data after/);
    // A 16 MiB window (zstd --long=24) cannot be held by the 16 MiB heap: refused before decoding.
    const bigWindow = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 14 << 3, 0x01, 0x00, 0x00]);
    await rejectsWith(decompress(Compression.Zstd, bigWindow), /window of 16777216 bytes exceeds/);
    const dict = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x58, 0x07, 0x01, 0x00, 0x00]);
    await rejectsWith(decompress(Compression.Zstd, dict), /dictionary/);

    const snappy = snappyCompressXerial(text);
    await rejectsWith(decompress(Compression.Snappy, snappy.subarray(0, snappy.length - 1)), /snappy:/);
    const raw = snappyCompressRaw(text);
    await rejectsWith(decompress(Compression.Snappy, raw.subarray(0, raw.length - 1)), /snappy:/);
    await rejectsWith(decompress(Compression.Snappy, Buffer.from([0x05, 0x00, 0x61])), /snappy:/);
    await rejectsWith(decompress(Compression.Snappy, Buffer.from([0x0a, 0x01, 0x61, 0x0d, 0x09])), /copy offset/);

    const gz = zlib.gzipSync(text);
    await rejectsWith(decompress(Compression.Gzip, gz.subarray(0, gz.length - 3)), /gzip: unexpected end of file/);
    await rejectsWith(decompress(Compression.Gzip, Buffer.from('not gzip')), /gzip: incorrect header check/);
    await rejectsWith(decompress(Compression.Gzip, Buffer.alloc(0)), /gzip: empty input/);
  });

  for (const codec of REAL_CODECS) {
    test(`${compressionName(codec)}: random corruption either decodes or throws CompressionError`, async () => {
      const sources = [sampleText(20_000), pseudoRandom(5000, 9)];
      const packed = await Promise.all(sources.map((s) => compress(codec, s)));
      const mutation = fc.record({
        which: fc.nat({ max: packed.length - 1 }),
        flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        cut: fc.option(fc.nat()),
      });
      await fc.assert(
        fc.asyncProperty(mutation, async ({ which, flips, cut }) => {
          let bad = Buffer.from(packed[which]!);
          for (const [at, x] of flips) bad[at % bad.length]! ^= x;
          if (cut !== null) bad = bad.subarray(0, cut % bad.length);
          try {
            const out = await decompress(codec, bad, 1 << 20);
            assert.ok(Buffer.isBuffer(out) && out.length <= 1 << 20);
          } catch (e) {
            assert.ok(e instanceof CompressionError, `unexpected ${String(e)}`);
          }
        }),
        { numRuns: codec === Compression.Zstd || codec === Compression.Gzip ? 150 : 500 },
      );
      // The codec still works afterwards (zstd: the WebAssembly instance survived or was replaced).
      assert.ok((await decompress(codec, packed[0]!)).equals(sources[0]!));
    });
  }
});

describe('decompression bombs are refused by the output limit', () => {
  test('the default limit is 256 MiB', () => {
    assert.equal(DEFAULT_MAX_DECOMPRESSED_BYTES, 256 * 1024 * 1024);
  });

  test('every codec honours an explicit limit', async () => {
    const data = Buffer.alloc(4 << 20);
    for (const codec of REAL_CODECS) {
      const packed = await compress(codec, data);
      await rejectsWith(
        decompress(codec, packed, 1 << 20),
        /decompressed size exceeds the limit of 1048576 bytes/,
        true,
      );
      assert.equal((await decompress(codec, packed, 4 << 20)).length, 4 << 20);
    }
    await rejectsWith(decompress(Compression.None, data, 1000), /exceeds the limit/, true);
  });

  test('gzip: 320 MiB of zeros in 320 KiB (concatenated members) stops at the default limit', async () => {
    const member = zlib.gzipSync(Buffer.alloc(10 << 20), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 32 }, () => member));
    await rejectsWith(decompress(Compression.Gzip, bomb), /exceeds the limit of 268435456 bytes/, true);
  });

  test('snappy: declared lengths are checked before anything is allocated', async () => {
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    await rejectsWith(decompress(Compression.Snappy, huge), /exceeds the limit/, true);
    // xerial: many chunks, each small but declaring 64 KiB, add up past the limit.
    const chunk = snappyCompressRaw(Buffer.alloc(65536));
    const len = Buffer.alloc(4);
    len.writeInt32BE(chunk.length);
    const parts = [snappyCompressXerial(Buffer.alloc(0))];
    for (let i = 0; i < 5000; i++) parts.push(len, chunk);
    await rejectsWith(decompress(Compression.Snappy, Buffer.concat(parts), 100 << 20), /exceeds the limit/, true);
  });

  test('lz4: a declared content size or many 4 MiB blocks of zeros', async () => {
    const frame = lz4CompressFrame(Buffer.alloc(4 << 20), 4194304);
    const block = frame.subarray(7, frame.length - 4);
    const bomb = Buffer.concat([frame.subarray(0, 7), ...Array.from({ length: 100 }, () => block), frame.subarray(-4)]);
    assert.ok(bomb.length < 2 << 20);
    await rejectsWith(decompress(Compression.Lz4, bomb, 64 << 20), /exceeds the limit/, true);
    const sized = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    sized[14] = (xxhash32(sized, 4, 14) >>> 8) & 0xff;
    await rejectsWith(decompress(Compression.Lz4, sized.subarray(0, 15)), /exceeds the limit/, true);
  });

  test('zstd: 1.5 GiB of RLE blocks in 47 KiB is stopped quickly', async () => {
    // Frame header: no content size, window 128 KiB; then 12,000 RLE blocks of 128 KiB each.
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3]);
    const rle = (last: number): Buffer => {
      const h = ((128 << 10) << 3) | (1 << 1) | last;
      return Buffer.from([h & 0xff, (h >>> 8) & 0xff, h >>> 16, 0x41]);
    };
    const blocks = Array.from({ length: 12_000 }, (_, i) => rle(i === 11_999 ? 1 : 0));
    const bomb = Buffer.concat([header, ...blocks]);
    assert.ok(zstdScan(bomb).bound > 1.5e9);
    const t = performance.now();
    await rejectsWith(decompress(Compression.Zstd, bomb, 32 << 20), /exceeds the limit/, true);
    assert.ok(performance.now() - t < 5000);
    // Under a sufficient limit the same structure decodes.
    const small = Buffer.concat([header, rle(0), rle(1)]);
    assert.ok((await decompress(Compression.Zstd, small)).equals(Buffer.alloc(256 << 10, 0x41)));
  });
});
