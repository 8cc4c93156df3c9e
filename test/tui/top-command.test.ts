/**
 * `kstream top` as a command, without a terminal: it refuses to run when stdout is not a TTY (exit 2,
 * pointing to `kstream cluster info -o json`), rejects a bad --interval or --timeout (exit 2, before the terminal
 * check).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { BIN, ROOT } from '../helpers/broker.js';

function top(...args: string[]) {
  // stdout and stderr are pipes: no terminal.
  return spawnSync(process.execPath, [BIN, 'top', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
}

/** Each [value, stderr] of `flag`: exactly that one line on stderr, exit 2, nothing on stdout. */
function rejects(flag: string, cases: [string, string][], ...args: string[]): void {
  for (const [bad, stderr] of cases) {
    const r = top(...args, flag, bad);
    assert.equal(r.stderr, stderr);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
  }
}

describe('kstream top without a terminal', () => {
  test('not a TTY: exit 2, points to cluster info -o json', () => {
    const r = top('-b', '127.0.0.1:1');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /needs an interactive terminal/);
    assert.match(r.stderr, /kstream cluster info -o json/);
    assert.equal(r.stdout, '');
  });

  test('a bad --interval: exit 2 with the accepted forms (a unit is required, at least 100ms)', () => {
    rejects('--interval', [
      ['soon', 'kstream: invalid --interval "soon": use a duration like 500ms, 10s or 2m\n'],
      ['2', 'kstream: invalid --interval "2": add a unit: 2s or 2ms\n'],
      ['10ms', 'kstream: invalid --interval "10ms": use at least 100ms\n'],
      ['0s', 'kstream: invalid --interval "0s": use a duration above 0, like 500ms, 10s or 2m\n'],
    ]);
  });

  test('a bad --timeout: exit 2 with the accepted forms (a unit is required)', () => {
    rejects(
      '--timeout',
      [
        ['nope', 'kstream: invalid --timeout "nope": use a duration like 500ms, 10s or 2m\n'],
        ['5', 'kstream: invalid --timeout "5": add a unit: 5s or 5ms\n'],
        ['0s', 'kstream: invalid --timeout "0s": use a duration above 0, like 500ms, 10s or 2m\n'],
      ],
      '-b',
      '127.0.0.1:1',
    );
  });
});
