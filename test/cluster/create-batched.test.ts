/**
 * Issue 22 (controller work batched per etcd transaction): a topic's partition states are created in etcd
 * transactions of up to 100 writes each, not one request per partition. Before, a topic of 4,000 partitions
 * sent 4,000 concurrent compare-and-sets; on a loaded machine etcd's answers queued past the request timeout and
 * the creation failed with REQUEST_TIMED_OUT. Counted with etcd's own gRPC metrics (its /metrics on the client
 * URL), so the count is what etcd served, not what kstream says it sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

let cluster: Cluster;

/** Requests of a gRPC method (KV.Txn, KV.DeleteRange) etcd has answered, every code, from its Prometheus text. */
async function etcdCalls(method: 'Txn' | 'DeleteRange'): Promise<number> {
  const text = await (await fetch(`${cluster.etcd.url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('grpc_server_handled_total{') && line.includes(`grpc_method="${method}"`))
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}
const etcdTxns = () => etcdCalls('Txn');

describe('partition states of a new topic, batched in etcd transactions', () => {
  before(async () => {
    cluster = await startCluster({ nodes: 1, clusterId: 'create-batched' });
  });
  after(() => cluster?.close());

  test('a topic of 1,000 partitions takes about 10 transactions, and every partition has a leader', async () => {
    const c = await RawClient.connect(cluster.node(1).port);
    try {
      const before = await etcdTxns();
      const r = await c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'wide', numPartitions: 1000, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 60_000,
        validateOnly: false,
      });
      assert.equal((r.topics[0] as { errorCode: number }).errorCode, ErrorCode.NONE);
      const txns = (await etcdTxns()) - before;
      // 10 batches of 100, the topic record's compare-and-set, and a few the node makes meanwhile (its
      // registration's renewals, leadership taken per batch is not a transaction per partition either).
      assert.ok(txns >= 10 && txns < 100, `etcd answered ${txns} transactions for 1,000 partitions (before: 1,000+)`);
      let seen = '';
      await until(
        'every partition of wide has a leader',
        async () => {
          const md = await c.request(ApiKey.Metadata, 1, { topics: [{ name: 'wide' }] });
          const t = (md.topics as { errorCode: number; partitions: { leaderId: number }[] }[])[0];
          seen = `error ${t?.errorCode}, ${t?.partitions.length} partitions, ${t?.partitions.filter((p) => p.leaderId === 1).length} led by node 1`;
          return t?.partitions.length === 1000 && t.partitions.every((p) => p.leaderId === 1);
        },
        120_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}: last seen ${seen}`);
      });
    } finally {
      c.close();
    }
  });

  test('deleting it removes the 1,000 partition states in one request', async () => {
    const c = await RawClient.connect(cluster.node(1).port);
    try {
      const before = await etcdCalls('DeleteRange');
      const r = await c.request(ApiKey.DeleteTopics, 4, { topicNames: ['wide'], timeoutMs: 60_000 });
      assert.equal((r.responses[0] as { errorCode: number }).errorCode, ErrorCode.NONE);
      const deletes = (await etcdCalls('DeleteRange')) - before;
      assert.ok(
        deletes >= 2 && deletes < 20,
        `etcd answered ${deletes} deletes for a 1,000-partition topic (before: 1,001)`,
      );
      // Created again with 10 partitions: no state of the old 1,000 is left to be taken for the new topic's.
      const again = await c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'wide', numPartitions: 10, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 60_000,
        validateOnly: false,
      });
      assert.equal((again.topics[0] as { errorCode: number }).errorCode, ErrorCode.NONE);
      await until('wide has 10 partitions, each led by node 1', async () => {
        const md = await c.request(ApiKey.Metadata, 1, { topics: [{ name: 'wide' }] });
        const t = (md.topics as { partitions: { leaderId: number }[] }[])[0];
        return t?.partitions.length === 10 && t.partitions.every((p) => p.leaderId === 1);
      });
    } finally {
      c.close();
    }
  });
});
