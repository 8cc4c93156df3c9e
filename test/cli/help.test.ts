/** `--help` text as a user reads it: descriptions wrap evenly at the terminal's width (80 when piped). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unwrapDescription } from '../../src/cli/description.js';
import { kstream } from './run.js';

test('descriptions are paragraphs: source line breaks go, blank lines and indented lines stay', () => {
  assert.equal(
    unwrapDescription('One two\nthree.\n\nFour:\n  {"indented": true}\nfive\nsix.'),
    'One two three.\n\nFour:\n  {"indented": true}\nfive six.',
  );
});

test('group describe --help: the description wraps evenly (was a full line, then a stub per source line)', async () => {
  const r = await kstream(['group', 'describe', '--help'], { env: { OCLIF_COLUMNS: '80' } });
  assert.equal(r.code, 0, r.stderr);
  const description = r.stdout.slice(r.stdout.indexOf('DESCRIPTION\n'), r.stdout.indexOf('EXAMPLES\n'));
  assert.equal(
    description,
    `DESCRIPTION
  Show a consumer group's state, members and lag.

  Lag is how far the group is behind: the partition's log end offset minus the
  group's committed offset ("-" when nothing is committed). TOTAL LAG sums it
  over all partitions ("-" when nothing is committed at all).

`,
  );
});

test('user create --help: --password-file is the new password, the login password has its own flag', async () => {
  const r = await kstream(['user', 'create', '--help'], { env: { OCLIF_COLUMNS: '200' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /--password-file=<value>\s+file whose first line is the user's new password/);
  assert.match(r.stdout, /--login-password-file=<value>/);
});

test('profile --help lists create, delete, list, show and use', async () => {
  const r = await kstream(['profile', '--help'], { env: { OCLIF_COLUMNS: '200' } });
  assert.equal(r.code, 0, r.stderr);
  for (const verb of ['create', 'delete', 'list', 'show', 'use'])
    assert.match(r.stdout, new RegExp(`profile ${verb}\\b`));
});
