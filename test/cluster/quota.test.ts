/**
 * Client quotas in a 3-node cluster (issue 19): the quotas live in etcd and every node follows them with a
 * watch, so a quota set through node 1 is described by nodes 2 and 3 within a second (a bounded poll of 1 s
 * from the AlterClientQuotas answer) and enforced there: a produce to a partition node 3 leads, from the
 * limited client id, is answered with throttle_time_ms (quotas apply per broker, as in Kafka). Its removal
 * reaches every node the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

let cluster: Cluster;

const entity = [{ entityType: 'client-id', entityName: 'limited' }];

/** The producer_byte_rate node `id` describes for client-id=limited (null: none). */
async function describedRate(id: number): Promise<number | null> {
  return RawClient.using(cluster.node(id).port, async (c) => {
    const d = await c.request(ApiKey.DescribeClientQuotas, 1, {
      components: [{ entityType: 'client-id', matchType: 0, match: 'limited' }],
      strict: true,
    });
    assert.equal(d.errorCode, 0);
    const e = (d.entries as { values: { key: string; value: number }[] }[])[0];
    return e?.values.find((v) => v.key === 'producer_byte_rate')?.value ?? null;
  });
}

describe('client quotas across a 3-node cluster', () => {
  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  after(() => cluster?.close());

  test('a quota set through node 1 holds on nodes 2 and 3 within 1 s and is enforced there; its removal too', async () => {
    // One partition per node (the controller spreads leaders): node 3 leads one of them.
    await RawClient.using(cluster.node(1).port, async (c) => {
      const ct = await c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'spread', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 30_000,
      });
      assert.equal((ct.topics as Struct[])[0]?.errorCode, 0);
    });
    const led = await until(
      'a partition of spread led by node 3',
      () =>
        RawClient.using(cluster.node(3).port, async (c) => {
          const md = await c.request(ApiKey.Metadata, 9, { topics: [{ name: 'spread' }] });
          const t = (
            md.topics as { errorCode: number; partitions: { partitionIndex: number; leaderId: number }[] }[]
          )[0];
          const p = t?.partitions.find((x) => x.leaderId === 3);
          return p ? { index: p.partitionIndex } : null;
        }),
      30_000,
    );
    assert.equal(await describedRate(3), null);

    await RawClient.using(cluster.node(1).port, async (c) => {
      const r = await c.request(ApiKey.AlterClientQuotas, 1, {
        entries: [{ entity, ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }],
        validateOnly: false,
      });
      assert.equal((r.entries as Struct[])[0]?.errorCode, 0);
    });
    await until(
      'nodes 2 and 3 describe the new quota',
      async () => (await describedRate(2)) === 1024 && (await describedRate(3)) === 1024,
      1000,
    );

    // Enforced on node 3: 64 KiB from the limited client id is far over 1 KiB/s; another client id is not limited.
    const records = await buildBatch({ records: [{ key: null, value: Buffer.alloc(64 * 1024, 7) }] });
    const produce = (c: RawClient, clientId: string) =>
      c.request(
        ApiKey.Produce,
        7,
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 10_000,
          topicData: [{ name: 'spread', partitionData: [{ index: led.index, records }] }],
        },
        { clientId },
      );
    await RawClient.using(cluster.node(3).port, async (c) => {
      const limited = await produce(c, 'limited');
      const parts = (limited.responses as Struct[])[0]?.partitionResponses as Struct[] | undefined;
      assert.equal(parts?.[0]?.errorCode, 0);
      assert.ok((limited.throttleTimeMs as number) > 0, 'node 3 did not throttle the limited client id');
    });
    await RawClient.using(cluster.node(3).port, async (c) => {
      const other = await produce(c, 'other');
      assert.equal(other.throttleTimeMs, 0);
    });

    await RawClient.using(cluster.node(2).port, async (c) => {
      const r = await c.request(ApiKey.AlterClientQuotas, 1, {
        entries: [{ entity, ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] }],
        validateOnly: false,
      });
      assert.equal((r.entries as Struct[])[0]?.errorCode, 0);
    });
    await until(
      'nodes 1 and 3 forget the quota',
      async () => (await describedRate(1)) === null && (await describedRate(3)) === null,
      1000,
    );
  });
});
