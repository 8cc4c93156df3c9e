/**
 * SASL on the broker (issue 18, slice 2) against a real `kstream serve` started with `--bootstrap-user admin`
 * (password from KSTREAM_BOOTSTRAP_PASSWORD) and three listeners: SASL_PLAINTEXT and SASL_SSL with PLAIN,
 * SCRAM-SHA-256 and SCRAM-SHA-512, and ONLY512 (SASL_PLAINTEXT, SCRAM-SHA-512 alone). Real clients log in and
 * produce/consume: kcat and confluent-kafka-python over SASL_SSL with SCRAM-SHA-512, kafka-python over
 * SASL_PLAINTEXT with PLAIN (SaslHandshake v0, bare tokens), kafkajs over SASL_SSL with PLAIN and SCRAM-SHA-256.
 * A user made with AlterUserScramCredentials logs in; refused, each with Kafka's error while the broker serves
 * the others: a request before login, a wrong password, an unknown user, a mechanism not enabled, a truncated
 * and a replayed SCRAM exchange. No password is in the broker's log.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Connection } from '../../src/client/connection.js';
import { ScramClient } from '../../src/client/sasl.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Api, ApiKey } from '../../src/protocol/messages/index.js';
import { saltedPassword } from '../../src/protocol/scram.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { type Ca, makeCa, makeCert } from '../helpers/certs.js';
import { RawClient } from '../helpers/raw-client.js';

const run = promisify(execFile);
const PASSWORD = `adm-${randomBytes(12).toString('hex')}`;
const ALICE_PASSWORD = `alice-${randomBytes(12).toString('hex')}`;
let broker: BrokerProcess;
let work: string;
let ca: Ca;

function kcat(port: number, args: string[], input?: string, wait = 10): Promise<{ stdout: string; stderr: string }> {
  const p = run('kcat', ['-b', `127.0.0.1:${port}`, '-m', String(wait), ...args], { timeout: 60_000 });
  if (input !== undefined) p.child.stdin?.end(input);
  return p;
}

const scramSsl = (user: string, password: string, m = 'SCRAM-SHA-512') => [
  '-X',
  'security.protocol=sasl_ssl',
  '-X',
  `ssl.ca.location=${ca.cert}`,
  '-X',
  `sasl.mechanisms=${m}`,
  '-X',
  `sasl.username=${user}`,
  '-X',
  `sasl.password=${password}`,
];

function python(script: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return run('/usr/bin/python3', ['-c', script], { timeout: 90_000, env: { ...process.env, ...env } });
}

/** A raw connection logged in with SCRAM (SaslHandshake v1 + SaslAuthenticate v2). */
async function rawLogin(port: number, user: string, password: string, m: 'SCRAM-SHA-256' | 'SCRAM-SHA-512') {
  const c = await RawClient.connect(port);
  const hs = await c.request(ApiKey.SaslHandshake, 1, { mechanism: m });
  assert.equal(hs.errorCode, 0);
  const scram = new ScramClient(m, user, password);
  const first = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: scram.first() });
  assert.equal(first.errorCode, 0, String(first.errorMessage));
  const finalMsg = await scram.final(first.authBytes as Buffer);
  const fin = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: finalMsg });
  return { c, fin, finalMsg, scram };
}

describe('SASL PLAIN and SCRAM on the broker', () => {
  before(async () => {
    work = tempDir('kstream-sasl-');
    ca = makeCa(work, 'test-ca');
    const server = makeCert(work, ca, 'broker', '/O=kstream test/CN=broker', true);
    broker = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin', '--log-level', 'debug'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: PASSWORD },
      props: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,ONLY512://127.0.0.1:0',
        'listener.security.protocol.map': 'SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,ONLY512:SASL_PLAINTEXT',
        'inter.broker.listener.name': 'SASL_PLAINTEXT',
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
        'listener.name.only512.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'ssl.keystore.location': server.pem,
      },
    });
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('kcat over SASL_SSL with SCRAM-SHA-512 as the bootstrap user', async () => {
    const port = broker.listeners.SASL_SSL as number;
    await kcat(port, [...scramSsl('admin', PASSWORD), '-P', '-t', 'scram-kcat', '-K', ':'], 'a:1\nb:2\n');
    const { stdout } = await kcat(port, [
      ...scramSsl('admin', PASSWORD),
      '-C',
      '-t',
      'scram-kcat',
      '-e',
      '-q',
      '-f',
      '%k=%s\n',
    ]);
    assert.deepEqual(stdout.trim().split('\n').sort(), ['a=1', 'b=2']);
  });

  test('confluent-kafka-python over SASL_SSL with SCRAM-SHA-512', async () => {
    const script = `
import os
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
conf = {'bootstrap.servers': os.environ['BS'], 'security.protocol': 'SASL_SSL', 'ssl.ca.location': os.environ['CA'],
        'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'admin', 'sasl.password': os.environ['PW']}
p = Producer(conf)
for i in range(5):
    p.produce('scram-confluent', value=('m%d' % i).encode())
assert p.flush(30) == 0
c = Consumer(dict(conf, **{'group.id': 'g-confluent', 'enable.auto.commit': False}))
c.assign([TopicPartition('scram-confluent', 0, OFFSET_BEGINNING)])
got = []
while len(got) < 5:
    m = c.poll(30)
    assert m is not None, 'timed out'
    assert m.error() is None, m.error()
    got.append(m.value().decode())
c.close()
print(','.join(got))
`;
    const { stdout } = await python(script, {
      BS: `127.0.0.1:${broker.listeners.SASL_SSL}`,
      CA: ca.cert,
      PW: PASSWORD,
    });
    assert.equal(stdout.trim(), 'm0,m1,m2,m3,m4');
  });

  test('kafka-python over SASL_PLAINTEXT with PLAIN (handshake v0, bare tokens)', async () => {
    const script = `
import os
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
conf = dict(bootstrap_servers=os.environ['BS'], security_protocol='SASL_PLAINTEXT', sasl_mechanism='PLAIN',
            sasl_plain_username='admin', sasl_plain_password=os.environ['PW'])
p = KafkaProducer(**conf)
for i in range(3):
    p.send('plain-kafka-python', ('p%d' % i).encode()).get(timeout=30)
p.close()
c = KafkaConsumer(consumer_timeout_ms=10000, **conf)
tp = TopicPartition('plain-kafka-python', 0)
c.assign([tp])
c.seek_to_beginning(tp)
# Everything up to the log's end, then stop (not 10 s of silence); the timeout bounds a stall.
end = c.end_offsets([tp])[tp]
got = []
for m in c:
    got.append(m.value.decode())
    if m.offset + 1 >= end:
        break
print(','.join(got))
c.close()
`;
    const { stdout } = await python(script, { BS: `127.0.0.1:${broker.listeners.SASL_PLAINTEXT}`, PW: PASSWORD });
    assert.equal(stdout.trim(), 'p0,p1,p2');
  });

  for (const mechanism of ['plain', 'scram-sha-256'] as const) {
    test(`kafkajs over SASL_SSL with ${mechanism}`, async () => {
      const kafka = new Kafka({
        clientId: 'kstream-sasl-test',
        brokers: [`127.0.0.1:${broker.listeners.SASL_SSL}`],
        ssl: { ca: [readFileSync(ca.cert, 'utf8')] },
        sasl:
          mechanism === 'plain'
            ? { mechanism, username: 'admin', password: PASSWORD }
            : { mechanism, username: 'admin', password: PASSWORD },
        logLevel: logLevel.NOTHING,
        retry: { retries: 2 },
      });
      const producer = kafka.producer();
      const admin = kafka.admin();
      try {
        await producer.connect();
        const topic = `kafkajs-${mechanism}`;
        await producer.send({ topic, messages: [{ key: 'k', value: 'v' }], acks: -1 });
        await admin.connect();
        const offsets = await admin.fetchTopicOffsets(topic);
        assert.equal(offsets[0]?.high, '1');
      } finally {
        await producer.disconnect();
        await admin.disconnect();
      }
    });
  }

  test('AlterUserScramCredentials makes a user that logs in; Describe lists it; deleted, it is refused', async () => {
    const port = broker.listeners.SASL_PLAINTEXT as number;
    const { c, fin } = await rawLogin(port, 'admin', PASSWORD, 'SCRAM-SHA-512');
    try {
      assert.equal(fin.errorCode, 0);
      const salt = randomBytes(16);
      const salted = await saltedPassword('SCRAM-SHA-256', ALICE_PASSWORD, salt, 4096);
      const alter = await c.request(ApiKey.AlterUserScramCredentials, 0, {
        deletions: [],
        upsertions: [{ name: 'alice', mechanism: 1, iterations: 4096, salt, saltedPassword: salted }],
      });
      assert.deepEqual(
        (alter.results as Struct[]).map((r) => [r.user, r.errorCode]),
        [['alice', 0]],
      );
      const bad = await c.request(ApiKey.AlterUserScramCredentials, 0, {
        deletions: [{ name: 'nobody', mechanism: 2 }],
        upsertions: [{ name: 'bob', mechanism: 1, iterations: 100, salt, saltedPassword: salted }],
      });
      assert.deepEqual(
        (bad.results as Struct[]).map((r) => [r.user, r.errorCode]),
        [
          ['nobody', ErrorCode.RESOURCE_NOT_FOUND],
          ['bob', ErrorCode.UNACCEPTABLE_CREDENTIAL],
        ],
      );
      const described = await c.request(ApiKey.DescribeUserScramCredentials, 0, { users: null });
      const byUser = new Map((described.results as Struct[]).map((r) => [r.user, r]));
      assert.deepEqual(
        ((byUser.get('admin') as Struct).credentialInfos as Struct[]).map((x) => [x.mechanism, x.iterations]),
        [
          [1, 4096],
          [2, 4096],
        ],
      );
      assert.deepEqual(
        ((byUser.get('alice') as Struct).credentialInfos as Struct[]).map((x) => x.mechanism),
        [1],
      );
      const unknown = await c.request(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'nobody' }] });
      assert.equal((unknown.results as Struct[])[0]?.errorCode, ErrorCode.RESOURCE_NOT_FOUND);

      const ssl = broker.listeners.SASL_SSL as number;
      const meta = await kcat(ssl, [...scramSsl('alice', ALICE_PASSWORD, 'SCRAM-SHA-256'), '-L']);
      assert.match(meta.stdout, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${ssl}\\b`));
      // alice has no SCRAM-SHA-512 credential.
      await assert.rejects(kcat(ssl, [...scramSsl('alice', ALICE_PASSWORD, 'SCRAM-SHA-512'), '-L'], undefined, 3));

      const del = await c.request(ApiKey.AlterUserScramCredentials, 0, {
        deletions: [{ name: 'alice', mechanism: 1 }],
        upsertions: [],
      });
      assert.equal((del.results as Struct[])[0]?.errorCode, 0);
      await assert.rejects(kcat(ssl, [...scramSsl('alice', ALICE_PASSWORD, 'SCRAM-SHA-256'), '-L'], undefined, 3));
    } finally {
      c.close();
    }
  });

  test('a request before login closes the connection; the broker serves others', async () => {
    const c = await RawClient.connect(broker.listeners.SASL_PLAINTEXT as number);
    try {
      const versions = await c.request(ApiKey.ApiVersions, 3, {
        clientSoftwareName: 'raw',
        clientSoftwareVersion: '1',
      });
      const keys = (versions.apiKeys as Struct[]).map((k) => k.apiKey);
      assert.ok(keys.includes(ApiKey.SaslHandshake) && keys.includes(ApiKey.SaslAuthenticate));
      await assert.rejects(c.request(ApiKey.Metadata, 1, { topics: null }), /connection closed/);
    } finally {
      c.close();
    }
    const { c: ok, fin } = await rawLogin(
      broker.listeners.SASL_PLAINTEXT as number,
      'admin',
      PASSWORD,
      'SCRAM-SHA-256',
    );
    assert.equal(fin.errorCode, 0);
    const meta = await ok.request(ApiKey.Metadata, 1, { topics: null });
    assert.ok((meta.brokers as Struct[]).length === 1);
    ok.close();
  });

  test('wrong password and unknown user: SASL_AUTHENTICATION_FAILED, then closed', async () => {
    const port = broker.listeners.SASL_PLAINTEXT as number;
    for (const [user, password] of [
      ['admin', 'not-the-password'],
      ['nobody', PASSWORD],
    ] as const) {
      const { c, fin } = await rawLogin(port, user, password, 'SCRAM-SHA-512').catch(async (e: Error) => {
        // An unknown user fails at the first message already.
        assert.equal(user, 'nobody', e.message);
        return { c: null, fin: null };
      });
      if (c !== null && fin !== null) {
        assert.equal(fin.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
        assert.ok(await c.waitClosed(5000), 'closed after the failed login');
        c.close();
      }
      const p = await RawClient.connect(port);
      await p.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
      const r = await p.request(ApiKey.SaslAuthenticate, 2, {
        authBytes: Buffer.from(`\u0000${user}\u0000${password}`),
      });
      assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.ok(await p.waitClosed(5000));
      p.close();
    }
    const u = await RawClient.connect(port);
    await u.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
    const first = await u.request(ApiKey.SaslAuthenticate, 2, {
      authBytes: new ScramClient('SCRAM-SHA-512', 'nobody', PASSWORD).first(),
    });
    assert.equal(first.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.ok(await u.waitClosed(5000));
    u.close();
    // kcat with a wrong password fails; with the right one it is served.
    const ssl = broker.listeners.SASL_SSL as number;
    await assert.rejects(kcat(ssl, [...scramSsl('admin', 'wrong'), '-L'], undefined, 3));
    const ok = await kcat(ssl, [...scramSsl('admin', PASSWORD), '-L']);
    assert.match(ok.stdout, /broker 1 at/);
  });

  test('a mechanism not enabled on the listener: UNSUPPORTED_SASL_MECHANISM with the enabled ones', async () => {
    const c = await RawClient.connect(broker.listeners.ONLY512 as number);
    try {
      const hs = await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
      assert.equal(hs.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
      assert.deepEqual(hs.mechanisms, ['SCRAM-SHA-512']);
      assert.ok(await c.waitClosed(5000));
    } finally {
      c.close();
    }
    const { c: ok, fin } = await rawLogin(broker.listeners.ONLY512 as number, 'admin', PASSWORD, 'SCRAM-SHA-512');
    assert.equal(fin.errorCode, 0);
    ok.close();
  });

  test('a truncated and a replayed SCRAM exchange are refused', async () => {
    const port = broker.listeners.SASL_PLAINTEXT as number;
    // A client-final message cut before its proof.
    const c = await RawClient.connect(port);
    await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
    const scram = new ScramClient('SCRAM-SHA-512', 'admin', PASSWORD);
    const first = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: scram.first() });
    const full = await scram.final(first.authBytes as Buffer);
    const cut = full.subarray(0, full.indexOf(',p='));
    const r = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: cut });
    assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.ok(await c.waitClosed(5000));
    c.close();
    // A client-final message that worked once, sent again in a new exchange (new server nonce).
    const good = await rawLogin(port, 'admin', PASSWORD, 'SCRAM-SHA-512');
    assert.equal(good.fin.errorCode, 0);
    assert.ok(good.scram.verify(good.fin.authBytes as Buffer), 'the server proves it knows the credential');
    good.c.close();
    const again = await RawClient.connect(port);
    await again.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
    await again.request(ApiKey.SaslAuthenticate, 2, { authBytes: good.scram.first() });
    const replayed = await again.request(ApiKey.SaslAuthenticate, 2, { authBytes: good.finalMsg });
    assert.equal(replayed.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.ok(await again.waitClosed(5000));
    again.close();
    // SaslAuthenticate without a handshake.
    const nohs = await RawClient.connect(port);
    const x = await nohs.request(ApiKey.SaslAuthenticate, 2, { authBytes: scram.first() });
    assert.equal(x.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    nohs.close();
  });

  test('no password in the broker log (debug level)', () => {
    const logs = broker.logs();
    assert.match(logs, /SASL authentication failed/);
    for (const secret of [PASSWORD, ALICE_PASSWORD, 'not-the-password']) assert.ok(!logs.includes(secret), secret);
  });
});

describe('SASL re-authentication (KIP-368, connections.max.reauth.ms)', () => {
  let b: BrokerProcess;
  before(async () => {
    b = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: PASSWORD },
      props: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'connections.max.reauth.ms': '1500',
      },
    });
  });
  after(async () => {
    await b?.stop();
    removeDir(b?.dataDir ?? '');
  });

  const reauth = async (c: RawClient, user: string, password: string) => {
    const hs = await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
    assert.equal(hs.errorCode, 0);
    const scram = new ScramClient('SCRAM-SHA-512', user, password);
    const first = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: scram.first() });
    if (first.errorCode !== 0) return first;
    return c.request(ApiKey.SaslAuthenticate, 2, { authBytes: await scram.final(first.authBytes as Buffer) });
  };

  test('the session lifetime is told; re-authenticating keeps the connection, an expired session closes it', async () => {
    const port = b.listeners.SASL_PLAINTEXT as number;
    const { c, fin } = await rawLogin(port, 'admin', PASSWORD, 'SCRAM-SHA-512');
    try {
      assert.equal(fin.errorCode, 0);
      assert.equal(fin.sessionLifetimeMs, 1500n);
      for (let i = 0; i < 3; i++) {
        // Re-authenticated every second: the connection outlives three session lifetimes.
        await new Promise((r) => setTimeout(r, 1000));
        const again = await reauth(c, 'admin', PASSWORD);
        assert.equal(again.errorCode, 0);
        assert.equal(again.sessionLifetimeMs, 1500n);
        const meta = await c.request(ApiKey.Metadata, 1, { topics: null });
        assert.equal(meta.brokers.length, 1);
      }
      // Not re-authenticated in time: the next request closes the connection.
      await new Promise((r) => setTimeout(r, 1700));
      await assert.rejects(c.request(ApiKey.Metadata, 1, { topics: null }), /connection closed/);
    } finally {
      c.close();
    }
  });

  test("kstream's client re-authenticates before the session ends: one connection serves past three lifetimes", async () => {
    const conn = await Connection.connect({
      host: '127.0.0.1',
      port: b.listeners.SASL_PLAINTEXT as number,
      sasl: { mechanism: 'SCRAM-SHA-512', user: 'admin', password: PASSWORD },
    });
    try {
      const started = Date.now();
      while (Date.now() - started < 5000) {
        const meta = await conn.request(Api.Metadata, { topics: null });
        assert.equal(meta.brokers.length, 1);
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(conn.closed, false);
    } finally {
      conn.close();
    }
  });

  test('re-authentication as another user is refused and closes the connection', async () => {
    const port = b.listeners.SASL_PLAINTEXT as number;
    const { c } = await rawLogin(port, 'admin', PASSWORD, 'SCRAM-SHA-512');
    try {
      const salt = randomBytes(16);
      const alter = await c.request(ApiKey.AlterUserScramCredentials, 0, {
        deletions: [],
        upsertions: [
          {
            name: 'eve',
            mechanism: 2,
            iterations: 4096,
            salt,
            saltedPassword: await saltedPassword('SCRAM-SHA-512', ALICE_PASSWORD, salt, 4096),
          },
        ],
      });
      assert.equal((alter.results as Struct[])[0]?.errorCode, 0);
      const r = await reauth(c, 'eve', ALICE_PASSWORD);
      assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.ok(await c.waitClosed(5000));
    } finally {
      c.close();
    }
  });
});
