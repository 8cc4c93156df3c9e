/**
 * Admin operations on a 3-node cluster with a real etcd (Debian's etcd-server): adding partitions (assigned
 * evenly, or by hand), altering topic configs that every broker applies (min.insync.replicas, retention.ms),
 * manual replica assignment in CreateTopics, with the validation errors of single-node mode. Driven by real
 * clients: kafkajs admin, confluent-kafka's AdminClient, kcat.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { parseOffsetCheckpoint } from '../../src/storage/checkpoint.js';
import { ROOT } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
let cluster: Cluster;
let admin: Admin;

function bootstrap(): string {
  return cluster.bootstrap();
}

/** A topic's partitions as broker `id` describes them (Metadata straight to that node). */
async function metadataFrom(id: number, topic: string) {
  const c = await RawClient.connect(cluster.node(id).port);
  try {
    const r = await c.request(ApiKey.Metadata, 9, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = r.topics[0];
    return (t?.partitions ?? []) as {
      partitionIndex: number;
      leaderId: number;
      replicaNodes: number[];
      isrNodes: number[];
    }[];
  } finally {
    c.close();
  }
}

/** The topic's config value for `key`, as broker `id` describes it. */
async function configFrom(id: number, topic: string, key: string): Promise<string | null> {
  const c = await RawClient.connect(cluster.node(id).port);
  try {
    const r = await c.request(ApiKey.DescribeConfigs, 1, {
      resources: [{ resourceType: 2, resourceName: topic, configurationKeys: [key] }],
      includeSynonyms: false,
    });
    assert.equal(r.results[0].errorCode, 0, `DescribeConfigs ${topic} on node ${id}`);
    return r.results[0].configs[0]?.value ?? null;
  } finally {
    c.close();
  }
}

const raw = <T>(id: number, f: (c: RawClient) => Promise<T>): Promise<T> => RawClient.using(cluster.node(id).port, f);

async function produceTo(id: number, topic: string, partition: number, acks: number, value: string): Promise<number> {
  return raw(id, async (c) => {
    const records = await buildBatch({ records: [{ key: null, value: Buffer.from(value) }] });
    const r = await c.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    return r.responses[0].partitionResponses[0].errorCode as number;
  });
}

async function createPartitionsRaw(id: number, topic: string, count: number, assignments: number[][] | null) {
  return raw(id, async (c) => {
    const r = await c.request(ApiKey.CreatePartitions, 3, {
      topics: [{ name: topic, count, assignments: assignments?.map((brokerIds) => ({ brokerIds })) ?? null }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    return r.results[0] as { errorCode: number; errorMessage: string | null };
  });
}

async function createTopicRaw(id: number, topic: string, assignments: number[][]) {
  return raw(id, async (c) => {
    const r = await c.request(ApiKey.CreateTopics, 5, {
      topics: [
        {
          name: topic,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
          configs: [],
        },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    return r.topics[0] as { errorCode: number; errorMessage: string | null };
  });
}

const ids = [1, 2, 3];

describe('admin operations in a cluster', () => {
  before(async () => {
    cluster = await startCluster({
      nodes: ids,
      clusterId: 'admin',
      props: { 'log.retention.check.interval.ms': '300', 'log.flush.offset.checkpoint.interval.ms': '200' },
    });
    admin = new Kafka({ brokers: bootstrap().split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  });

  test('CreatePartitions (kafkajs): new partitions assigned evenly, seen by every broker, writable', async () => {
    await admin.createTopics({ topics: [{ topic: 'grow', numPartitions: 3, replicationFactor: 2 }] });
    await until('grow ready', async () => (await metadataFrom(1, 'grow')).length === 3);
    await admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 6 }] });
    for (const id of ids) {
      const ps = await until(`node ${id} sees 6 partitions with leaders and full ISRs`, async () => {
        const p = await metadataFrom(id, 'grow');
        return p.length === 6 && p.every((x) => x.leaderId >= 0 && x.isrNodes.length === 2) ? p : null;
      });
      for (const b of ids) {
        assert.equal(ps.filter((p) => p.replicaNodes.includes(b)).length, 4, `broker ${b} holds 4 of 12 replicas`);
        assert.equal(ps.filter((p) => p.leaderId === b).length, 2, `broker ${b} leads 2 of 6`);
      }
    }
    // Each new partition's replicas created their logs (and nothing else did).
    const ps = await metadataFrom(2, 'grow');
    for (const p of ps.filter((x) => x.partitionIndex >= 3)) {
      for (const b of ids) {
        const has = readdirSync(cluster.dataDir(b)).includes(`grow-${p.partitionIndex}`);
        if (p.replicaNodes.includes(b))
          await until(`grow-${p.partitionIndex} on ${b}`, async () =>
            readdirSync(cluster.dataDir(b)).includes(`grow-${p.partitionIndex}`),
          );
        else assert.ok(!has, `grow-${p.partitionIndex} is not on broker ${b}`);
      }
    }
    // A new partition takes writes (acks=all) and kcat reads them back.
    const p5 = ps.find((p) => p.partitionIndex === 5) as (typeof ps)[number];
    assert.equal(await produceTo(p5.leaderId, 'grow', 5, -1, 'hello-5'), 0);
    const { stdout } = await run('kcat', ['-b', bootstrap(), '-C', '-t', 'grow', '-p', '5', '-e', '-q', '-f', '%s\n'], {
      timeout: 60_000,
    });
    assert.equal(stdout.trim(), 'hello-5');
    // Validation: not larger → INVALID_PARTITIONS; unknown topic.
    await assert.rejects(
      admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 6 }] }),
      (e: Error & { type?: string }) =>
        JSON.stringify(e).includes('INVALID_PARTITIONS') || /partitions/i.test(e.message),
    );
    assert.equal((await createPartitionsRaw(3, 'grow', 4, null)).errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal((await createPartitionsRaw(3, 'nope', 4, null)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('CreatePartitions with a manual assignment; bad assignments are INVALID_REPLICA_ASSIGNMENT', async () => {
    await admin.createTopics({ topics: [{ topic: 'manual', numPartitions: 1, replicationFactor: 2 }] });
    await until('manual ready', async () => (await metadataFrom(1, 'manual')).length === 1);
    const bad: [string, number[][]][] = [
      ['a broker twice', [[1, 1]]],
      ['an unknown broker', [[1, 9]]],
      ['another replication factor', [[1, 2, 3]]],
      ['too few assignments', []],
    ];
    for (const [why, a] of bad) {
      const r = await createPartitionsRaw(2, 'manual', 2, a);
      assert.equal(r.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${why}: ${r.errorMessage}`);
    }
    assert.equal((await metadataFrom(1, 'manual')).length, 1, 'nothing was added by the refused requests');
    // confluent-kafka's AdminClient (librdkafka) with a replica assignment: partitions 1 and 2 on [3,1] and [2,3].
    const { stdout } = await run(
      '/usr/bin/python3',
      [
        '-c',
        `import sys
from confluent_kafka.admin import AdminClient, NewPartitions
a = AdminClient({'bootstrap.servers': sys.argv[1]})
fs = a.create_partitions([NewPartitions('manual', 3, replica_assignment=[[3, 1], [2, 3]])])
for t, f in fs.items():
    f.result(timeout=30)
print('ok')`,
        bootstrap(),
      ],
      { timeout: 60_000 },
    );
    assert.equal(stdout.trim(), 'ok');
    for (const id of ids) {
      const ps = await until(`node ${id} sees manual/1 and manual/2`, async () => {
        const p = await metadataFrom(id, 'manual');
        return p.length === 3 && p.every((x) => x.isrNodes.length === 2) ? p : null;
      });
      assert.deepEqual(ps[1]?.replicaNodes, [3, 1]);
      assert.deepEqual(ps[2]?.replicaNodes, [2, 3]);
      assert.equal(ps[1]?.leaderId, 3, 'the first replica leads');
      assert.equal(ps[2]?.leaderId, 2);
    }
  });

  test('CreateTopics with assignments (kafkajs); bad ones are INVALID_REPLICA_ASSIGNMENT', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'placed',
          replicaAssignment: [
            { partition: 0, replicas: [2, 3] },
            { partition: 1, replicas: [3, 1] },
          ],
        },
      ],
    });
    for (const id of ids) {
      const ps = await until(`node ${id} sees placed`, async () => {
        const p = await metadataFrom(id, 'placed');
        return p.length === 2 && p.every((x) => x.leaderId >= 0) ? p : null;
      });
      assert.deepEqual(
        ps.map((p) => p.replicaNodes),
        [
          [2, 3],
          [3, 1],
        ],
      );
    }
    const bad: [string, number[][]][] = [
      ['a broker twice', [[2, 2]]],
      ['an unknown broker', [[4]]],
      ['different counts', [[1, 2], [3]]],
    ];
    for (const [why, a] of bad) {
      const r = await createTopicRaw(1, `bad-${why.replaceAll(' ', '-')}`, a);
      assert.equal(r.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${why}: ${r.errorMessage}`);
    }
    const topics = await admin.listTopics();
    assert.ok(!topics.some((t) => t.startsWith('bad-')), 'refused topics were not created');
  });

  test('AlterConfigs / IncrementalAlterConfigs: every broker applies min.insync.replicas and retention.ms', async () => {
    await admin.createTopics({ topics: [{ topic: 'conf', numPartitions: 3, replicationFactor: 3 }] });
    const ps = await until('conf ready', async () => {
      const p = await metadataFrom(1, 'conf');
      return p.length === 3 && p.every((x) => x.isrNodes.length === 3) ? p : null;
    });
    assert.deepEqual(new Set(ps.map((p) => p.leaderId)), new Set(ids), 'each broker leads one partition');
    // min.insync.replicas above the ISR: every leader refuses acks=all.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: 'conf', configEntries: [{ name: 'min.insync.replicas', value: '4' }] }],
    });
    for (const id of ids) assert.equal(await configFrom(id, 'conf', 'min.insync.replicas'), '4', `node ${id}`);
    for (const p of ps) {
      const code = await until(`leader ${p.leaderId} applies min.insync.replicas=4`, async () => {
        const c = await produceTo(p.leaderId, 'conf', p.partitionIndex, -1, 'x');
        return c === ErrorCode.NOT_ENOUGH_REPLICAS ? c : null;
      });
      assert.equal(code, ErrorCode.NOT_ENOUGH_REPLICAS);
    }
    // IncrementalAlterConfigs (SET then DELETE) through broker 2: back to the default, acks=all works again.
    await raw(2, async (c) => {
      const r = await c.request(ApiKey.IncrementalAlterConfigs, 0, {
        resources: [
          {
            resourceType: 2,
            resourceName: 'conf',
            configs: [
              { name: 'retention.ms', configOperation: 0, value: '1' },
              { name: 'min.insync.replicas', configOperation: 1, value: null },
              { name: 'segment.bytes', configOperation: 0, value: '1048576' },
            ],
          },
        ],
        validateOnly: false,
      });
      assert.equal(r.responses[0].errorCode, 0, r.responses[0].errorMessage);
    });
    for (const id of ids) {
      assert.equal(await configFrom(id, 'conf', 'min.insync.replicas'), '1', `node ${id}`);
      assert.equal(await configFrom(id, 'conf', 'retention.ms'), '1', `node ${id}`);
    }
    for (const p of ps) {
      await until(`leader ${p.leaderId} takes acks=all again`, async () => {
        return (await produceTo(p.leaderId, 'conf', p.partitionIndex, -1, 'y')) === 0;
      });
    }
    // Invalid values and keys: INVALID_CONFIG, nothing changed.
    const alter = (name: string, value: string) =>
      raw(3, async (c) => {
        const r = await c.request(ApiKey.AlterConfigs, 1, {
          resources: [{ resourceType: 2, resourceName: 'conf', configs: [{ name, value }] }],
          validateOnly: false,
        });
        return r.responses[0].errorCode as number;
      });
    assert.equal(await alter('min.insync.replicas', 'many'), ErrorCode.INVALID_CONFIG);
    assert.equal(await alter('no.such.key', '1'), ErrorCode.INVALID_CONFIG);
    assert.equal(await alter('cleanup.policy', 'shred'), ErrorCode.INVALID_CONFIG);
    assert.equal(await configFrom(1, 'conf', 'retention.ms'), '1', 'a refused AlterConfigs changed nothing');
  });

  test('retention.ms altered in the cluster: every replica deletes its old segments', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'ret',
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [{ name: 'segment.bytes', value: '1024' }],
        },
      ],
    });
    const p0 = await until('ret ready', async () => {
      const p = (await metadataFrom(1, 'ret'))[0];
      return p && p.isrNodes.length === 3 ? p : null;
    });
    for (let i = 0; i < 40; i++) assert.equal(await produceTo(p0.leaderId, 'ret', 0, -1, `${i}`.padStart(100, '.')), 0);
    const segments = (id: number) =>
      readdirSync(join(cluster.dataDir(id), 'ret-0')).filter((f) => f.endsWith('.log')).length;
    for (const id of ids) await until(`ret-0 rolled on node ${id}`, async () => segments(id) > 2);
    // confluent-kafka's AdminClient: alter_configs (the whole set: segment.bytes kept, retention.ms added).
    const { stdout } = await run(
      '/usr/bin/python3',
      [
        '-c',
        `import sys
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({'bootstrap.servers': sys.argv[1]})
r = ConfigResource('topic', 'ret', set_config={'segment.bytes': '1024', 'retention.ms': '1'})
for k, f in a.alter_configs([r]).items():
    f.result(timeout=30)
print('ok')`,
        bootstrap(),
      ],
      { timeout: 60_000 },
    );
    assert.equal(stdout.trim(), 'ok');
    for (const id of ids)
      await until(`node ${id} deleted the closed segments of ret-0`, async () => segments(id) === 1);
  });

  test('flush.ms altered in the cluster: leader and followers fsync periodically; the default never does', async () => {
    for (const topic of ['durable', 'lazy'])
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const leaders = new Map<string, number>();
    for (const topic of ['durable', 'lazy']) {
      const p = await until(`${topic} ready`, async () => {
        const x = (await metadataFrom(1, topic))[0];
        return x && x.isrNodes.length === 3 ? x : null;
      });
      leaders.set(topic, p.leaderId);
    }
    await raw(1, async (c) => {
      const r = await c.request(ApiKey.IncrementalAlterConfigs, 0, {
        resources: [
          {
            resourceType: 2,
            resourceName: 'durable',
            configs: [{ name: 'flush.ms', configOperation: 0, value: '100' }],
          },
        ],
        validateOnly: false,
      });
      assert.equal(r.responses[0].errorCode, 0);
    });
    for (const id of ids)
      await until(`node ${id} has flush.ms`, async () => (await configFrom(id, 'durable', 'flush.ms')) === '100');
    for (let i = 0; i < 20; i++)
      for (const topic of ['durable', 'lazy'])
        assert.equal(await produceTo(leaders.get(topic) as number, topic, 0, -1, `r${i}`), 0);
    // The recovery point (checkpointed every 200 ms) is what was fsynced.
    const recoveryPoint = (id: number, topic: string) =>
      String(parseOffsetCheckpoint(readFileSync(join(cluster.dataDir(id), `${topic}-0`, 'recovery-point'), 'utf8')));
    for (const id of ids)
      await until(`durable-0 fsynced on node ${id}`, async () => recoveryPoint(id, 'durable') === '20');
    for (const id of ids) assert.equal(recoveryPoint(id, 'lazy'), '0', `lazy-0 on node ${id}: no fsync by default`);
  });

  test('kstream topic add-partitions / alter-config against one node change the whole cluster', async () => {
    const cli = (args: string[]) =>
      run(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args, '-b', cluster.node(2).bootstrap], {
        cwd: ROOT,
        timeout: 60_000,
      });
    const added = await cli(['topic', 'add-partitions', 'grow', '-p', '2', '-o', 'json']);
    assert.deepEqual(
      (JSON.parse(added.stdout) as { ok: boolean }[]).map((r) => r.ok),
      [true],
    );
    const altered = await cli(['topic', 'alter-config', 'grow', '--set', 'retention.ms=86400000', '-o', 'json']);
    assert.ok(altered.stdout.length > 0);
    for (const id of ids) {
      await until(`node ${id} sees grow with 8 partitions`, async () => {
        const p = await metadataFrom(id, 'grow');
        return p.length === 8 && p.every((x) => x.leaderId >= 0);
      });
      assert.equal(await configFrom(id, 'grow', 'retention.ms'), '86400000', `node ${id}`);
    }
  });

  test('kstream cluster info and health show a dead broker as DOWN, with offline and under-replicated partitions', async () => {
    assert.equal((await createTopicRaw(1, 'solo', [[3]])).errorCode, 0);
    await until('solo led by 3', async () => (await metadataFrom(1, 'solo'))[0]?.leaderId === 3);
    await cluster.kill(3);
    const live = [1, 2].map((id) => cluster.node(id).bootstrap).join(',');
    const cli = (args: string[]) =>
      run(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args, '-b', live], { cwd: ROOT, timeout: 60_000 }).catch(
        (e: { stdout: string; stderr: string; code: number }) => e,
      );
    type Info = {
      brokers: { nodeId: number; up: boolean; host: string | null; replicas: number }[];
      offline: string[];
      underReplicated: string[];
      degraded: { topic: string; partition: number; state: string; isr: number[] }[];
    };
    const info = await until('broker 3 down, solo/0 offline', async () => {
      const r = JSON.parse((await cli(['cluster', 'info', '-o', 'json'])).stdout) as Info;
      return r.offline.includes('solo/0') && r.underReplicated.length > 0 ? r : null;
    });
    assert.deepEqual(
      info.brokers.map((b) => [b.nodeId, b.up]),
      [
        [1, true],
        [2, true],
        [3, false],
      ],
    );
    assert.equal(info.brokers[2]?.host, null, 'a down broker has no address in Kafka metadata');
    assert.ok((info.brokers[2]?.replicas ?? 0) > 0);
    assert.ok(info.degraded.some((p) => p.topic === 'solo' && p.state === 'offline'));
    for (const p of info.degraded.filter((x) => x.state === 'under-replicated')) assert.ok(!p.isr.includes(3));
    const text = (await cli(['cluster', 'info'])).stdout;
    assert.match(text, /^BROKERS +2 up, 1 down$/m);
    assert.match(text, /^3 +- +- +DOWN +0 +\d+$/m);
    assert.match(text, /^OFFLINE AND UNDER-REPLICATED PARTITIONS$/m);
    assert.match(text, /^solo\/0 +offline +none +3 +3$/m);
    const health = await cli(['cluster', 'health']);
    assert.equal((health as { code?: number }).code, 1);
    assert.match(health.stdout, /broker\(s\) down: 3/);
  });
});
