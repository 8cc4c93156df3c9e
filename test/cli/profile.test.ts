/**
 * Profiles, the login password rule, refused logins and bench over SASL_SSL (issue 18: items 7, 8 and the
 * benchmark tooling), the real bin/run.js against a real `kstream serve` with a SASL_SSL listener (SCRAM-SHA-256,
 * SCRAM-SHA-512; bootstrap user admin) and certificates made by openssl here; profiles in a temp
 * $XDG_CONFIG_HOME:
 * - `profile create|list|show|use|delete`: the file mode 0600, no password in any output;
 * - client commands with the profile in use, --profile and $KSTREAM_PROFILE, flags winning over it;
 * - `user create NAME --password-file FILE` (the new user's) logging in with the profile, the new user logging in;
 * - a refused login: one line, exit 1, and ONE failed login on the broker (no retry loop);
 * - `bench produce` and `bench consume` with the profile;
 * - `kstream top` (tmux) with the profile, its header saying `User:admin · SASL_SSL SCRAM-SHA-512`; top with a
 *   wrong password ends with one line.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { type Ca, makeCa, makeCert } from '../helpers/certs.js';
import { startTerminal } from '../tui/tmux.js';
import { kstream } from './run.js';

const PASSWORD = `adm-${randomBytes(12).toString('hex')}`;
const CAROL = `carol-${randomBytes(12).toString('hex')}`;
let broker: BrokerProcess;
let work: string;
let cfg: string;
let ca: Ca;
let adminPw: string;
let wrongPw: string;
/** No KSTREAM_PASSWORD, KSTREAM_PROFILE or KSTREAM_BROKERS from outside; profiles in the temp config dir. */
const env = (extra: Record<string, string> = {}) => ({
  XDG_CONFIG_HOME: cfg,
  KSTREAM_PASSWORD: '',
  KSTREAM_PROFILE: '',
  ...extra,
});
const k = (args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}) =>
  kstream(args, { ...opts, env: env(opts.env) });

describe('kstream profiles over SASL_SSL', () => {
  before(async () => {
    work = tempDir('kstream-profile-');
    cfg = join(work, 'config');
    ca = makeCa(work, 'test-ca');
    const server = makeCert(work, ca, 'broker', '/O=kstream test/CN=broker', true);
    adminPw = join(work, 'admin.pw');
    writeFileSync(adminPw, `${PASSWORD}\n`, { mode: 0o600 });
    wrongPw = join(work, 'wrong.pw');
    writeFileSync(wrongPw, 'not-the-password\n');
    broker = await startBroker({
      noHostPort: true,
      args: ['--bootstrap-user', 'admin'],
      env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: PASSWORD },
      props: {
        listeners: 'SASL_SSL://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
        'ssl.keystore.location': server.pem,
      },
    });
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  const bootstrap = () => `127.0.0.1:${broker.listeners.SASL_SSL}`;

  test('profile create, list, show, use: mode 0600, never a password in the output', async () => {
    let r = await k([
      'profile',
      'create',
      'admin',
      '-b',
      bootstrap(),
      '--tls-ca',
      ca.cert,
      '--sasl-mechanism',
      'SCRAM-SHA-512',
      '--user',
      'admin',
      '--password-file',
      adminPw,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /profile admin saved in .*profiles\.json and in use/);
    const file = join(cfg, 'kstream', 'profiles.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(cfg, 'kstream')).mode & 0o777, 0o700);
    // The password file's path is stored, not the password.
    assert.ok(!readFileSync(file, 'utf8').includes(PASSWORD));
    // The password through stdin is stored in the profile (the file is 0600), and never shown.
    r = await k(
      [
        'profile',
        'create',
        'stdin',
        '-b',
        bootstrap(),
        '--tls-ca',
        ca.cert,
        '--user',
        'admin',
        '--password-stdin',
        '--no-use',
      ],
      { input: `${PASSWORD}\n` },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(file, 'utf8').includes(PASSWORD));
    for (const args of [
      ['profile', 'list'],
      ['profile', 'list', '-o', 'wide'],
      ['profile', 'list', '-o', 'json'],
      ['profile', 'show'],
      ['profile', 'show', 'stdin'],
      ['profile', 'show', 'stdin', '-o', 'yaml'],
    ]) {
      r = await k(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), `${args.join(' ')} shows the password`);
    }
    r = await k(['profile', 'list', '-o', 'json']);
    const rows = JSON.parse(r.stdout) as { name: string; current: boolean; password: string }[];
    assert.deepEqual(
      rows.map((x) => [x.name, x.current, x.password]),
      [
        ['admin', true, `file ${adminPw}`],
        ['stdin', false, 'stored in the profile'],
      ],
    );
    r = await k(['profile', 'show', 'stdin']);
    assert.match(r.stdout, /^SECURITY\s+SASL_SSL SCRAM-SHA-512$/m);
    assert.match(r.stdout, /^PASSWORD\s+stored in the profile$/m);
    // Refused, one line each: an existing name, a file that is not there, an unknown profile.
    r = await k(['profile', 'create', 'admin', '-b', bootstrap()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kstream: profile admin exists \(--force replaces it/);
    r = await k(['profile', 'create', 'x', '--tls-ca', join(work, 'missing.pem')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kstream: --tls-ca .*missing\.pem: ENOENT\n$/);
    r = await k(['topic', 'list', '--profile', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kstream: --profile nope: no such profile \(profiles: admin, stdin\)\n$/);
  });

  test('client commands take the profile in use, --profile or $KSTREAM_PROFILE; flags win', async () => {
    let r = await k(['topic', 'create', 'via-profile']);
    assert.equal(r.code, 0, r.stderr);
    r = await k(['produce', 'via-profile'], { input: 'one\ntwo\n' });
    assert.equal(r.code, 0, r.stderr);
    r = await k(['consume', 'via-profile', '--from-beginning', '-e']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['one', 'two']);
    r = await k(['topic', 'list', '--profile', 'stdin']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /via-profile/);
    r = await k(['topic', 'list'], { env: { KSTREAM_PROFILE: 'stdin' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /via-profile/);
    // -b wins over the profile's brokers.
    r = await k(['topic', 'list', '-b', '127.0.0.1:1', '--timeout', '2s'], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^kstream: .*127\.0\.0\.1:1/);
    // $KSTREAM_PASSWORD wins over the profile's password file.
    r = await k(['topic', 'list'], { env: { KSTREAM_PASSWORD: 'not-the-password' }, timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kstream: login as admin on 127\.0\.0\.1:\d+ failed: /);
  });

  test('user create NAME --password-file FILE: the new user, the command logging in with the profile', async () => {
    const carolPw = join(work, 'carol.pw');
    writeFileSync(carolPw, `${CAROL}\n`, { mode: 0o600 });
    let r = await k(['user', 'create', 'carol', '--password-file', carolPw, '--mechanism', 'SCRAM-SHA-256']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /carol\s+OK/);
    // carol logs in: the profile gives brokers and TLS, the flags her name, mechanism and password.
    r = await k([
      'cluster',
      'info',
      '--user',
      'carol',
      '--sasl-mechanism',
      'SCRAM-SHA-256',
      '--password-file',
      carolPw,
    ]);
    assert.equal(r.code, 0, r.stderr);
    // --login-password-file: the same rule without a profile.
    const asAdmin = [
      '-b',
      bootstrap(),
      '--tls-ca',
      ca.cert,
      '--user',
      'admin',
      '--login-password-file',
      adminPw,
      '--profile',
      'stdin',
    ];
    r = await k(['user', 'set-password', 'carol', '--new-password-file', adminPw, ...asAdmin]);
    assert.equal(r.code, 0, r.stderr);
    r = await k(['user', 'list', '-o', 'json', ...asAdmin]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { name: string }[]).map((u) => u.name),
      ['admin', 'carol'],
    );
    // carol's login password is not a profile's of another user.
    r = await k(['cluster', 'info', '--user', 'carol']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kstream: --user carol needs a password/);
  });

  test('a refused login is fatal: one line, exit 1, one failed login on the broker', async () => {
    const ghost = `ghost-${randomBytes(6).toString('hex')}`;
    const r = await k(['topic', 'list', '--user', ghost, '--password-file', wrongPw, '--timeout', '20s'], {
      timeoutMs: 60_000,
    });
    // One attempt: not retried, no other address tried (before, each refusal was a retriable network error).
    const failed = broker
      .logs()
      .split('\n')
      .filter((l) => l.includes('SASL authentication failed') && l.includes(ghost));
    assert.equal(failed.length, 1, failed.join('\n'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^kstream: login as ${ghost} on 127\\.0\\.0\\.1:\\d+ failed: .*\\n$`));
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  });

  test('bench produce and bench consume with the profile', async () => {
    let r = await k(['bench', 'produce', '-t', 'bench-sec', '-n', '2000', '-s', '50', '-o', 'json'], {
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { records: number }).records, 2000);
    r = await k(['bench', 'consume', '-t', 'bench-sec', '-n', '2000', '-o', 'json'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { records: number }).records, 2000);
  });

  test('kstream top with the profile says whom it is connected as; a refused login ends it with one line', async () => {
    const top = (extra: string) =>
      `env XDG_CONFIG_HOME=${cfg} KSTREAM_PASSWORD= ${process.execPath} ${BIN} top --interval 500ms ${extra}; ` +
      'echo TOP_EXIT=$?; sleep 60';
    let term = startTerminal(top(''));
    try {
      await term.waitFor(
        'the header with the identity, the broker and the topic',
        (sc) =>
          /User:admin · SASL_SSL SCRAM-SHA-512/.test(sc) && /brokers 1 up 0 down/.test(sc) && /via-profile/.test(sc),
      );
      term.keys('q');
      const done = await term.waitFor('exit', (sc) => /TOP_EXIT=(\d+)/.exec(sc));
      assert.equal(done[1], '0');
    } finally {
      term.kill();
    }
    term = startTerminal(top(`--password-file ${wrongPw}`));
    try {
      const done = await term.waitFor('top to end', (sc) => /TOP_EXIT=(\d+)/.exec(sc));
      assert.equal(done[1], '1');
      assert.match(term.screen(), /kstream: login as admin on 127\.0\.0\.1:\d+ failed/);
    } finally {
      term.kill();
    }
  });

  test('profile use and delete', async () => {
    let r = await k(['profile', 'use', 'stdin']);
    assert.equal(r.code, 0, r.stderr);
    r = await k(['profile', 'delete', 'stdin', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /stdin\s+OK/);
    assert.match(r.stdout, /nope\s+no such profile/);
    r = await k(['profile', 'list', '-o', 'json']);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { name: string; current: boolean }[]).map((x) => [x.name, x.current]),
      [['admin', false]],
    );
    assert.ok(!readFileSync(join(cfg, 'kstream', 'profiles.json'), 'utf8').includes(PASSWORD));
    // No profile in use: the default broker, no login.
    r = await k(['profile', 'show']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kstream: no profile in use/);
  });

  test('no password in the broker log', () => {
    for (const secret of [PASSWORD, CAROL]) assert.ok(!broker.logs().includes(secret));
  });
});
