/**
 * `kstream top` keeps polling while a broker is down (issue 15, clients that ride it out), in a real terminal
 * (tmux) against a 3-node cluster on etcd, started with `-b` ONE broker as a user often does:
 *   - that broker stops (SIGTERM, as in a rolling restart): top goes on, shows it DOWN with 2 brokers up;
 *   - the other two stop answering for a moment (SIGSTOP): a poll fails, top shows CLUSTER UNREACHABLE and
 *     keeps retrying;
 *   - they answer again: top is back on live data although the broker it was started with is still down (it
 *     used to stay unreachable: after a failed poll its new client bootstrapped from that broker only);
 *   - the broker comes back: 3 up; `q` exits 0 (top never exited on its own).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { startTerminal, type Terminal } from './tmux.js';

const run = promisify(execFile);

describe('kstream top rides out a broker that is down', { timeout: 240_000 }, () => {
  let cluster: Cluster | undefined;
  let term: Terminal | undefined;
  after(async () => {
    term?.kill();
    if (cluster) for (const id of cluster.ids) if (cluster.isUp(id)) cluster.resume(id);
    await cluster?.close();
  });

  test('bootstrapped from one broker: it stops, the others pause and come back, top goes on', async () => {
    cluster = await startCluster({ nodes: 3 });
    const c = cluster;
    await run(process.execPath, [BIN, 'topic', 'create', 'watched', '-p', '3', '-r', '3', '-b', c.bootstrap()]);
    const only = c.node(1).bootstrap;
    term = startTerminal(`node bin/run.js top -b ${only} --interval 500ms --timeout 1s; echo TOP_EXIT=$?; sleep 120`);
    const live = (s: string) => !/CLUSTER UNREACHABLE/.test(s) && !/TOP_EXIT/.test(s);
    await term.waitFor('3 brokers up', (s) => live(s) && /brokers 3 up 0 down/.test(s) && /watched/.test(s));

    await c.stop(1);
    await term.waitFor('broker 1 down, top polling on', (s) => live(s) && /brokers 2 up 1 down/.test(s), 60_000);
    term.keys('3');
    await term.waitFor('broker 1 DOWN on the brokers screen', (s) =>
      new RegExp(`^\\s*1\\s+${only.replace(/\./g, '\\.')}\\s+-\\s+DOWN\\b`, 'm').test(s),
    );

    // The two live brokers stop answering: a poll fails (--timeout 1s).
    c.pause(2);
    c.pause(3);
    try {
      await term.waitFor('a failed poll shown', (s) => /CLUSTER UNREACHABLE/.test(s), 30_000);
    } finally {
      c.resume(2);
      c.resume(3);
    }
    // Back on live data from brokers 2 and 3, broker 1 (the one top was started with) still down.
    await term.waitFor(
      'top back on live data without its bootstrap broker',
      (s) => live(s) && /brokers 2 up 1 down/.test(s),
      60_000,
    );
    assert.equal(c.isUp(1), false);

    await c.start(1);
    await term.waitFor('broker 1 up again', (s) => live(s) && /brokers 3 up 0 down/.test(s), 60_000);
    assert.doesNotMatch(term.screen(), /TOP_EXIT/, 'top never exited on its own');
    term.keys('q');
    const done = await term.waitFor('top exited', (s) => /TOP_EXIT=(\d+)/.exec(s));
    assert.equal(done[1], '0');
  });
});
