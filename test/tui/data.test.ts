import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSnapshot, catchUp, rate } from '../../src/tui/data.js';
import { compact, duration, fit, sparkline } from '../../src/tui/format.js';
import { raw, twoPolls } from './fixtures.js';

describe('kstream top data: buildSnapshot', () => {
  test('msgs/s from offset deltas between polls; none on the first poll', () => {
    const first = buildSnapshot(raw(), null);
    assert.equal(first.topics[0]!.partitions[0]!.rate, null);
    const s = twoPolls();
    const orders = s.topics.find((t) => t.name === 'orders')!;
    assert.equal(orders.partitions[0]!.rate, 500);
    assert.equal(orders.partitions[1]!.rate, 0);
    assert.equal(orders.rate, 500);
    assert.deepEqual(orders.partitions[0]!.rateHistory, [500]);
    assert.equal(orders.messages, 3500n);
    assert.equal(s.totals.topics, 2);
    assert.equal(s.totals.partitions, 4);
  });

  test('under-replicated and offline partitions, missing replicas', () => {
    const r = raw();
    r.topics[0]!.partitions[1]!.isr = [2];
    r.topics[1]!.partitions[0]!.leader = -1;
    const s = buildSnapshot(r, null);
    const p1 = s.topics[0]!.partitions[1]!;
    assert.equal(p1.underReplicated, true);
    assert.deepEqual(p1.missing, [3, 1]);
    const pay = s.topics[1]!.partitions[0]!;
    assert.equal(pay.offline, true);
    assert.equal(pay.underReplicated, false);
    assert.equal(s.totals.underReplicated, 1);
    assert.equal(s.totals.offline, 1);
  });

  test('brokers: leaders, replicas, out-of-ISR; a broker gone from metadata stays listed as down', () => {
    const first = buildSnapshot(raw(), null);
    const b1 = first.brokers.find((b) => b.nodeId === 1)!;
    assert.equal(b1.leaders, 1);
    assert.equal(b1.replicas, 3);
    assert.equal(b1.controller, true);
    const r = raw({ at: 1_001_000 });
    r.brokers = r.brokers.filter((b) => b.nodeId !== 3);
    for (const t of r.topics) for (const p of t.partitions) p.isr = p.isr.filter((id) => id !== 3);
    const s = buildSnapshot(r, first);
    const b3 = s.brokers.find((b) => b.nodeId === 3)!;
    assert.equal(b3.up, false);
    assert.equal(b3.port, 9093, 'address remembered from before');
    assert.deepEqual(b3.outOfIsr, ['orders-0', 'orders-1', 'orders-2', 'payments-0']);
    assert.equal(s.totals.brokersDown, 1);
    assert.equal(s.totals.brokersUp, 2);
  });

  test('a replica on a broker never seen in metadata is a down broker', () => {
    const r = raw();
    r.topics[1]!.partitions[0]!.replicas = [2, 7];
    const s = buildSnapshot(r, null);
    const b7 = s.brokers.find((b) => b.nodeId === 7)!;
    assert.equal(b7.up, false);
    assert.equal(b7.host, '?');
  });

  test('group lag, consumption rate, owner; topic lag', () => {
    const s = twoPolls();
    const g = s.groups[0]!;
    assert.equal(g.totalLag, 1500 - 600 + 2 * (1000 - 600));
    assert.equal(g.consumeRate, null, 'one commit seen: nothing to measure between');
    assert.deepEqual(g.lagHistory, [3 * 600, 1700]);
    assert.equal(g.partitions[0]!.owner, 'billing-1');
    assert.equal(s.topics.find((t) => t.name === 'orders')!.lag, 1700);
    assert.equal(s.totals.groups, 1);
  });

  test('a consumer committing every 5 polls: consumption measured between commits, catch-up steady', () => {
    // Production 100/s on orders-0; the group commits what it read every 5th poll, so the lag saw-tooths.
    let s = buildSnapshot(raw({}, {}, 1000n), null);
    let committed = 1000;
    for (let i = 1; i <= 32; i++) {
      if (i % 5 === 0) committed = 1000 + i * 100;
      const r = raw({ at: 1_000_000 + i * 1000 }, { 'orders-0': 1000 + i * 100 }, 1000n);
      r.groups[0]!.offsets = r.groups[0]!.offsets.map((o) =>
        o.partition === 0 ? { ...o, offset: BigInt(committed) } : o,
      );
      s = buildSnapshot(r, s);
      // Until 20 s of commits are seen the verdict is open ("-"), never a false "stalled".
      if (i < 25) assert.notEqual(s.groups[0]!.catchUp, Number.POSITIVE_INFINITY, `poll ${i}`);
    }
    const g = s.groups[0]!;
    // Measured between the commits seen: 100 offsets per second, the production rate.
    assert.equal(g.consumeRate, 100);
    assert.equal(g.catchUp, 'steady');
  });

  /**
   * Issue 21: 50 records/s, auto-commit every 5 s (Kafka's default), polls every second with some jitter, the
   * consumer a fraction of a second behind the log end: `steady` at every poll once measured, never `∞`. It
   * flipped to ∞ each commit cycle (a 10-poll window held one commit or none).
   */
  function simulate(consumeRate: number, opts: { polls?: number; commitEvery?: number; seed?: number } = {}) {
    let seed = opts.seed ?? 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const produce = 50;
    const commitEvery = opts.commitEvery ?? 5;
    const phase = random() * commitEvery;
    const end = (t: number) => 1000 + Math.floor(produce * t);
    // Its position: what it consumed by t (behind the end by a fetch's delay, or by its slower rate).
    const position = (t: number) =>
      consumeRate >= produce ? end(Math.max(0, t - random() * 0.5)) : 1000 + Math.floor(consumeRate * t);
    let committed = 1000;
    let nextCommit = phase;
    let s = buildSnapshot(raw({}, {}, 1000n), null);
    const verdicts: (number | 'steady' | null)[] = [];
    for (let i = 1; i <= (opts.polls ?? 120); i++) {
      const t = i + (random() - 0.5) * 0.2;
      while (nextCommit <= t) {
        committed = position(nextCommit);
        nextCommit += commitEvery;
      }
      const r = raw({ at: 1_000_000 + Math.round(t * 1000) }, { 'orders-0': end(t) }, 1000n);
      r.groups[0]!.offsets = r.groups[0]!.offsets.map((o) =>
        o.partition === 0 ? { ...o, offset: BigInt(committed) } : o,
      );
      s = buildSnapshot(r, s);
      verdicts.push(s.groups[0]!.catchUp);
    }
    return verdicts;
  }

  test('a group keeping pace at 50/s with a 5 s auto-commit is steady at every poll, never ∞ (issue 21)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const v = simulate(50, { seed });
      assert.ok(!v.includes(Number.POSITIVE_INFINITY), `seed ${seed}: ${v.join(' ')}`);
      // Measured once 20 s of commits are seen (commits every 5 s: by the 30th poll).
      assert.deepEqual(new Set(v.slice(30)), new Set(['steady']), `seed ${seed}: ${v.join(' ')}`);
    }
    // Committing every second or every 10 s, the same.
    for (const commitEvery of [1, 10]) {
      const v = simulate(50, { commitEvery, seed: 3 });
      assert.deepEqual(new Set(v.slice(40)), new Set(['steady']), `every ${commitEvery} s: ${v.join(' ')}`);
    }
  });

  test('a group falling behind, or with members and no commits for 30 s, is ∞', () => {
    const slow = simulate(40, { seed: 2 });
    assert.deepEqual(new Set(slow.slice(30)), new Set([Number.POSITIVE_INFINITY]), slow.join(' '));
    const stalled = simulate(0, { seed: 2 });
    assert.ok(!stalled.slice(0, 25).includes(Number.POSITIVE_INFINITY), 'not before 30 s without a commit');
    assert.equal(stalled[stalled.length - 1], Number.POSITIVE_INFINITY);
  });

  test('a group whose offsets cannot be read keeps its last lag (not 0) and shows the error', () => {
    const first = buildSnapshot(raw(), null);
    const r = raw({ at: 1_001_000 });
    r.groups[0] = { ...r.groups[0]!, state: '', members: [], offsets: [], error: 'NETWORK_EXCEPTION' };
    const s = buildSnapshot(r, first);
    const g = s.groups[0]!;
    assert.equal(g.totalLag, first.groups[0]!.totalLag);
    assert.equal(g.state, 'Stable');
    assert.equal(g.error, 'NETWORK_EXCEPTION');
    assert.deepEqual(g.lagHistory, first.groups[0]!.lagHistory);
    assert.equal(s.topics.find((t) => t.name === 'orders')!.lag, first.groups[0]!.totalLag);
  });

  test('groups unavailable: the error is kept and nothing else fails', () => {
    const s = buildSnapshot(raw({ groups: [], groupsError: 'NOT_COORDINATOR' }), null);
    assert.equal(s.groupsError, 'NOT_COORDINATOR');
    assert.equal(s.topics.length, 2);
  });

  test('a partition whose leader did not answer keeps its last offsets', () => {
    const first = buildSnapshot(raw(), null);
    const r = raw({ at: 1_001_000 });
    r.offsets = r.offsets.map((o) => (o.partition === 0 && o.topic === 'orders' ? { ...o, low: null, high: null } : o));
    const p0 = buildSnapshot(r, first).topics[0]!.partitions[0]!;
    assert.equal(p0.high, 1000n);
    assert.equal(p0.rate, null);
  });
});

describe('kstream top data: pure helpers', () => {
  test('rate', () => {
    assert.equal(rate(100n, 300n, 2), 100);
    assert.equal(rate(null, 300n, 2), null);
    assert.equal(rate(300n, 100n, 1), 0, 'a truncated log is not a negative rate');
  });

  test('catch-up from the consumption and production rates', () => {
    assert.equal(catchUp(0, null, null), 0, 'no lag: caught up');
    assert.equal(catchUp(100, null, null), null, 'rates unknown');
    assert.equal(catchUp(100, 0, 50), Number.POSITIVE_INFINITY, 'stalled');
    assert.equal(catchUp(600, 300, 100), 3, 'gaining 200/s');
    assert.equal(catchUp(600, 100, 100), 'steady', 'keeping pace');
    assert.equal(catchUp(600, 50, 100), Number.POSITIVE_INFINITY, 'falling behind');
  });

  test('formatting', () => {
    assert.equal(compact(999), '999');
    assert.equal(compact(1500), '1.5k');
    assert.equal(compact(2_500_000n), '2.5M');
    assert.equal(duration(200), '3m20s');
    assert.equal(duration(Number.POSITIVE_INFINITY), '∞');
    assert.equal(fit('abcdef', 4), 'abc…');
    assert.equal(fit('ab', 4, 'right'), '  ab');
    assert.equal(sparkline([0, 5, 10], 5), '▁▅█  ', 'starts under its title');
    assert.equal(sparkline([0, 0], 2), '▁▁');
  });
});
