/**
 * The byte-rate quota's arithmetic (issue 19), on the real ClientQuotas over a real LocalStore in a temp dir,
 * with the time passed in: the throttle handed out for a sequence of requests is Kafka's TokenBucket's
 * (burst = quota.window.num x quota.window.size.seconds of quota, throttle = owed bytes / quota), and a client
 * that sends whenever it is let (its next request read once the mute is over, as the broker does) moves
 * 0.9-1.1 of its quota in every 10 s span after the first burst. The sampled Rate this replaced handed out
 * 1000 ms for the first request below and stalled such a client every 11-12 s (spans of ~0.3 of the quota).
 * The same arithmetic for controller_mutation_rate (KIP-599: strict and permissive, Kafka's own example numbers)
 * and request_percentage (KIP-124: request time in percent of a thread x seconds, throttles bounded by a window).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientQuotas } from '../../src/broker/quota/quotas.js';
import { LocalStore } from '../../src/cluster/local-store.js';
import { silentLogger } from '../../src/util/logger.js';

const who = { principal: 'User:ANONYMOUS' };

async function withQuotas(
  values: Record<string, number>,
  body: (q: ClientQuotas) => void | Promise<void>,
  props: Record<string, string> = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kstream-quota-arith-'));
  const store = new LocalStore(join(dir, 'store.json'), { nodeId: 1 });
  const q = new ClientQuotas(props, silentLogger);
  try {
    await q.start(store);
    await q.alter({ clientId: 'c' }, values, []);
    await body(q);
  } finally {
    await q.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('produce throttle times follow the token bucket (burst of 11 windows, owed bytes / quota)', async () => {
  await withQuotas({ producer_byte_rate: 1000 }, (q) => {
    const t0 = 1_000_000;
    // A fresh sensor holds 11 x 1 s x 1000 B of credit: taking all of it is not throttled.
    assert.equal(q.record('produce', who, 'c', 11_000, t0), 0);
    // 500 B more: 500 B owed, 500 ms at 1000 B/s.
    assert.equal(q.record('produce', who, 'c', 500, t0), 500);
    // 250 ms later 250 B came back; 100 B more: 350 B owed.
    assert.equal(q.record('produce', who, 'c', 100, t0 + 250), 350);
    // Once the debt is paid (350 ms later) a request is throttled for its own bytes only.
    assert.equal(q.record('produce', who, 'c', 400, t0 + 600), 400);
    // A long pause refills the credit, never above the burst: 11,000 B again, then 1 B over.
    assert.equal(q.record('produce', who, 'c', 11_000, t0 + 60_000), 0);
    assert.equal(q.record('produce', who, 'c', 1, t0 + 60_000), 1);
    assert.equal(q.throttled.produce, 4);
  });
});

test('a throttled fetch gives its bytes back: the next one within the credit is not throttled', async () => {
  await withQuotas({ consumer_byte_rate: 1000 }, (q) => {
    const t0 = 2_000_000;
    assert.equal(q.record('fetch', who, 'c', 12_000, t0), 1000);
    q.unrecord('fetch', who, 12_000, t0);
    assert.equal(q.record('fetch', who, 'c', 11_000, t0), 0);
  });
});

test('a client sending whenever it is let moves 0.9-1.1 of its quota in every 10 s span', async () => {
  const quota = 1_048_576;
  await withQuotas({ producer_byte_rate: quota }, (q) => {
    const t0 = 3_000_000;
    // Request sizes as librdkafka's batches of a fast producer come (30 KB-1 MB), a fixed sequence.
    const sizes = [998_963, 715_434, 549_958, 387_509, 29_349, 604_444, 143_331, 324_951, 779_001, 210_934];
    const arrivals: [number, number][] = [];
    let now = t0;
    let i = 0;
    while (now < t0 + 72_000) {
      const bytes = sizes[i++ % sizes.length] as number;
      const ms = q.record('produce', who, 'c', bytes, now);
      arrivals.push([now, bytes]);
      // The next request is read when the mute ends (or a few ms later when there is none).
      now += Math.max(ms, 5);
    }
    const spans: number[] = [];
    for (let s = t0 + 12_000; s + 10_000 <= t0 + 72_000; s += 10_000) {
      let sum = 0;
      for (const [at, b] of arrivals) if (at >= s && at < s + 10_000) sum += b;
      spans.push(sum / 10 / quota);
    }
    assert.equal(spans.length, 6);
    for (const r of spans)
      assert.ok(r >= 0.9 && r <= 1.1, `10 s spans at ${spans.map((x) => x.toFixed(3))} of the quota`);
  });
});

// Kafka's own example (its ControllerMutationQuotaTest): controller_mutation_rate 2/s, 10 windows of 1 s (a burst
// of 20), two topics of 30 partitions each.
const MUTATION_WINDOW = { 'controller.quota.window.num': '10', 'controller.quota.window.size.seconds': '1' };

test('controller_mutation_rate, strict: the first topic fits (20 -> -10), the second is refused, throttle 5 s', async () => {
  await withQuotas(
    { controller_mutation_rate: 2 },
    (q) => {
      const t0 = 4_000_000;
      const m = q.mutationQuota(who, 'c', true, t0);
      assert.ok(m.bounded);
      m.record(30, t0);
      assert.equal(m.throttleTime(t0), 0, 'strict: no throttle while nothing is refused');
      assert.throws(
        () => m.record(30, t0),
        (e: Error & { code?: number }) => e.code === 89,
      );
      assert.equal(m.throttleTime(t0), 5000);
      // The throttle of the answer shrinks with the time since it was computed.
      assert.equal(m.throttleTime(t0 + 1200), 3800);
      // The bucket is the entity's: another request 5 s later finds it back at zero, not below: accepted.
      const next = q.mutationQuota(who, 'c', true, t0 + 5000);
      next.record(1, t0 + 5000);
      assert.equal(next.throttleTime(t0 + 5000), 0);
      assert.equal(q.throttled.mutation, 1);
    },
    MUTATION_WINDOW,
  );
});

test('controller_mutation_rate, permissive: both topics done, throttle 20 s', async () => {
  await withQuotas(
    { controller_mutation_rate: 2 },
    (q) => {
      const t0 = 5_000_000;
      const m = q.mutationQuota(who, 'c', false, t0);
      m.record(30, t0);
      m.record(30, t0);
      assert.equal(m.throttleTime(t0), 20_000);
    },
    MUTATION_WINDOW,
  );
});

test('no controller_mutation_rate for the client: unbounded (nothing recorded, never refused)', async () => {
  await withQuotas({ controller_mutation_rate: 2 }, (q) => {
    const m = q.mutationQuota({ principal: 'User:other' }, 'other', true);
    assert.equal(m.bounded, false);
    for (let i = 0; i < 10; i++) m.record(1000);
    assert.equal(m.throttleTime(), 0);
  });
});

test('request_percentage: ms of request time in percent-seconds; a throttle is at most one window', async () => {
  await withQuotas({ request_percentage: 10 }, (q) => {
    const t0 = 6_000_000;
    // 10 % of one thread: a burst of 10 x 11 windows x 1 s = 1.1 percent-seconds = 1100 ms of request time.
    assert.equal(q.recordRequestTime(who, 'c', 1100, true, t0), 0);
    // 5 ms more: 0.5 percent-seconds owed, 50 ms at 10 percent.
    assert.equal(q.recordRequestTime(who, 'c', 5, true, t0), 50);
    // Recorded without a throttle (the encoding's share): counted all the same.
    assert.equal(q.recordRequestTime(who, 'c', 5, false, t0), 0);
    assert.equal(q.recordRequestTime(who, 'c', 0, true, t0), 100);
    // A large debt: the throttle is bounded by one window (1000 ms), the debt stays.
    assert.equal(q.recordRequestTime(who, 'c', 500, true, t0), 1000);
    assert.equal(q.recordRequestTime(who, 'c', 0, true, t0 + 1000), 1000);
    assert.equal(q.recordRequestTime(who, 'c', 0, true, t0 + 5100), 0);
  });
});
