/**
 * What `kstream produce` (the real bin/run.js) writes, confluent-kafka-python (librdkafka, Debian's) reads
 * identically: every codec; keys (text, binary, null), values (binary, empty, null), headers (several, the same
 * key twice, binary and null values) and timestamps from --format json; keys and --header from text input.
 * The stored batches carry the codec asked for (read from the partition's log file). kcat's view of the same is
 * in test/cli/produce-consume.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, ROOT, removeDir, startBroker } from '../helpers/broker.js';

const exec = promisify(execFile);
const PY = '/usr/bin/python3';
const hasConfluent = spawnSync(PY, ['-c', 'import confluent_kafka']).status === 0;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
/** RecordBatch attributes: compression codec id in the low 3 bits. */
const CODEC_ID = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

interface PyRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

const b64 = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s) : s).toString('base64');
const T0 = 1764064800000;

/** JSON input for partition 0: 200 records covering keys, values and headers of every kind. */
function jsonRecords(): { line: string; expect: Omit<PyRecord, 'partition' | 'offset'> }[] {
  return Array.from({ length: 200 }, (_, i) => {
    const key = i % 10 === 0 ? null : i % 3 === 0 ? Buffer.from([0, i, 0xff, 0x0a]) : Buffer.from(`key-${i % 17}`);
    const value = i % 50 === 7 ? null : i % 11 === 0 ? Buffer.alloc(0) : Buffer.from(`value ${i} ${'x'.repeat(i)}ü`);
    const headers: [string, Buffer | null][] =
      i % 4 === 0
        ? []
        : [
            ['h', Buffer.from(String(i))],
            ['bin', Buffer.from([i % 256, 0])],
            ['h', null],
          ];
    const line = JSON.stringify({
      key: key && b64(key),
      value: value && b64(value),
      encoding: 'base64',
      headers: headers.map(([k, v]) => ({ key: k, value: v && b64(v) })),
      partition: 0,
      timestamp: T0 + i,
    });
    return {
      line,
      expect: {
        timestamp: T0 + i,
        key: key && b64(key),
        value: value && b64(value),
        headers: headers.map(([k, v]) => [k, v && b64(v)] as [string, string | null]),
      },
    };
  });
}

/** Text input for partition 1: key:value lines, two --header flags on every record. */
const TEXT = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? `no key ${i}` : `k${i}:v:${i}`));

let broker: BrokerProcess;
const b = () => ['-b', broker.bootstrap];

describe('confluent-kafka-python reads what kstream produce writes', { skip: !hasConfluent }, () => {
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  for (const codec of CODECS) {
    test(`${codec}: keys, values, headers and timestamps identical`, async () => {
      const topic = `cli-py-${codec}`;
      let r = await kstream(['topic', 'create', topic, '-p', '2', ...b()]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const json = jsonRecords();
      r = await kstream(['produce', topic, '--format', 'json', '-z', codec, ...b()], {
        input: `${json.map((j) => j.line).join('\n')}\n`,
      });
      assert.equal(r.code, 0, r.stderr);
      r = await kstream(
        ['produce', topic, '-p', '1', '-K', ':', '-H', 'src=cli', '-H', `codec=${codec}`, '-z', codec, ...b()],
        { input: `${TEXT.join('\n')}\n` },
      );
      assert.equal(r.code, 0, r.stderr);

      const { stdout } = await exec(
        PY,
        [join(ROOT, 'test', 'interop', 'py', 'confluent_read_all.py'), broker.bootstrap, topic, '2'],
        {
          timeout: 60_000,
          maxBuffer: 64 << 20,
        },
      );
      const got = stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as PyRecord);
      const p0 = got.filter((g) => g.partition === 0);
      const p1 = got.filter((g) => g.partition === 1);
      assert.equal(p0.length, json.length);
      assert.equal(p1.length, TEXT.length);
      for (const [i, g] of p0.entries()) {
        const { partition, offset, ...rest } = g;
        assert.equal(offset, i);
        assert.deepEqual(rest, json[i]!.expect, `${codec}: partition 0 offset ${i}`);
      }
      for (const [i, g] of p1.entries()) {
        const line = TEXT[i]!;
        const at = line.indexOf(':');
        assert.equal(g.offset, i);
        assert.deepEqual(
          { key: g.key, value: g.value, headers: g.headers },
          {
            key: at < 0 ? null : b64(line.slice(0, at)),
            value: b64(at < 0 ? line : line.slice(at + 1)),
            headers: [
              ['src', b64('cli')],
              ['codec', b64(codec)],
            ],
          },
          `${codec}: partition 1 offset ${i}`,
        );
      }

      // Stored as sent: the first batch of each partition names the codec (attributes, int16 at byte 21).
      for (const p of [0, 1]) {
        const log = readFileSync(join(broker.dataDir, `${topic}-${p}`, `${'0'.repeat(20)}.log`));
        assert.equal(log.readInt16BE(21) & 7, CODEC_ID[codec], `${topic}-${p}: batch codec`);
      }
    });
  }
});
