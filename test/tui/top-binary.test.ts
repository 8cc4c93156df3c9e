/**
 * The single executable (dist/kstream, `npm run build:binary`) runs `kstream top` in a real terminal: two
 * refreshes (the "updated" time changes), the brokers screen, `q` exits 0. Skipped when the binary is not
 * built.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrokerProcess, ROOT, removeDir, startBroker } from '../helpers/broker.js';
import { startTerminal, type Terminal } from './tmux.js';

const BINARY = join(ROOT, 'dist', 'kstream');
let broker: BrokerProcess | undefined;
let term: Terminal | undefined;

describe('kstream top from the single executable', { skip: !existsSync(BINARY) && 'dist/kstream not built' }, () => {
  before(async () => {
    broker = await startBroker();
  });

  after(async () => {
    term?.kill();
    await broker?.kill();
    if (broker) removeDir(broker.dataDir);
  });

  test('two refreshes, brokers screen, q', async () => {
    term = startTerminal(`${BINARY} top -b ${broker!.bootstrap} --interval 500ms; echo TOP_EXIT=$?; sleep 60`);
    const updated = (s: string) => /updated (\d\d:\d\d:\d\d)/.exec(s)?.[1];
    const first = await term.waitFor('first refresh', (s) => /brokers 1 up 0 down/.test(s) && updated(s));
    await term.waitFor('second refresh', (s) => {
      const t = updated(s);
      return t !== undefined && t !== first;
    });
    term.keys('3');
    await term.waitFor('brokers screen', (s) => /^\s*1 127\.0\.0\.1:\d+\s+-\s+up\s+\*/m.test(s));
    term.keys('q');
    const done = await term.waitFor('exit', (s) => /TOP_EXIT=(\d+)/.exec(s));
    assert.equal(done[1], '0');
  });
});
