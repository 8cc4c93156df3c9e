/**
 * max.broker.partitions in a 3-node cluster (real etcd): the limit counts the replicas each node would host
 * (from the topics' assignments), not partitions: 12 single-replica partitions spread 4 per node fit under a
 * limit of 10; 6 more partitions with 3 replicas each bring every node to 10; then any new partition puts some
 * node at 11 and is refused with POLICY_VIOLATION naming that node, for CreateTopics and CreatePartitions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

let cluster: Cluster;

async function create(name: string, partitions: number, replicationFactor: number): Promise<Struct> {
  return RawClient.using(cluster.node(1).port, async (c) => {
    const r = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name, numPartitions: partitions, replicationFactor, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    return r.topics[0] as Struct;
  });
}

describe('max.broker.partitions in a cluster', () => {
  before(async () => {
    cluster = await startCluster({ nodes: 3, props: { 'max.broker.partitions': '10' } });
  });
  after(async () => {
    await cluster?.close();
  });

  test('replicas per node are counted, from every topic', async () => {
    // 12 partitions, one replica each: 4 per node, under 10 although 12 > 10.
    assert.equal((await create('spread', 12, 1)).errorCode, 0);
    // 6 partitions on all three nodes: 4 + 6 = 10 on each.
    assert.equal((await create('everywhere', 6, 3)).errorCode, 0);
    // One more replica anywhere is one too many.
    const more = await create('one-more', 1, 1);
    assert.equal(more.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.match(
      more.errorMessage as string,
      /node \d would host 11 partition replicas.*max\.broker\.partitions \(10\)/,
    );
    const grown = await RawClient.using(cluster.node(2).port, async (c) => {
      const r = await c.request(ApiKey.CreatePartitions, 3, {
        topics: [{ name: 'spread', count: 13, assignments: null }],
        timeoutMs: 30_000,
        validateOnly: false,
      });
      return r.results[0] as Struct;
    });
    assert.equal(grown.errorCode, ErrorCode.POLICY_VIOLATION);
    // Nothing was created by the refused requests.
    await RawClient.using(cluster.node(3).port, async (c) => {
      const md = await c.request(ApiKey.Metadata, 12, {
        topics: [
          { name: 'spread', topicId: '00000000000000000000000000000000' },
          { name: 'one-more', topicId: '00000000000000000000000000000000' },
        ],
        allowAutoTopicCreation: false,
      });
      assert.equal((md.topics[0].partitions as Struct[]).length, 12);
      assert.equal(md.topics[1].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });
  });
});
