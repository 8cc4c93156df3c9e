/**
 * The recovery times of a fault run (recovery.ts) on a hand-made history: a leader killed at 10 s and started
 * again at 15 s, seen by the two other nodes' Metadata, with a producer's acknowledgements pausing meanwhile.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Ack } from './checker.js';
import { recoveryTimes } from './recovery.js';
import type { BrokerViewChange, LeaderChange } from './workload.js';

const timeline = [
  { at: 0, action: 'cluster-ready' },
  { at: 9000, action: 'fault-start' },
  { at: 10_000, action: 'kill', detail: { node: 1, signal: 'SIGKILL' } },
  { at: 15_000, action: 'restart', detail: { node: 1 } },
  { at: 16_000, action: 'fault-end' },
];

const view = (at: number, node: number, partition: number, leader: number, isr: number[]): LeaderChange => ({
  at,
  node,
  partition,
  leader,
  epoch: 0,
  isr,
});

describe('fault recovery times', () => {
  test('broker gone, ISR shrunk, new leader, full ISR again and write pauses, from the samples', () => {
    const leaders: LeaderChange[] = [
      // Before: node 1 leads p0, node 2 leads p1, full ISRs in every view.
      ...[1, 2, 3].flatMap((n) => [view(1000, n, 0, 1, [1, 2, 3]), view(1000, n, 1, 2, [1, 2, 3])]),
      // Node 2 and 3 see node 3 lead p0 without node 1 at 13.5 s, p1 without node 1 at 14 s.
      ...[2, 3].flatMap((n) => [view(13_500, n, 0, 3, [2, 3]), view(14_000, n, 1, 2, [2, 3])]),
      // Node 1 is back; everyone sees full ISRs again, the last view at 19 s.
      ...[1, 2, 3].map((n) => view(18_000, n, 0, 3, [1, 2, 3])),
      ...[1, 2, 3].map((n) => view(n === 2 ? 19_000 : 18_000, n, 1, 2, [1, 2, 3])),
    ];
    const brokers: BrokerViewChange[] = [
      ...[1, 2, 3].map((n) => ({ at: 1000, node: n, brokers: [1, 2, 3] })),
      ...[2, 3].map((n) => ({ at: 13_000, node: n, brokers: [2, 3] })),
      ...[2, 3].map((n) => ({ at: 17_000, node: n, brokers: [1, 2, 3] })),
    ];
    const acks: Ack[] = [2000, 9900, 13_800, 14_000, 14_100].map((at, i) => ({
      client: 'a',
      partition: 0,
      offset: i,
      value: `a-${i}`,
      at,
    }));
    acks.push(
      ...[2000, 9950, 10_100, 16_500].map((at, i) => ({ client: 'a', partition: 1, offset: i, value: `b-${i}`, at })),
    );
    const r = recoveryTimes(timeline, leaders, brokers, acks, 2, 3);
    assert.equal(r.injectedAt, 10_000);
    assert.equal(r.healedAt, 16_000);
    assert.equal(r.target, 1);
    assert.equal(r.brokerDownSeenAfterMs, 3000);
    assert.equal(r.underReplicatedSeenAfterMs, 3500);
    assert.equal(r.newLeaderAfterMs, 3500);
    assert.equal(r.brokersBackAfterHealMs, 1000);
    assert.equal(r.fullIsrAfterHealMs, 3000);
    assert.deepEqual(r.writePauses, [
      { partition: 0, pausedMs: 3900, resumedAfterInjectMs: 3800 },
      { partition: 1, pausedMs: 6400, resumedAfterInjectMs: 6500 },
    ]);
  });

  test('a view still under-replicated at the end: full ISR never came back', () => {
    const leaders = [view(1000, 2, 0, 2, [1, 2, 3]), view(12_000, 2, 0, 2, [2, 3])];
    const r = recoveryTimes(timeline, leaders, [], [], 1, 3);
    assert.equal(r.fullIsrAfterHealMs, null);
    assert.equal(r.newLeaderAfterMs, null);
    assert.deepEqual(r.writePauses, [{ partition: 0, pausedMs: null, resumedAfterInjectMs: null }]);
  });
});
