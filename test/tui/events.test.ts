/** The event log's events: diffs of successive snapshots (pure), built from fixture polls. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSnapshot, type RawPoll } from '../../src/tui/data.js';
import { connectivityEvents, diffSnapshots, MAX_TOPIC_LINES } from '../../src/tui/events.js';
import { raw } from './fixtures.js';

/** Two snapshots one second apart; `change` edits the second poll. */
function diff(change: (r: RawPoll) => void, first: RawPoll = raw()): { texts: string[]; levels: string[] } {
  const a = buildSnapshot(first, null);
  const r = raw({ at: 1_001_000 });
  change(r);
  const events = diffSnapshots(a, buildSnapshot(r, a));
  for (const e of events) assert.equal(e.at, 1_001_000);
  return { texts: events.map((e) => e.text), levels: events.map((e) => e.level) };
}

/** Broker `id` gone: out of metadata, out of every ISR, its partitions led by the next replica. */
function brokerDies(r: RawPoll, id: number): void {
  r.brokers = r.brokers.filter((b) => b.nodeId !== id);
  for (const t of r.topics)
    for (const p of t.partitions) {
      p.isr = p.isr.filter((x) => x !== id);
      if (p.leader === id) p.leader = p.isr[0] ?? -1;
    }
}

describe('kstream top events: diffSnapshots', () => {
  test('the first snapshot: what top connected to', () => {
    const events = diffSnapshots(null, buildSnapshot(raw(), null));
    assert.deepEqual(
      events.map((e) => e.text),
      ['connected to cluster test-cluster: 3 brokers, 2 topics, 4 partitions, 1 group'],
    );
    assert.equal(events[0]!.level, 'info');
  });

  test('nothing changed: no events', () => {
    assert.deepEqual(diff(() => {}).texts, []);
  });

  test('a broker dies: down, its partitions under-replicated with the missing replica, new leaders', () => {
    const { texts, levels } = diff((r) => brokerDies(r, 3));
    assert.deepEqual(texts, [
      'broker 3 DOWN (127.0.0.1:9093)',
      'orders: 3 partitions under-replicated (0,1,2; missing replica 3)',
      'payments: 1 partition under-replicated (0; missing replica 3)',
      'orders: new leader for 1 partition (2: 3→1)',
    ]);
    assert.deepEqual(levels, ['bad', 'warn', 'warn', 'info']);
  });

  test('the broker comes back: up again, partitions fully replicated again', () => {
    const down = raw();
    brokerDies(down, 3);
    const { texts, levels } = diff(() => {}, down);
    assert.deepEqual(texts, [
      'broker 3 up again (127.0.0.1:9093)',
      'orders: 3 partitions fully replicated again (0,1,2)',
      'payments: 1 partition fully replicated again (0)',
      // raw() has broker 3 leading orders-2 again (a preferred leader election)
      'orders: new leader for 1 partition (2: 1→3)',
    ]);
    assert.deepEqual(levels, ['ok', 'ok', 'ok', 'info']);
  });

  /**
   * Issue 21: a controlled shutdown (SIGTERM) of broker 2 on a 3-node kstream cluster, as top polled it: the
   * broker left the metadata and the ISRs, then a poll later one broker answered partition 0's ISR as 1,2,3
   * again, with 2 in offline_replicas. top said "fully replicated again" a second after "broker DOWN". A replica
   * on a down broker, or listed offline, is missing whatever the ISR says.
   */
  test('a controlled shutdown: a replica on a down broker stays missing when an ISR still lists it', () => {
    const poll = (at: number, down: boolean, isr0: number[]): RawPoll => {
      const r = raw({ at });
      r.topics = [
        {
          name: 'o',
          partitions: [0, 1, 2].map((p) => ({
            partition: p,
            leader: down && p === 1 ? 3 : p + 1,
            replicas: [p + 1, ((p + 1) % 3) + 1, ((p + 2) % 3) + 1],
            isr: down ? (p === 0 ? isr0 : [1, 3].includes(p + 1) ? [p + 1, p === 2 ? 1 : 3] : [3, 1]) : [1, 2, 3],
            offlineReplicas: down ? [2] : [],
          })),
        },
      ];
      r.offsets = [0, 1, 2].map((p) => ({ topic: 'o', partition: p, low: 0n, high: 10n }));
      r.groups = [];
      if (down) r.brokers = r.brokers.filter((b) => b.nodeId !== 2);
      return r;
    };
    const a = buildSnapshot(poll(1_000_000, false, []), null);
    const b = buildSnapshot(poll(1_001_000, true, [1, 3]), a);
    assert.deepEqual(
      diffSnapshots(a, b).map((e) => e.text),
      [
        'broker 2 DOWN (127.0.0.1:9092)',
        'o: 3 partitions under-replicated (0,1,2; missing replica 2)',
        'o: new leader for 1 partition (1: 2→3)',
      ],
    );
    const c = buildSnapshot(poll(1_002_000, true, [1, 2, 3]), b);
    assert.deepEqual(
      diffSnapshots(b, c).map((e) => e.text),
      [],
      'not "fully replicated again" while broker 2 is down',
    );
    const p0 = c.topics[0]!.partitions[0]!;
    assert.deepEqual([p0.underReplicated, p0.missing], [true, [2]]);
  });

  test('offline and back online (still under-replicated); controller moves', () => {
    const off = diff((r) => {
      r.topics[1]!.partitions[0]!.leader = -1;
      r.controllerId = 2;
    });
    assert.deepEqual(off.texts, ['controller moved: 1 → 2', 'payments: 1 partition OFFLINE, no leader (0)']);
    assert.deepEqual(off.levels, ['info', 'bad']);
    const offline = raw();
    offline.topics[1]!.partitions[0]!.leader = -1;
    const back = diff((r) => {
      r.topics[1]!.partitions[0]!.isr = [3];
      r.topics[1]!.partitions[0]!.leader = 3;
    }, offline);
    assert.deepEqual(back.texts, ['payments: 1 partition back online, still under-replicated (0; missing replica 2)']);
  });

  test('topics created, grown, deleted', () => {
    const { texts } = diff((r) => {
      r.topics = r.topics.filter((t) => t.name !== 'payments');
      r.topics[0]!.partitions.push({ partition: 3, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3] });
      r.topics.push({ name: 'audit', partitions: [{ partition: 0, leader: 1, replicas: [1, 2], isr: [1, 2] }] });
    });
    assert.deepEqual(texts, [
      'topic audit created (1 partition, RF 2)',
      'topic orders: 3 → 4 partitions',
      'topic payments deleted',
    ]);
  });

  test('groups: state changes, rebalance, a group appearing and going', () => {
    const rebalancing = diff((r) => {
      r.groups[0]!.state = 'PreparingRebalance';
    });
    assert.deepEqual(rebalancing.texts, ['group billing: Stable → PreparingRebalance (rebalancing)']);
    assert.deepEqual(rebalancing.levels, ['warn']);
    const joined = diff((r) => {
      r.groups[0]!.members.push({ clientId: 'billing-2', assignment: null });
    });
    assert.deepEqual(joined.texts, ['group billing rebalanced: 1 → 2 members (Stable)']);
    const emptied = diff((r) => {
      r.groups[0]!.state = 'Empty';
      r.groups[0]!.members = [];
      r.groups.push({ ...r.groups[0]!, groupId: 'audit', state: 'Stable', members: [] });
    });
    assert.deepEqual(emptied.texts, [
      'group audit appeared (Stable, 0 members)',
      'group billing: Stable → Empty, 1 → 0 members',
    ]);
    const gone = diff((r) => {
      r.groups = [];
    });
    assert.deepEqual(gone.texts, ['group billing is gone (was Stable)']);
  });

  test('a group that cannot be described: its error, no state change across it, readable again', () => {
    const a = buildSnapshot(raw(), null);
    const failing = raw({ at: 1_001_000 });
    failing.groups[0]! = { ...failing.groups[0]!, state: '', members: [], error: 'COORDINATOR_NOT_AVAILABLE' };
    const b = buildSnapshot(failing, a);
    assert.deepEqual(
      diffSnapshots(a, b).map((e) => e.text),
      ['group billing: COORDINATOR_NOT_AVAILABLE'],
    );
    const back = raw({ at: 1_002_000 });
    back.groups[0]!.state = 'Empty';
    back.groups[0]!.members = [];
    assert.deepEqual(
      diffSnapshots(b, buildSnapshot(back, b)).map((e) => e.text),
      ['group billing readable again (Empty, 0 members)'],
    );
  });

  test('groups unreadable: said once, groups not reported gone; readable again', () => {
    const a = buildSnapshot(raw(), null);
    const b = buildSnapshot(raw({ at: 1_001_000, groups: [], groupsError: 'NOT_COORDINATOR' }), a);
    assert.deepEqual(
      diffSnapshots(a, b).map((e) => e.text),
      ['consumer groups unreadable: NOT_COORDINATOR'],
    );
    const c = buildSnapshot(raw({ at: 1_002_000 }), b);
    assert.deepEqual(
      diffSnapshots(b, c).map((e) => e.text),
      ['consumer groups readable again'],
    );
  });

  test('many topics hit at once collapse into one line per kind', () => {
    const many = (r: RawPoll) => {
      r.topics = Array.from({ length: MAX_TOPIC_LINES + 2 }, (_, i) => ({
        name: `t${i}`,
        partitions: [0, 1].map((p) => ({ partition: p, leader: 3, replicas: [3, 1], isr: [3, 1] })),
      }));
    };
    const first = raw();
    many(first);
    const { texts } = diff((r) => {
      many(r);
      brokerDies(r, 3);
    }, first);
    assert.deepEqual(texts, [
      'broker 3 DOWN (127.0.0.1:9093)',
      '20 partitions of 10 topics became under-replicated',
      '20 partitions of 10 topics changed leader',
    ]);
  });

  test('long partition lists are cut', () => {
    const wide = (r: RawPoll) => {
      r.topics = [
        {
          name: 'wide',
          partitions: Array.from({ length: 20 }, (_, p) => ({
            partition: p,
            leader: 1,
            replicas: [1, 2],
            isr: [1, 2],
          })),
        },
      ];
    };
    const first = raw();
    wide(first);
    const { texts } = diff((r) => {
      wide(r);
      brokerDies(r, 2);
    }, first);
    assert.deepEqual(texts, [
      'broker 2 DOWN (127.0.0.1:9092)',
      'wide: 20 partitions under-replicated (0,1,2,3,4,5,6,7,… +12; missing replica 2)',
    ]);
  });
});

describe('kstream top events: connectivity', () => {
  test('unreachable once, reachable again once', () => {
    assert.deepEqual(connectivityEvents(null, 'connect ECONNREFUSED', 5), [
      { at: 5, level: 'bad', text: 'cluster unreachable: connect ECONNREFUSED' },
    ]);
    assert.deepEqual(connectivityEvents('a', 'b', 6), []);
    assert.deepEqual(connectivityEvents('a', null, 7), [{ at: 7, level: 'ok', text: 'cluster reachable again' }]);
    assert.deepEqual(connectivityEvents(null, null, 8), []);
  });
});
