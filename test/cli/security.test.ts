/**
 * kstream's CLI over TLS and SASL (issue 18, slice 3), the real bin/run.js against a real `kstream serve` with a
 * SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; bootstrap user admin) and an SSL listener with
 * ssl.client.auth=required: topic create, produce and consume as admin (SCRAM-SHA-512, password from
 * $KSTREAM_PASSWORD), `user create|list|set-password|delete`, a new user logging in with SCRAM-SHA-256 and its
 * password file, a wrong password refused with one line, and mutual TLS with --tls-cert/--tls-key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { type Ca, type Cert, makeCa, makeCert } from '../helpers/certs.js';
import { startTerminal } from '../tui/tmux.js';
import { kstream } from './run.js';

const PASSWORD = `adm-${randomBytes(12).toString('hex')}`;
const ALICE = `alice-${randomBytes(12).toString('hex')}`;
const ALICE2 = `alice2-${randomBytes(12).toString('hex')}`;
let broker: BrokerProcess;
let work: string;
let ca: Ca;
let client: Cert;

const asAdmin = () => [
  '-b',
  `127.0.0.1:${broker.listeners.SASL_SSL}`,
  '--tls-ca',
  ca.cert,
  '--sasl-mechanism',
  'SCRAM-SHA-512',
  '--user',
  'admin',
];
const env = { KSTREAM_PASSWORD: PASSWORD };

describe('kstream CLI over TLS and SASL', () => {
  before(async () => {
    work = tempDir('kstream-cli-sec-');
    ca = makeCa(work, 'test-ca');
    const server = makeCert(work, ca, 'broker', '/O=kstream test/CN=broker', true);
    client = makeCert(work, ca, 'client', '/O=kstream test/CN=cli', false);
    broker = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: PASSWORD },
      props: {
        listeners: 'SASL_SSL://127.0.0.1:0,MTLS://127.0.0.1:0',
        'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,MTLS:SSL',
        'inter.broker.listener.name': 'SASL_SSL',
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
        'ssl.keystore.location': server.pem,
        'ssl.truststore.location': ca.cert,
        'listener.name.mtls.ssl.client.auth': 'required',
      },
    });
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('topic create, produce, consume as admin over SASL_SSL with SCRAM-SHA-512', async () => {
    let r = await kstream(['topic', 'create', 'secured', ...asAdmin()], { env });
    assert.equal(r.code, 0, r.stderr);
    r = await kstream(['produce', 'secured', ...asAdmin()], { env, input: 'one\ntwo\n' });
    assert.equal(r.code, 0, r.stderr);
    r = await kstream(['consume', 'secured', '--from-beginning', '-e', ...asAdmin()], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['one', 'two']);
  });

  test('user create, list, login as the new user, set-password, delete', async () => {
    const pw = join(work, 'alice.pw');
    writeFileSync(pw, `${ALICE}\n`, { mode: 0o600 });
    let r = await kstream(['user', 'create', 'alice', '--new-password-file', pw, ...asAdmin()], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /alice\s+OK/);
    r = await kstream(['user', 'create', 'alice', '--new-password-file', pw, ...asAdmin()], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /user exists/);
    r = await kstream(['user', 'list', '-o', 'json', ...asAdmin()], { env });
    assert.equal(r.code, 0, r.stderr);
    const users = JSON.parse(r.stdout) as { name: string; mechanisms: string }[];
    assert.deepEqual(
      users.map((u) => u.name),
      ['admin', 'alice'],
    );
    const asAlice = (file: string) => [
      'cluster',
      'info',
      '-b',
      `127.0.0.1:${broker.listeners.SASL_SSL}`,
      '--tls-ca',
      ca.cert,
      '--sasl-mechanism',
      'SCRAM-SHA-256',
      '--user',
      'alice',
      '--password-file',
      file,
    ];
    r = await kstream(asAlice(pw));
    assert.equal(r.code, 0, r.stderr);
    // A wrong password: one line, non-zero exit, the password nowhere in the output.
    const wrong = join(work, 'wrong.pw');
    writeFileSync(wrong, 'not-it\n');
    r = await kstream(asAlice(wrong), { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^kstream: .*SASL|^kstream: .*login|^kstream: .*auth/im);
    assert.ok(!r.stderr.includes('not-it') && !r.stdout.includes('not-it'));
    // set-password, then the old password is refused and the new one works.
    const pw2 = join(work, 'alice2.pw');
    writeFileSync(pw2, `${ALICE2}\n`);
    r = await kstream(['user', 'set-password', 'alice', '--new-password-file', pw2, ...asAdmin()], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual((await kstream(asAlice(pw), { timeoutMs: 30_000 })).code, 0);
    assert.equal((await kstream(asAlice(pw2))).code, 0);
    r = await kstream(['user', 'delete', 'alice', 'nobody', ...asAdmin()], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /alice\s+OK/);
    assert.match(r.stdout, /nobody\s+RESOURCE_NOT_FOUND/);
    assert.notEqual((await kstream(asAlice(pw2), { timeoutMs: 30_000 })).code, 0);
  });

  test('-X librdkafka properties, as kcat takes them; -X sasl.password refused', async () => {
    const x = [
      '-b',
      `127.0.0.1:${broker.listeners.SASL_SSL}`,
      '-X',
      'security.protocol=sasl_ssl',
      '-X',
      'sasl.mechanisms=SCRAM-SHA-512',
      '-X',
      'sasl.username=admin',
      '-X',
      `ssl.ca.location=${ca.cert}`,
    ];
    let r = await kstream(['topic', 'list', ...x], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /secured/);
    r = await kstream(['topic', 'list', ...x, '-X', 'sasl.password=visible'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kstream: -X sasl\.password would show the password in ps/);
  });

  test('mutual TLS with --tls-cert and --tls-key; without them refused', async () => {
    const b = ['-b', `127.0.0.1:${broker.listeners.MTLS}`, '--tls-ca', ca.cert];
    let r = await kstream(['topic', 'list', ...b, '--tls-cert', client.cert, '--tls-key', client.key]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /secured/);
    r = await kstream(['topic', 'list', ...b, '--timeout', '3s'], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^kstream: /m);
  });

  test('kstream top over SASL_SSL with SCRAM-SHA-512 and a password file', async () => {
    const pwFile = join(work, 'admin.pw');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    const term = startTerminal(
      `${process.execPath} ${BIN} top -b 127.0.0.1:${broker.listeners.SASL_SSL} --tls-ca ${ca.cert} ` +
        `--sasl-mechanism SCRAM-SHA-512 --user admin --password-file ${pwFile} --interval 500ms; echo TOP_EXIT=$?; sleep 60`,
    );
    try {
      await term.waitFor(
        'a refresh with the broker and the topic',
        (sc) => /brokers 1 up 0 down/.test(sc) && /secured/.test(sc),
      );
      term.keys('q');
      const done = await term.waitFor('exit', (sc) => /TOP_EXIT=(\d+)/.exec(sc));
      assert.equal(done[1], '0');
    } finally {
      term.kill();
    }
  });

  test('no password in the broker log', () => {
    for (const secret of [PASSWORD, ALICE, ALICE2]) assert.ok(!broker.logs().includes(secret));
  });
});
