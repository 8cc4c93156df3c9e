/**
 * A secured cluster (issue 18, item 5): three real `kstream serve` nodes whose inter-broker listener INTERNAL
 * is SASL_SSL with mutual TLS (ssl.client.auth=required: each node presents its keystore to the others) and
 * SCRAM-SHA-512 as the user `broker` (inter.broker.sasl.username, its password in a file), sessions of 5 s
 * (connections.max.reauth.ms: the replica fetchers re-authenticate, KIP-368); etcd itself serves TLS and
 * asks for client certificates (etcd.ssl.*). Clients use the CLIENT listener (SASL_SSL). Shown with real
 * clients: a user made on one node (AlterUserScramCredentials) logs in on the others (kcat); acks=all
 * produce with RF 3 and min.insync.replicas=3 (kafkajs) succeeds, so every follower fetched over INTERNAL; a
 * fourth node with a wrong inter-broker password does not join replication and says why in its log; started
 * again with the right one it catches up and joins the ISR. No password appears in any node's log.
 * Certificates are made by the test with openssl.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Connection } from '../../src/client/connection.js';
import { Api, ApiKey } from '../../src/protocol/messages/index.js';
import { saltedPassword } from '../../src/protocol/scram.js';
import { type BrokerProcess, removeDir, tempDir } from '../helpers/broker.js';
import { type Ca, makeCa, makeCert } from '../helpers/certs.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
const BROKER_PASSWORD = `brk-${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;
const ALICE_PASSWORD = `alice-${randomBytes(12).toString('hex')}`;
const PASSWORDS = [BROKER_PASSWORD, WRONG_PASSWORD, ALICE_PASSWORD];
const REAUTH_MS = 5000;

let work: string;
let ca: Ca;
let cluster: Cluster | undefined;
let startedAt = 0;
/** Every node process started (a restarted node's earlier process too): their logs are grepped at the end. */
const processes: BrokerProcess[] = [];

const clientPort = (id: number) => (cluster as Cluster).node(id).listeners.CLIENT as number;

/** kcat as alice over node `id`'s CLIENT listener (SASL_SSL, SCRAM-SHA-512). */
function kcat(id: number, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(
    'kcat',
    [
      '-b',
      `127.0.0.1:${clientPort(id)}`,
      '-m',
      '10',
      '-X',
      'security.protocol=sasl_ssl',
      '-X',
      `ssl.ca.location=${ca.cert}`,
      '-X',
      'sasl.mechanisms=SCRAM-SHA-512',
      '-X',
      'sasl.username=alice',
      '-X',
      `sasl.password=${ALICE_PASSWORD}`,
      ...args,
    ],
    { timeout: 30_000 },
  );
}

function kafkajs(id: number, user: string, password: string): Kafka {
  return new Kafka({
    clientId: 'kstream-secure-cluster-test',
    brokers: [`127.0.0.1:${clientPort(id)}`],
    ssl: { ca: [readFileSync(ca.cert, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: user, password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
    // Log in again 1 s before the session (connections.max.reauth.ms) ends, not 10 s (kafkajs' default).
    reauthenticationThreshold: 1000,
  });
}

/** Partition 0 of `topic` as node `id` tells it (over its PLAINTEXT listener). */
async function partition0(id: number, topic: string): Promise<{ leaderId: number; isrNodes: number[] } | null> {
  const c = await RawClient.connect((cluster as Cluster).node(id).port);
  try {
    const r = await c.request(ApiKey.Metadata, 9, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const p = (r.topics[0]?.partitions as { partitionIndex: number; leaderId: number; isrNodes: number[] }[])?.[0];
    return p ? { leaderId: p.leaderId, isrNodes: [...p.isrNodes].sort() } : null;
  } finally {
    c.close();
  }
}

async function createTopic(topic: string, replicas: number[], minIsr: number): Promise<void> {
  const admin = kafkajs(1, 'broker', BROKER_PASSWORD).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          replicaAssignment: [{ partition: 0, replicas }],
          configEntries: [{ name: 'min.insync.replicas', value: String(minIsr) }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  await until(
    `${topic} led by node ${replicas[0]}`,
    async () => (await partition0(1, topic))?.leaderId === replicas[0],
  );
}

async function produce(id: number, topic: string, values: string[]): Promise<void> {
  const producer = kafkajs(id, 'alice', ALICE_PASSWORD).producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
}

describe('a secured cluster: SASL_SSL between brokers, etcd over TLS', { timeout: 120_000 }, () => {
  before(async () => {
    work = tempDir('kstream-secure-cluster-');
    ca = makeCa(work, 'ca');
    const etcdServer = makeCert(work, ca, 'etcd', '/O=kstream test/CN=etcd', true);
    const etcdClient = makeCert(work, ca, 'etcd-client', '/O=kstream test/CN=kstream', false);
    const keystores = new Map([1, 2, 3, 4].map((id) => [id, makeCert(work, ca, `node${id}`, `/CN=node${id}`, 'both')]));
    writeFileSync(join(work, 'broker.pw'), `${BROKER_PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(work, 'wrong.pw'), `${WRONG_PASSWORD}\n`, { mode: 0o600 });
    cluster = await startCluster({
      nodes: 3,
      etcd: { tls: { ca: ca.cert, cert: etcdServer.cert, key: etcdServer.key, clientCertAuth: true } },
      props: {
        listeners: 'PLAINTEXT://127.0.0.1:0,CLIENT://127.0.0.1:0,INTERNAL://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CLIENT:SASL_SSL,INTERNAL:SASL_SSL',
        'inter.broker.listener.name': 'INTERNAL',
        'ssl.truststore.location': ca.cert,
        'listener.name.internal.ssl.client.auth': 'required',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'inter.broker.sasl.username': 'broker',
        'inter.broker.sasl.password.file': join(work, 'broker.pw'),
        'connections.max.reauth.ms': String(REAUTH_MS),
        'replica.lag.time.max.ms': '3000',
        'etcd.ssl.ca.location': ca.cert,
        'etcd.ssl.certificate.location': etcdClient.cert,
        'etcd.ssl.key.location': etcdClient.key,
      },
      nodeProps: (id) => ({ 'ssl.keystore.location': (keystores.get(id) as { pem: string }).pem }),
      // The inter-broker user, made by whichever node comes first (the others find it).
      args: (id) =>
        id <= 3 ? ['--bootstrap-user', 'broker', '--bootstrap-password-file', join(work, 'broker.pw')] : [],
    });
    startedAt = Date.now();
    for (const id of cluster.ids) processes.push(cluster.node(id));
  });

  after(async () => {
    await cluster?.close();
    if (work) removeDir(work);
  });

  test('etcd is reached over TLS with a client certificate', () => {
    const c = cluster as Cluster;
    assert.match(c.etcd.url, /^https:\/\//);
    for (const id of c.ids) assert.match(c.node(id).logs(), /joined cluster .*metadata="etcd https:\/\//);
  });

  test('a user made on one node logs in on the others', async () => {
    const conn = await Connection.connect({
      host: '127.0.0.1',
      port: clientPort(1),
      tls: { ca: readFileSync(ca.cert, 'utf8') },
      sasl: { mechanism: 'SCRAM-SHA-512', user: 'broker', password: BROKER_PASSWORD },
    });
    try {
      const salt = randomBytes(16);
      const r = await conn.request(Api.AlterUserScramCredentials, {
        deletions: [],
        upsertions: [
          {
            name: 'alice',
            mechanism: 2,
            iterations: 4096,
            salt,
            saltedPassword: await saltedPassword('SCRAM-SHA-512', ALICE_PASSWORD, salt, 4096),
          },
        ],
      });
      assert.deepEqual(
        r.results.map((x) => [x.user, x.errorCode]),
        [['alice', 0]],
      );
    } finally {
      conn.close();
    }
    for (const id of [2, 3]) {
      const { stdout } = await kcat(id, ['-L']);
      // Metadata over CLIENT names every node at its CLIENT address.
      for (const n of [1, 2, 3]) assert.match(stdout, new RegExp(`broker ${n} at 127\\.0\\.0\\.1:${clientPort(n)}`));
    }
  });

  test('acks=all with RF 3 and min.insync.replicas=3: every follower fetches over SASL_SSL', async () => {
    await createTopic('secure', [1, 2, 3], 3);
    await until('secure has its full ISR', async () => (await partition0(1, 'secure'))?.isrNodes.join() === '1,2,3');
    await produce(2, 'secure', ['a', 'b', 'c']);
    await produce(3, 'secure', ['d', 'e']);
    const { stdout } = await kcat(3, ['-C', '-t', 'secure', '-o', 'beginning', '-c', '5', '-e', '-f', '%s\\n']);
    assert.deepEqual(stdout.trim().split('\n'), ['a', 'b', 'c', 'd', 'e']);
  });

  test('a node with a wrong inter-broker password does not replicate and says why; with the right one it catches up', async () => {
    const c = cluster as Cluster;
    const wrong = await c.start(4, { 'inter.broker.sasl.password.file': join(work, 'wrong.pw') });
    processes.push(wrong);
    await c.waitForBrokers([1, 2, 3, 4]);
    await createTopic('late', [1, 4], 1);
    await produce(1, 'late', ['x', 'y']);
    const says = await until(
      'node 4 logs why it cannot replicate',
      async () => /WARN .*replica fetcher cannot connect to the leader.*\n/.exec(wrong.logs())?.[0],
    );
    assert.match(says, /leader=1/);
    assert.match(says, /listener=INTERNAL/);
    assert.match(says, /SASL_SSL as broker \(SCRAM-SHA-512\)/);
    assert.match(says, /SASL_AUTHENTICATION_FAILED/);
    assert.match(c.node(1).logs(), /SASL authentication failed .*user=broker/);
    await until('node 4 leaves the ISR of late', async () => (await partition0(1, 'late'))?.isrNodes.join() === '1');
    await produce(1, 'late', ['z']);
    assert.equal((await partition0(1, 'late'))?.isrNodes.join(), '1', 'node 4 does not rejoin with a wrong password');

    await c.stop(4);
    const right = await c.start(4);
    processes.push(right);
    await until(
      'node 4 catches up and rejoins the ISR',
      async () => (await partition0(1, 'late'))?.isrNodes.join() === '1,4',
    );
    assert.doesNotMatch(right.logs(), /replica fetcher cannot connect/);
  });

  test('replica fetchers re-authenticate (KIP-368); no password in any log', async () => {
    // Fetchers that did not log in again would have had their connections closed by now, each with a log line.
    await until('three SASL session lifetimes since the start', async () => Date.now() - startedAt > 3 * REAUTH_MS);
    for (const id of [1, 2, 3]) {
      // A connection that outlives its session is closed at its next request, with this line.
      const expired = (cluster as Cluster)
        .node(id)
        .logs()
        .split('\n')
        .filter((l) => l.includes('SASL session expired'));
      assert.deepEqual(expired, [], `node ${id}`);
    }
    for (const p of processes) {
      const logs = p.logs();
      assert.ok(logs.length > 0);
      for (const pw of PASSWORDS) assert.ok(!logs.includes(pw), `a password is in the log of ${p.dataDir}`);
    }
  });
});
