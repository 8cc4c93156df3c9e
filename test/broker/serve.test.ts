/**
 * `kstream serve` as a user runs it: the ready line, a second instance on the same data dir refused, a busy
 * port, bad flags and config files each a one-line error with a non-zero exit, SIGINT/SIGTERM a clean stop;
 * the --config file deciding what flags leave at their defaults, every flag a broker config (kafkajs
 * DescribeConfigs) and serve.json in the data dir.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { freePorts } from '../helpers/etcd.js';

const run = promisify(execFile);
const cleanup: (() => Promise<void> | void)[] = [];

async function serveFails(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [BIN, 'serve', ...args, '--http-port', '0'], { cwd: ROOT, timeout: 20_000 });
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
  throw new Error('serve was expected to fail');
}

describe('kstream serve', () => {
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  test('prints one ready line with version, listener and data dir', async () => {
    const b = await startBroker();
    cleanup.push(
      () => removeDir(b.dataDir),
      () => b.kill(),
    );
    const out = await new Promise<string>((res) => {
      let s = '';
      b.child.stdout?.on('data', (d) => {
        s += d;
      });
      setTimeout(() => res(s), 200);
    });
    assert.equal(out, '', 'nothing more on stdout after the ready line');
    assert.equal(await b.stop(), 0);
  });

  test('a second instance on the same data dir refuses to start', async () => {
    const b = await startBroker();
    cleanup.push(
      () => removeDir(b.dataDir),
      () => b.kill(),
    );
    const { code, stderr } = await serveFails(['--data-dir', b.dataDir, '--port', '0']);
    assert.notEqual(code, 0);
    assert.match(stderr, /data dir .* is in use by another kstream process \(pid \d+\)/);
    assert.equal(stderr.trim().split('\n').length, 1, 'one line');
    await b.stop();
  });

  test('a data dir left locked by a killed broker is taken over', async () => {
    const b = await startBroker();
    cleanup.push(() => removeDir(b.dataDir));
    await b.kill();
    const b2 = await startBroker({ dataDir: b.dataDir });
    cleanup.push(() => b2.kill());
    assert.equal(await b2.stop(), 0);
  });

  test('a busy port is a one-line error', async () => {
    const b = await startBroker();
    cleanup.push(
      () => removeDir(b.dataDir),
      () => b.kill(),
    );
    const dir = tempDir();
    cleanup.push(() => removeDir(dir));
    const { code, stderr } = await serveFails(['--data-dir', dir, '--port', String(b.port)]);
    assert.notEqual(code, 0);
    assert.match(stderr, new RegExp(`port ${b.port} on 127\\.0\\.0\\.1 is already in use`));
    await b.stop();
  });

  test('bad flags and config files are one-line errors', async () => {
    const dir = tempDir();
    cleanup.push(() => removeDir(dir));
    let r = await serveFails(['--data-dir', dir, '--log-level', 'loud']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown --log-level loud/);
    r = await serveFails(['--data-dir', dir, '--config', join(dir, 'missing.properties')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `kstream: cannot read config file ${join(dir, 'missing.properties')}: no such file\n`);
    r = await serveFails(['--data-dir', dir, '--config', dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `kstream: cannot read config file ${dir}: is a directory\n`);
    const props = join(dir, 'bad.properties');
    writeFileSync(props, 'num.partitions=many\n');
    r = await serveFails(['--data-dir', dir, '--config', props, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid value "many" for num\.partitions/);
    // The lease is whole seconds, at least one.
    writeFileSync(props, 'broker.session.timeout.ms=500\n');
    r = await serveFails(['--data-dir', dir, '--config', props, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid value "500" for broker\.session\.timeout\.ms: expected an integer in 1000\.\./);
    writeFileSync(props, 'log.segment.bytes=-5\n');
    r = await serveFails(['--data-dir', dir, '--config', props, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /log\.segment\.bytes/);
  });

  test('the config file decides what flags leave at defaults; every flag is a broker config; serve.json', async () => {
    const dir = tempDir();
    cleanup.push(() => removeDir(dir));
    const data = join(dir, 'data');
    const props = join(dir, 'server.properties');
    writeFileSync(props, `log.dirs=${data}\nport=0\nbroker.id=3\nbroker.rack=r9\n`);
    const child = spawn(process.execPath, [BIN, 'serve', '--config', props, '--log-level', 'warn'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    cleanup.push(() => {
      child.kill('SIGKILL');
    });
    const ready = await new Promise<string>((res, rej) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) res(out);
      });
      child.once('exit', (c) => rej(new Error(`serve exited with ${c}: ${out}`)));
    });
    const m = /node 3 listening on 127\.0\.0\.1:(\d+) .*data dir (.*)\n/.exec(ready);
    assert.ok(m, ready);
    assert.equal(m[2], data);
    const port = m[1] as string;
    const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const r = await admin.describeConfigs({ resources: [{ type: 4, name: '3' }], includeSynonyms: false });
      const entries = new Map((r.resources[0]?.configEntries ?? []).map((e) => [e.configName, e]));
      const shown = (k: string) => [entries.get(k)?.configValue, entries.get(k)?.isDefault];
      assert.deepEqual(shown('log.dirs'), [data, false]);
      assert.deepEqual(shown('port'), ['0', false]);
      assert.deepEqual(shown('broker.id'), ['3', false]);
      assert.deepEqual(shown('broker.rack'), ['r9', false]);
      assert.deepEqual(shown('log.level'), ['warn', false]);
      assert.deepEqual(shown('config.file'), [props, false]);
      assert.deepEqual(shown('host.name'), ['127.0.0.1', true]);
      assert.deepEqual(shown('advertised.port'), [port, true]);
      assert.deepEqual(shown('etcd.endpoints'), ['', true]);
      assert.deepEqual(shown('cluster.id'), ['kstream', true]);
    } finally {
      await admin.disconnect();
    }
    const serve = JSON.parse(readFileSync(join(data, 'serve.json'), 'utf8'));
    assert.deepEqual(serve.argv, ['serve', '--config', props, '--log-level', 'warn']);
    assert.deepEqual(
      Object.fromEntries(Object.entries(serve.flags).map(([f, v]) => [f, (v as { from: string }).from])),
      {
        'data-dir': 'config-file',
        host: 'default',
        port: 'config-file',
        'advertised-host': 'default',
        'advertised-port': 'default',
        'node-id': 'config-file',
        etcd: 'default',
        'cluster-id': 'default',
        rack: 'config-file',
        'log-level': 'flag',
        config: 'flag',
      },
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} stops cleanly: exit 0, logs checkpointed, no recovery on restart`, async () => {
      const b: BrokerProcess = await startBroker();
      cleanup.push(
        () => removeDir(b.dataDir),
        () => b.kill(),
      );
      const p = run('kcat', ['-b', b.bootstrap, '-P', '-t', 'sig', '-K', ':'], { timeout: 20_000 });
      p.child.stdin?.end('a:1\nb:2\n');
      await p;
      const exited = new Promise<number | null>((res) => b.child.once('exit', (c) => res(c)));
      b.child.kill(signal);
      assert.equal(await exited, 0);
      assert.match(b.logs(), new RegExp(`shutting down .*signal=${signal}`));
      // One marker for the whole data dir (as Kafka's per log dir), none per partition.
      assert.ok(existsSync(join(b.dataDir, '.clean-shutdown')), 'clean-shutdown marker written');
      assert.ok(!existsSync(join(b.dataDir, 'sig-0', '.clean-shutdown')), 'no marker per partition');
      assert.ok(!existsSync(join(b.dataDir, '.lock')), 'lock released');
      const b2 = await startBroker({ dataDir: b.dataDir });
      cleanup.push(() => b2.kill());
      assert.doesNotMatch(b2.logs(), /recover|truncat/i);
      const { stdout } = await run('kcat', ['-b', b2.bootstrap, '-C', '-t', 'sig', '-e', '-q', '-f', '%k=%s\n'], {
        timeout: 20_000,
      });
      assert.deepEqual(stdout.trim().split('\n'), ['a=1', 'b=2']);
      assert.ok(readdirSync(join(b.dataDir, 'sig-0')).some((f) => f.endsWith('.index')));
      await b2.stop();
    });
  }

  test('SIGTERM with the data dir removed: the node exits, the failure said in one line', async () => {
    // The admin listener on: a stop that failed at closing the logs used to leave it (and the lock) open, and
    // the process ran on until a second signal.
    const [adminPort] = await freePorts(1);
    const b: BrokerProcess = await startBroker({ args: ['--http-port', String(adminPort)] });
    cleanup.push(
      () => removeDir(b.dataDir),
      () => b.kill(),
    );
    assert.equal(b.adminPort, adminPort);
    const p = run('kcat', ['-b', b.bootstrap, '-P', '-t', 'gone', '-K', ':'], { timeout: 20_000 });
    p.child.stdin?.end('a:1\nb:2\n');
    await p;
    const exited = new Promise<number | null>((res) => b.child.once('exit', (c) => res(c)));
    rmSync(b.dataDir, { recursive: true, force: true, maxRetries: 5 });
    b.child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(30_000).then(() => 'running' as const)]);
    assert.notEqual(code, 'running', `still running 30 s after SIGTERM:\n${b.logs()}`);
    const after = b.logs().slice(b.logs().indexOf('shutting down'));
    const errors = after.split('\n').filter((l) => / ERROR /.test(l));
    // The logs could not be closed (their files are gone): a failed stop, exit 1, said once.
    assert.equal(code, 1, after);
    assert.equal(errors.length, 1, `one error line:\n${after}`);
    assert.match(errors[0] as string, /shutdown failed .*ENOENT/);
  });
});
