/** The one retry backoff (src/util/backoff.ts): doubling, capped, jittered; logs a run of failures once. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff, backoffDelay } from '../../src/util/backoff.js';
import type { Logger } from '../../src/util/logger.js';

function recordingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug: () => {},
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
    child: () => log,
  };
  return log;
}

describe('backoff', () => {
  test('doubles from the initial delay up to the cap; jitter takes at most its share off', () => {
    const opts = { initialMs: 100, maxMs: 1000, jitter: 0.5 };
    const top = [0, 1, 2, 3, 4, 5, 50, 5000].map((a) => backoffDelay(a, opts, () => 0));
    assert.deepEqual(top, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    const bottom = [0, 1, 2, 3, 4, 1e9].map((a) => backoffDelay(a, opts, () => 0.999999));
    assert.deepEqual(bottom, [50, 100, 200, 400, 500, 500]);
    for (let a = 0; a < 200; a++) {
      const d = backoffDelay(a, opts);
      assert.ok(d >= 50 && d <= 1000, `attempt ${a}: ${d} ms`);
    }
  });

  test('a run of failures logs once when it starts and once when it ends, and starts over after a success', () => {
    const lines: string[] = [];
    const log = recordingLogger(lines);
    const b = new Backoff({ initialMs: 10, maxMs: 40 }, () => 0);
    const delays = Array.from({ length: 1000 }, () => b.failed(log, 'reaching etcd', new Error('down')));
    assert.deepEqual(delays.slice(0, 4), [10, 20, 40, 40]);
    assert.ok(delays.every((d) => d <= 40));
    b.succeeded(log, 'reaching etcd');
    b.succeeded(log, 'reaching etcd');
    assert.deepEqual(lines, ['warn reaching etcd failed; retrying with backoff', 'info reaching etcd works again']);
    assert.equal(
      b.failed(log, 'reaching etcd', new Error('down')),
      10,
      'after a success it starts from the initial delay',
    );
  });
});
