/**
 * `kstream bench produce|consume|e2e --timeout`: against a broker that accepts TCP but never answers, each fails
 * with the one line the other client commands print (not after a minute of connect retries), exit 1. And a
 * duration needs its unit: a bare number is a usage error (exit 2) that says which unit to add.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CliError } from '../../src/cli/base.js';
import { parseDuration } from '../../src/cli/flags.js';
import { kstream } from './run.js';

/** A TCP server on a free loopback port that accepts connections and never writes a byte. */
let silent: Server | undefined;
const accepted = new Set<Socket>();
let port = 0;

before(async () => {
  const server = createServer((s) => {
    accepted.add(s);
    s.on('error', () => {});
    s.on('close', () => accepted.delete(s));
  });
  silent = server;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  for (const s of accepted) s.destroy();
  const server = silent;
  if (server?.listening) await new Promise<void>((res) => server.close(() => res()));
});

describe('bench --timeout against a broker that accepts but never answers', () => {
  for (const bench of ['produce', 'consume', 'e2e']) {
    test(`bench ${bench} --timeout 1s: one line, exit 1`, async () => {
      // The helper's own limit only keeps a regression (a minute of connect retries) from hanging the suite.
      const r = await kstream(['bench', bench, '-n', '10', '-b', `127.0.0.1:${port}`, '--timeout', '1s'], {
        timeoutMs: 15_000,
      });
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `kstream: no answer from 127.0.0.1:${port} within 1s (is a broker running there?)\n`);
      assert.equal(r.code, 1, r.stderr);
    });
  }
});

describe('a duration without a unit is a usage error', () => {
  for (const argv of [
    ['bench', 'produce', '-n', '10'],
    ['bench', 'consume', '-n', '10'],
    ['bench', 'e2e', '-n', '10'],
    ['topic', 'list'],
  ]) {
    test(`${argv.slice(0, 2).join(' ')} --timeout 10: exit 2 with the unit hint`, async () => {
      const r = await kstream([...argv, '-b', `127.0.0.1:${port}`, '--timeout', '10']);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, 'kstream: invalid --timeout "10": add a unit: 10s or 10ms\n');
      assert.equal(r.code, 2, r.stderr);
    });
  }

  test('parseDuration: units required, above 0', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration(' 1.5s '), 1500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    const usage = (text: string, message: string) =>
      assert.throws(
        () => parseDuration(text),
        (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message === message,
        text,
      );
    usage('10', 'invalid --timeout "10": add a unit: 10s or 10ms');
    usage('2.5', 'invalid --timeout "2.5": add a unit: 2.5s or 2.5ms');
    usage('0', 'invalid --timeout "0": use a duration above 0, like 500ms, 10s or 2m');
    usage('0s', 'invalid --timeout "0s": use a duration above 0, like 500ms, 10s or 2m');
    usage('0.1ms', 'invalid --timeout "0.1ms": use a duration above 0, like 500ms, 10s or 2m');
    usage('nope', 'invalid --timeout "nope": use a duration like 500ms, 10s or 2m');
    usage('-1s', 'invalid --timeout "-1s": use a duration like 500ms, 10s or 2m');
    assert.throws(() => parseDuration('30', '--wait'), /^CliError: invalid --wait "30": add a unit: 30s or 30ms$/);
  });
});
