/**
 * `kstream top` in tmux against one node: a consumer group's lag shown rising while producers write and
 * falling to 0 as the group (kcat -G, librdkafka) catches up; the group drill-down shows its committed
 * offsets per partition.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { startTerminal, type Terminal } from './tmux.js';

let broker: BrokerProcess;
let term: Terminal | undefined;

function produce(from: number, n: number): void {
  const lines = Array.from({ length: n }, (_, i) => `m${from + i}`).join('\n');
  execFileSync('kcat', ['-P', '-b', broker.bootstrap, '-t', 'events', '-p', '0'], { input: lines });
}

function consume(n: number): void {
  execFileSync(
    'kcat',
    ['-b', broker.bootstrap, '-G', 'billing', '-X', 'auto.offset.reset=earliest', '-c', String(n), '-q', 'events'],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
      timeout: 30_000,
    },
  );
}

/** The group's row on the groups screen: state, members, partitions, lag. */
function groupRow(screen: string): { state: string; lag: string } | null {
  const m = /^billing\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)/m.exec(screen);
  return m ? { state: m[1]!, lag: m[4]! } : null;
}

describe('kstream top: consumer group lag in tmux (single node)', { timeout: 90_000 }, () => {
  before(async () => {
    broker = await startBroker();
  });

  after(async () => {
    term?.kill();
    await broker?.kill();
    if (broker) removeDir(broker.dataDir);
  });

  test('lag rises while producing, falls to 0 as the group consumes', async () => {
    produce(0, 2000);
    consume(500);
    term = startTerminal(`node bin/run.js top -b ${broker.bootstrap} --interval 500; echo TOP_EXIT=$?; sleep 120`);
    await term.waitFor('topics screen', (s) => /events/.test(s));
    term.keys('2');
    await term.waitFor('lag 1.5k', (s) => groupRow(s)?.lag === '1.5k');
    produce(2000, 2000);
    await term.waitFor('lag rising to 3.5k', (s) => groupRow(s)?.lag === '3.5k');
    consume(3500);
    await term.waitFor('lag back to 0', (s) => groupRow(s)?.lag === '0');
    term.keys('Enter');
    const s = await term.waitFor(
      'group drill-down',
      (x) => /group billing/.test(x) && /^events\s+0\s+4000\s+4000\s+0\b/m.test(x) && x,
    );
    // The lag trend went up then down: its sparkline has a peak that is not at the end.
    const spark = /^events\s+0\s+4000\s+4000\s+0\s+\S+\s+([▁▂▃▄▅▆▇█]+)/m.exec(s)?.[1] ?? '';
    assert.ok(spark.includes('█') && !spark.endsWith('█'), `lag trend "${spark}" in\n${s}`);
    term.keys('q');
    const done = await term.waitFor('top exited', (x) => /TOP_EXIT=(\d+)/.exec(x));
    assert.equal(done[1], '0');
  });
});
