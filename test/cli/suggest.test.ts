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
