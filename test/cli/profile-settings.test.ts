/**
 * How a command's connection settings come together (src/cli/security.ts, profiles.ts), in-process: the profile
 * fills in what flags do not give, flags and -X win, $KSTREAM_BROKERS and $KSTREAM_PASSWORD over the profile,
 * the one rule for the login password, a profile's password only for its own user; the profiles file's modes
 * and its checks; `describeIdentity` for top's header. Real files in a temp $XDG_CONFIG_HOME.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { CliError } from '../../src/cli/base.js';
import { configDir, loadProfiles, profilesPath, saveProfiles } from '../../src/cli/profiles.js';
import { clientSettings, describeIdentity } from '../../src/cli/security.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { makeCa, makeCert } from '../helpers/certs.js';

const ENV_KEYS = ['XDG_CONFIG_HOME', 'KSTREAM_PROFILE', 'KSTREAM_PASSWORD', 'KSTREAM_BROKERS'] as const;
let work: string;
let saved: Partial<Record<(typeof ENV_KEYS)[number], string>>;
const file = (name: string, text: string) => {
  const p = join(work, name);
  writeFileSync(p, text);
  return p;
};
const quiet = () => {};

describe('connection settings from flags, environment and profiles', () => {
  before(() => {
    work = tempDir('kstream-profile-settings-');
    saved = {};
    for (const k of ENV_KEYS) saved[k] = process.env[k];
  });
  afterEach(() => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  after(() => removeDir(work));

  function withProfiles(current: string | undefined): void {
    process.env.XDG_CONFIG_HOME = join(work, `cfg-${Math.random().toString(36).slice(2)}`);
    for (const k of ENV_KEYS.slice(1)) delete process.env[k];
    saveProfiles({
      ...(current === undefined ? {} : { current }),
      profiles: {
        prod: {
          brokers: 'kafka1:9094',
          tls: true,
          'tls-ca': file('ca.pem', 'CA TEXT'),
          'sasl-mechanism': 'SCRAM-SHA-256',
          user: 'alice',
          'password-file': file('alice.pw', 'alice-secret\nignored\n'),
        },
        dev: { brokers: 'dev:9092', user: 'bob', password: 'bob-stored' },
      },
    });
  }

  test('the profiles file: $XDG_CONFIG_HOME/kstream/profiles.json, mode 0600 in a 0700 directory', () => {
    withProfiles('prod');
    assert.equal(profilesPath(), join(process.env.XDG_CONFIG_HOME as string, 'kstream', 'profiles.json'));
    assert.equal(statSync(profilesPath()).mode & 0o777, 0o600);
    assert.equal(statSync(configDir()).mode & 0o777, 0o700);
    // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    assert.match(configDir({ XDG_CONFIG_HOME: 'rel' }), /\.config\/kstream$/);
    assert.equal(loadProfiles().current, 'prod');
  });

  test('the profile in use fills in brokers, TLS, SASL and the password from its file', () => {
    withProfiles('prod');
    const s = clientSettings({}, quiet);
    assert.equal(s.profile, 'prod');
    assert.equal(s.brokers, 'kafka1:9094');
    assert.deepEqual(s.security.tls, { ca: 'CA TEXT' });
    assert.deepEqual(s.security.sasl, { mechanism: 'SCRAM-SHA-256', user: 'alice', password: 'alice-secret' });
  });

  test('flags, -X and the environment win over the profile', () => {
    withProfiles('prod');
    process.env.KSTREAM_BROKERS = 'env:9092';
    let s = clientSettings({ 'sasl-mechanism': 'SCRAM-SHA-512' }, quiet);
    assert.equal(s.brokers, 'env:9092');
    assert.equal(s.security.sasl?.mechanism, 'SCRAM-SHA-512');
    s = clientSettings({ brokers: 'flag:9092' }, quiet);
    assert.equal(s.brokers, 'flag:9092');
    process.env.KSTREAM_PASSWORD = 'from-env';
    assert.equal(clientSettings({}, quiet).security.sasl?.password, 'from-env');
    const pw = file('flag.pw', 'from-file\n');
    assert.equal(clientSettings({ 'password-file': pw }, quiet).security.sasl?.password, 'from-file');
    const login = file('login.pw', 'from-login-file\n');
    assert.equal(
      clientSettings({ 'password-file': pw, 'login-password-file': login }, quiet).security.sasl?.password,
      'from-login-file',
    );
    // -X security.protocol=plaintext: neither the profile's TLS nor its user.
    s = clientSettings({ property: ['security.protocol=plaintext'] }, quiet);
    assert.deepEqual(s.security, {});
    // sasl_plaintext: its user, not its TLS.
    s = clientSettings({ property: ['security.protocol=sasl_plaintext'] }, quiet);
    assert.equal(s.security.tls, undefined);
    assert.equal(s.security.sasl?.user, 'alice');
  });

  test("a profile's password is only its own user's", () => {
    withProfiles('prod');
    assert.throws(
      () => clientSettings({ user: 'mallory' }, quiet),
      (e: Error) => e instanceof CliError && /--user mallory needs a password/.test(e.message),
    );
  });

  test('--profile, then $KSTREAM_PROFILE, then the one in use; an unknown name is a usage error', () => {
    withProfiles('prod');
    process.env.KSTREAM_PROFILE = 'dev';
    let s = clientSettings({}, quiet);
    assert.equal(s.profile, 'dev');
    assert.deepEqual(s.security.sasl, { mechanism: 'SCRAM-SHA-512', user: 'bob', password: 'bob-stored' });
    s = clientSettings({ profile: 'prod' }, quiet);
    assert.equal(s.profile, 'prod');
    assert.throws(
      () => clientSettings({ profile: 'nope' }, quiet),
      (e: Error) => e instanceof CliError && e.exitCode === 2 && /--profile nope: no such profile/.test(e.message),
    );
    process.env.KSTREAM_PROFILE = 'gone';
    assert.throws(() => clientSettings({}, quiet), /\$KSTREAM_PROFILE gone: no such profile/);
  });

  test('no profile in use: only flags and environment', () => {
    withProfiles(undefined);
    const s = clientSettings({}, quiet);
    assert.equal(s.profile, null);
    assert.equal(s.brokers, undefined);
    assert.deepEqual(s.security, {});
  });

  test('a stored password in a file others can read is warned about; a damaged file is named', () => {
    withProfiles('dev');
    const warnings: string[] = [];
    chmodSync(profilesPath(), 0o644);
    clientSettings({}, (l) => warnings.push(l));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /holds a password and others can read it: chmod 600/);
    assert.ok(!(warnings[0] as string).includes('bob-stored'));
    writeFileSync(profilesPath(), '{"profiles": {"x": {"colour": "red"}}}');
    assert.throws(() => clientSettings({}, quiet), /profiles\.json: profile "x": unknown key "colour"/);
    writeFileSync(profilesPath(), '{not json');
    assert.throws(() => clientSettings({}, quiet), /profiles\.json: not valid JSON/);
  });

  test('describeIdentity: whom top is connected as, over which protocol', () => {
    assert.equal(describeIdentity({}), 'User:ANONYMOUS · PLAINTEXT');
    assert.equal(describeIdentity({ tls: {} }), 'User:ANONYMOUS · SSL');
    assert.equal(
      describeIdentity({ tls: {}, sasl: { mechanism: 'SCRAM-SHA-512', user: 'alice', password: 'x' } }),
      'User:alice · SASL_SSL SCRAM-SHA-512',
    );
    assert.equal(
      describeIdentity({ sasl: { mechanism: 'PLAIN', user: 'bob', password: 'x' } }),
      'User:bob · SASL_PLAINTEXT PLAIN',
    );
    const dir = join(work, 'certs');
    mkdirSync(dir);
    const ca = makeCa(dir, 'id-ca');
    const cert = makeCert(dir, ca, 'cli', '/O=kstream test/CN=cli', false);
    assert.equal(
      describeIdentity({ tls: { cert: readFileSync(cert.cert, 'utf8') } }),
      'User:CN=cli,O=kstream test · SSL',
    );
  });
});
