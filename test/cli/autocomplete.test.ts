/**
 * `kstream autocomplete` (@oclif/plugin-autocomplete's commands, registered in commands/index.ts) through the
 * real bin/run.js: it writes the completion cache (bash, zsh, powershell) under $KSTREAM_CACHE_DIR, prints
 * setup steps, `autocomplete script bash` prints the profile line; bash, with that line evaluated, completes
 * commands, `topic` subcommands and flags (including ones added later, such as produce --rate).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeDir, tempDir } from '../helpers/broker.js';
import { bashComplete, hasBash } from '../helpers/completion.js';
import { kstream } from './run.js';

let cache: string;
const env = () => ({ KSTREAM_CACHE_DIR: cache });

before(() => {
  cache = tempDir('kstream-ac-');
});
after(() => removeDir(cache));

test('autocomplete bash builds the cache and prints setup steps naming `kstream autocomplete script bash`', async () => {
  const r = await kstream(['autocomplete', 'bash'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /printf "\$\(kstream autocomplete script bash\)" >> ~\/\.bashrc; source ~\/\.bashrc/);
  for (const f of ['bash_setup', 'zsh_setup', 'functions/bash/kstream.bash', 'functions/zsh/_kstream'])
    assert.ok(existsSync(join(cache, 'autocomplete', f)), `${f} written`);
  const fn = readFileSync(join(cache, 'autocomplete', 'functions', 'bash', 'kstream.bash'), 'utf8');
  assert.match(fn, /^produce --brokers .*--rate$/m);
  assert.match(
    fn,
    /^topic:list --brokers --output --timeout --tls --tls-ca --tls-cert --tls-key --tls-insecure --sasl-mechanism --user --password-file --login-password-file --profile --property --all$/m,
  );
  // Hidden commands (autocomplete create / script) are not offered.
  assert.doesNotMatch(fn, /^autocomplete:(script|create)/m);
  const zsh = readFileSync(join(cache, 'autocomplete', 'functions', 'zsh', '_kstream'), 'utf8');
  assert.match(zsh, /^#compdef kstream$/m);
  assert.match(zsh, /^_kstream_topic\(\) \{$/m);
  assert.match(zsh, /^"describe\[Show a topic's partitions, offsets and configs\.\]" \\$/m);
});

test('autocomplete script bash prints the profile line; bash then completes commands, subcommands and flags', {
  skip: !hasBash,
}, async () => {
  const r = await kstream(['autocomplete', 'script', 'bash'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  const setup = join(cache, 'autocomplete', 'bash_setup');
  assert.equal(
    r.stdout,
    `\nKSTREAM_AC_BASH_SETUP_PATH=${setup} && test -f $KSTREAM_AC_BASH_SETUP_PATH && source $KSTREAM_AC_BASH_SETUP_PATH; # kstream autocomplete setup\n\n`,
  );
  // The shell comes from the argument or $SHELL, never from piped stdin (this printed the zsh line).
  const piped = await kstream(['autocomplete', 'script'], { env: { ...env(), SHELL: '/bin/bash' }, input: 'zsh\n' });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, r.stdout);
  const top = bashComplete(r.stdout, ['']);
  assert.equal(top.registration, 'complete -F _kstream_autocomplete kstream');
  assert.deepEqual(top.words, [
    'acl',
    'autocomplete',
    'bench',
    'cluster',
    'consume',
    'debug',
    'group',
    'produce',
    'profile',
    'quota',
    'serve',
    'top',
    'topic',
    'txn',
    'user',
  ]);
  // Each word once (issue 21: `topic` came nine times, once per topic command).
  assert.deepEqual(bashComplete(r.stdout, ['to']).offered.sort(), ['top', 'topic']);
  assert.deepEqual(bashComplete(r.stdout, ['']).offered.length, top.words.length);
  assert.deepEqual(bashComplete(r.stdout, ['topic', '']).words, [
    'add-partitions',
    'alter-config',
    'create',
    'delete',
    'describe',
    'export',
    'import',
    'list',
    'trim',
  ]);
  assert.deepEqual(bashComplete(r.stdout, ['group', 'd']).words, ['delete', 'describe']);
  assert.deepEqual(bashComplete(r.stdout, ['txn', '']).words, ['describe', 'list']);
  assert.deepEqual(bashComplete(r.stdout, ['quota', '']).words, ['alter', 'describe']);
  assert.deepEqual(bashComplete(r.stdout, ['produce', '--ra']).words, ['--rate']);
});

test('autocomplete powershell writes its script; --refresh-cache prints nothing on stdout; an unknown shell is refused', async () => {
  let r = await kstream(['autocomplete', 'powershell'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kstream autocomplete script powershell/);
  assert.ok(existsSync(join(cache, 'autocomplete', 'functions', 'powershell', 'kstream.ps1')));
  r = await kstream(['autocomplete', '--refresh-cache'], { env: env() });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  r = await kstream(['autocomplete', 'fish'], { env: env() });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'kstream: Expected fish to be one of: zsh, bash, powershell (see --help)\n');
  // No argument: $SHELL decides; one without a completion script is refused too (the plugin printed empty steps).
  r = await kstream(['autocomplete'], { env: { ...env(), SHELL: '/usr/bin/fish' } });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    'kstream: no completion for fish: kstream autocomplete supports bash, zsh and powershell (e.g. kstream autocomplete bash)\n',
  );
  r = await kstream(['autocomplete'], { env: { ...env(), SHELL: '/bin/zsh' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kstream autocomplete script zsh/);
});
