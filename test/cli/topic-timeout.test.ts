/**
 * `kstream topic list` against a broker that is down (connection refused) or mute (accepts, never answers):
 * one clear line and exit 1, within --timeout plus the CLI's start. Its own file, run alone by
 * scripts/run-tests.js for those time bounds (test/cli/topic.test.ts has the rest, with no bound in time).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { kstream } from './run.js';

test('broker down: a clear message well within --timeout, not a hang', async () => {
  const port = await new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
  const t0 = Date.now();
  const r = await kstream(['topic', 'list', '-b', `127.0.0.1:${port}`, '--timeout', '3s']);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`^kstream: could not reach any broker: 127\\.0\\.0\\.1:${port}: connection refused`),
  );
  assert.equal(r.stderr.split('\n').length, 2, 'one line');
  assert.ok(Date.now() - t0 < 3000 + 2000);
});

test('a broker that accepts but never answers: fails at --timeout', async () => {
  const server = createServer(() => {});
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as { port: number }).port;
  const t0 = Date.now();
  const r = await kstream(['topic', 'list', '-b', `127.0.0.1:${port}`, '--timeout', '1s']).finally(() =>
    server.close(),
  );
  const elapsed = Date.now() - t0;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^kstream: .*127\.0\.0\.1:\d+.*\n$/);
  assert.ok(elapsed < 4000, `took ${elapsed} ms`);
});
