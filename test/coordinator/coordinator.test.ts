/**
 * The group coordinator in-process, with an in-memory record store: the join/sync protocol, fencing,
 * static membership, session expiry, offsets, deletion, expiry, and reloading from the written records.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { coordinatorConfig } from '../../src/coordinator/config.js';
import {
  GroupCoordinator,
  type GroupRecord,
  type GroupStore,
  type JoinRequest,
} from '../../src/coordinator/coordinator.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { createLogger } from '../../src/util/logger.js';

const log = createLogger('error');

class MemoryStore implements GroupStore {
  records: GroupRecord[] = [];
  failNext: KafkaError | null = null;
  append(_groupId: string, records: GroupRecord[]): Promise<void> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
    this.records.push(...records);
    return Promise.resolve();
  }
}

function makeCoordinator(props: Record<string, string> = {}, store = new MemoryStore()) {
  const cfg = coordinatorConfig({
    'group.min.session.timeout.ms': '10',
    'group.initial.rebalance.delay.ms': '0',
    ...props,
  });
  return { c: new GroupCoordinator(cfg, store, log), store };
}

/**
 * The coordinator's timers (session, rebalance, initial-delay) run on node:test's mock clock: `advance(ms)`
 * moves time on and lets the promises those timers settle run, so a test takes no real time and cannot pass
 * or fail by the machine's speed.
 */
function mockClock(t: TestContext): (ms: number) => Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return async (ms: number) => {
    await settle();
    t.mock.timers.tick(ms);
    await settle();
  };
}

function joinReq(groupId: string, memberId = '', extra: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('m') }],
    clientId: 'c',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: true,
    ...extra,
  };
}

/** Join with the two-step (v4+) protocol; resolves to the JoinGroup result. */
async function joinNew(c: GroupCoordinator, groupId: string, extra: Partial<JoinRequest> = {}) {
  const first = await c.join(joinReq(groupId, '', extra));
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return first;
  return c.join(joinReq(groupId, first.memberId, extra));
}

describe('group coordinator', () => {
  test('a single member joins (MEMBER_ID_REQUIRED first), syncs and becomes Stable', async () => {
    const { c, store } = makeCoordinator();
    const first = await c.join(joinReq('g1'));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^c-/);
    const j = await c.join(joinReq('g1', first.memberId));
    assert.equal(j.errorCode, 0);
    assert.equal(j.generationId, 1);
    assert.equal(j.leader, first.memberId);
    assert.equal(j.protocolName, 'range');
    assert.deepEqual(
      j.members.map((m) => m.memberId),
      [first.memberId],
    );
    assert.equal(c.describe('g1').state, 'CompletingRebalance');
    const s = await c.sync({
      groupId: 'g1',
      generationId: 1,
      memberId: j.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: j.memberId, assignment: Buffer.from('A') }],
    });
    assert.equal(s.errorCode, 0);
    assert.equal(s.assignment.toString(), 'A');
    assert.equal(c.describe('g1').state, 'Stable');
    assert.equal(c.heartbeat('g1', j.memberId, null, 1), 0);
    assert.equal(store.records.length, 1, 'group metadata written on the leader sync');
    c.stop();
  });

  test('a second member triggers a rebalance; both get the next generation', async (t) => {
    const advance = mockClock(t);
    const { c } = makeCoordinator();
    const joining = joinNew(c, 'g2');
    await advance(0);
    const a = await joining;
    await c.sync({
      groupId: 'g2',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    const bFirst = await c.join(joinReq('g2'));
    const bJoin = c.join(joinReq('g2', bFirst.memberId));
    await advance(0);
    assert.equal(c.describe('g2').state, 'PreparingRebalance');
    assert.equal(c.heartbeat('g2', a.memberId, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const aJoin = c.join(joinReq('g2', a.memberId));
    await advance(0);
    const [ra, rb] = await Promise.all([aJoin, bJoin]);
    assert.equal(ra.generationId, 2);
    assert.equal(rb.generationId, 2);
    assert.equal(ra.leader, rb.leader);
    const leader = ra.leader === ra.memberId ? ra : rb;
    const follower = leader === ra ? rb : ra;
    assert.equal(leader.members.length, 2);
    assert.equal(follower.members.length, 0);
    // The follower syncs first and waits for the leader's assignment.
    const fs = c.sync({
      groupId: 'g2',
      generationId: 2,
      memberId: follower.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    const ls = await c.sync({
      groupId: 'g2',
      generationId: 2,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [
        { memberId: leader.memberId, assignment: Buffer.from('L') },
        { memberId: follower.memberId, assignment: Buffer.from('F') },
      ],
    });
    assert.equal(ls.assignment.toString(), 'L');
    assert.equal((await fs).assignment.toString(), 'F');
    // Generation fencing.
    assert.equal(c.heartbeat('g2', follower.memberId, null, 1), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(c.heartbeat('g2', 'nobody', null, 2), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(c.heartbeat('nogroup', 'nobody', null, 2), ErrorCode.UNKNOWN_MEMBER_ID);
    const stale = await c.sync({
      groupId: 'g2',
      generationId: 1,
      memberId: follower.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(stale.errorCode, ErrorCode.ILLEGAL_GENERATION);
    const wrongProto = await c.sync({
      groupId: 'g2',
      generationId: 2,
      memberId: follower.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignments: [],
    });
    assert.equal(wrongProto.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    c.stop();
  });

  test('bad joins: empty group id, session timeout out of range, inconsistent protocols, unknown member', async () => {
    const { c } = makeCoordinator({ 'group.min.session.timeout.ms': '6000' });
    assert.equal((await c.join(joinReq(''))).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(
      (await c.join(joinReq('g', '', { sessionTimeoutMs: 100 }))).errorCode,
      ErrorCode.INVALID_SESSION_TIMEOUT,
    );
    assert.equal((await c.join(joinReq('g', '', { protocols: [] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await c.join(joinReq('g', 'made-up'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(c.list([]).length, 0, 'failed joins leave no group behind');
    const a = await joinNew(c, 'g');
    assert.equal(a.errorCode, 0);
    const other = await c.join(joinReq('g', '', { protocols: [{ name: 'other', metadata: Buffer.alloc(0) }] }));
    assert.equal(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await c.join(joinReq('g', '', { protocolType: 'connect' }));
    assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await c.join(joinReq('g', 'made-up'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    c.stop();
  });

  test('a member that stops heartbeating is removed after its session timeout; the group rebalances', async (t) => {
    const advance = mockClock(t);
    const { c } = makeCoordinator();
    const joining = joinNew(c, 'g3', { sessionTimeoutMs: 300 });
    await advance(0);
    const a = await joining;
    await c.sync({
      groupId: 'g3',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(c.describe('g3').members.length, 1);
    await advance(150);
    assert.equal(c.heartbeat('g3', a.memberId, null, 1), 0);
    await advance(299);
    assert.equal(c.describe('g3').members.length, 1, 'heartbeat kept it alive (299 ms after it)');
    await advance(1);
    const d = c.describe('g3');
    assert.equal(d.members.length, 0);
    assert.equal(d.state, 'Empty');
    assert.equal(c.heartbeat('g3', a.memberId, null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
    c.stop();
  });

  test('a member that does not rejoin during a rebalance is dropped at the rebalance timeout', async (t) => {
    const advance = mockClock(t);
    const { c } = makeCoordinator();
    const joining = joinNew(c, 'g4', { rebalanceTimeoutMs: 300 });
    await advance(0);
    const a = await joining;
    await c.sync({
      groupId: 'g4',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    let b: Awaited<ReturnType<typeof joinNew>> | null = null;
    const bJoin = joinNew(c, 'g4', { rebalanceTimeoutMs: 300 }).then((r) => {
      b = r;
      return r;
    });
    await advance(299);
    assert.equal(b, null, 'still waiting for the first member 299 ms into the rebalance');
    assert.equal(c.describe('g4').state, 'PreparingRebalance');
    await advance(1);
    b = await bJoin;
    assert.equal(b.errorCode, 0);
    assert.equal(b.generationId, 2);
    assert.equal(b.leader, b.memberId);
    assert.deepEqual(
      b.members.map((m) => m.memberId),
      [b.memberId],
    );
    c.stop();
  });

  test('LeaveGroup (batch) removes members and rebalances the rest', async () => {
    const { c } = makeCoordinator();
    const [a, b] = await Promise.all([joinNew(c, 'g5'), joinNew(c, 'g5')]);
    assert.equal(a.generationId, b.generationId);
    const r = c.leave('g5', [
      { memberId: a.memberId, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null },
    ]);
    assert.deepEqual(
      r.members.map((m) => m.errorCode),
      [0, ErrorCode.UNKNOWN_MEMBER_ID],
    );
    assert.equal(c.describe('g5').state, 'PreparingRebalance');
    const again = await c.join(joinReq('g5', b.memberId));
    assert.equal(again.generationId, a.generationId + 1);
    assert.equal(
      c.leave('nope', [{ memberId: 'x', groupInstanceId: null }]).members[0]?.errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    c.stop();
  });

  test('static membership: a restarted instance takes over without a rebalance; the old id is fenced', async () => {
    const { c } = makeCoordinator();
    const a = await c.join(joinReq('g6', '', { groupInstanceId: 'inst-1' }));
    assert.equal(a.errorCode, 0, 'static members do not need MEMBER_ID_REQUIRED');
    await c.sync({
      groupId: 'g6',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: 'inst-1',
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: a.memberId, assignment: Buffer.from('X') }],
    });
    const a2 = await c.join(joinReq('g6', '', { groupInstanceId: 'inst-1' }));
    assert.equal(a2.errorCode, 0);
    assert.notEqual(a2.memberId, a.memberId);
    assert.equal(a2.generationId, 1, 'no rebalance');
    assert.equal(c.describe('g6').state, 'Stable');
    assert.equal(c.heartbeat('g6', a.memberId, 'inst-1', 1), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(c.heartbeat('g6', a2.memberId, 'inst-1', 1), 0);
    const s = await c.sync({
      groupId: 'g6',
      generationId: 1,
      memberId: a2.memberId,
      groupInstanceId: 'inst-1',
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(s.assignment.toString(), 'X', 'keeps the assignment');
    assert.equal(await c.commitOffsets('g6', 1, a.memberId, 'inst-1', []), ErrorCode.FENCED_INSTANCE_ID);
    const lv = c.leave('g6', [{ memberId: a.memberId, groupInstanceId: 'inst-1' }]);
    assert.equal(lv.members[0]?.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const lv2 = c.leave('g6', [{ memberId: '', groupInstanceId: 'inst-1' }]);
    assert.equal(lv2.members[0]?.errorCode, 0);
    assert.equal(c.describe('g6').state, 'PreparingRebalance');
    c.stop();
  });

  test('offset commits: generation and member checks, simple (generation -1) commits, fetch', async () => {
    const { c } = makeCoordinator();
    const o = (topic: string, partition: number, offset: bigint) => ({
      topic,
      partition,
      offset,
      leaderEpoch: 3,
      metadata: 'md',
    });
    assert.equal(await c.commitOffsets('simple', -1, '', null, [o('t', 0, 5n)]), 0);
    assert.equal(await c.commitOffsets('nogroup', 4, 'm', null, [o('t', 0, 5n)]), ErrorCode.ILLEGAL_GENERATION);
    const a = await joinNew(c, 'g7');
    assert.equal(await c.commitOffsets('g7', 1, a.memberId, null, [o('t', 0, 5n)]), ErrorCode.REBALANCE_IN_PROGRESS);
    await c.sync({
      groupId: 'g7',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(await c.commitOffsets('g7', 1, a.memberId, null, [o('t', 0, 5n), o('t', 1, 7n)]), 0);
    assert.equal(await c.commitOffsets('g7', 0, a.memberId, null, [o('t', 0, 6n)]), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(await c.commitOffsets('g7', 1, 'ghost', null, [o('t', 0, 6n)]), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await c.commitOffsets('g7', -1, '', null, [o('t', 0, 6n)]), ErrorCode.UNKNOWN_MEMBER_ID);
    const all = c.fetchOffsets('g7', null);
    assert.deepEqual(all.topics, [
      {
        name: 't',
        partitions: [
          { partition: 0, offset: 5n, leaderEpoch: 3, metadata: 'md', errorCode: 0 },
          { partition: 1, offset: 7n, leaderEpoch: 3, metadata: 'md', errorCode: 0 },
        ],
      },
    ]);
    const some = c.fetchOffsets('g7', [{ name: 't', partitions: [1, 9] }]);
    assert.deepEqual(
      some.topics[0]?.partitions.map((p) => p.offset),
      [7n, -1n],
    );
    assert.deepEqual(c.fetchOffsets('unknown', [{ name: 't', partitions: [0] }]).topics[0]?.partitions[0]?.offset, -1n);
    c.stop();
  });

  test('a failed write is reported and leaves the cache unchanged', async () => {
    const { c, store } = makeCoordinator();
    store.failNext = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, 'disk');
    const code = await c.commitOffsets('s', -1, '', null, [
      { topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' },
    ]);
    assert.equal(code, ErrorCode.NOT_COORDINATOR);
    assert.equal(c.fetchOffsets('s', null).topics.length, 0);
    c.stop();
  });

  test('OffsetFetch answers a commit only once its write is durable; a write that fails or loses to a later one never shows', async () => {
    // A store whose writes are durable when the test says: the replication of __consumer_offsets to the ISR.
    class HeldStore implements GroupStore {
      held: { resolve: () => void; reject: (e: Error) => void }[] = [];
      append(): Promise<void> {
        return new Promise((resolve, reject) => this.held.push({ resolve, reject }));
      }
    }
    const store = new HeldStore();
    const c = new GroupCoordinator(coordinatorConfig({}), store, log);
    const o = (offset: bigint) => [{ topic: 't', partition: 0, offset, leaderEpoch: -1, metadata: '' }];
    const fetched = () => c.fetchOffsets('s', [{ name: 't', partitions: [0] }]).topics[0]?.partitions[0]?.offset;
    const settle = async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };

    const first = c.commitOffsets('s', -1, '', null, o(5n));
    await settle();
    assert.equal(fetched(), -1n, 'not durable yet: not committed (the coordinator could lose it with its leadership)');
    store.held.shift()?.resolve();
    assert.equal(await first, 0);
    assert.equal(fetched(), 5n);

    // The write is in the leader's log but never reaches the ISR: the leader lost its leadership (a partition).
    const lost = c.commitOffsets('s', -1, '', null, o(9n));
    await settle();
    assert.equal(fetched(), 5n, 'a pending commit is not answered');
    store.held.shift()?.reject(new KafkaError(ErrorCode.NOT_COORDINATOR, 'no longer the leader'));
    assert.notEqual(await lost, ErrorCode.NONE, 'the commit is answered with an error');
    assert.equal(fetched(), 5n, 'a failed commit never shows');

    // Two commits in flight, the later one durable first: the earlier one's late success does not win.
    const a = c.commitOffsets('s', -1, '', null, o(12n));
    const b = c.commitOffsets('s', -1, '', null, o(15n));
    await settle();
    const [wa, wb] = [store.held.shift(), store.held.shift()];
    wb?.resolve();
    assert.equal(await b, 0);
    assert.equal(fetched(), 15n);
    wa?.resolve();
    assert.equal(await a, 0);
    assert.equal(fetched(), 15n, 'the later commit stays');
    c.stop();
  });

  test('DeleteGroups and OffsetDelete', async () => {
    const { c, store } = makeCoordinator();
    const o = { topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' };
    await c.commitOffsets('empty', -1, '', null, [o, { ...o, partition: 1 }]);
    const a = await joinNew(c, 'busy');
    const r = await c.deleteGroups(['empty', 'busy', 'missing']);
    assert.deepEqual(
      r.map((x) => x.errorCode),
      [0, ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND],
    );
    assert.equal(c.fetchOffsets('empty', null).topics.length, 0);
    const tombstones = store.records.filter((x) => x.value === null);
    assert.equal(tombstones.length, 3, 'two offsets and the group');
    assert.ok(c.list([]).every((g) => g.groupId !== 'empty'));
    // OffsetDelete on a live consumer group: subscribed topics are refused.
    const sub = Buffer.alloc(2 + 4 + 2 + 1 + 4);
    sub.writeInt16BE(0, 0);
    sub.writeInt32BE(1, 2);
    sub.writeInt16BE(1, 6);
    sub.write('t', 8);
    sub.writeInt32BE(-1, 9);
    const { c: c2 } = makeCoordinator();
    const m = await joinNew(c2, 'live', { protocols: [{ name: 'range', metadata: sub }] });
    await c2.sync({
      groupId: 'live',
      generationId: 1,
      memberId: m.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    await c2.commitOffsets('live', 1, m.memberId, null, [o, { ...o, topic: 'u' }]);
    const d = await c2.deleteOffsets('live', [
      { name: 't', partitions: [0] },
      { name: 'u', partitions: [0] },
    ]);
    assert.deepEqual(d, {
      errorCode: 0,
      topics: [
        { name: 't', partitions: [{ partition: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }] },
        { name: 'u', partitions: [{ partition: 0, errorCode: 0 }] },
      ],
    });
    assert.equal(c2.fetchOffsets('live', null).topics.length, 1);
    assert.equal((await c2.deleteOffsets('nope', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    void a;
    c.stop();
    c2.stop();
  });

  test('ListGroups filters by state, DescribeGroups shows members and assignments when Stable', async () => {
    const { c } = makeCoordinator();
    await c.commitOffsets('simple', -1, '', null, [
      { topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' },
    ]);
    const a = await joinNew(c, 'g8');
    await c.sync({
      groupId: 'g8',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: a.memberId, assignment: Buffer.from('Z') }],
    });
    assert.deepEqual(
      c.list([]).map((g) => [g.groupId, g.protocolType, g.state]),
      [
        ['simple', '', 'Empty'],
        ['g8', 'consumer', 'Stable'],
      ],
    );
    assert.deepEqual(
      c.list(['stable']).map((g) => g.groupId),
      ['g8'],
    );
    const d = c.describe('g8');
    assert.equal(d.protocolData, 'range');
    assert.equal(d.members[0]?.assignment.toString(), 'Z');
    assert.equal(d.members[0]?.metadata.toString(), 'm');
    assert.equal(c.describe('none').state, 'Dead');
    c.stop();
  });

  test('offsets of a group empty for offsets.retention.minutes expire; the group is then removed', async () => {
    const { c, store } = makeCoordinator({ 'offsets.retention.minutes': '1' });
    const o = { topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' };
    await c.commitOffsets('old', -1, '', null, [o]);
    await c.expireOffsets(Date.now() + 30_000);
    assert.equal(c.fetchOffsets('old', null).topics.length, 1, 'not yet');
    await c.expireOffsets(Date.now() + 61_000);
    assert.equal(c.fetchOffsets('old', null).topics.length, 0);
    assert.equal(c.list([]).length, 0);
    assert.equal(store.records.filter((r) => r.value === null).length, 2);
    c.stop();
  });

  test('a new coordinator loaded from the written records has the same groups and offsets', async () => {
    const { c, store } = makeCoordinator();
    const a = await joinNew(c, 'persist', { sessionTimeoutMs: 5000 });
    await c.sync({
      groupId: 'persist',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: a.memberId, assignment: Buffer.from('P') }],
    });
    await c.commitOffsets('persist', 1, a.memberId, null, [
      { topic: 't', partition: 2, offset: 42n, leaderEpoch: 1, metadata: 'x' },
    ]);
    await c.commitOffsets('gone', -1, '', null, [
      { topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '' },
    ]);
    await c.deleteGroups(['gone']);
    await c.commitOffsets('simple', -1, '', null, [
      { topic: 't', partition: 0, offset: 9n, leaderEpoch: -1, metadata: '' },
    ]);
    c.stop();
    const { c: c2 } = makeCoordinator();
    for (const r of store.records) c2.loadRecord(r.key, r.value);
    c2.loadRecord(Buffer.from([0, 9, 1]), Buffer.from('junk'));
    const stats = c2.finishLoad();
    assert.equal(stats.skipped, 1);
    assert.deepEqual(
      c2.list([]).map((g) => [g.groupId, g.state]),
      [
        ['persist', 'Stable'],
        ['simple', 'Empty'],
      ],
    );
    assert.equal(c2.fetchOffsets('persist', null).topics[0]?.partitions[0]?.offset, 42n);
    assert.equal(c2.fetchOffsets('simple', null).topics[0]?.partitions[0]?.offset, 9n);
    // The member carries on with its generation after the "restart".
    assert.equal(c2.heartbeat('persist', a.memberId, null, 1), 0);
    const s = await c2.sync({
      groupId: 'persist',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(s.assignment.toString(), 'P');
    c2.stop();
  });

  test('stop() answers waiting joins', async (t) => {
    const advance = mockClock(t);
    const { c } = makeCoordinator({ 'group.initial.rebalance.delay.ms': '10000' });
    const p = joinNew(c, 'w');
    await advance(9_999);
    assert.equal(c.describe('w').state, 'PreparingRebalance', 'the join waits for the initial delay');
    c.stop();
    assert.equal((await p).errorCode, ErrorCode.NOT_COORDINATOR);
  });
});
