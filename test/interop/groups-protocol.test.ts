/**
 * The group and offset APIs on the wire, every advertised version, against a real `kstream serve`, with bad
 * input: commits for unknown topics/partitions, stale generations, oversized metadata, unknown members,
 * fenced static members. Afterwards the broker restarts and every offset committed is still there, and
 * nothing in `__consumer_offsets` failed to load.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { type GroupBroker, startGroupBroker } from './groups-helpers.js';

let gb: GroupBroker;
let c: RawClient;
const TOPIC = 'wire-t';

const protocols = [
  { name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 1, 0, 6, ...Buffer.from(TOPIC), 0, 0, 0, 0]) },
];

async function join(version: number, groupId: string, extra: Struct = {}): Promise<Struct> {
  const body = {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols,
    reason: null,
    ...extra,
  };
  let r = await c.request(ApiKey.JoinGroup, version, body);
  if (r.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
    r = await c.request(ApiKey.JoinGroup, version, { ...body, memberId: r.memberId });
  }
  return r;
}

async function sync(version: number, groupId: string, generationId: number, memberId: string, extra: Struct = {}) {
  return c.request(ApiKey.SyncGroup, version, {
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    protocolType: version >= 5 ? 'consumer' : null,
    protocolName: version >= 5 ? 'range' : null,
    assignments: [{ memberId, assignment: Buffer.from('assigned') }],
    ...extra,
  });
}

function commitBody(groupId: string, generationId: number, memberId: string, parts: Struct[], topic = TOPIC): Struct {
  return {
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{ name: topic, partitions: parts }],
  };
}

const part = (partitionIndex: number, committedOffset: bigint, committedMetadata: string | null = 'md') => ({
  partitionIndex,
  committedOffset,
  committedLeaderEpoch: 5,
  commitTimestamp: -1n,
  committedMetadata,
});

describe('group and offset APIs on the wire', () => {
  before(async () => {
    gb = await startGroupBroker({ 'group.initial.rebalance.delay.ms': '0' });
    c = await RawClient.connect(gb.broker.port);
    const created = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: TOPIC, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(created.topics[0].errorCode, 0);
  });
  after(async () => {
    c?.close();
    await gb?.cleanup();
  });

  test('ApiVersions advertises the group and offset APIs', async () => {
    const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const v = new Map((r.apiKeys as Struct[]).map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
    assert.deepEqual(v.get(ApiKey.OffsetCommit), [0, 8]);
    assert.deepEqual(v.get(ApiKey.OffsetFetch), [0, 8]);
    assert.deepEqual(v.get(ApiKey.FindCoordinator), [0, 4]);
    assert.deepEqual(v.get(ApiKey.JoinGroup), [0, 9]);
    assert.deepEqual(v.get(ApiKey.Heartbeat), [0, 4]);
    assert.deepEqual(v.get(ApiKey.LeaveGroup), [0, 5]);
    assert.deepEqual(v.get(ApiKey.SyncGroup), [0, 5]);
    assert.deepEqual(v.get(ApiKey.DescribeGroups), [0, 5]);
    assert.deepEqual(v.get(ApiKey.ListGroups), [0, 4]);
    assert.deepEqual(v.get(ApiKey.DeleteGroups), [0, 2]);
    assert.deepEqual(v.get(ApiKey.OffsetDelete), [0, 0]);
  });

  test('FindCoordinator v0-4 names this broker (v4 batched); transactions are refused', async () => {
    for (let v = 0; v <= 3; v++) {
      const r = await c.request(ApiKey.FindCoordinator, v, { key: 'g', keyType: 0 });
      assert.equal(r.errorCode, 0);
      assert.equal(r.nodeId, 1);
      assert.equal(r.port, gb.broker.port);
    }
    const r4 = await c.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    assert.deepEqual(
      (r4.coordinators as Struct[]).map((x) => [x.key, x.nodeId, x.port, x.errorCode]),
      [
        ['a', 1, gb.broker.port, 0],
        ['b', 1, gb.broker.port, 0],
      ],
    );
    // Transactional ids (key type 1) are coordinated by this node too (issue 17; test/txn).
    const tx = await c.request(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx'] });
    assert.deepEqual(
      [tx.coordinators[0].errorCode, tx.coordinators[0].nodeId, tx.coordinators[0].port],
      [0, 1, gb.broker.port],
    );
  });

  test('JoinGroup v0-9 / SyncGroup / Heartbeat / LeaveGroup: one group per version', async () => {
    for (let v = 0; v <= 9; v++) {
      const group = `wire-g${v}`;
      if (v >= 4) {
        const first = await c.request(ApiKey.JoinGroup, v, {
          groupId: group,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId: '',
          protocolType: 'consumer',
          protocols,
        });
        assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `v${v} requires a member id`);
        assert.notEqual(first.memberId, '');
      }
      const j = await join(v, group);
      assert.equal(j.errorCode, 0, `JoinGroup v${v}`);
      assert.equal(j.generationId, 1);
      assert.equal(j.leader, j.memberId);
      assert.equal(j.protocolName, 'range');
      assert.equal(j.members.length, 1);
      const sv = Math.min(v, 5);
      const s = await sync(sv, group, 1, j.memberId);
      assert.equal(s.errorCode, 0, `SyncGroup v${sv}`);
      assert.equal(s.assignment.toString(), 'assigned');
      const hv = Math.min(v, 4);
      const h = await c.request(ApiKey.Heartbeat, hv, {
        groupId: group,
        generationId: 1,
        memberId: j.memberId,
        groupInstanceId: null,
      });
      assert.equal(h.errorCode, 0, `Heartbeat v${hv}`);
      const lv = Math.min(v, 5);
      const l =
        lv < 3
          ? await c.request(ApiKey.LeaveGroup, lv, { groupId: group, memberId: j.memberId })
          : await c.request(ApiKey.LeaveGroup, lv, {
              groupId: group,
              members: [
                { memberId: j.memberId, groupInstanceId: null, reason: 'bye' },
                { memberId: 'stranger', groupInstanceId: null, reason: null },
              ],
            });
      assert.equal(l.errorCode, 0, `LeaveGroup v${lv}`);
      if (lv >= 3) {
        assert.deepEqual(
          (l.members as Struct[]).map((m) => m.errorCode),
          [0, ErrorCode.UNKNOWN_MEMBER_ID],
        );
      }
    }
  });

  test('unknown members, stale generations and fenced static members get the right errors', async () => {
    const g = 'wire-fence';
    const j = await join(5, g);
    await sync(5, g, 1, j.memberId);
    const hb = (memberId: string, generationId: number, groupInstanceId: string | null = null) =>
      c.request(ApiKey.Heartbeat, 4, { groupId: g, generationId, memberId, groupInstanceId });
    assert.equal((await hb('nobody', 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await hb(j.memberId, 0)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(5, g, 7, j.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(5, g, 1, 'nobody')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(
      (await sync(5, g, 1, j.memberId, { protocolName: 'roundrobin' })).errorCode,
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    assert.equal((await join(5, g, { memberId: 'made-up' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await join(5, 'wire-x', { sessionTimeoutMs: 10 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await join(5, '', {})).errorCode, ErrorCode.INVALID_GROUP_ID);
    // Static membership: a second JoinGroup with the same instance id fences the first member id.
    const gs = 'wire-static';
    const s1 = await join(5, gs, { groupInstanceId: 'i-1' });
    assert.equal(s1.errorCode, 0);
    await sync(5, gs, 1, s1.memberId, { groupInstanceId: 'i-1' });
    const s2 = await join(5, gs, { groupInstanceId: 'i-1' });
    assert.equal(s2.errorCode, 0);
    assert.equal(s2.generationId, 1, 'no rebalance for a returning static member');
    const fenced = await c.request(ApiKey.Heartbeat, 4, {
      groupId: gs,
      generationId: 1,
      memberId: s1.memberId,
      groupInstanceId: 'i-1',
    });
    assert.equal(fenced.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const commit = await c.request(ApiKey.OffsetCommit, 8, {
      ...commitBody(gs, 1, s1.memberId, [part(0, 1n)]),
      groupInstanceId: 'i-1',
    });
    assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  test('OffsetCommit v0-8 / OffsetFetch v0-8: bad input gets per-partition errors; good commits are stored', async () => {
    const g = 'wire-commit';
    const j = await join(5, g);
    await sync(5, g, 1, j.memberId);
    for (let v = 0; v <= 8; v++) {
      const gen = v === 0 ? -1 : 1;
      const member = v === 0 ? '' : j.memberId;
      const group = v === 0 ? 'wire-simple' : g;
      const r = await c.request(
        ApiKey.OffsetCommit,
        v,
        commitBody(group, gen, member, [
          part(0, BigInt(100 + v)),
          part(1, 50n, 'x'.repeat(4097)),
          part(2, 7n, 'y'.repeat(4096)),
          part(9, 1n),
        ]),
      );
      assert.deepEqual(
        (r.topics[0].partitions as Struct[]).map((p) => p.errorCode),
        [0, ErrorCode.OFFSET_METADATA_TOO_LARGE, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        `OffsetCommit v${v}`,
      );
      const unknown = await c.request(
        ApiKey.OffsetCommit,
        v,
        commitBody(group, gen, member, [part(0, 1n)], 'no-such-topic'),
      );
      assert.equal(unknown.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (v >= 1) {
        const stale = await c.request(ApiKey.OffsetCommit, v, commitBody(g, 0, j.memberId, [part(0, 1n)]));
        assert.equal(stale.topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION, `stale commit v${v}`);
        const who = await c.request(ApiKey.OffsetCommit, v, commitBody(g, 1, 'nobody', [part(0, 1n)]));
        assert.equal(who.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
        const noGroup = await c.request(ApiKey.OffsetCommit, v, commitBody('wire-none', 3, 'm', [part(0, 1n)]));
        assert.equal(noGroup.topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
      }
    }
    for (let v = 0; v <= 7; v++) {
      const r = await c.request(ApiKey.OffsetFetch, v, {
        groupId: g,
        topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }],
        requireStable: false,
      });
      const ps = r.topics[0].partitions as Struct[];
      assert.deepEqual(
        ps.map((p) => p.committedOffset),
        [108n, -1n, 7n],
        `OffsetFetch v${v}`,
      );
      assert.equal(ps[0].metadata, 'md');
      if (v >= 5) assert.equal(ps[0].committedLeaderEpoch, 5);
      if (v >= 2) {
        const all = await c.request(ApiKey.OffsetFetch, v, { groupId: g, topics: null, requireStable: false });
        assert.deepEqual(
          (all.topics[0].partitions as Struct[]).map((p) => [p.partitionIndex, p.committedOffset]),
          [
            [0, 108n],
            [2, 7n],
          ],
        );
      }
    }
    const multi = await c.request(ApiKey.OffsetFetch, 8, {
      groups: [
        { groupId: g, topics: [{ name: TOPIC, partitionIndexes: [0] }] },
        { groupId: 'wire-simple', topics: null },
        { groupId: 'never', topics: [{ name: TOPIC, partitionIndexes: [0] }] },
      ],
      requireStable: true,
    });
    assert.deepEqual(
      (multi.groups as Struct[]).map((x) => [x.groupId, x.errorCode, x.topics[0]?.partitions[0]?.committedOffset]),
      [
        [g, 0, 108n],
        ['wire-simple', 0, 100n],
        ['never', 0, -1n],
      ],
    );
  });

  test('DescribeGroups v0-5, ListGroups v0-4 (state filter), OffsetDelete, DeleteGroups v0-2', async () => {
    const g = 'wire-commit';
    for (let v = 0; v <= 5; v++) {
      const r = await c.request(ApiKey.DescribeGroups, v, { groups: [g, 'never'], includeAuthorizedOperations: true });
      const [d, none] = r.groups as Struct[];
      assert.equal(d.groupState, 'Stable');
      assert.equal(d.protocolType, 'consumer');
      assert.equal(d.protocolData, 'range');
      assert.equal(d.members.length, 1);
      assert.equal(d.members[0].memberAssignment.toString(), 'assigned');
      assert.equal(d.members[0].clientHost, '/127.0.0.1');
      assert.equal(none.groupState, 'Dead');
    }
    for (let v = 0; v <= 4; v++) {
      const r = await c.request(ApiKey.ListGroups, v, { statesFilter: v >= 4 ? ['Empty'] : [] });
      const ids = (r.groups as Struct[]).map((x) => x.groupId);
      assert.ok(ids.includes('wire-simple'));
      if (v >= 4) assert.ok(!ids.includes(g), 'filtered by state');
      else assert.ok(ids.includes(g));
    }
    // OffsetDelete: subscribed topics of a live group are refused; unknown partitions flagged.
    const od = await c.request(ApiKey.OffsetDelete, 0, {
      groupId: g,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }, { partitionIndex: 9 }] }],
    });
    assert.equal(od.errorCode, 0);
    assert.deepEqual(
      (od.topics[0].partitions as Struct[]).map((p) => [p.partitionIndex, p.errorCode]),
      [
        [0, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
        [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    const odMissing = await c.request(ApiKey.OffsetDelete, 0, { groupId: 'never', topics: [] });
    assert.equal(odMissing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    await c.request(ApiKey.OffsetCommit, 2, commitBody('wire-del', -1, '', [part(0, 3n), part(1, 4n)]));
    const odOk = await c.request(ApiKey.OffsetDelete, 0, {
      groupId: 'wire-del',
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }],
    });
    assert.equal(odOk.topics[0].partitions[0].errorCode, 0);
    const left = await c.request(ApiKey.OffsetFetch, 6, { groupId: 'wire-del', topics: null });
    assert.deepEqual(
      (left.topics[0].partitions as Struct[]).map((p) => p.partitionIndex),
      [1],
    );
    for (let v = 0; v <= 2; v++) {
      const name = `wire-dg${v}`;
      await c.request(ApiKey.OffsetCommit, 2, commitBody(name, -1, '', [part(0, 3n)]));
      const r = await c.request(ApiKey.DeleteGroups, v, { groupsNames: [name, g, 'never'] });
      assert.deepEqual(
        (r.results as Struct[]).map((x) => x.errorCode),
        [0, ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND],
        `DeleteGroups v${v}`,
      );
    }
  });

  test('after a restart every committed offset is back and __consumer_offsets loaded without skipped records', async () => {
    c.close();
    assert.equal(await gb.broker.stop(), 0);
    await gb.restart();
    c = await RawClient.connect(gb.broker.port);
    const r = await c.request(ApiKey.OffsetFetch, 8, {
      groups: [
        { groupId: 'wire-commit', topics: null },
        { groupId: 'wire-simple', topics: null },
        { groupId: 'wire-del', topics: null },
        { groupId: 'wire-dg0', topics: null },
      ],
      requireStable: false,
    });
    const got = (r.groups as Struct[]).map((x) => [
      x.groupId,
      (x.topics as Struct[]).flatMap((t) =>
        (t.partitions as Struct[]).map((p) => [p.partitionIndex, p.committedOffset]),
      ),
    ]);
    assert.deepEqual(got, [
      [
        'wire-commit',
        [
          [0, 108n],
          [2, 7n],
        ],
      ],
      [
        'wire-simple',
        [
          [0, 100n],
          [2, 7n],
        ],
      ],
      ['wire-del', [[1, 4n]]],
      ['wire-dg0', []],
    ]);
    assert.match(gb.broker.logs(), /loaded consumer groups from __consumer_offsets .*skipped=0/);
    // The Stable group came back with its member and generation.
    const d = await c.request(ApiKey.DescribeGroups, 5, {
      groups: ['wire-commit'],
      includeAuthorizedOperations: false,
    });
    assert.equal(d.groups[0].groupState, 'Stable');
    assert.equal(d.groups[0].members.length, 1);
  });

  test('deleting a topic removes the committed offsets of every group for it, durably; a new topic of that name starts clean', async () => {
    const create = (name: string) =>
      c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 10_000,
        validateOnly: false,
      });
    assert.equal((await create('gone')).topics[0].errorCode, 0);
    await c.request(ApiKey.OffsetCommit, 2, commitBody('wire-gone', -1, '', [part(0, 5n), part(1, 6n)], 'gone'));
    await c.request(ApiKey.OffsetCommit, 2, commitBody('wire-mixed', -1, '', [part(0, 9n)], 'gone'));
    await c.request(ApiKey.OffsetCommit, 2, commitBody('wire-mixed', -1, '', [part(1, 11n)]));
    const del = await c.request(ApiKey.DeleteTopics, 4, { topicNames: ['gone'], timeoutMs: 5000 });
    assert.equal(del.responses[0].errorCode, 0);
    const offsets = async () => {
      const r = await c.request(ApiKey.OffsetFetch, 8, {
        groups: [
          { groupId: 'wire-gone', topics: null },
          { groupId: 'wire-mixed', topics: null },
        ],
        requireStable: false,
      });
      return (r.groups as Struct[]).map((x) => [
        x.groupId,
        (x.topics as Struct[]).flatMap((t) =>
          (t.partitions as Struct[]).map((p) => [t.name, p.partitionIndex, p.committedOffset]),
        ),
      ]);
    };
    const expected = [
      ['wire-gone', []],
      ['wire-mixed', [[TOPIC, 1, 11n]]],
    ];
    assert.deepEqual(await offsets(), expected);
    // The group with nothing left is gone too; the other stays.
    const listed = (await c.request(ApiKey.ListGroups, 4, { statesFilter: [] })).groups as Struct[];
    assert.ok(!listed.some((x) => x.groupId === 'wire-gone'));
    assert.ok(listed.some((x) => x.groupId === 'wire-mixed'));
    // Same name again: no stale position.
    assert.equal((await create('gone')).topics[0].errorCode, 0);
    const fresh = await c.request(ApiKey.OffsetFetch, 7, {
      groupId: 'wire-mixed',
      topics: [{ name: 'gone', partitionIndexes: [0] }],
      requireStable: false,
    });
    assert.equal(fresh.topics[0].partitions[0].committedOffset, -1n);
    // The removal was written (tombstones), not only forgotten in memory.
    c.close();
    assert.equal(await gb.broker.stop(), 0);
    await gb.restart();
    c = await RawClient.connect(gb.broker.port);
    assert.deepEqual(await offsets(), expected);
  });
});
