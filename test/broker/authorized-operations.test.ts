/**
 * Authorized operations (KIP-430) against a real `kstream serve`: Metadata v8+ `topic_authorized_operations`
 * (and v8-v10 `cluster_authorized_operations`), DescribeGroups v3+ `authorized_operations`, DescribeCluster
 * `cluster_authorized_operations` carry the bit set (1 << AclOperation code) of the operations the principal may
 * perform on the resource, among those that apply to its type; INT32_MIN when the client did not ask.
 *
 * Read with raw requests: kstream's test peers cannot ask for them (kafkajs 2.2.4 sends Metadata ≤ v6 and
 * DescribeGroups ≤ v2; kafka-python 2.0.2 sends Metadata ≤ v5 and reads DescribeGroups v3 with v2's schema, so it
 * drops the field). ACLs are made with kafkajs' admin createAcls.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { ScramClient } from '../../src/client/sasl.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

const NOT_REQUESTED = -2147483648;
/** Kafka's AclOperation codes. */
const OP = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;
const bits = (...ops: number[]) => ops.reduce((a, o) => a | (1 << o), 0);
/** The operations that apply to each resource type (what a super user, or any client without an authorizer, gets). */
const ALL_TOPIC = bits(
  OP.READ,
  OP.WRITE,
  OP.CREATE,
  OP.DELETE,
  OP.ALTER,
  OP.DESCRIBE,
  OP.DESCRIBE_CONFIGS,
  OP.ALTER_CONFIGS,
);
const ALL_GROUP = bits(OP.READ, OP.DELETE, OP.DESCRIBE);
const ALL_CLUSTER = bits(
  OP.CREATE,
  OP.ALTER,
  OP.DESCRIBE,
  OP.CLUSTER_ACTION,
  OP.DESCRIBE_CONFIGS,
  OP.ALTER_CONFIGS,
  OP.IDEMPOTENT_WRITE,
);

async function scramLogin(port: number, user: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const hs = await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
  assert.equal(hs.errorCode, 0);
  const scram = new ScramClient('SCRAM-SHA-512', user, password);
  const first = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: scram.first() });
  assert.equal(first.errorCode, 0, String(first.errorMessage));
  const fin = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: await scram.final(first.authBytes as Buffer) });
  assert.equal(fin.errorCode, 0, String(fin.errorMessage));
  return c;
}

/** Topic name → topic_authorized_operations (and error code) of a Metadata request naming `names`. */
async function topicOps(c: RawClient, v: number, names: string[], include: boolean) {
  const r = await c.request(ApiKey.Metadata, v, {
    topics: names.map((name) => ({ name, topicId: '0'.repeat(32) })),
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: include,
  });
  return Object.fromEntries(
    (r.topics as Struct[]).map((t) => [t.name as string, { error: t.errorCode, ops: t.topicAuthorizedOperations }]),
  );
}

async function clusterOpsByMetadata(c: RawClient, v: number, include: boolean): Promise<number> {
  const r = await c.request(ApiKey.Metadata, v, {
    topics: [],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: include,
    includeTopicAuthorizedOperations: false,
  });
  return r.clusterAuthorizedOperations as number;
}

async function clusterOpsByDescribeCluster(c: RawClient, v: number, include: boolean): Promise<number> {
  const r = await c.request(ApiKey.DescribeCluster, v, {
    includeClusterAuthorizedOperations: include,
    endpointType: 1,
  });
  assert.equal(r.errorCode, 0, String(r.errorMessage));
  return r.clusterAuthorizedOperations as number;
}

/** DescribeGroups answer for each group, once the group coordinator is up. */
async function groupOps(c: RawClient, v: number, groups: string[], include: boolean) {
  let res: Struct[] = [];
  await until(
    'the group coordinator',
    async () => {
      const r = await c.request(ApiKey.DescribeGroups, v, { groups, includeAuthorizedOperations: include });
      res = r.groups as Struct[];
      return res.every(
        (g) =>
          g.errorCode !== ErrorCode.COORDINATOR_NOT_AVAILABLE && g.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      );
    },
    60_000,
  );
  return Object.fromEntries(res.map((g) => [g.groupId as string, { error: g.errorCode, ops: g.authorizedOperations }]));
}

describe('authorized operations with the authorizer on', () => {
  const ADMIN_PW = `adm-${randomBytes(12).toString('hex')}`;
  const ALICE_PW = `alice-${randomBytes(12).toString('hex')}`;
  let broker: BrokerProcess;
  let work: string;
  let alice: RawClient;
  let admin: RawClient;
  const port = () => broker.listeners.SASL_PLAINTEXT as number;

  before(async () => {
    work = tempDir('kstream-authops-');
    broker = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: ADMIN_PW },
      props: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'inter.broker.listener.name': 'SASL_PLAINTEXT',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:admin',
      },
    });
    const pw = join(work, 'alice.pw');
    writeFileSync(pw, `${ALICE_PW}\n`, { mode: 0o600 });
    const r = await kstream(
      ['user', 'create', 'alice', '--new-password-file', pw, '-b', `127.0.0.1:${port()}`].concat([
        '--sasl-mechanism',
        'SCRAM-SHA-512',
        '--user',
        'admin',
      ]),
      { env: { KSTREAM_PASSWORD: ADMIN_PW } },
    );
    assert.equal(r.code, 0, r.stderr);
    const k = new Kafka({
      clientId: 'authops-test',
      brokers: [`127.0.0.1:${port()}`],
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PW },
      logLevel: logLevel.NOTHING,
    });
    const a = k.admin();
    await a.connect();
    try {
      await a.createTopics({
        topics: ['orders', 'app-1', 'payroll', 'hidden'].map((topic) => ({ topic, numPartitions: 1 })),
      });
      const acl = (
        resourceType: number,
        resourceName: string,
        operation: number,
        permissionType: number = AclPermissionTypes.ALLOW,
        resourcePatternType: number = ResourcePatternTypes.LITERAL,
      ) => ({
        resourceType,
        resourceName,
        resourcePatternType,
        principal: 'User:alice',
        host: '*',
        operation,
        permissionType,
      });
      await a.createAcls({
        acl: [
          // READ + DESCRIBE on orders: exactly those two bits.
          acl(AclResourceTypes.TOPIC, 'orders', AclOperationTypes.READ),
          acl(AclResourceTypes.TOPIC, 'orders', AclOperationTypes.DESCRIBE),
          // A prefixed WRITE: WRITE and the DESCRIBE it implies.
          acl(
            AclResourceTypes.TOPIC,
            'app-',
            AclOperationTypes.WRITE,
            AclPermissionTypes.ALLOW,
            ResourcePatternTypes.PREFIXED,
          ),
          // ALL but a DENY of READ: every topic operation except READ.
          acl(AclResourceTypes.TOPIC, 'payroll', AclOperationTypes.ALL),
          acl(AclResourceTypes.TOPIC, 'payroll', AclOperationTypes.READ, AclPermissionTypes.DENY),
          // A group alice may READ (DESCRIBE implied).
          acl(AclResourceTypes.GROUP, 'g-alice', AclOperationTypes.READ),
        ],
      });
    } finally {
      await a.disconnect();
    }
    alice = await scramLogin(port(), 'alice', ALICE_PW);
    admin = await scramLogin(port(), 'admin', ADMIN_PW);
  });

  after(async () => {
    alice?.close();
    admin?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('Metadata v8-v12: topic_authorized_operations as the ACLs grant them; INT32_MIN when not asked', async () => {
    for (let v = 8; v <= 12; v++) {
      const t = await topicOps(alice, v, ['orders', 'app-1', 'payroll', 'hidden'], true);
      assert.deepEqual(t.orders, { error: 0, ops: bits(OP.READ, OP.DESCRIBE) }, `v${v} orders`);
      assert.deepEqual(t['app-1'], { error: 0, ops: bits(OP.WRITE, OP.DESCRIBE) }, `v${v} app-1`);
      assert.deepEqual(t.payroll, { error: 0, ops: ALL_TOPIC & ~bits(OP.READ) }, `v${v} payroll`);
      // A topic it may not describe: refused, and nothing said about its operations.
      assert.deepEqual(t.hidden, { error: ErrorCode.TOPIC_AUTHORIZATION_FAILED, ops: NOT_REQUESTED }, `v${v} hidden`);
      const not = await topicOps(alice, v, ['orders'], false);
      assert.deepEqual(not.orders, { error: 0, ops: NOT_REQUESTED }, `v${v} not requested`);
      // A super user may do everything that applies to a topic.
      const sup = await topicOps(admin, v, ['orders', 'hidden'], true);
      assert.deepEqual(sup.orders, { error: 0, ops: ALL_TOPIC }, `v${v} admin orders`);
      assert.deepEqual(sup.hidden, { error: 0, ops: ALL_TOPIC }, `v${v} admin hidden`);
    }
    // All topics (null list): the described ones carry their operations.
    const r = await alice.request(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    });
    const all = Object.fromEntries((r.topics as Struct[]).map((t) => [t.name, t.topicAuthorizedOperations]));
    assert.deepEqual(all, {
      'app-1': bits(OP.WRITE, OP.DESCRIBE),
      orders: bits(OP.READ, OP.DESCRIBE),
      payroll: ALL_TOPIC & ~bits(OP.READ),
    });
  });

  test('cluster_authorized_operations (Metadata v8-v10, DescribeCluster v0-v1): 0 without DESCRIBE, else the granted bits', async () => {
    for (let v = 8; v <= 10; v++) {
      assert.equal(await clusterOpsByMetadata(alice, v, true), 0, `Metadata v${v} alice`);
      assert.equal(await clusterOpsByMetadata(alice, v, false), NOT_REQUESTED, `Metadata v${v} not requested`);
      assert.equal(await clusterOpsByMetadata(admin, v, true), ALL_CLUSTER, `Metadata v${v} admin`);
    }
    for (let v = 0; v <= 1; v++) {
      assert.equal(await clusterOpsByDescribeCluster(alice, v, true), 0, `DescribeCluster v${v} alice`);
      assert.equal(await clusterOpsByDescribeCluster(alice, v, false), NOT_REQUESTED, `v${v} not requested`);
      assert.equal(await clusterOpsByDescribeCluster(admin, v, true), ALL_CLUSTER, `DescribeCluster v${v} admin`);
    }
    // Granted DESCRIBE and IDEMPOTENT_WRITE on the cluster: exactly those bits (on this connection too: the
    // authorizer's per-connection cache is dropped at the change).
    const a = new Kafka({
      clientId: 'authops-test',
      brokers: [`127.0.0.1:${port()}`],
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PW },
      logLevel: logLevel.NOTHING,
    }).admin();
    await a.connect();
    try {
      await a.createAcls({
        acl: [AclOperationTypes.DESCRIBE, AclOperationTypes.IDEMPOTENT_WRITE].map((operation) => ({
          resourceType: AclResourceTypes.CLUSTER,
          resourceName: 'kafka-cluster',
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: 'User:alice',
          host: '*',
          operation,
          permissionType: AclPermissionTypes.ALLOW,
        })),
      });
    } finally {
      await a.disconnect();
    }
    const want = bits(OP.DESCRIBE, OP.IDEMPOTENT_WRITE);
    assert.equal(await clusterOpsByDescribeCluster(alice, 1, true), want);
    assert.equal(await clusterOpsByMetadata(alice, 10, true), want);
  });

  test('kstream topic describe --show-authorized-operations: what the logged-in user may do', async () => {
    const as = (user: string, pw: string, args: string[]) =>
      kstream(
        ['topic', 'describe', ...args, '--show-authorized-operations', '-b', `127.0.0.1:${port()}`].concat([
          '--sasl-mechanism',
          'SCRAM-SHA-512',
          '--user',
          user,
        ]),
        { env: { KSTREAM_PASSWORD: pw } },
      );
    let r = await as('alice', ALICE_PW, ['orders']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^AUTHORIZED OPERATIONS +READ,DESCRIBE$/m);
    r = await as('alice', ALICE_PW, ['payroll', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).authorizedOperations, [
      'WRITE',
      'CREATE',
      'DELETE',
      'ALTER',
      'DESCRIBE',
      'DESCRIBE_CONFIGS',
      'ALTER_CONFIGS',
    ]);
    r = await as('admin', ADMIN_PW, ['hidden']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^AUTHORIZED OPERATIONS +READ,WRITE,CREATE,DELETE,ALTER,DESCRIBE,DESCRIBE_CONFIGS,ALTER_CONFIGS$/m,
    );
    // A topic alice may not describe: Kafka's error, one line.
    r = await as('alice', ALICE_PW, ['hidden']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^kstream: .*(TOPIC_AUTHORIZATION_FAILED|[Aa]uthoriz)/m);
  });

  test('DescribeGroups v3-v5: authorized_operations of the group; a refused group says nothing', async () => {
    for (let v = 3; v <= 5; v++) {
      const g = await groupOps(alice, v, ['g-alice', 'g-other'], true);
      assert.deepEqual(g['g-alice'], { error: 0, ops: bits(OP.READ, OP.DESCRIBE) }, `v${v} g-alice`);
      assert.deepEqual(g['g-other'], { error: ErrorCode.GROUP_AUTHORIZATION_FAILED, ops: NOT_REQUESTED }, `v${v}`);
      const not = await groupOps(alice, v, ['g-alice'], false);
      assert.deepEqual(not['g-alice'], { error: 0, ops: NOT_REQUESTED }, `v${v} not requested`);
      const sup = await groupOps(admin, v, ['g-other'], true);
      assert.deepEqual(sup['g-other'], { error: 0, ops: ALL_GROUP }, `v${v} admin`);
    }
  });
});

describe('authorized operations with no authorizer: every operation that applies', () => {
  let broker: BrokerProcess;
  let c: RawClient;

  before(async () => {
    broker = await startBroker();
    c = await RawClient.connect(broker.port);
    const r = await c.request(ApiKey.CreateTopics, 4, {
      topics: [{ name: 'open', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    assert.equal((r.topics as Struct[])[0]?.errorCode, 0);
  });

  after(async () => {
    c?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('Metadata, DescribeCluster and DescribeGroups answer all operations; INT32_MIN when not asked', async () => {
    const t = await topicOps(c, 12, ['open'], true);
    assert.deepEqual(t.open, { error: 0, ops: ALL_TOPIC });
    assert.equal((await topicOps(c, 12, ['open'], false)).open?.ops, NOT_REQUESTED);
    assert.equal(await clusterOpsByMetadata(c, 10, true), ALL_CLUSTER);
    assert.equal(await clusterOpsByMetadata(c, 10, false), NOT_REQUESTED);
    assert.equal(await clusterOpsByDescribeCluster(c, 1, true), ALL_CLUSTER);
    assert.equal(await clusterOpsByDescribeCluster(c, 1, false), NOT_REQUESTED);
    const g = await groupOps(c, 5, ['any-group'], true);
    assert.deepEqual(g['any-group'], { error: 0, ops: ALL_GROUP });
    assert.equal((await groupOps(c, 5, ['any-group'], false))['any-group']?.ops, NOT_REQUESTED);
  });
});
