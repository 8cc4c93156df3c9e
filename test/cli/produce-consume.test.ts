/**
 * `kstream produce` / `kstream consume` as the real bin/run.js against a running `kstream serve`: round trips,
 * interop both ways with kcat (every codec, keys, headers), binary values through -o json, and bad input
 * (malformed --format, an invalid JSON line that must leave the topic empty, unknown topic).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { after, before, test } from 'node:test';
import { type BrokerProcess, startBroker } from '../helpers/broker.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
const b = () => ['-b', broker.bootstrap];
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const hasKcat = spawnSync('kcat', ['-V']).status === 0;

function kcat(args: string[], input?: string | Buffer): string {
  const r = spawnSync('kcat', ['-b', broker.bootstrap, '-q', ...args], { input, timeout: 15_000 });
  assert.equal(r.status, 0, `kcat ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString('utf8');
}

async function create(topic: string, partitions = 1): Promise<void> {
  const r = await kstream(['topic', 'create', topic, '-p', String(partitions), ...b()]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
});

const LINES = 'k1:hello\nk2:wörld\nk1:with:colon\n';

test('produce → consume round trip: keys, headers, --format tokens, -n, --offset -N, --grep, summary on stderr', async () => {
  await create('rt');
  let r = await kstream(['produce', 'rt', '-K', ':', '-H', 'src=cli', '-H', 'n=1', ...b()], { input: LINES });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^produced 3 records, 27 B, 1 partition, \d+\.\d\ds to rt\n$/);
  r = await kstream(['consume', 'rt', '--from-beginning', '-e', '--format', '%t|%p|%o|%k|%v|%h\\n', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'rt|0|0|k1|hello|src=cli,n=1\nrt|0|1|k2|wörld|src=cli,n=1\nrt|0|2|k1|with:colon|src=cli,n=1\n',
  );
  r = await kstream(['consume', 'rt', '--from-beginning', '-n', '1', ...b()]);
  assert.equal(r.stdout, 'hello\n');
  r = await kstream(['consume', 'rt', '--offset', '-2', '-e', '--format', '%o %% %v\\t.\\n', ...b()]);
  assert.equal(r.stdout, '1 % wörld\t.\n2 % with:colon\t.\n');
  // kcat's -o beginning|end and rpk's -o start|end as --offset words; -o itself is the output format here.
  r = await kstream(['consume', 'rt', '--offset', 'beginning', '-e', ...b()]);
  assert.equal(r.stdout, 'hello\nwörld\nwith:colon\n');
  // kcat's -f '%k %s\n' as it is: %s is the value there.
  r = await kstream(['consume', 'rt', '--from-beginning', '-e', '-f', '%k %s\\n', ...b()]);
  assert.equal(r.stdout, 'k1 hello\nk2 wörld\nk1 with:colon\n');
  r = await kstream(['consume', 'rt', '--offset', 'end', '-e', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  r = await kstream(['consume', 'rt', '--offset', 'abc', '-e', ...b()]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    'kstream: invalid --offset abc: expected N, -N, beginning, end, or a range START:END (10:20, :end, 10:end)\n',
  );
  r = await kstream(['consume', 'rt', '-o', 'beginning', '-e', ...b()]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    'kstream: Expected --output=beginning to be one of: text, json; -o is the output format here, for a start offset use --offset beginning (see --help)\n',
  );
  r = await kstream(['consume', 'rt', '--from-beginning', '-e', '--grep', 'colon|wö', ...b()]);
  assert.equal(r.stdout, 'wörld\nwith:colon\n');
  r = await kstream(['consume', 'rt', '--from-time', '-10m', '-e', '-o', 'json', '--grep', '^hello$', ...b()]);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(typeof j.timestamp, 'number');
  delete j.timestamp;
  assert.deepEqual(j, {
    topic: 'rt',
    partition: 0,
    offset: 0,
    key: 'k1',
    value: 'hello',
    headers: [
      { key: 'src', value: 'cli' },
      { key: 'n', value: '1' },
    ],
  });
});

test('produce -o json / yaml: the summary as data on stdout, nothing on stderr', async () => {
  await create('sum');
  let r = await kstream(['produce', 'sum', '-o', 'json', ...b()], { input: 'a\nbb\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(typeof j.elapsedMs, 'number');
  delete j.elapsedMs;
  assert.deepEqual(j, { topic: 'sum', records: 2, bytes: 3, partitions: [0] });
  r = await kstream(['produce', 'sum', '-o', 'yaml', ...b()], { input: 'c\n' });
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^topic: sum\nrecords: 1\nbytes: 1\npartitions:\n {2}- 0\nelapsedMs: \d+\n$/);
});

test('--group commits: a second run with -e continues where the first stopped', async () => {
  let r = await kstream(['consume', 'rt', '--group', 'cli-g', '--from-beginning', '-n', '2', ...b()]);
  assert.equal(r.stdout, 'hello\nwörld\n');
  r = await kstream(['consume', 'rt', '--group', 'cli-g', '--from-beginning', '-e', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'with:colon\n');
});

test('kcat reads what kstream produce writes, every codec, keys and headers', { skip: !hasKcat }, async () => {
  for (const codec of CODECS) {
    const topic = `to-kcat-${codec}`;
    await create(topic);
    const r = await kstream(['produce', topic, '-K', ':', '-H', 'h1=x', '-z', codec, '--acks', '1', ...b()], {
      input: LINES,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      kcat(['-C', '-t', topic, '-e', '-f', '%k|%s|%h\\n']),
      'k1|hello|h1=x\nk2|wörld|h1=x\nk1|with:colon|h1=x\n',
      codec,
    );
  }
});

test('kstream consume reads what kcat writes, every codec, keys and headers', { skip: !hasKcat }, async () => {
  for (const codec of CODECS) {
    const topic = `from-kcat-${codec}`;
    await create(topic);
    kcat(['-P', '-t', topic, '-K', ':', '-H', 'h1=x', '-H', 'h2=y', '-z', codec], LINES);
    const r = await kstream(['consume', topic, '--from-beginning', '-e', '--format', '%k|%v|%h\\n', ...b()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'k1|hello|h1=x,h2=y\nk2|wörld|h1=x,h2=y\nk1|with:colon|h1=x,h2=y\n', codec);
  }
});

test('binary values round-trip through -o json and --format json (base64 with an encoding field)', async () => {
  await create('bin');
  const bytes = Buffer.from([0xff, 0x00, 0x80, 0x0a, 0x0d, 0x41]);
  const line = JSON.stringify({ key: 'AAE=', value: bytes.toString('base64'), encoding: 'base64', headers: [] });
  let r = await kstream(['produce', 'bin', '--format', 'json', ...b()], { input: `${line}\n{"value":"text"}\n` });
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['consume', 'bin', '--from-beginning', '-e', '-o', 'json', ...b()]);
  const recs = r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    recs.map((x) => [x.key, x.value, x.encoding]),
    [
      ['AAE=', bytes.toString('base64'), 'base64'],
      [null, 'text', undefined],
    ],
  );
  // Raw bytes with --format %v (binary-safe text output).
  r = await kstream(['consume', 'bin', '--from-beginning', '-n', '1', '--format', '%v', ...b()]);
  assert.deepEqual(r.stdoutBytes, bytes);
  // Copy through a pipe: consume -o json | produce --format json keeps every byte.
  await create('bin-copy');
  r = await kstream(['produce', 'bin-copy', '--format', 'json', ...b()], {
    input: recs.map((x) => JSON.stringify(x)).join('\n'),
  });
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['consume', 'bin-copy', '--from-beginning', '-n', '1', '--format', '%v', ...b()]);
  assert.deepEqual(r.stdoutBytes, bytes);
});

test('an invalid JSON line: its number in the error and nothing written', async () => {
  await create('json-bad');
  const input = '{"key":"a","value":"1"}\n{"value":"2"}\n{"value": nope}\n{"value":"4"}\n';
  const r = await kstream(['produce', 'json-bad', '--format', 'json', ...b()], { input });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^kstream: line 3: invalid JSON \(.*\); nothing was sent\n$/);
  if (hasKcat) assert.equal(kcat(['-C', '-t', 'json-bad', '-e', '-f', '%s\\n']), '');
  let c = await kstream(['consume', 'json-bad', '--from-beginning', '-e', ...b()]);
  assert.equal(c.stdout, '');
  // A partition the topic does not have is found with the rest: line 1 used to be sent before line 2 failed.
  const parts = await kstream(['produce', 'json-bad', '--format', 'json', ...b()], {
    input: '{"value":"1"}\n{"value":"2","partition":5}\n',
  });
  assert.equal(parts.code, 1);
  assert.equal(parts.stderr, 'kstream: line 2: topic json-bad has no partition 5 (it has 1); nothing was sent\n');
  c = await kstream(['consume', 'json-bad', '--from-beginning', '-e', ...b()]);
  assert.equal(c.stdout, '');
});

test('malformed --format and unknown topics: one clear line, non-zero exit', async () => {
  let r = await kstream(['consume', 'rt', '-e', '--format', '%k %x', ...b()]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    'kstream: invalid --format "%k %x": unknown token %x (use %t %p %o %k %v %T %h, %% for a percent sign)\n',
  );
  r = await kstream(['consume', 'no-such', '-e', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kstream: topic no-such does not exist\n');
  r = await kstream(['produce', 'no-such', ...b()], { input: 'x\n' });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kstream: topic no-such does not exist (create it with: kstream topic create no-such)\n');
  r = await kstream(['produce', 'rt', '--file', tmpdir(), ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `kstream: cannot read --file ${tmpdir()}: it is a directory\n`);
});

test('a missing argument is never taken from piped stdin: one line, exit 2, nothing created or sent', async () => {
  // oclif fills a missing argument from a pipe: `seq 3 | kstream produce` looked for topic "1 2 3", and
  // `echo made-from-stdin | kstream topic create` created that topic.
  let r = await kstream(['produce', ...b()], { input: 'rt\nhello\n' });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'kstream: missing argument TOPIC: topic to write to (see --help)\n');
  r = await kstream(['topic', 'create', ...b()], { input: 'made-from-stdin\n' });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'kstream: missing argument TOPICS: topic names (see --help)\n');
  r = await kstream(['topic', 'describe', 'made-from-stdin', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kstream: topic made-from-stdin does not exist\n');
});

/** CreateTime of every record in a topic (consume -o json), in offset order. */
async function createTimes(topic: string): Promise<number[]> {
  const r = await kstream(['consume', topic, '--from-beginning', '-e', '-o', 'json', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { timestamp: number }).timestamp);
}

test('--rate paces records: N records at R/s carry CreateTimes spread over at least (N-1)/R s (text, --file, json)', async () => {
  const N = 11;
  const R = 20;
  const minSpreadMs = (((N - 1) / R) * 1000 * 0.8) | 0;
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tempDir } = await import('../helpers/broker.js');
  const file = join(tempDir('kstream-rate-'), 'records.jsonl');
  writeFileSync(file, Array.from({ length: N }, (_, i) => JSON.stringify({ key: `k${i}`, value: `v${i}` })).join('\n'));
  const cases: [string, string[], string | undefined][] = [
    ['rate-text', ['-K', ':'], Array.from({ length: N }, (_, i) => `k${i}:v${i}\n`).join('')],
    ['rate-json-file', ['--format', 'json', '--file', file], undefined],
  ];
  for (const [topic, args, input] of cases) {
    await create(topic);
    const r = await kstream(['produce', topic, '--rate', String(R), ...args, ...b()], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^produced ${N} records, `));
    const c = await kstream(['consume', topic, '--from-beginning', '-e', '--format', '%k=%v\\n', ...b()]);
    assert.equal(c.stdout, Array.from({ length: N }, (_, i) => `k${i}=v${i}\n`).join(''), topic);
    const ts = await createTimes(topic);
    assert.equal(ts.length, N);
    const spread = ts[N - 1]! - ts[0]!;
    assert.ok(spread >= minSpreadMs, `${topic}: CreateTime spread ${spread} ms < ${minSpreadMs} ms (${ts.join(',')})`);
    // Paced one by one: no two consecutive records share a timestamp.
    for (let i = 1; i < N; i++) assert.ok(ts[i]! > ts[i - 1]!, `${topic}: records ${i - 1} and ${i} not paced`);
  }
  const bad = await kstream(['produce', 'rate-text', '--rate', '0', ...b()], { input: 'x\n' });
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    'kstream: invalid --rate: expected a positive number of records per second but received: 0 (see --help)\n',
  );
});
