/** Raw poll answers for kstream top's tests: a 3-broker cluster with two topics and one group. */
import { buildSnapshot, type RawPoll } from '../../src/tui/data.js';
import type { Snapshot } from '../../src/tui/types.js';

export function raw(over: Partial<RawPoll> = {}, ends: Record<string, number> = {}, committed = 400n): RawPoll {
  const brokers = [1, 2, 3].map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 9090 + nodeId, rack: null }));
  const topics = [
    {
      name: 'orders',
      partitions: [0, 1, 2].map((p) => ({
        partition: p,
        leader: (p % 3) + 1,
        replicas: [(p % 3) + 1, ((p + 1) % 3) + 1, ((p + 2) % 3) + 1],
        isr: [(p % 3) + 1, ((p + 1) % 3) + 1, ((p + 2) % 3) + 1],
      })),
    },
    { name: 'payments', partitions: [{ partition: 0, leader: 2, replicas: [2, 3], isr: [2, 3] }] },
  ];
  const offsets = [
    ...[0, 1, 2].map((p) => ({ topic: 'orders', partition: p, low: 0n, high: BigInt(ends[`orders-${p}`] ?? 1000) })),
    { topic: 'payments', partition: 0, low: 10n, high: BigInt(ends['payments-0'] ?? 50) },
  ];
  return {
    at: 1_000_000,
    clusterId: 'test-cluster',
    controllerId: 1,
    brokers,
    topics,
    offsets,
    groups: [
      {
        groupId: 'billing',
        state: 'Stable',
        protocol: 'range',
        members: [{ clientId: 'billing-1', assignment: [{ topic: 'orders', partitions: [0, 1, 2] }] }],
        offsets: [0, 1, 2].map((p) => ({ topic: 'orders', partition: p, offset: committed })),
        error: null,
      },
    ],
    groupsError: null,
    ...over,
  };
}

/** Two polls one second apart: orders-0 grew by 500 messages. */
export function twoPolls(): Snapshot {
  const first = buildSnapshot(raw(), null);
  return buildSnapshot(raw({ at: 1_001_000 }, { 'orders-0': 1500 }, 600n), first);
}
