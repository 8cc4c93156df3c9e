/**
 * The per-client throttle figures the metrics export (src/broker/throttle-stats.ts): the counter of time spent
 * throttled rises as a throttle runs, never jumps ahead of time and never falls; Kafka's throttle-time is the
 * average of the throttled requests over 2 samples of 30 s; tags as Kafka's quota metrics carry them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ThrottleStats, tagsOf } from '../../src/broker/throttle-stats.js';

describe('ThrottleStats', () => {
  test('time throttled counts as it passes; overlapping throttles of two connections both count', () => {
    const s = new ThrottleStats();
    const t0 = 1_000_000;
    s.record('fetch', 'client-id=slow', 800, t0);
    const at = (ms: number) => s.rows(t0 + ms).find((r) => r.kind === 'fetch')?.throttledSeconds;
    assert.equal(at(0), 0);
    assert.equal(at(300), 0.3);
    assert.equal(at(800), 0.8);
    assert.equal(at(5000), 0.8, 'nothing more once it ended');
    // Two connections of the entity muted at once: 0.2 s + 0.5 s.
    s.record('fetch', 'client-id=slow', 200, t0 + 5000);
    s.record('fetch', 'client-id=slow', 500, t0 + 5000);
    assert.equal(at(5100), 0.8 + 0.2);
    assert.equal(at(6000), 1.5);
    let last = 0;
    for (let ms = 6000; ms < 8000; ms += 37) {
      if (ms % 3 === 0) s.record('fetch', 'client-id=slow', 90, t0 + ms);
      const v = at(ms) as number;
      assert.ok(v >= last, 'monotonic');
      last = v;
    }
  });

  test("Kafka's throttle-time: the average of throttled requests over the last 2 × 30 s, 0 when none", () => {
    const s = new ThrottleStats();
    const t0 = 1_000_000;
    const avg = (ms: number) => s.rows(t0 + ms).find((r) => r.kind === 'produce')?.averageMs;
    s.record('produce', 'user=alice', 100, t0);
    s.record('produce', 'user=alice', 300, t0 + 1000);
    assert.equal(avg(2000), 200);
    s.record('produce', 'user=alice', 600, t0 + 31_000);
    assert.equal(avg(31_000), 1000 / 3);
    assert.equal(avg(61_000), 600, 'the first sample left the window');
    assert.equal(avg(200_000), 0);
    s.record('produce', 'user=alice', 0, t0 + 200_000);
    assert.equal(avg(200_000), 0, 'a zero throttle is no throttle');
  });

  test('tags: user and client id of the measured entity, "" where it has none', () => {
    assert.deepEqual(tagsOf('user=alice/client-id=etl%2F1'), { user: 'alice', clientId: 'etl/1' });
    assert.deepEqual(tagsOf('user=User%3Ax'), { user: 'User:x', clientId: '' });
    assert.deepEqual(tagsOf('client-id=slow'), { user: '', clientId: 'slow' });
  });
});
