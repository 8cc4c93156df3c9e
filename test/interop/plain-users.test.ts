/**
 * sasl.plain.users.file (issue 18: "a file of users for PLAIN only, documented"), against a real `kstream serve`
 * with a SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-512; bootstrap user admin in the store) and a users file
 * whose lines `kstream user hash` made:
 * - kafka-python logs in with PLAIN as a user of the file and produces and consumes; a wrong password is refused;
 * - a user of the file is checked against the file alone (admin's store password is refused over PLAIN, its file
 *   password accepted; SCRAM still reads the store); a user not in the file falls through to the store;
 * - the file is read again when it changes (a user added, a password changed) without a restart; a change that
 *   does not load keeps the users last read, and its text is never logged;
 * - a damaged file stops the start, naming the line but not its text.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { PY } from '../helpers/python.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
const secret = (name: string) => `${name}-${randomBytes(10).toString('hex')}`;
const STORE_ADMIN = secret('store-admin');
const FILE_ADMIN = secret('file-admin');
const ALICE = secret('alice');
const ALICE2 = secret('alice2');
const CAROL = secret('carol');
const BOB = secret('bob');
const GARBAGE = secret('plain-text-password');
let broker: BrokerProcess;
let work: string;
let usersFile: string;

/** A users-file line for `name`, made by `kstream user hash` (the password through stdin). */
async function hashLine(name: string, password: string): Promise<string> {
  const r = await kstream(['user', 'hash', name, '--password-stdin'], { input: `${password}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(password));
  return r.stdout.trim();
}

/** Whether `user` logs in with PLAIN (kstream's client: `topic list`); the login error line if not. */
async function plainLogin(user: string, password: string): Promise<true | string> {
  const pw = join(work, `${randomBytes(4).toString('hex')}.pw`);
  writeFileSync(pw, `${password}\n`);
  const r = await kstream(
    [
      'topic',
      'list',
      '-b',
      `127.0.0.1:${broker.listeners.SASL_PLAINTEXT}`,
      '--sasl-mechanism',
      'PLAIN',
      '--user',
      user,
      '--password-file',
      pw,
    ],
    { env: { XDG_CONFIG_HOME: work }, timeoutMs: 30_000 },
  );
  return r.code === 0 ? true : r.stderr;
}

/** kafka-python produces 3 records and reads the partition back; `maxBlockMs` bounds its wait for metadata. */
function kafkaPython(user: string, password: string, maxBlockMs = 15_000): Promise<{ stdout: string }> {
  const script = `
import json, os, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
conf = dict(bootstrap_servers=os.environ['BS'], security_protocol='SASL_PLAINTEXT', sasl_mechanism='PLAIN',
            sasl_plain_username=os.environ['U'], sasl_plain_password=os.environ['PW'], api_version=(2, 5, 0),
            request_timeout_ms=15000)
try:
    p = KafkaProducer(max_block_ms=int(os.environ['MAX_BLOCK_MS']), **conf)
    for i in range(3):
        p.send('plain-file', ('f%d' % i).encode()).get(timeout=30)
    p.close()
    c = KafkaConsumer(consumer_timeout_ms=10000, **conf)
    tp = TopicPartition('plain-file', 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    # Everything up to the log's end, then stop (not 10 s of silence); the timeout bounds a stall.
    end = c.end_offsets([tp])[tp]
    values = []
    for m in c:
        values.append(m.value.decode())
        if m.offset + 1 >= end:
            break
    print(json.dumps({'ok': True, 'values': values}))
    c.close()
except Exception as e:
    print(json.dumps({'ok': False, 'error': type(e).__name__}))
`;
  return run(PY, ['-c', script], {
    timeout: 120_000,
    env: {
      ...process.env,
      BS: `127.0.0.1:${broker.listeners.SASL_PLAINTEXT}`,
      U: user,
      PW: password,
      MAX_BLOCK_MS: String(maxBlockMs),
    },
  });
}

describe('sasl.plain.users.file', () => {
  before(async () => {
    work = tempDir('kstream-plain-users-');
    usersFile = join(work, 'plain-users');
    writeFileSync(
      usersFile,
      `# PLAIN users\n${await hashLine('alice', ALICE)}\n\n${await hashLine('admin', FILE_ADMIN)}\n`,
      { mode: 0o600 },
    );
    broker = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: STORE_ADMIN },
      props: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
        'sasl.plain.users.file': usersFile,
      },
    });
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('kafka-python with PLAIN as a user of the file; a wrong password refused', async (t) => {
    const ok = JSON.parse((await kafkaPython('alice', ALICE)).stdout.trim()) as { ok: boolean; values?: string[] };
    assert.deepEqual(ok, { ok: true, values: ['f0', 'f1', 'f2'] });
    // kafka-python does not raise on a refused login: it logs in again and again until max_block_ms. 5 s of
    // that (not 15) is enough: the broker's log shows that it refused alice's logins, not that they were slow.
    const failedLogins = () =>
      broker
        .logs()
        .split('\n')
        .filter((l) => /SASL authentication failed .*user=alice/.test(l)).length;
    const refusedBefore = failedLogins();
    const t0 = Date.now();
    const bad = JSON.parse((await kafkaPython('alice', 'wrong', 5000)).stdout.trim()) as {
      ok: boolean;
      error?: string;
    };
    t.diagnostic(
      `wrong password: ${bad.error} after ${Date.now() - t0} ms; ${failedLogins() - refusedBefore} logins refused`,
    );
    assert.equal(bad.ok, false);
    assert.ok(failedLogins() > refusedBefore, 'the broker refused the login');
  });

  test('a user of the file is checked against the file alone; other users against the store', async () => {
    assert.equal(await plainLogin('admin', FILE_ADMIN), true);
    assert.match(String(await plainLogin('admin', STORE_ADMIN)), /^kstream: login as admin .*failed/);
    // SCRAM never reads the file: admin's store credential.
    const pw = join(work, 'store-admin.pw');
    writeFileSync(pw, `${STORE_ADMIN}\n`);
    const scram = [
      '-b',
      `127.0.0.1:${broker.listeners.SASL_PLAINTEXT}`,
      '--sasl-mechanism',
      'SCRAM-SHA-512',
      '--user',
      'admin',
      '--login-password-file',
      pw,
    ];
    const bobPw = join(work, 'bob.pw');
    writeFileSync(bobPw, `${BOB}\n`);
    const r = await kstream(['user', 'create', 'bob', '--password-file', bobPw, ...scram], {
      env: { XDG_CONFIG_HOME: work },
    });
    assert.equal(r.code, 0, r.stderr);
    // bob is not in the file: PLAIN checks his SCRAM credential in the store.
    assert.equal(await plainLogin('bob', BOB), true);
    assert.notEqual(await plainLogin('bob', 'wrong'), true);
    assert.notEqual(await plainLogin('nobody', 'wrong'), true);
  });

  test('the file is read again when it changes; a change that does not load keeps the users last read', async () => {
    writeFileSync(usersFile, `${await hashLine('alice', ALICE2)}\n${await hashLine('carol', CAROL)}\n`);
    await until('carol to log in from the changed file', async () => (await plainLogin('carol', CAROL)) === true);
    assert.equal(await plainLogin('alice', ALICE2), true);
    assert.notEqual(await plainLogin('alice', ALICE), true);
    // admin left the file: the store decides again.
    assert.equal(await plainLogin('admin', STORE_ADMIN), true);
    // A line that is not NAME:HASH (here a plain password): logged without its text, the users kept.
    writeFileSync(usersFile, `${await hashLine('carol', CAROL)}\ndave:${GARBAGE}\n`);
    await until('the reload to be refused', async () => {
      await plainLogin('carol', CAROL);
      return broker.logs().includes('PLAIN users file not reloaded');
    });
    assert.equal(await plainLogin('alice', ALICE2), true);
    assert.match(broker.logs(), /plain-users line 2: expected NAME:HASH/);
  });

  test('no password, hash or line of the file in the broker log', () => {
    for (const s of [STORE_ADMIN, FILE_ADMIN, ALICE, ALICE2, CAROL, BOB, GARBAGE])
      assert.ok(!broker.logs().includes(s), s);
    assert.ok(!broker.logs().includes('$scrypt$'));
  });

  test('a damaged file stops the start, naming the line, not its text', async () => {
    const bad = join(work, 'bad-users');
    writeFileSync(bad, `${await hashLine('eve', secret('eve'))}\neve2 ${GARBAGE}\n`);
    await assert.rejects(
      startBroker({ dataDir: join(work, 'bad-data'), props: { 'sasl.plain.users.file': bad } }),
      (e: Error) => /bad-users line 2: expected NAME:HASH/.test(e.message) && !e.message.includes(GARBAGE),
    );
  });
});
