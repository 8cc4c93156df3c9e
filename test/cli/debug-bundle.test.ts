/**
 * `kstream debug bundle` against a real broker started with a secret in its config: the zip unzips, holds
 * every part it lists, and the secret (broker config, topic config, log) appears nowhere in it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
let dir: string;
const b = () => ['-b', broker.bootstrap];

before(async () => {
  broker = await startBroker({ props: { 'ssl.keystore.password': 'hunter2' } });
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
  writeFileSync(log, `${broker.logs()}\nstarting with ssl.keystore.password=hunter2 token: s3cr3t\n`);
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
  assert.deepEqual([...zipList].sort(), [...listed].sort());
  execFileSync('unzip', ['-tq', file]);
  const all = execFileSync('unzip', ['-p', file], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
  assert.doesNotMatch(all, /hunter2/);
  assert.doesNotMatch(all, /swordfish/);
  assert.doesNotMatch(all, /s3cr3t/);
  assert.ok(readFileSync(file).indexOf('hunter2') < 0);

  const groups = JSON.parse(execFileSync('unzip', ['-p', file, 'groups.json'], { encoding: 'utf8' }));
  assert.equal(groups[0].group, 'billing');
  assert.equal(groups[0].totalLag, '0');
  const topics = JSON.parse(execFileSync('unzip', ['-p', file, 'topics.json'], { encoding: 'utf8' }));
  const orders = topics.find((t: { topic: string }) => t.topic === 'orders');
  assert.equal(orders.partitions.length, 2);
  assert.deepEqual(orders.partitions[0].isr, [1]);
  const brokersCfg = execFileSync('unzip', ['-p', file, 'configs/brokers.json'], { encoding: 'utf8' });
  // kstream's broker already hides it (null, sensitive); a broker that sent it would see [REDACTED].
  assert.match(brokersCfg, /"name": "ssl.keystore.password",\s*"value": (null|"\[REDACTED\]"),[^}]*"sensitive": true/);
});
