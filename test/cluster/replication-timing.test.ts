/**
 * The subtests of the replicated cluster (replication.test.ts) with a bound in time, in their own file that
 * scripts/run-tests.js runs alone: on a controlled shutdown leadership moves away well inside the 3 s lease
 * (the node hands it over; it does not wait for the lease to run out), and with etcd unreachable for 10 s
 * acks=all keeps working with the leader and ISR in place (replica.lag.time.max.ms 3 s), metadata changes
 * working again after. A 3-node cluster on a real etcd.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import type { Cluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';
import { type Replicated, startReplicated } from './replicated.js';

let r: Replicated;
let cluster: Cluster;
let admin: Admin;
const anyLive = () => r.anyLive();
const partitions = (topic: string, via?: number) => r.partitions(topic, via);

describe('replicated cluster on etcd: time-bound cases', () => {
  before(async () => {
    r = await startReplicated();
    ({ cluster, admin } = r);
  });

  after(async () => {
    await r?.close();
  });

  test('controlled shutdown moves leadership away at once; ElectLeaders brings the preferred leader back', async () => {
    await admin.createTopics({ topics: [{ topic: 'cs', numPartitions: 3, replicationFactor: 3 }] });
    const before = await until('cs ready', async () => {
      const ps = await partitions('cs');
      return ps.length === 3 && ps.every((p) => p.isr.length === 3) ? ps : null;
    });
    const victim = before[0]?.leader as number;
    const led = before.filter((p) => p.leader === victim).map((p) => p.partitionId);
    const stopped = Date.now();
    const stopping = cluster.stop(victim);
    try {
      // Well inside the 3 s lease: the leaders moved because the node handed them over, not because it expired.
      const moved = await until('leaders moved', async () => {
        const ps = await partitions('cs', victim);
        return ps.every((p) => p.leader !== victim && p.leader >= 0 && !p.isr.includes(victim)) ? ps : null;
      });
      const movedMs = Date.now() - stopped;
      assert.equal(await stopping, 0, 'SIGTERM exits 0');
      assert.ok(movedMs < 3000, `leadership moved in ${movedMs} ms`);
      assert.equal(moved.length, 3);
    } finally {
      // Back with three nodes whatever happened, so the next tests are not affected.
      await stopping.catch(() => {});
      await cluster.start(victim);
    }
    await until('back in the ISR', async () => (await partitions('cs')).every((p) => p.isr.length === 3), 60_000);
    const c = await RawClient.connect(anyLive().port);
    try {
      const r = await c.request(ApiKey.ElectLeaders, 2, {
        electionType: 0,
        topicPartitions: [{ topic: 'cs', partitions: [0, 1, 2] }],
        timeoutMs: 10_000,
      });
      const codes = new Map(
        r.replicaElectionResults[0].partitionResult.map((x: { partitionId: number; errorCode: number }) => [
          x.partitionId,
          x.errorCode,
        ]),
      );
      for (const p of led) assert.equal(codes.get(p), 0, `partition ${p} elected its preferred leader`);
      for (const [p, code] of codes) if (!led.includes(p as number)) assert.equal(code, ErrorCode.ELECTION_NOT_NEEDED);
    } finally {
      c.close();
    }
    const after = await until('preferred leaders back', async () => {
      const ps = await partitions('cs');
      return ps.every((p) => p.leader === p.replicas[0]) ? ps : null;
    });
    assert.deepEqual(
      after.filter((p) => p.leader === victim).map((p) => p.partitionId),
      led,
    );
  });

  test('etcd unreachable for 10 s: the data path keeps serving; metadata changes work again after', async () => {
    await admin.createTopics({ topics: [{ topic: 'noetcd', numPartitions: 1, replicationFactor: 3 }] });
    const p0 = await until('noetcd ready', async () => {
      const p = (await partitions('noetcd'))[0];
      return p && p.isr.length === 3 ? p : null;
    });
    const leader = cluster.node(p0.leader);
    const c = await RawClient.connect(leader.port);
    const produce = async (value: string) => {
      const records = await buildBatch({ records: [{ key: null, value: Buffer.from(value) }] });
      const r = await c.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: 'noetcd', partitionData: [{ index: 0, records }] }],
      });
      return r.responses[0].partitionResponses[0].errorCode as number;
    };
    cluster.etcd.pause();
    try {
      const end = Date.now() + 10_000;
      let n = 0;
      while (Date.now() < end) {
        assert.equal(await produce(`during-${n++}`), 0, 'acks=all keeps working with the current leader and ISR');
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(n > 20);
    } finally {
      cluster.etcd.resume();
      c.close();
    }
    await until(
      'a new topic after etcd is back',
      async () => {
        await admin
          .createTopics({ topics: [{ topic: 'after-etcd', numPartitions: 3, replicationFactor: 3 }] })
          .catch(() => false);
        const ps = await partitions('after-etcd');
        return ps.length === 3 && ps.every((p) => p.leader >= 0);
      },
      60_000,
    );
    // Every node can still leave cleanly after the outage (its etcd client recovered).
    const any = cluster.ids.find((id) => cluster.isUp(id)) as number;
    assert.equal(await cluster.stop(any), 0, 'a graceful stop after the etcd outage exits 0');
  });
});
