/**
 * Partition assignors (pure) against the Java client's documented results, stickiness and balance properties,
 * the cooperative two-phase rule, and the ConsumerProtocol byte formats other clients read.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compareMembers,
  cooperativeStickyAssignor,
  decodeStickyUserData,
  encodeStickyUserData,
  type GroupAssignment,
  type GroupMemberSubscription,
  rangeAssignor,
  roundRobinAssignor,
  stickyAssign,
  stickyAssignor,
  toTopicPartitions,
  withholdOwnedElsewhere,
} from '../../src/client/assignors.js';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from '../../src/client/consumer-protocol.js';

function member(memberId: string, topics: string[], owned: Record<string, number[]> = {}, generationId = -1) {
  return {
    memberId,
    groupInstanceId: null,
    topics,
    userData: null,
    ownedPartitions: Object.entries(owned).map(([topic, partitions]) => ({ topic, partitions })),
    generationId,
  } satisfies GroupMemberSubscription;
}

function plain(a: GroupAssignment): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const [m, byTopic] of a) {
    out[m] = {};
    for (const [t, ps] of byTopic) if (ps.length > 0) out[m]![t] = [...ps].sort((x, y) => x - y);
  }
  return out;
}

function counts(a: GroupAssignment): number[] {
  return [...a.values()].map((byTopic) => [...byTopic.values()].reduce((n, ps) => n + ps.length, 0));
}

function everyPartitionOnce(a: GroupAssignment, partitions: Map<string, number>): void {
  const seen = new Set<string>();
  for (const byTopic of a.values()) {
    for (const [t, ps] of byTopic) {
      for (const p of ps) {
        const k = `${t}/${p}`;
        assert.ok(!seen.has(k), `${k} assigned twice`);
        seen.add(k);
      }
    }
  }
  let total = 0;
  for (const n of partitions.values()) total += n;
  assert.equal(seen.size, total, 'every partition assigned');
}

describe('range', () => {
  test('two consumers, two topics of three partitions (Java RangeAssignorTest)', () => {
    const a = rangeAssignor.assign(
      [member('consumer2', ['t1', 't2']), member('consumer1', ['t1', 't2'])],
      new Map([
        ['t1', 3],
        ['t2', 3],
      ]),
    );
    assert.deepEqual(plain(a), {
      consumer1: { t1: [0, 1], t2: [0, 1] },
      consumer2: { t1: [2], t2: [2] },
    });
  });

  test('only subscribed members share a topic; more members than partitions leave some empty', () => {
    const a = rangeAssignor.assign(
      [member('a', ['t1']), member('b', ['t1', 't2']), member('c', ['t1'])],
      new Map([
        ['t1', 2],
        ['t2', 2],
      ]),
    );
    assert.deepEqual(plain(a), { a: { t1: [0] }, b: { t1: [1], t2: [0, 1] }, c: {} });
  });

  test('static members sort first by instance id (Java MemberInfo order)', () => {
    const m = [
      { ...member('m-a', ['t']), groupInstanceId: 'zz' },
      { ...member('m-b', ['t']), groupInstanceId: 'aa' },
      member('m-0', ['t']),
    ];
    assert.deepEqual(
      [...m].sort(compareMembers).map((x) => x.memberId),
      ['m-b', 'm-a', 'm-0'],
    );
    const a = rangeAssignor.assign(m, new Map([['t', 3]]));
    assert.deepEqual(plain(a), { 'm-b': { t: [0] }, 'm-a': { t: [1] }, 'm-0': { t: [2] } });
  });
});

describe('roundrobin', () => {
  test('two consumers, two topics of three partitions (Java RoundRobinAssignorTest)', () => {
    const a = roundRobinAssignor.assign(
      [member('consumer1', ['t1', 't2']), member('consumer2', ['t1', 't2'])],
      new Map([
        ['t1', 3],
        ['t2', 3],
      ]),
    );
    assert.deepEqual(plain(a), {
      consumer1: { t1: [0, 2], t2: [1] },
      consumer2: { t1: [1], t2: [0, 2] },
    });
  });

  test('members not subscribed to a topic are skipped', () => {
    const a = roundRobinAssignor.assign(
      [member('a', ['t1']), member('b', ['t1', 't2']), member('c', ['t2'])],
      new Map([
        ['t1', 3],
        ['t2', 2],
      ]),
    );
    // a, b, c in turn; c skips t1 (so t1/2 goes to a), then t2 continues from b.
    assert.deepEqual(plain(a), { a: { t1: [0, 2] }, b: { t1: [1], t2: [0] }, c: { t2: [1] } });
  });
});

describe('sticky', () => {
  const parts = new Map([
    ['t1', 5],
    ['t2', 4],
  ]);

  test('balanced from scratch', () => {
    const a = stickyAssign([member('a', ['t1', 't2']), member('b', ['t1', 't2']), member('c', ['t1', 't2'])], parts);
    everyPartitionOnce(a, parts);
    assert.deepEqual(counts(a).sort(), [3, 3, 3]);
  });

  test('a joining member takes partitions from the others, who keep the rest', () => {
    const before = stickyAssign(
      [member('a', ['t1', 't2']), member('b', ['t1', 't2']), member('c', ['t1', 't2'])],
      parts,
    );
    const owned = (id: string) => Object.fromEntries(before.get(id)!);
    const after = stickyAssign(
      [
        member('a', ['t1', 't2'], owned('a'), 1),
        member('b', ['t1', 't2'], owned('b'), 1),
        member('c', ['t1', 't2'], owned('c'), 1),
        member('d', ['t1', 't2']),
      ],
      parts,
    );
    everyPartitionOnce(after, parts);
    assert.deepEqual(counts(after).sort(), [2, 2, 2, 3]);
    let kept = 0;
    for (const id of ['a', 'b', 'c']) {
      for (const [t, ps] of after.get(id)!) for (const p of ps) if (before.get(id)!.get(t)?.includes(p)) kept++;
      for (const [t, ps] of after.get(id)!) {
        for (const p of ps) assert.ok(before.get(id)!.get(t)?.includes(p), `${id} got no new partition (${t}/${p})`);
      }
    }
    assert.equal(kept, 7, 'only the two partitions the new member needs moved');
  });

  test('a leaving member: its partitions are spread, the others keep theirs', () => {
    const before = stickyAssign(
      [member('a', ['t1', 't2']), member('b', ['t1', 't2']), member('c', ['t1', 't2'])],
      parts,
    );
    const after = stickyAssign(
      [
        member('a', ['t1', 't2'], Object.fromEntries(before.get('a')!), 1),
        member('b', ['t1', 't2'], Object.fromEntries(before.get('b')!), 1),
      ],
      parts,
    );
    everyPartitionOnce(after, parts);
    assert.deepEqual(counts(after).sort(), [4, 5]);
    for (const id of ['a', 'b']) {
      for (const [t, ps] of before.get(id)!) for (const p of ps) assert.ok(after.get(id)!.get(t)?.includes(p));
    }
  });

  test('a partition claimed twice goes to the newer generation; unknown partitions are dropped', () => {
    const a = stickyAssign(
      [member('a', ['t'], { t: [0, 1, 7] }, 3), member('b', ['t'], { t: [1, 2] }, 4)],
      new Map([['t', 4]]),
    );
    assert.deepEqual(plain(a), { a: { t: [0, 3] }, b: { t: [1, 2] } });
  });

  test('different subscriptions: as balanced as they allow', () => {
    const a = stickyAssign(
      [member('a', ['t1']), member('b', ['t1', 't2'])],
      new Map([
        ['t1', 4],
        ['t2', 2],
      ]),
    );
    everyPartitionOnce(
      a,
      new Map([
        ['t1', 4],
        ['t2', 2],
      ]),
    );
    assert.deepEqual(counts(a), [3, 3]);
    assert.equal(a.get('a')!.get('t2'), undefined, 'a is not subscribed to t2');
    assert.deepEqual(a.get('b')!.get('t2'), [0, 1]);
  });

  test('Java StickyAssignor user data (previous assignment + generation) is used when owned partitions are empty', () => {
    const ud = encodeStickyUserData([{ topic: 't', partitions: [2, 3] }], 7);
    assert.deepEqual(decodeStickyUserData(ud), { owned: [{ topic: 't', partitions: [2, 3] }], generationId: 7 });
    assert.deepEqual(stickyAssignor.userData?.([{ topic: 't', partitions: [2, 3] }], 7), ud);
    const a = stickyAssign([{ ...member('a', ['t']), userData: ud }, member('b', ['t'])], new Map([['t', 4]]));
    assert.deepEqual(plain(a), { a: { t: [2, 3] }, b: { t: [0, 1] } });
  });

  test('100 partitions x 7 members stays balanced and sticky through joins', () => {
    const ps = new Map([['big', 100]]);
    let members = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'].map((id) => member(id, ['big']));
    const a = stickyAssign(members, ps);
    assert.ok(Math.max(...counts(a)) - Math.min(...counts(a)) <= 1);
    members = [
      ...members.map((m) => member(m.memberId, ['big'], Object.fromEntries(a.get(m.memberId)!), 1)),
      member('m8', ['big']),
    ];
    const b = stickyAssign(members, ps);
    everyPartitionOnce(b, ps);
    assert.ok(Math.max(...counts(b)) - Math.min(...counts(b)) <= 1);
    let moved = 0;
    for (const [id, byTopic] of b)
      for (const p of byTopic.get('big') ?? []) if (!a.get(id)?.get('big')?.includes(p)) moved++;
    assert.equal(moved, 12, 'the new member gets floor(100/8) partitions, nothing else moves');
  });
});

describe('cooperative-sticky', () => {
  test('partitions still owned by another member are withheld for one rebalance', () => {
    const members = [member('a', ['t'], { t: [0, 1, 2, 3] }, 1), member('b', ['t'])];
    const target = cooperativeStickyAssignor.assign(members, new Map([['t', 4]]));
    assert.deepEqual(plain(target), { a: { t: [0, 1] }, b: { t: [2, 3] } });
    const first = withholdOwnedElsewhere(target, members);
    assert.deepEqual(plain(first), { a: { t: [0, 1] }, b: {} }, 'b waits until a gave up 2 and 3');
    // a revoked 2 and 3 and rejoined: now they are free.
    const second = withholdOwnedElsewhere(
      cooperativeStickyAssignor.assign(
        [member('a', ['t'], { t: [0, 1] }, 2), member('b', ['t'], {}, 2)],
        new Map([['t', 4]]),
      ),
      [member('a', ['t'], { t: [0, 1] }, 2), member('b', ['t'], {}, 2)],
    );
    assert.deepEqual(plain(second), { a: { t: [0, 1] }, b: { t: [2, 3] } });
  });
});

describe('ConsumerProtocol bytes', () => {
  test('Subscription v0 and v1 as the Java client writes them', () => {
    const v0 = encodeSubscription({ version: 0, topics: ['t'] });
    assert.equal(v0.toString('hex'), ['0000', '00000001', '0001', '74', 'ffffffff'].join(''));
    const v1 = encodeSubscription({ topics: ['t'], ownedPartitions: [{ topic: 't', partitions: [0, 2] }] });
    assert.equal(
      v1.toString('hex'),
      ['0001', '00000001', '0001', '74', 'ffffffff', '00000001', '0001', '74', '00000002', '00000000', '00000002'].join(
        '',
      ),
    );
    assert.deepEqual(decodeSubscription(v1), {
      version: 1,
      topics: ['t'],
      userData: null,
      ownedPartitions: [{ topic: 't', partitions: [0, 2] }],
      generationId: -1,
      rackId: null,
    });
  });

  test('Subscription v3 (generation, rack) and a future version with extra trailing fields', () => {
    const v3 = encodeSubscription({
      version: 3,
      topics: ['a', 'b'],
      userData: Buffer.from([1, 2]),
      ownedPartitions: [],
      generationId: 9,
      rackId: 'r1',
    });
    const d = decodeSubscription(v3);
    assert.equal(d.generationId, 9);
    assert.equal(d.rackId, 'r1');
    assert.deepEqual(d.userData, Buffer.from([1, 2]));
    const future = Buffer.concat([v3, Buffer.from([0xde, 0xad])]);
    future.writeInt16BE(5, 0);
    const f = decodeSubscription(future);
    assert.equal(f.version, 5);
    assert.deepEqual(f.topics, ['a', 'b']);
  });

  test('Assignment v0/v1 bytes; an empty assignment buffer means no partitions', () => {
    const a0 = encodeAssignment({ version: 0, assignedPartitions: [{ topic: 't', partitions: [3] }] });
    assert.equal(a0.toString('hex'), ['0000', '00000001', '0001', '74', '00000001', '00000003', 'ffffffff'].join(''));
    assert.deepEqual(decodeAssignment(a0).assignedPartitions, [{ topic: 't', partitions: [3] }]);
    assert.deepEqual(decodeAssignment(Buffer.alloc(0)).assignedPartitions, []);
    assert.throws(() => decodeAssignment(Buffer.from([0, 1, 0, 0])), /malformed consumer protocol assignment/);
  });

  test('toTopicPartitions sorts topics and partitions and drops empty topics', () => {
    assert.deepEqual(
      toTopicPartitions(
        new Map([
          ['b', [2, 0]],
          ['a', [1]],
          ['c', []],
        ]),
      ),
      [
        { topic: 'a', partitions: [1] },
        { topic: 'b', partitions: [0, 2] },
      ],
    );
  });
});
