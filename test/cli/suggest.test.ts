/** Did-you-mean for mistyped commands, through the real bin/run.js. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { distance, suggest } from '../../src/cli/suggest.js';
import { BIN } from '../helpers/broker.js';

const run = promisify(execFile);

test('edit distance and suggestions', () => {
  assert.equal(distance('lsit', 'list'), 1, 'a swap of neighbours is one edit');
  assert.equal(distance('produce', 'produce'), 0);
  assert.equal(suggest('topic lsit', ['topic trim', 'topic list', 'group list'])[0], 'topic list', 'closest first');
  assert.deepEqual(suggest('zzzzzz', ['topic list']), []);
});

test('a mistyped command: one line with the closest commands, exit 2', async () => {
  for (const [argv, expected] of [
    [['topic', 'lsit'], 'kstream: unknown command "topic lsit". Did you mean "topic list"'],
    [['prodcue', 'orders'], 'kstream: unknown command "prodcue". Did you mean "produce"?'],
    [['nonsense'], 'kstream: unknown command "nonsense"; see kstream --help'],
  ] as const) {
    const err = await run(process.execPath, [BIN, ...argv]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    assert.ok(err, `${argv.join(' ')} fails`);
    assert.equal(err.code, 2);
    assert.ok(err.stderr.startsWith(expected), err.stderr);
    assert.equal(err.stderr.trim().split('\n').length, 1);
  }
});

test('help as people ask for it: help [COMMAND], a trailing -h; -v and version; an unknown top-level flag', async () => {
  const out = async (argv: string[]) => (await run(process.execPath, [BIN, ...argv])).stdout;
  const topicList = await out(['topic', 'list', '--help']);
  assert.match(topicList, /^List topics with their partition and replica counts\.\n\nUSAGE\n {2}\$ kstream topic list/);
  // Were " ›   Error: command help:topic:list not found" and "unknown flag -h".
  assert.equal(await out(['help', 'topic', 'list']), topicList);
  assert.equal(await out(['topic', 'list', '-h']), topicList);
  const root = await out(['--help']);
  assert.equal(await out(['help']), root);
  assert.equal(await out(['-h']), root);
  const version = await out(['--version']);
  assert.match(version, /^kstream 0\.1\.0 \(commit /);
  assert.equal(await out(['-v']), version);
  assert.equal(await out(['version']), version);
  const err = await run(process.execPath, [BIN, '--foo']).then(
    () => null,
    (e: { code: number; stderr: string; stdout: string }) => e,
  );
  assert.ok(err, 'kstream --foo fails');
  assert.equal(err.code, 2);
  assert.equal(err.stdout, '');
  assert.equal(err.stderr, 'kstream: unknown flag --foo; see kstream --help\n');
});
