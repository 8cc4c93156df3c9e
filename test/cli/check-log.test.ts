/**
 * `kstream debug check-log DIR` through the real CLI, on a data dir written by a real broker through kcat and
 * damaged by the test: refused while the broker runs; clean → exit 0; a bad CRC, a segment cut mid-batch, a
 * deleted middle segment and a wrong index entry each reported with file and byte position → exit 1;
 * `--truncate` sets what follows the damage aside (kept), cuts, rebuilds indexes → exit 0; the broker then
 * serves exactly the intact records and appends after them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OFF } from '../../src/protocol/records/batch.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { kstream } from './run.js';

const TOPIC = 'checked';
const PROPS = { 'log.segment.bytes': '2048', 'log.index.interval.bytes': '100' };
const PARTITIONS = 4;
const RECORDS = 200;

let broker: BrokerProcess | undefined;
let dataDir = '';

interface Batch {
  position: number;
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
}

function batchesIn(file: string): Batch[] {
  const b = readFileSync(file);
  const out: Batch[] = [];
  for (let pos = 0; pos + 61 <= b.length; ) {
    const size = b.readInt32BE(pos + OFF.batchLength) + 12;
    const baseOffset = b.readBigInt64BE(pos);
    out.push({
      position: pos,
      size,
      baseOffset,
      lastOffset: baseOffset + BigInt(b.readInt32BE(pos + OFF.lastOffsetDelta)),
    });
    pos += size;
  }
  return out;
}

function segments(p: number): string[] {
  const dir = join(dataDir, `${TOPIC}-${p}`);
  return readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

function produce(p: number, values: string[]): void {
  execFileSync(
    'kcat',
    ['-P', '-b', broker!.bootstrap, '-t', TOPIC, '-p', String(p), '-X', 'batch.num.messages=10', '-X', 'linger.ms=0'],
    { input: `${values.join('\n')}\n`, timeout: 60_000 },
  );
}

function consume(p: number): string[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', broker!.bootstrap, '-t', TOPIC, '-p', String(p), '-e', '-q', '-f', '%o %s\n'],
    {
      timeout: 60_000,
    },
  ).toString();
  return out.split('\n').filter((l) => l !== '');
}

interface Report {
  clean: boolean;
  kind: string;
  partitions: {
    partition: string;
    status: string;
    logEndOffset: number;
    segments: { file: string; batches: number; damagedAt: number | null }[];
    problems: { file: string; position: number | null; offset: number | null; kind: string; message: string }[];
    repair: {
      logEndOffset: number;
      cut: { file: string; position: number } | null;
      setAside: string | null;
      files: string[];
    } | null;
  }[];
}

async function checkJson(args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const r = await kstream(['debug', 'check-log', ...args, '-o', 'json'], { timeoutMs: 60_000 });
  assert.ok(r.stdout.startsWith('{'), `${r.stdout}\n${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

/** What each damaged partition should read back after the repair: offsets [0, end). */
const expectedEnd = new Map<number, bigint>();
/** Partition 1's cut: the byte its damaged batch starts at, and the size of the damaged file. */
const cut1 = { position: 0, size: 0 };

describe('kstream debug check-log', () => {
  before(async () => {
    dataDir = tempDir();
    broker = await startBroker({ dataDir, props: PROPS });
    const r = await kstream(['topic', 'create', TOPIC, '-p', String(PARTITIONS), '-b', broker.bootstrap]);
    assert.equal(r.code, 0, r.stderr);
    for (let p = 0; p < PARTITIONS; p++) {
      produce(
        p,
        Array.from({ length: RECORDS }, (_, i) => `p${p}-v${i}-${'x'.repeat(30)}`),
      );
    }
  });

  after(async () => {
    await broker?.stop();
    removeDir(dataDir);
  });

  test('refuses a data dir in use by a running broker', async () => {
    for (const dir of [dataDir, join(dataDir, `${TOPIC}-0`)]) {
      const r = await kstream(['debug', 'check-log', dir]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^kstream: data dir .* is in use by a running broker \(pid \d+\); stop it first/);
      assert.equal(r.stdout, '');
    }
  });

  test('an intact data dir: every partition and segment listed, exit 0', async () => {
    assert.equal(await broker!.stop(), 0);
    for (let p = 0; p < PARTITIONS; p++) assert.ok(segments(p).length >= 4, `partition ${p} has several segments`);
    const text = await kstream(['debug', 'check-log', dataDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^PARTITIONS\nPARTITION +SEGMENTS +LOG START +LOG END +BYTES +STATUS\n/);
    assert.match(text.stdout, new RegExp(`\\n${TOPIC}-0 .* ${RECORDS} .* ok\\n`));
    assert.match(text.stdout, /\d+ partitions, \d+ segments checked, no problems\n$/);
    const { code, report } = await checkJson([dataDir]);
    assert.equal(code, 0);
    assert.equal(report.clean, true);
    assert.equal(report.kind, 'data-dir');
    const ours = report.partitions.filter((p) => p.partition.startsWith(`${TOPIC}-`));
    assert.equal(ours.length, PARTITIONS);
    for (const p of ours) {
      assert.equal(p.status, 'ok');
      assert.equal(p.logEndOffset, RECORDS);
      assert.ok(p.segments.reduce((n, s) => n + s.batches, 0) >= RECORDS / 10);
    }
    const yaml = await kstream(['debug', 'check-log', join(dataDir, `${TOPIC}-1`), '-o', 'yaml']);
    assert.equal(yaml.code, 0);
    assert.match(yaml.stdout, /^dir: .*\nkind: partition\n/);
  });

  test('damage is reported with its file and byte position, exit 1', async () => {
    // Partition 0: one byte flipped inside a record of the 2nd segment's 2nd batch (its CRC no longer matches).
    const s0 = segments(0);
    const b0 = batchesIn(s0[1]!)[1]!;
    const bytes = readFileSync(s0[1]!);
    bytes[b0.position + b0.size - 5]! ^= 0x20;
    writeFileSync(s0[1]!, bytes);
    expectedEnd.set(0, b0.baseOffset);
    // Partition 1: its 3rd segment cut in the middle of its 2nd batch.
    const s1 = segments(1);
    const b1 = batchesIn(s1[2]!)[1]!;
    truncateSync(s1[2]!, b1.position + 20);
    expectedEnd.set(1, b1.baseOffset);
    cut1.position = b1.position;
    cut1.size = b1.position + 20;
    // Partition 2: its 2nd segment deleted.
    const s2 = segments(2);
    const gapFrom = batchesIn(s2[1]!)[0]!.baseOffset;
    const gapTo = batchesIn(s2[2]!)[0]!.baseOffset - 1n;
    for (const suffix of ['.log', '.index', '.timeindex']) unlinkSync(s2[1]!.replace(/\.log$/, suffix));
    expectedEnd.set(2, gapFrom);
    // Partition 3: the first index entry of its first segment points 10 bytes into a batch (the log is fine).
    const idx3 = segments(3)[0]!.replace(/\.log$/, '.index');
    const ib = readFileSync(idx3);
    assert.ok(ib.length >= 8, 'the first segment has index entries');
    ib.writeInt32BE(ib.readInt32BE(4) + 10, 4);
    writeFileSync(idx3, ib);

    const { code, report, stderr } = await checkJson([dataDir]);
    assert.equal(code, 1);
    assert.equal(
      stderr,
      `kstream: damaged: ${TOPIC}-0, ${TOPIC}-1, ${TOPIC}-2, ${TOPIC}-3; --truncate cuts them at their first damage\n`,
    );
    assert.equal(report.clean, false);
    const byName = new Map(report.partitions.map((p) => [p.partition, p]));
    const p0 = byName.get(`${TOPIC}-0`)!;
    assert.deepEqual(
      p0.problems.map((x) => [x.file, x.position, x.offset, x.kind]),
      [[s0[1]!.slice(-24), b0.position, Number(b0.baseOffset), 'bad-crc']],
    );
    assert.equal(p0.logEndOffset, Number(b0.baseOffset));
    const p1 = byName.get(`${TOPIC}-1`)!;
    assert.deepEqual(
      p1.problems.map((x) => [x.file, x.position, x.offset, x.kind]),
      [[s1[2]!.slice(-24), b1.position, Number(b1.baseOffset), 'truncated']],
    );
    assert.equal(p1.segments[2]!.damagedAt, b1.position);
    const p2 = byName.get(`${TOPIC}-2`)!;
    assert.deepEqual(
      p2.problems.map((x) => [x.file, x.offset, x.kind]),
      [[s2[0]!.slice(-24), Number(gapFrom), 'gap']],
    );
    assert.match(p2.problems[0]!.message, new RegExp(`offsets ${gapFrom} to ${gapTo} are missing`));
    const p3 = byName.get(`${TOPIC}-3`)!;
    assert.deepEqual(
      p3.problems.map((x) => [x.file, x.position, x.kind]),
      [[idx3.slice(-26), 0, 'index']],
    );
    // The text form names the same files and bytes.
    const text = await kstream(['debug', 'check-log', join(dataDir, `${TOPIC}-1`)]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^SEGMENTS\n/);
    assert.match(text.stdout, new RegExp(`damaged at byte ${b1.position}\\n`));
    assert.match(
      text.stdout,
      new RegExp(`PROBLEMS\\n.*\\n${TOPIC}-1 +${s1[2]!.slice(-24)} +${b1.position} +${b1.baseOffset} +truncated +`),
    );
    assert.match(text.stdout, /1 partition, \d+ segments checked, 1 problem, 1 damaged\n$/);
  });

  test('--truncate sets the rest aside, cuts at the first damage, and the broker serves the intact records', async () => {
    const s1Before = segments(1);
    const one = await checkJson([join(dataDir, `${TOPIC}-1`), '--truncate']);
    assert.equal(one.code, 0, one.stderr);
    const r1 = one.report.partitions[0]!;
    assert.equal(r1.status, 'repaired');
    assert.equal(r1.repair!.logEndOffset, Number(expectedEnd.get(1)));
    const aside = r1.repair!.setAside!;
    assert.match(aside, new RegExp(`${TOPIC}-1/damaged-\\d{8}T\\d{6}Z$`));
    // The damaged segment (whole, as it was) and every later segment are kept there.
    const kept = readdirSync(aside).filter((n) => n.endsWith('.log'));
    assert.deepEqual(
      kept.sort(),
      s1Before.slice(2).map((f) => f.slice(-24)),
    );
    assert.equal(
      statSync(join(aside, s1Before[2]!.slice(-24))).size,
      cut1.size,
      'a copy of the damaged file as it was',
    );
    assert.deepEqual(segments(1), s1Before.slice(0, 3));
    assert.equal(statSync(s1Before[2]!).size, cut1.position, 'cut to its intact batches');
    assert.deepEqual(r1.repair!.cut, { file: s1Before[2]!.slice(-24), position: cut1.position });

    const all = await checkJson([dataDir, '--truncate']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.report.clean, true);
    const statuses = Object.fromEntries(
      all.report.partitions.filter((p) => p.partition.startsWith(`${TOPIC}-`)).map((p) => [p.partition, p.status]),
    );
    assert.deepEqual(statuses, {
      [`${TOPIC}-0`]: 'repaired',
      [`${TOPIC}-1`]: 'ok',
      [`${TOPIC}-2`]: 'repaired',
      [`${TOPIC}-3`]: 'repaired',
    });
    const p3 = all.report.partitions.find((p) => p.partition === `${TOPIC}-3`)!;
    assert.equal(p3.repair!.setAside, null, 'an index problem needs no cut');
    assert.equal(p3.repair!.logEndOffset, RECORDS);
    assert.equal((await kstream(['debug', 'check-log', dataDir])).code, 0);

    broker = await startBroker({ dataDir, props: PROPS });
    for (let p = 0; p < PARTITIONS; p++) {
      const end = expectedEnd.get(p) ?? BigInt(RECORDS);
      const want = Array.from({ length: Number(end) }, (_, i) => `${i} p${p}-v${i}-${'x'.repeat(30)}`);
      assert.deepEqual(consume(p), want, `partition ${p}`);
    }
    // Appends go on from the cut.
    produce(0, ['after-the-cut']);
    assert.equal(consume(0).pop(), `${expectedEnd.get(0)} after-the-cut`);
  });

  test('a DIR that is not a partition or a data dir is a usage error', async () => {
    const empty = join(dataDir, 'not-a-partition');
    mkdirSync(empty, { recursive: true });
    for (const [dir, message] of [
      [join(dataDir, 'missing'), /^kstream: .*missing: no such directory\n$/],
      [empty, /^kstream: .*not-a-partition holds no partition logs/],
    ] as const) {
      const r = await kstream(['debug', 'check-log', dir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
    assert.ok(existsSync(empty));
  });
});
