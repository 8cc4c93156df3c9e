/** Replica assignment: even spread of replicas and preferred leaders; racks interleaved. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignReplicas, type BrokerInfo } from '../../src/cluster/cluster.js';

const broker = (nodeId: number, rack: string | null = null): BrokerInfo => ({ nodeId, host: 'h', port: nodeId, rack });

test('replicas and preferred leaders spread evenly over the brokers', () => {
  for (const shift of [0, 1, 7]) {
    const a = assignReplicas([broker(1), broker(2), broker(3)], 12, 3, shift);
    assert.equal(a.length, 12);
    for (const id of [1, 2, 3]) {
      assert.equal(a.filter((r) => r.includes(id)).length, 12);
      assert.equal(a.filter((r) => r[0] === id).length, 4, `broker ${id} is the preferred leader of 4`);
    }
    for (const r of a) assert.equal(new Set(r).size, 3, 'no broker twice in one partition');
  }
  const five = assignReplicas(
    [1, 2, 3, 4, 5].map((i) => broker(i)),
    10,
    2,
  );
  for (const id of [1, 2, 3, 4, 5]) assert.equal(five.filter((r) => r[0] === id).length, 2);
});

test('with racks, consecutive replicas land on different racks', () => {
  const brokers = [broker(1, 'a'), broker(2, 'a'), broker(3, 'b'), broker(4, 'b'), broker(5, 'c'), broker(6, 'c')];
  const rackOf = new Map(brokers.map((b) => [b.nodeId, b.rack]));
  const a = assignReplicas(brokers, 12, 3);
  for (const r of a) assert.equal(new Set(r.map((id) => rackOf.get(id))).size, 3, `replicas ${r} span three racks`);
});
