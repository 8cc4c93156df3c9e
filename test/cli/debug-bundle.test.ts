/**
 * `kstream debug bundle` against a real broker started with secrets in its config (a password, a URL with
 * credentials): the zip unzips, holds every part it lists — log dirs with per-partition sizes, the node's
 * serve flags from DescribeConfigs and its serve.json — and no secret (broker config, topic config, log,
 * serve.json) appears anywhere in it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
let dir: string;
const b = () => ['-b', broker.bootstrap];

before(async () => {
  broker = await startBroker({
    props: {
      'ssl.keystore.password': 'hunter2',
      // Not a secret by name, but a URL with a password in it.
      'sasl.oauthbearer.token.endpoint.url': 'https://client:urlpw@auth.example/token',
    },
  });
  dir = tempDir('kstream-bundle-');
});
after(async () => {
  await broker?.stop();
  removeDir(dir);
});

test('debug bundle: every listed part is in the zip, secrets are not', async () => {
  let r = await kstream(['topic', 'create', 'orders', '-p', '2', '-c', 'sasl.jaas.config=swordfish', ...b()]);
  if (r.code !== 0) r = await kstream(['topic', 'create', 'orders', '-p', '2', ...b()]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  r = await kstream(['produce', 'orders', ...b()], { input: 'a\nb\nc\n' });
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['consume', 'orders', '-g', 'billing', '--from-beginning', '--exit', ...b()]);
  assert.equal(r.code, 0, r.stderr);

  const log = join(dir, 'server.log');
  writeFileSync(
    log,
    `${broker.logs()}\nstarting with ssl.keystore.password=hunter2 token: s3cr3t\n` +
      'joined cluster etcd=http://root:etcdpw@10.0.0.1:2379,http://root:etcdpw@10.0.0.2:2379\n',
  );
  const file = join(dir, 'bundle.zip');
  r = await kstream(['debug', 'bundle', '-o', file, '--data-dir', broker.dataDir, '--log-file', log, ...b()], {
    timeoutMs: 40_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, new RegExp(`wrote ${file}\\n$`));
  const listed = r.stdout
    .split('\n')
    .slice(1)
    .filter((l) => l && !l.startsWith('wrote '))
    .map((l) => l.split(/\s+/)[0]!);
  for (const part of [
    'versions.json',
    'cluster.json',
    'topics.json',
    'offsets.json',
    'configs/brokers.json',
    'configs/topics.json',
    'groups.json',
    'log-dirs.json',
    'brokers/1/serve-flags.json',
    'data-dir/serve.json',
    'data-dir/listing.txt',
    'logs/server.log',
  ])
    assert.ok(listed.includes(part), `${part} listed in\n${r.stdout}`);
  assert.ok(
    listed.some((p) => p.endsWith('meta.properties') || /checkpoint/.test(p)),
    r.stdout,
  );
  assert.doesNotMatch(r.stdout, /ERROR/);

  const zipList = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  // Checkpoint files (a few per partition dir, ~100 with __consumer_offsets) are one row that counts them
  // (issue 21: it was a row each); every other row is one file of the zip.
  const checkpoints = zipList.filter((f) => /^data-dir\/.*checkpoint/.test(f));
  assert.ok(checkpoints.length > 3, `checkpoint files in the zip: ${checkpoints}`);
  const row = r.stdout.split('\n').find((l) => l.startsWith('data-dir/**/*checkpoint*'));
  assert.ok(row, r.stdout);
  assert.match(row, new RegExp(`\\b${checkpoints.length} checkpoint files \\(the top and every partition dir\\)`));
  assert.equal(r.stdout.split('\n').filter((l) => /checkpoint/.test(l)).length, 1, r.stdout);
  assert.deepEqual(
    zipList.filter((f) => !checkpoints.includes(f)).sort(),
    listed.filter((p) => p !== 'data-dir/**/*checkpoint*').sort(),
  );
  execFileSync('unzip', ['-tq', file]);
  const all = execFileSync('unzip', ['-p', file], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
  assert.doesNotMatch(all, /hunter2/);
  assert.doesNotMatch(all, /swordfish/);
  assert.doesNotMatch(all, /s3cr3t/);
  assert.doesNotMatch(all, /urlpw/);
  assert.doesNotMatch(all, /etcdpw/);
  assert.ok(readFileSync(file).indexOf('hunter2') < 0);
  const unzip = (part: string) => JSON.parse(execFileSync('unzip', ['-p', file, part], { encoding: 'utf8' }));

  // Log dirs: the broker's data dir, each partition with the bytes of its segment files.
  const logDirs = unzip('log-dirs.json');
  assert.equal(logDirs.length, 1);
  assert.equal(logDirs[0].broker, 1);
  const ld = logDirs[0].logDirs[0];
  assert.ok(Number(ld.totalBytes) > 0 && Number(ld.usableBytes) > 0);
  for (const p of [0, 1]) {
    const onDisk = readdirSync(join(broker.dataDir, `orders-${p}`))
      .filter((f) => f.endsWith('.log'))
      .reduce((n, f) => n + statSync(join(broker.dataDir, `orders-${p}`, f)).size, 0);
    const r = ld.replicas.find((x: { topic: string; partition: number }) => x.topic === 'orders' && x.partition === p);
    assert.deepEqual(r, { topic: 'orders', partition: p, size: String(onDisk), offsetLag: '0', isFuture: false });
  }
  assert.ok(ld.replicas.some((x: { size: string }) => Number(x.size) > 0));

  // Serve flags as the broker reports them: every flag, with its source.
  const { flags } = unzip('brokers/1/serve-flags.json');
  assert.deepEqual(Object.keys(flags).sort(), [
    'advertised-host',
    'advertised-port',
    'cluster-id',
    'config',
    'data-dir',
    'etcd',
    'host',
    'log-level',
    'node-id',
    'port',
    'rack',
  ]);
  assert.deepEqual(flags['data-dir'], { config: 'log.dirs', value: broker.dataDir, source: 'static-broker' });
  assert.deepEqual(flags.port, { config: 'port', value: '0', source: 'static-broker' });
  assert.deepEqual(flags['advertised-port'], {
    config: 'advertised.port',
    value: String(broker.port),
    source: 'default',
  });
  assert.deepEqual(flags['node-id'], { config: 'broker.id', value: '1', source: 'default' });
  assert.deepEqual(flags['log-level'], { config: 'log.level', value: 'info', source: 'default' });
  assert.equal(flags.config.source, 'static-broker');
  assert.match(flags.config.value, /server\.properties$/);
  assert.deepEqual(flags.etcd, { config: 'etcd.endpoints', value: '', source: 'default' });
  assert.match(brokersCfgText(), /"value": "https:\/\/client:\[REDACTED\]@auth\.example\/token"/);

  // serve.json, written by the node at start: arguments and where each flag's value came from.
  const serve = unzip('data-dir/serve.json');
  assert.ok(serve.argv.includes('--data-dir'), JSON.stringify(serve.argv));
  assert.deepEqual(serve.flags.port, { config: 'port', value: '0', from: 'flag' });
  assert.deepEqual(serve.flags['node-id'], { config: 'broker.id', value: '1', from: 'default' });
  assert.equal(serve.flags.config.from, 'flag');
  assert.equal(serve.listening, `127.0.0.1:${broker.port}`);

  const groups = JSON.parse(execFileSync('unzip', ['-p', file, 'groups.json'], { encoding: 'utf8' }));
  assert.equal(groups[0].group, 'billing');
  assert.equal(groups[0].totalLag, '0');
  const topics = JSON.parse(execFileSync('unzip', ['-p', file, 'topics.json'], { encoding: 'utf8' }));
  const orders = topics.find((t: { topic: string }) => t.topic === 'orders');
  assert.equal(orders.partitions.length, 2);
  assert.deepEqual(orders.partitions[0].isr, [1]);
  function brokersCfgText(): string {
    return execFileSync('unzip', ['-p', file, 'configs/brokers.json'], { encoding: 'utf8' });
  }
  const brokersCfg = brokersCfgText();
  // kstream's broker already hides it (null, sensitive); a broker that sent it would see [REDACTED].
  assert.match(brokersCfg, /"name": "ssl.keystore.password",\s*"value": (null|"\[REDACTED\]"),[^}]*"sensitive": true/);
});

test('debug bundle: paths that do not exist fail at once, one line, exit 2, no zip; an unreachable broker one line', async () => {
  const nowhere = join(dir, 'no-such');
  const zip = join(dir, 'bad.zip');
  const before = readdirSync(dir).sort();
  const cases: [string[], string][] = [
    // Was an uncaught ENOENT of '<file>.<pid>.tmp' with a stack trace, after collecting everything.
    [['-o', join(nowhere, 'x.zip')], `kstream: -o ${join(nowhere, 'x.zip')}: no such directory ${nowhere}\n`],
    // Were an ERROR row (a raw ENOENT) in a bundle written with exit 0.
    [['-o', zip, '--data-dir', nowhere], `kstream: --data-dir ${nowhere}: no such directory\n`],
    [['-o', zip, '--log-file', join(dir, 'no.log')], `kstream: --log-file ${join(dir, 'no.log')}: no such file\n`],
    [['-o', zip, '--log-file', dir], `kstream: --log-file ${dir}: is a directory\n`],
  ];
  for (const [args, stderr] of cases) {
    const r = await kstream(['debug', 'bundle', ...args, ...b()]);
    assert.equal(r.stderr, stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.code, 2);
  }
  assert.deepEqual(readdirSync(dir).sort(), before);
  // A closed port: the reason without the protocol's error name (was "NETWORK_EXCEPTION: could not reach …").
  const r = await kstream(['debug', 'bundle', '-o', zip, '-b', '127.0.0.1:1', '--timeout', '2s']);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'kstream: debug bundle failed: could not reach any broker: 127.0.0.1:1: connection refused (is a broker running there?)\n',
  );
  assert.deepEqual(readdirSync(dir).sort(), before);
});
