/**
 * ACLs in a 3-node cluster (issue 19): the ACLs live in etcd and every node follows them with a watch, so an
 * ACL made on one node holds on the others within a second (a bounded poll of 1 s from the CreateAcls answer),
 * and a deletion too. Node 1 makes User:ANONYMOUS a super user (super.users is per node, as in Kafka); on nodes
 * 2 and 3 the same PLAINTEXT principal is an ordinary one. The topic is replicated on all three (brokers pass
 * CLUSTER_ACTION on the inter-broker listener).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

let cluster: Cluster;

const acl = {
  resourceType: 2, // TOPIC
  resourceName: 'shared',
  resourcePatternType: 3, // LITERAL
  principal: 'User:ANONYMOUS',
  host: '*',
  operation: 3, // READ
  permissionType: 3, // ALLOW
};

/** The Metadata error of topic `shared` as node `id` answers User:ANONYMOUS. */
async function metadataError(id: number): Promise<number> {
  return RawClient.using(cluster.node(id).port, async (c) => {
    const md = await c.request(ApiKey.Metadata, 9, { topics: [{ name: 'shared' }], allowAutoTopicCreation: false });
    return (md.topics as { errorCode: number }[])[0]?.errorCode ?? -1;
  });
}

describe('ACLs across a 3-node cluster', () => {
  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      props: { 'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer' },
      nodeProps: (id): Record<string, string> => (id === 1 ? { 'super.users': 'User:ANONYMOUS' } : {}),
    });
  });
  after(() => cluster?.close());

  test('an ACL made on one node holds on the other two within 1 s; its deletion too', async () => {
    await RawClient.using(cluster.node(1).port, async (c) => {
      const ct = await c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'shared', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
        timeoutMs: 30_000,
      });
      assert.equal((ct.topics as { errorCode: number }[])[0]?.errorCode, 0);
    });
    // All three replicas in the ISR (followers fetch with the authorizer on).
    await until(
      'all three replicas of shared in the ISR',
      () =>
        RawClient.using(cluster.node(1).port, async (c) => {
          const md = await c.request(ApiKey.Metadata, 9, { topics: [{ name: 'shared' }] });
          const t = (md.topics as { errorCode: number; partitions: { isrNodes: number[] }[] }[])[0];
          return t?.errorCode === 0 && t.partitions[0]?.isrNodes.length === 3;
        }),
      30_000,
    );
    for (const id of [2, 3]) assert.equal(await metadataError(id), ErrorCode.TOPIC_AUTHORIZATION_FAILED);

    await RawClient.using(cluster.node(1).port, async (c) => {
      const r = await c.request(ApiKey.CreateAcls, 2, { creations: [acl] });
      assert.equal((r.results as { errorCode: number }[])[0]?.errorCode, 0);
    });
    // READ implies DESCRIBE: within 1 s nodes 2 and 3 show the topic.
    await until(
      'nodes 2 and 3 apply the new ACL',
      async () => (await metadataError(2)) === 0 && (await metadataError(3)) === 0,
      1000,
    );
    // Node 3 lists it too (DescribeAcls from a node that did not make it needs DESCRIBE cluster: refused there).
    await RawClient.using(cluster.node(3).port, async (c) => {
      const d = await c.request(ApiKey.DescribeAcls, 1, {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      });
      assert.equal(d.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    });

    await RawClient.using(cluster.node(1).port, async (c) => {
      const r = await c.request(ApiKey.DeleteAcls, 2, {
        filters: [
          {
            resourceTypeFilter: 2,
            resourceNameFilter: 'shared',
            patternTypeFilter: 3,
            principalFilter: 'User:ANONYMOUS',
            hostFilter: '*',
            operation: 1,
            permissionType: 1,
          },
        ],
      });
      const fr = (r.filterResults as { errorCode: number; matchingAcls: unknown[] }[])[0];
      assert.equal(fr?.errorCode, 0);
      assert.equal(fr?.matchingAcls.length, 1);
    });
    await until(
      'nodes 2 and 3 apply the deletion',
      async () =>
        (await metadataError(2)) === ErrorCode.TOPIC_AUTHORIZATION_FAILED &&
        (await metadataError(3)) === ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      1000,
    );
  });
});
