/**
 * Followers build the transaction state from what they replicate (issue 17): on a 3-node cluster (RF 3,
 * min.insync.replicas 2) a leader holds an open transaction and an aborted one; it is SIGKILLed, and the new
 * leader answers read_committed fetches with the same last stable offset and aborted transactions, and takes the
 * open transaction's COMMIT marker.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';
import { batch, createTopic, fetch, initProducerId, produce, writeMarkers } from './partition-helpers.js';

const TOPIC = 'replicated-txn';

/** The leader of TOPIC-0 as node `via` sees it, once it names a live one with a full enough ISR. */
async function leaderVia(cluster: Cluster, via: number, not?: number): Promise<number> {
  return until(`a leader of ${TOPIC}-0`, async () => {
    const md = await RawClient.using(cluster.node(via).port, (c) =>
      c.request(ApiKey.Metadata, 1, { topics: [{ name: TOPIC }] }),
    );
    const p = ((md.topics as Struct[])[0]?.partitions as Struct[] | undefined)?.[0];
    const leader = p?.leaderId as number | undefined;
    if (leader === undefined || leader < 0 || leader === not) return null;
    return leader;
  });
}

describe('transactions across a leader failover', () => {
  let cluster: Cluster | undefined;
  after(() => cluster?.close());

  test('the new leader has the same LSO and aborted transactions', async () => {
    cluster = await startCluster({ nodes: 3 });
    const c3 = cluster;
    await RawClient.using(c3.node(1).port, (c) => createTopic(c, TOPIC, { 'min.insync.replicas': '2' }, 1, 3));
    const leader = await leaderVia(c3, 1);
    const { open, aborter, before } = await RawClient.using(c3.node(leader).port, async (c) => {
      const open = await initProducerId(c);
      const aborter = await initProducerId(c);
      const plain = await initProducerId(c);
      // The ISR may still be filling: acks=all answers NOT_ENOUGH_REPLICAS until it has 2 members.
      await until('a first acks=all write', async () => {
        const r = await produce(c, TOPIC, await batch(plain, 0, ['p-0'], false), null);
        return r.errorCode === 0;
      });
      assert.equal((await produce(c, TOPIC, await batch(open, 0, ['open-1']))).errorCode, 0);
      assert.equal((await produce(c, TOPIC, await batch(aborter, 0, ['gone-2']))).errorCode, 0);
      assert.deepEqual(await writeMarkers(c, aborter, false, [{ topic: TOPIC, partition: 0 }]), [0]); // 3
      assert.equal((await produce(c, TOPIC, await batch(plain, 1, ['p-4'], false), null)).errorCode, 0);
      const before = await fetch(c, TOPIC, 0n, 1);
      return { open, aborter, before };
    });
    assert.equal(before.lastStableOffset, 1n);
    assert.equal(before.highWatermark, 5n);
    assert.deepEqual(before.values, ['p-0']);

    await c3.kill(leader);
    const survivor = c3.ids.find((id) => id !== leader) as number;
    const next = await leaderVia(c3, survivor, leader);
    await RawClient.using(c3.node(next).port, async (c) => {
      const again = await until('the new leader serving', async () => {
        const f = await fetch(c, TOPIC, 0n, 1);
        return f.errorCode === 0 && f.highWatermark === 5n ? f : null;
      });
      assert.equal(again.lastStableOffset, 1n, 'the open transaction holds the LSO on the new leader');
      // Commit the open transaction on the new leader: all of it is stable, the aborted one still named.
      assert.deepEqual(await writeMarkers(c, open, true, [{ topic: TOPIC, partition: 0 }]), [0]);
      const done = await fetch(c, TOPIC, 0n, 1);
      assert.equal(done.lastStableOffset, 6n);
      assert.deepEqual(done.aborted, [{ producerId: aborter.producerId, firstOffset: 2n }]);
      assert.deepEqual(done.values, ['p-0', 'open-1', 'gone-2', 'p-4']);
    });
  });
});
