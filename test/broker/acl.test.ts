/**
 * ACLs on every request (issue 19) against a real `kstream serve` with the authorizer on
 * (authorizer.class.name=StandardAuthorizer, super.users=User:admin) and one SASL_PLAINTEXT listener; users made
 * with `--bootstrap-user admin` and `kstream user create`. Real clients: kcat, kafkajs (consumer, producer,
 * admin createAcls/describeAcls/deleteAcls), kafka-python's KafkaAdminClient; raw requests for bad input.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { ScramClient } from '../../src/client/sasl.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

// The enums are not named exports of kafkajs' CommonJS module.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type AclOperationTypes = kafkajs.AclOperationTypes;
const run = promisify(execFile);
const ADMIN_PW = `adm-${randomBytes(12).toString('hex')}`;
const ALICE_PW = `alice-${randomBytes(12).toString('hex')}`;
let broker: BrokerProcess;
let work: string;

const port = () => broker.listeners.SASL_PLAINTEXT as number;

function kcat(user: string, password: string, args: string[], input?: string) {
  const p = run(
    'kcat',
    [
      '-b',
      `127.0.0.1:${port()}`,
      '-m',
      '15',
      '-X',
      'security.protocol=sasl_plaintext',
      '-X',
      'sasl.mechanisms=SCRAM-SHA-512',
      '-X',
      `sasl.username=${user}`,
      '-X',
      `sasl.password=${password}`,
      ...args,
    ],
    { timeout: 60_000 },
  );
  if (input !== undefined) p.child.stdin?.end(input);
  return p.then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

function kafka(user: string, password: string) {
  return new Kafka({
    clientId: 'kstream-acl-test',
    brokers: [`127.0.0.1:${port()}`],
    sasl: { mechanism: 'scram-sha-512', username: user, password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  });
}

/** A raw connection logged in with SCRAM-SHA-512. */
async function rawLogin(user: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(port());
  const hs = await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
  assert.equal(hs.errorCode, 0);
  const scram = new ScramClient('SCRAM-SHA-512', user, password);
  const first = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: scram.first() });
  assert.equal(first.errorCode, 0, String(first.errorMessage));
  const fin = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: await scram.final(first.authBytes as Buffer) });
  assert.equal(fin.errorCode, 0, String(fin.errorMessage));
  return c;
}

const admin = () => kafka('admin', ADMIN_PW).admin();

async function withAdmin<T>(f: (a: ReturnType<typeof admin>) => Promise<T>): Promise<T> {
  const a = admin();
  await a.connect();
  try {
    return await f(a);
  } finally {
    await a.disconnect();
  }
}

const aliceAcl = (
  resourceName: string,
  operation: AclOperationTypes,
  permissionType = AclPermissionTypes.ALLOW,
  resourcePatternType = ResourcePatternTypes.LITERAL,
  resourceType = AclResourceTypes.TOPIC,
) => ({
  resourceType,
  resourceName,
  resourcePatternType,
  principal: 'User:alice',
  host: '*',
  operation,
  permissionType,
});

describe('ACLs: the authorizer on every request', () => {
  before(async () => {
    work = tempDir('kstream-acl-');
    broker = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: ADMIN_PW },
      props: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'inter.broker.listener.name': 'SASL_PLAINTEXT',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:admin',
      },
    });
    const pw = join(work, 'alice.pw');
    writeFileSync(pw, `${ALICE_PW}\n`, { mode: 0o600 });
    const r = await kstream(
      [
        'user',
        'create',
        'alice',
        '--new-password-file',
        pw,
        '-b',
        `127.0.0.1:${port()}`,
        '--sasl-mechanism',
        'SCRAM-SHA-512',
        '--user',
        'admin',
      ],
      { env: { KSTREAM_PASSWORD: ADMIN_PW } },
    );
    assert.equal(r.code, 0, r.stderr);
    const p = kafka('admin', ADMIN_PW).producer();
    await withAdmin((a) =>
      a.createTopics({
        topics: ['orders', 'app-1', 'app-2', 'secret'].map((topic) => ({ topic, numPartitions: 1 })),
      }),
    );
    await p.connect();
    try {
      for (const topic of ['orders', 'app-1', 'app-2', 'secret'])
        await p.send({ topic, acks: -1, messages: [{ value: `${topic}-a` }, { value: `${topic}-b` }] });
    } finally {
      await p.disconnect();
    }
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('a super user passes with no ACL at all (kcat consume as admin)', async () => {
    const r = await kcat('admin', ADMIN_PW, ['-C', '-t', 'secret', '-e', '-q', '-f', '%s\n']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['secret-a', 'secret-b']);
  });

  test('kcat consume without READ: TOPIC_AUTHORIZATION_FAILED', async () => {
    const r = await kcat('alice', ALICE_PW, ['-C', '-t', 'orders', '-p', '0', '-o', 'beginning', '-e', '-q']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /authorization failed/i);
    assert.equal(r.stdout.trim(), '');
  });

  test('kafkajs without WRITE and without READ: TOPIC_AUTHORIZATION_FAILED', async () => {
    const k = kafka('alice', ALICE_PW);
    const p = k.producer();
    await p.connect();
    try {
      await assert.rejects(p.send({ topic: 'orders', acks: -1, messages: [{ value: 'x' }] }), (e: Error) => {
        assert.match(
          JSON.stringify({ m: e.message, t: (e as { type?: string }).type }),
          /TOPIC_AUTHORIZATION_FAILED|authoriz/i,
        );
        return true;
      });
    } finally {
      await p.disconnect();
    }
    // The consumer may use its group and see the topic, but not READ it.
    await withAdmin((a) =>
      a.createAcls({
        acl: [
          aliceAcl(
            'g-alice',
            AclOperationTypes.READ,
            AclPermissionTypes.ALLOW,
            ResourcePatternTypes.LITERAL,
            AclResourceTypes.GROUP,
          ),
          aliceAcl('orders', AclOperationTypes.DESCRIBE),
        ],
      }),
    );
    const c = k.consumer({ groupId: 'g-alice' });
    let crash: Error | null = null;
    c.on(c.events.CRASH, (e) => {
      crash = e.payload.error;
    });
    try {
      await c.connect();
      await c.subscribe({ topic: 'orders', fromBeginning: true });
      const got: string[] = [];
      await c.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
      await until('the kafkajs consumer fails', async () => crash !== null, 30_000);
      // kafkajs' wrapper of TOPIC_AUTHORIZATION_FAILED ("Topic authorization failed" is the code's message).
      assert.match(String(crash), /Not authorized to access topics: \[Topic authorization failed\]/);
      assert.deepEqual(got, []);
    } finally {
      await c.disconnect();
    }
  });

  test('Metadata hides topics the principal may not DESCRIBE', async () => {
    const c = await rawLogin('alice', ALICE_PW);
    try {
      const all = await c.request(ApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false });
      const names = (all.topics as { name: string }[]).map((t) => t.name).sort();
      assert.deepEqual(names, ['orders']); // DESCRIBE on orders was granted above; app-*, secret hidden
      const one = await c.request(ApiKey.Metadata, 9, { topics: [{ name: 'secret' }], allowAutoTopicCreation: true });
      assert.equal((one.topics as { errorCode: number }[])[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    } finally {
      c.close();
    }
    const r = await kcat('alice', ALICE_PW, ['-L']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /topic "orders"/);
    assert.doesNotMatch(r.stdout, /secret|app-1/);
  });

  test('a prefixed ALLOW grants a family of topics; a DENY beats an ALLOW', async () => {
    await withAdmin((a) =>
      a.createAcls({
        acl: [aliceAcl('app-', AclOperationTypes.READ, AclPermissionTypes.ALLOW, ResourcePatternTypes.PREFIXED)],
      }),
    );
    for (const t of ['app-1', 'app-2']) {
      const r = await kcat('alice', ALICE_PW, ['-C', '-t', t, '-e', '-q', '-f', '%s\n']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), [`${t}-a`, `${t}-b`]);
    }
    const denied = await kcat('alice', ALICE_PW, ['-C', '-t', 'secret', '-p', '0', '-e', '-q']);
    assert.notEqual(denied.code, 0);
    await withAdmin((a) => a.createAcls({ acl: [aliceAcl('app-2', AclOperationTypes.READ, AclPermissionTypes.DENY)] }));
    const r2 = await kcat('alice', ALICE_PW, ['-C', '-t', 'app-2', '-p', '0', '-e', '-q']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /authorization failed/i);
    const r1 = await kcat('alice', ALICE_PW, ['-C', '-t', 'app-1', '-e', '-q', '-f', '%s\n']);
    assert.equal(r1.code, 0, r1.stderr);
    // The denial is in the broker's log (an audit line), without any password.
    assert.match(broker.logs(), /authorization denied.*User:alice/);
    assert.ok(!broker.logs().includes(ALICE_PW) && !broker.logs().includes(ADMIN_PW));
  });

  test('kafkajs admin: describeAcls and deleteAcls', async () => {
    await withAdmin(async (a) => {
      const d = await a.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal: 'User:alice',
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      const seen = d.resources
        .flatMap((r) =>
          r.acls.map((x) => `${r.resourceName}/${r.resourcePatternType}/${x.operation}/${x.permissionType}`),
        )
        .sort();
      assert.deepEqual(seen, ['app-/4/3/3', 'app-2/3/3/2', 'orders/3/8/3']);
      const del = await a.deleteAcls({
        filters: [
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'app-2',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            principal: 'User:alice',
            host: '*',
            operation: AclOperationTypes.ANY,
            permissionType: AclPermissionTypes.DENY,
          },
        ],
      });
      assert.equal(del.filterResponses[0]?.matchingAcls.length, 1);
    });
    const r = await kcat('alice', ALICE_PW, ['-C', '-t', 'app-2', '-e', '-q', '-f', '%s\n']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['app-2-a', 'app-2-b']);
  });

  test("kafka-python's KafkaAdminClient: create_acls, describe_acls, delete_acls", async () => {
    const script = `
import os
from kafka.admin import KafkaAdminClient, ACL, ACLFilter, ACLOperation, ACLPermissionType, ResourcePattern, ResourcePatternFilter, ResourceType, ACLResourcePatternType
a = KafkaAdminClient(bootstrap_servers=os.environ['BS'], security_protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-512',
                     sasl_plain_username='admin', sasl_plain_password=os.environ['PW'])
acl = ACL(principal='User:bob', host='*', operation=ACLOperation.WRITE, permission_type=ACLPermissionType.ALLOW,
          resource_pattern=ResourcePattern(ResourceType.TOPIC, 'py-', ACLResourcePatternType.PREFIXED))
r = a.create_acls([acl])
assert not r['failed'], r
f = ACLFilter(principal='User:bob', host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
              resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
acls, err = a.describe_acls(f)
print('described', len(acls), acls[0].resource_pattern.resource_name, acls[0].operation.name)
d = a.delete_acls([f])
print('deleted', len(d[0][1]))
acls, err = a.describe_acls(f)
print('after', len(acls))
a.close()
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script], {
      timeout: 90_000,
      env: { ...process.env, BS: `127.0.0.1:${port()}`, PW: ADMIN_PW },
    });
    assert.deepEqual(stdout.trim().split('\n'), ['described 1 py- WRITE', 'deleted 1', 'after 0']);
  });

  test("admin, group and idempotence requests without their ACL: Kafka's authorization errors", async () => {
    const c = await rawLogin('alice', ALICE_PW);
    try {
      const ct = await c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: 'alice-new', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 10_000,
      });
      assert.equal((ct.topics as { errorCode: number }[])[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      const dt = await c.request(ApiKey.DeleteTopics, 3, { topicNames: ['secret'], timeoutMs: 10_000 });
      assert.equal((dt.responses as { errorCode: number }[])[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      const dc = await c.request(ApiKey.DescribeConfigs, 1, {
        resources: [{ resourceType: 2, resourceName: 'secret', configurationKeys: null }],
      });
      assert.equal((dc.results as { errorCode: number }[])[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      const jg = await c.request(ApiKey.JoinGroup, 5, {
        groupId: 'g-other',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      });
      assert.equal(jg.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const fc = await c.request(ApiKey.FindCoordinator, 2, { key: 'g-other', keyType: 0 });
      assert.equal(fc.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const ip = await c.request(ApiKey.InitProducerId, 2, { transactionalId: null, transactionTimeoutMs: 60_000 });
      assert.equal(ip.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const us = await c.request(ApiKey.DescribeUserScramCredentials, 0, { users: null });
      assert.equal(us.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    } finally {
      c.close();
    }
    // Nothing was created or deleted.
    await withAdmin(async (a) => {
      const names = await a.listTopics();
      assert.ok(names.includes('secret') && !names.includes('alice-new'));
    });
  });

  test('transactions: WRITE on the transactional id, CLUSTER_ACTION for markers; granted, kafkajs commits', async () => {
    const c = await rawLogin('alice', ALICE_PW);
    try {
      const fc = await c.request(ApiKey.FindCoordinator, 2, { key: 'alice-tx', keyType: 1 });
      assert.equal(fc.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const ip = await c.request(ApiKey.InitProducerId, 2, {
        transactionalId: 'alice-tx',
        transactionTimeoutMs: 60_000,
      });
      assert.equal(ip.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const et = await c.request(ApiKey.EndTxn, 1, {
        transactionalId: 'alice-tx',
        producerId: 0n,
        producerEpoch: 0,
        committed: true,
      });
      assert.equal(et.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      // Markers are for brokers: a client without CLUSTER_ACTION writes none.
      const wm = await c.request(ApiKey.WriteTxnMarkers, 1, {
        markers: [
          {
            producerId: 1n,
            producerEpoch: 0,
            transactionResult: true,
            topics: [{ name: 'orders', partitionIndexes: [0] }],
            coordinatorEpoch: 0,
          },
        ],
      });
      const wmCode = (wm.markers as { topics: { partitions: { errorCode: number }[] }[] }[])[0]?.topics[0]
        ?.partitions[0];
      assert.equal(wmCode?.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    } finally {
      c.close();
    }
    await withAdmin(async (a) => {
      await a.createTopics({ topics: [{ topic: 'alice-txn', numPartitions: 1 }] });
      await a.createAcls({
        acl: [
          aliceAcl(
            'alice-tx',
            AclOperationTypes.WRITE,
            AclPermissionTypes.ALLOW,
            ResourcePatternTypes.LITERAL,
            AclResourceTypes.TRANSACTIONAL_ID,
          ),
          aliceAcl('alice-txn', AclOperationTypes.WRITE),
        ],
      });
    });
    // Granted: a transaction commits (its markers written by the coordinator on this node, whose inter-broker
    // listener is SASL: the node writes its own partitions' markers in-process, with no login to itself).
    const p = kafka('alice', ALICE_PW).producer({
      transactionalId: 'alice-tx',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await p.connect();
    try {
      const tx = await p.transaction();
      await tx.send({ topic: 'alice-txn', messages: [{ value: 't1' }, { value: 't2' }, { value: 't3' }] });
      await tx.commit();
    } finally {
      await p.disconnect();
    }
    const r = await kcat('admin', ADMIN_PW, [
      '-C',
      '-t',
      'alice-txn',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-X',
      'isolation.level=read_committed',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['t1', 't2', 't3']);
  });

  test('bad input: INVALID_REQUEST for each bad binding, nothing stored; alice may not change ACLs', async () => {
    const c = await rawLogin('admin', ADMIN_PW);
    const filterAll = {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      patternTypeFilter: 1,
      principalFilter: null,
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    };
    try {
      const before = await c.request(ApiKey.DescribeAcls, 3, filterAll);
      const good = {
        resourceType: 2,
        resourceName: 't',
        resourcePatternType: 3,
        principal: 'User:x',
        host: '*',
        operation: 3,
        permissionType: 3,
      };
      const res = await c.request(ApiKey.CreateAcls, 3, {
        creations: [
          { ...good, resourceType: 99 }, // unknown resource type
          { ...good, resourceType: 1 }, // ANY is a filter, not a resource
          { ...good, principal: '' }, // empty principal
          { ...good, principal: 'alice' }, // no principal type
          { ...good, resourcePatternType: 2 }, // MATCH is a filter, not a pattern
          { ...good, resourceName: '' },
          { ...good, operation: 1 }, // ANY
          { ...good, permissionType: 7 },
          { ...good, resourceType: 4, resourceName: 'not-the-cluster' },
        ],
      });
      const codes = (res.results as { errorCode: number }[]).map((r) => r.errorCode);
      assert.deepEqual(codes, new Array(9).fill(ErrorCode.INVALID_REQUEST));
      const after = await c.request(ApiKey.DescribeAcls, 3, filterAll);
      assert.deepEqual(after.resources, before.resources);
      const badFilter = await c.request(ApiKey.DeleteAcls, 3, { filters: [{ ...filterAll, resourceTypeFilter: 0 }] });
      assert.equal((badFilter.filterResults as { errorCode: number }[])[0]?.errorCode, ErrorCode.INVALID_REQUEST);
      assert.deepEqual((await c.request(ApiKey.DescribeAcls, 3, filterAll)).resources, before.resources);
    } finally {
      c.close();
    }
    const a = await rawLogin('alice', ALICE_PW);
    try {
      const res = await a.request(ApiKey.CreateAcls, 1, {
        creations: [
          {
            resourceType: 2,
            resourceName: '*',
            resourcePatternType: 3,
            principal: 'User:alice',
            host: '*',
            operation: 2,
            permissionType: 3,
          },
        ],
      });
      assert.equal((res.results as { errorCode: number }[])[0]?.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const d = await a.request(ApiKey.DescribeAcls, 1, {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      });
      assert.equal(d.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    } finally {
      a.close();
    }
  });

  test('client quotas: AlterClientQuotas needs ALTER_CONFIGS and DescribeClientQuotas DESCRIBE_CONFIGS on the cluster', async () => {
    const entries = [
      {
        entity: [{ entityType: 'user', entityName: 'alice' }],
        ops: [{ key: 'producer_byte_rate', value: 1048576, remove: false }],
      },
    ];
    const describeAll = { components: [], strict: false };
    const a = await rawLogin('alice', ALICE_PW);
    const admin = await rawLogin('admin', ADMIN_PW);
    try {
      const refused = await a.request(ApiKey.AlterClientQuotas, 1, { entries, validateOnly: false });
      assert.equal((refused.entries as { errorCode: number }[])[0]?.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const hidden = await a.request(ApiKey.DescribeClientQuotas, 1, describeAll);
      assert.equal(hidden.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      assert.equal(hidden.entries, null);
      // Nothing was stored by alice's attempt; the super user may set and describe.
      assert.deepEqual((await admin.request(ApiKey.DescribeClientQuotas, 1, describeAll)).entries, []);
      const ok = await admin.request(ApiKey.AlterClientQuotas, 1, { entries, validateOnly: false });
      assert.equal((ok.entries as { errorCode: number }[])[0]?.errorCode, 0);
      const d = await admin.request(ApiKey.DescribeClientQuotas, 1, describeAll);
      assert.equal((d.entries as unknown[]).length, 1);
      await admin.request(ApiKey.AlterClientQuotas, 1, {
        entries: [{ ...entries[0], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] }],
        validateOnly: false,
      });
    } finally {
      a.close();
      admin.close();
    }
  });
});
