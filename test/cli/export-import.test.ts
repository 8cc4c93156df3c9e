/**
 * `kstream topic export` / `topic import` against a real broker: export → delete → import reproduces every
 * record (partition, offset, key, value incl. binary, headers, timestamp) as kcat sees it; time windows; a
 * truncated or byte-flipped archive fails with one line and creates nothing; --partial imports the intact
 * partitions and skips (does not create) a topic with none; exporting a missing topic fails cleanly and leaves
 * no file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Producer } from '../../src/client/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
let dir: string;
const b = () => ['-b', broker.bootstrap];
const T0 = 1_700_000_000_000;

/** Every record of a topic as kcat prints it, sorted by partition and offset. */
function kcatDump(topic: string): string[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', broker.bootstrap, '-t', topic, '-e', '-q', '-f', '%p %o %k %S %T %h|%s\\n'],
    { encoding: 'latin1', timeout: 20_000 },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .sort((a, c) => {
      const [pa, oa] = a.split(' ').map(Number);
      const [pc, oc] = c.split(' ').map(Number);
      return pa! - pc! || oa! - oc!;
    });
}

async function topicExists(name: string): Promise<boolean> {
  const r = await kstream(['topic', 'list', '-o', 'json', ...b()]);
  return (JSON.parse(r.stdout) as { name: string }[]).some((t) => t.name === name);
}

async function fill(topic: string, partitions: number, perPartition: number): Promise<void> {
  let r = await kstream(['topic', 'create', topic, '-p', String(partitions), '-c', 'retention.ms=123456789', ...b()]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const producer = new Producer({ brokers: broker.bootstrap, lingerMs: 2 });
  const records = [];
  for (let p = 0; p < partitions; p++)
    for (let i = 0; i < perPartition; i++) {
      const binary = Buffer.from([0, 255, 7, 9, 20 + (i % 200), p, 0x80, 0xfe]); // no \n: kcat prints a line per record;
      records.push({
        topic,
        partition: p,
        key: i % 7 === 0 ? null : `k-${p}-${i}`,
        value: i % 3 === 0 ? binary : i % 11 === 5 ? null : `v ${p} ${i} ${'x'.repeat(i % 50)}`,
        headers:
          i % 2
            ? [
                { key: 'h1', value: `hv${i}` },
                { key: 'bin', value: binary },
                { key: 'nil', value: null },
              ]
            : [],
        timestamp: T0 + i * 1000,
      });
    }
  await producer.sendBatch(records);
  await producer.close();
  r = await kstream(['topic', 'describe', topic, '-o', 'json', ...b()]);
  assert.equal(r.code, 0);
}

before(async () => {
  broker = await startBroker();
  dir = tempDir('kstream-export-');
});
after(async () => {
  await broker?.stop();
  removeDir(dir);
});

test('export → delete → import reproduces every record, configs and partition count', async () => {
  await fill('orders', 3, 400);
  const before = kcatDump('orders');
  assert.equal(before.length, 1200);
  const file = join(dir, 'orders.tar.gz');
  let r = await kstream(['topic', 'export', 'orders', '-o', file, ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /orders: 1200 records from 3 partitions\nwrote .*orders\.tar\.gz/);
  const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.deepEqual(listing, ['manifest.json', 'records/0-0.bin', 'records/0-1.bin', 'records/0-2.bin']);
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', file, 'manifest.json'], { encoding: 'utf8' }));
  assert.equal(manifest.topics[0].partitions, 3);
  assert.deepEqual(manifest.topics[0].configs, { 'retention.ms': '123456789' });
  assert.equal(manifest.topics[0].files[1].records, 400);
  assert.match(manifest.topics[0].files[1].sha256, /^[0-9a-f]{64}$/);

  r = await kstream(['topic', 'delete', 'orders', ...b()]);
  assert.equal(r.code, 0);
  r = await kstream(['topic', 'import', file, ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /orders\s+2\s+400\s+OK/);
  assert.deepEqual(kcatDump('orders'), before);
  r = await kstream(['topic', 'describe', 'orders', '-o', 'json', ...b()]);
  const d = JSON.parse(r.stdout);
  assert.equal(d.partitions.length, 3);
  assert.equal(d.configs.find((c: { name: string }) => c.name === 'retention.ms').value, '123456789');

  // Importing again into the (now non-empty) topic is refused; --to-topic restores under a new name.
  r = await kstream(['topic', 'import', file, ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kstream: import failed: topic orders already exists and is not empty\n');
  r = await kstream(['topic', 'import', file, '--to-topic', 'orders-copy', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(kcatDump('orders-copy'), before);
});

test('--from-time / --to-time export a window', async () => {
  await fill('win', 2, 100);
  const file = join(dir, 'win.tar.gz');
  const r = await kstream([
    'topic',
    'export',
    'win',
    '-o',
    file,
    '--from-time',
    String(T0 + 10_000),
    '--to-time',
    String(T0 + 20_000),
    ...b(),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /win: 20 records from 2 partitions/);
  await kstream(['topic', 'delete', 'win', ...b()]);
  const i = await kstream(['topic', 'import', file, ...b()]);
  assert.equal(i.code, 0, i.stderr);
  const got = kcatDump('win').map((l) => Number(l.split(' ')[4]));
  assert.equal(got.length, 20);
  assert.ok(got.every((t) => t >= T0 + 10_000 && t < T0 + 20_000));
});

test('a truncated or corrupt archive imports nothing; --partial imports the intact partitions', async () => {
  await fill('dmg', 3, 3000);
  const file = join(dir, 'dmg.tar.gz');
  let r = await kstream(['topic', 'export', 'dmg', '-o', file, ...b()]);
  assert.equal(r.code, 0, r.stderr);
  await kstream(['topic', 'delete', 'dmg', ...b()]);
  const whole = readFileSync(file);

  const truncated = join(dir, 'truncated.tar.gz');
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.5)));
  r = await kstream(['topic', 'import', truncated, ...b()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^kstream: import failed: .*truncated\.tar\.gz is damaged, nothing imported .*truncated/);
  assert.equal(r.stderr.split('\n').length, 2);
  assert.equal(await topicExists('dmg'), false);

  const flipped = join(dir, 'flipped.tar.gz');
  const copy = Buffer.from(whole);
  copy[Math.floor(copy.length * 0.6)]! ^= 0xff;
  writeFileSync(flipped, copy);
  r = await kstream(['topic', 'import', flipped, ...b()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^kstream: import failed: .*flipped\.tar\.gz is damaged, nothing imported/);
  assert.equal(r.stderr.split('\n').length, 2);
  assert.equal(await topicExists('dmg'), false);

  r = await kstream(['topic', 'import', truncated, '--partial', ...b()]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /dmg\s+0\s+3000\s+OK/);
  assert.match(r.stdout, /dmg\s+2\s+0\s+SKIPPED: /);
  assert.match(r.stderr, /skipped \d damaged partition\(s\): .*dmg\/2/);
  const parts = new Set(kcatDump('dmg').map((l) => l.split(' ')[0]));
  assert.ok(parts.has('0') && !parts.has('2'));

  r = await kstream(['topic', 'import', join(dir, 'nope.tar.gz'), ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `kstream: import failed: ${join(dir, 'nope.tar.gz')}: no such file\n`);
  r = await kstream(['topic', 'import', dir, ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `kstream: import failed: ${dir}: is a directory, not an archive\n`);
});

test('--partial skips (and does not create) a topic with no intact partition; others get their intact ones', async () => {
  await fill('pmix', 3, 3000);
  await fill('zlost', 1, 3000);
  const file = join(dir, 'two.tar.gz');
  let r = await kstream(['topic', 'export', 'pmix', 'zlost', '-o', file, ...b()]);
  assert.equal(r.code, 0, r.stderr);
  const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.deepEqual(listing, [
    'manifest.json',
    'records/0-0.bin',
    'records/0-1.bin',
    'records/0-2.bin',
    'records/1-0.bin',
  ]);
  await kstream(['topic', 'delete', 'pmix', 'zlost', ...b()]);
  // Four records files of about the same size: cutting at 60% keeps pmix/0 and pmix/1 whole, ends inside
  // pmix/2 and loses zlost/0 entirely.
  const whole = readFileSync(file);
  const cut = join(dir, 'two-cut.tar.gz');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));

  r = await kstream(['topic', 'import', cut, '--partial', '-o', 'json', ...b()]);
  assert.equal(r.code, 1, r.stderr);
  const rows = JSON.parse(r.stdout) as { topic: string; partition: number; records: number; status: string }[];
  assert.deepEqual(
    rows.map((x) => [
      x.topic,
      x.partition,
      x.records,
      x.status.replace(/^SKIPPED: .*?( \(topic not created.*)?$/, 'SKIPPED$1'),
    ]),
    [
      ['pmix', 0, 3000, 'OK'],
      ['pmix', 1, 3000, 'OK'],
      ['pmix', 2, 0, 'SKIPPED'],
      ['zlost', 0, 0, 'SKIPPED (topic not created: no intact partition)'],
    ],
  );
  assert.match(r.stderr, /skipped 2 damaged partition\(s\): pmix\/2, zlost\/0\n/);
  assert.match(r.stderr, /not created \(no intact partition\): zlost\n$/);
  assert.equal(await topicExists('zlost'), false);
  const dump = kcatDump('pmix');
  assert.deepEqual([...new Set(dump.map((l) => l.split(' ')[0]))], ['0', '1']);
  assert.equal(dump.length, 6000);
});

test('exporting a missing topic fails with one line and leaves no file', async () => {
  const file = join(dir, 'missing.tar.gz');
  const before = readdirSync(dir).length;
  const r = await kstream(['topic', 'export', 'no-such-topic', '-o', file, ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kstream: export failed: topic no-such-topic does not exist\n');
  assert.equal(existsSync(file), false);
  assert.equal(readdirSync(dir).length, before);
  assert.ok(statSync(dir).isDirectory());
  // Into a directory that does not exist: the file and the directory, not mkdtemp's ENOENT of a spool dir.
  const nowhere = join(dir, 'no-such-dir');
  const r2 = await kstream(['topic', 'export', 'pmix', '-o', join(nowhere, 'x.tar.gz'), ...b()]);
  assert.equal(r2.code, 1);
  assert.equal(
    r2.stderr,
    `kstream: export failed: cannot write ${join(nowhere, 'x.tar.gz')}: no such directory ${nowhere}\n`,
  );
});
