import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { offsetKeyOf } from '../../src/coordinator/group.js';
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  groupKey,
  groupValue,
  javaStringHash,
  offsetKey,
  offsetValue,
  partitionFor,
} from '../../src/coordinator/records.js';
import {
  canTransition,
  GroupState,
  IllegalStateTransition,
  parseGroupState,
  transition,
} from '../../src/coordinator/state.js';

describe('group state machine', () => {
  test("the transition table allows exactly Kafka's moves", () => {
    const S = GroupState;
    const allowed = [
      [S.Empty, S.PreparingRebalance],
      [S.PreparingRebalance, S.CompletingRebalance],
      [S.PreparingRebalance, S.Empty],
      [S.CompletingRebalance, S.Stable],
      [S.CompletingRebalance, S.PreparingRebalance],
      [S.Stable, S.PreparingRebalance],
    ];
    const all = Object.values(S);
    for (const from of all) {
      for (const to of all) {
        const expect = to === S.Dead || allowed.some(([a, b]) => a === from && b === to);
        assert.equal(canTransition(from, to), expect, `${from} -> ${to}`);
      }
    }
    assert.throws(() => transition('g', S.Empty, S.Stable), IllegalStateTransition);
    assert.throws(() => transition('g', S.Dead, S.Empty), IllegalStateTransition);
  });

  test('state names parse case-insensitively', () => {
    assert.equal(parseGroupState('stable'), GroupState.Stable);
    assert.equal(parseGroupState('COMPLETINGREBALANCE'), GroupState.CompletingRebalance);
    assert.equal(parseGroupState('AwaitingSync'), GroupState.CompletingRebalance);
    assert.equal(parseGroupState('nope'), null);
  });
});

describe('__consumer_offsets record formats', () => {
  test("offset commit key v1 / value v3 bytes match Kafka's layout", () => {
    const k = offsetKey('g', 't', 3);
    assert.equal(k.toString('hex'), '0001' + '000167' + '000174' + '00000003');
    assert.deepEqual(decodeKey(k), { kind: 'offset', group: 'g', topic: 't', partition: 3 });
    const v = offsetValue({ offset: 10n, leaderEpoch: 2, metadata: 'm', commitTimestamp: 5n });
    assert.equal(v.toString('hex'), '0003' + '000000000000000a' + '00000002' + '00016d' + '0000000000000005');
    assert.deepEqual(decodeOffsetValue(v), {
      offset: 10n,
      leaderEpoch: 2,
      metadata: 'm',
      commitTimestamp: 5n,
      expireTimestamp: -1n,
    });
  });

  test('older offset value versions decode (v1 with expire timestamp)', () => {
    const b = Buffer.alloc(2 + 8 + 2 + 8 + 8);
    b.writeInt16BE(1, 0);
    b.writeBigInt64BE(7n, 2);
    b.writeInt16BE(0, 10);
    b.writeBigInt64BE(100n, 12);
    b.writeBigInt64BE(200n, 20);
    assert.deepEqual(decodeOffsetValue(b), {
      offset: 7n,
      leaderEpoch: -1,
      metadata: '',
      commitTimestamp: 100n,
      expireTimestamp: 200n,
    });
  });

  test('group metadata key v2 / value v3 round trip', () => {
    assert.deepEqual(decodeKey(groupKey('grp')), { kind: 'group', group: 'grp' });
    const value = {
      protocolType: 'consumer',
      generation: 4,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestamp: 1234n,
      members: [
        {
          memberId: 'm1',
          groupInstanceId: null,
          clientId: 'c',
          clientHost: '/1.2.3.4',
          rebalanceTimeout: 300000,
          sessionTimeout: 10000,
          subscription: Buffer.from('sub'),
          assignment: Buffer.from('asg'),
        },
      ],
    };
    assert.deepEqual(decodeGroupValue(groupValue(value)), value);
  });

  test("partitionFor is Kafka's abs(String.hashCode) % n", () => {
    assert.equal(javaStringHash('hello'), 99162322);
    assert.equal(javaStringHash('polygenelubricants'), -2147483648);
    assert.equal(partitionFor('polygenelubricants', 50), 0);
    assert.equal(partitionFor('hello', 50), 99162322 % 50);
    assert.equal(partitionFor('test-group', 50), Math.abs(javaStringHash('test-group')) % 50);
    assert.equal(offsetKeyOf('a', 1), 'a\u00001');
  });
});
