/**
 * `kstream serve` as a user runs it: the ready line, a second instance on the same data dir refused, a busy
 * port, bad flags and config files each a one-line error with a non-zero exit, SIGINT/SIGTERM a clean stop.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';

const run = promisify(execFile);
const cleanup: (() => Promise<void> | void)[] = [];

async function serveFails(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [BIN, 'serve', ...args], { cwd: ROOT, timeout: 20_000 });
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
    assert.match(r.stderr, /cannot read config file .*missing\.properties: ENOENT/);
    const props = join(dir, 'bad.properties');
    writeFileSync(props, 'num.partitions=many\n');
    r = await serveFails(['--data-dir', dir, '--config', props, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid value "many" for num\.partitions/);
    writeFileSync(props, 'log.segment.bytes=-5\n');
    r = await serveFails(['--data-dir', dir, '--config', props, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /log\.segment\.bytes/);
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
      assert.ok(existsSync(join(b.dataDir, 'sig-0', '.clean-shutdown')), 'clean-shutdown marker written');
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
});
