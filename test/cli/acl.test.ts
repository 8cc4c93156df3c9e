/**
 * `kstream acl create|list|delete` (issue 19) with kafka-acls' vocabulary, the real bin/run.js against a real
 * `kstream serve --authorizer` (SASL_PLAINTEXT, bootstrap user admin, super.users=User:admin); the ACLs made
 * take effect for kcat as alice. Bad flags are one `kstream: …` line with exit 2; a broker without an
 * authorizer answers SECURITY_DISABLED, one line, non-zero exit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { kstream } from './run.js';

const run = promisify(execFile);
const PASSWORD = `adm-${randomBytes(12).toString('hex')}`;
const ALICE = `alice-${randomBytes(12).toString('hex')}`;
let broker: BrokerProcess;
let plain: BrokerProcess;
let work: string;

const asAdmin = () => ['-b', `127.0.0.1:${broker.port}`, '--sasl-mechanism', 'SCRAM-SHA-512', '--user', 'admin'];
const env = { KSTREAM_PASSWORD: PASSWORD };

function kcatAlice(args: string[], input?: string) {
  const p = run(
    'kcat',
    [
      '-b',
      `127.0.0.1:${broker.port}`,
      '-m',
      '15',
      '-X',
      'security.protocol=sasl_plaintext',
      '-X',
      'sasl.mechanisms=SCRAM-SHA-256',
      '-X',
      'sasl.username=alice',
      '-X',
      `sasl.password=${ALICE}`,
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

describe('kstream acl', () => {
  before(async () => {
    work = tempDir('kstream-cli-acl-');
    broker = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin', '--authorizer'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: PASSWORD },
      props: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'inter.broker.listener.name': 'SASL_PLAINTEXT',
        'super.users': 'User:admin',
      },
    });
    plain = await startBroker();
    const pw = join(work, 'alice.pw');
    writeFileSync(pw, `${ALICE}\n`, { mode: 0o600 });
    const r = await kstream(['user', 'create', 'alice', '--new-password-file', pw, ...asAdmin()], { env });
    assert.equal(r.code, 0, r.stderr);
    const t = await kstream(['topic', 'create', 'orders', ...asAdmin()], { env });
    assert.equal(t.code, 0, t.stderr);
  });

  after(async () => {
    await broker?.stop();
    await plain?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(plain?.dataDir ?? '');
    removeDir(work);
  });

  test('create, list, delete; the ACLs hold for kcat as alice', async () => {
    let w = await kcatAlice(['-P', '-t', 'orders'], 'denied\n');
    assert.match(w.stderr, /authorization failed/i);
    let r = await kstream(
      [
        'acl',
        'create',
        '--allow-principal',
        'User:alice',
        '--operation',
        'write,describe',
        '--topic',
        'orders',
        ...asAdmin(),
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/\bOK\b/g)?.length, 2, r.stdout);
    r = await kstream(
      [
        'acl',
        'create',
        '--allow-principal',
        'User:alice',
        '--operation',
        'read',
        '--topic',
        'ord',
        '--resource-pattern-type',
        'prefixed',
        ...asAdmin(),
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    w = await kcatAlice(['-P', '-t', 'orders'], 'one\ntwo\n');
    assert.equal(w.code, 0, w.stderr);
    const c = await kcatAlice(['-C', '-t', 'orders', '-e', '-q', '-f', '%s\n']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split('\n'), ['one', 'two']);

    r = await kstream(['acl', 'list', '-o', 'json', ...asAdmin()], { env });
    assert.equal(r.code, 0, r.stderr);
    const all = JSON.parse(r.stdout) as { principal: string; operation: string; patternType: string }[];
    assert.deepEqual(all.map((a) => `${a.principal} ${a.operation} ${a.patternType}`).sort(), [
      'User:alice DESCRIBE LITERAL',
      'User:alice READ PREFIXED',
      'User:alice WRITE LITERAL',
    ]);
    r = await kstream(['acl', 'list', '--topic', 'orders', '--resource-pattern-type', 'match', ...asAdmin()], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /READ.*PREFIXED|PREFIXED.*READ/);

    r = await kstream(
      ['acl', 'delete', '--topic', 'ord', '--resource-pattern-type', 'prefixed', '-o', 'json', ...asAdmin()],
      {
        env,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 1);
    const d = await kcatAlice(['-C', '-t', 'orders', '-p', '0', '-e', '-q']);
    assert.match(d.stderr, /authorization failed/i);
  });

  test('bad flags: one line, exit 2, nothing created', async () => {
    for (const args of [
      ['--allow-principal', 'User:alice', '--operation', 'fly', '--topic', 'orders'],
      ['--allow-principal', 'User:alice', '--operation', 'read'],
      ['--operation', 'read', '--topic', 'orders'],
      ['--allow-principal', 'User:alice', '--operation', 'read', '--topic', 'x', '--resource-pattern-type', 'fuzzy'],
    ]) {
      const r = await kstream(['acl', 'create', ...args, ...asAdmin()], { env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^kstream: /);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    // The broker refuses what it may not store (no principal type): INVALID_REQUEST, exit 1.
    const r = await kstream(
      ['acl', 'create', '--allow-principal', 'alice', '--operation', 'read', '--topic', 'x', ...asAdmin()],
      {
        env,
      },
    );
    assert.equal(r.code, 1);
    assert.match(r.stdout, /INVALID_REQUEST/);
    const l = await kstream(['acl', 'list', '--topic', 'x', '-o', 'json', ...asAdmin()], { env });
    assert.deepEqual(JSON.parse(l.stdout), []);
  });

  test('a broker without an authorizer: SECURITY_DISABLED in one line', async () => {
    const r = await kstream(['acl', 'list', '-b', plain.bootstrap]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^kstream: .*SECURITY_DISABLED/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
