/**
 * `kstream top` end to end in a real terminal (tmux) against a 3-node cluster on etcd: it shows the brokers
 * and the partitions; after a SIGKILL of one broker it shows the broker down, the partitions it was a replica
 * of under-replicated with the missing replica, new leaders for those it led; `q` exits 0 and restores the
 * terminal (the alternate screen is left).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { type EtcdProcess, startEtcd } from '../helpers/etcd.js';
import { partitionRows, startTerminal, type Terminal } from './tmux.js';

let etcd: EtcdProcess;
const nodes = new Map<number, BrokerProcess>();
const dirs: string[] = [];
let term: Terminal | undefined;
let admin: Admin | undefined;

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('kstream top in tmux against a 3-node cluster', { timeout: 90_000 }, () => {
  before(async () => {
    etcd = await startEtcd();
    await Promise.all(
      [1, 2, 3].map(async (id) => {
        const dir = tempDir(`kstream-top-node${id}-`);
        dirs.push(dir);
        nodes.set(
          id,
          await startBroker({
            dataDir: dir,
            args: ['--node-id', String(id), '--etcd', etcd.url, '--cluster-id', 'toptest'],
            props: { 'replica.lag.time.max.ms': '3000' },
          }),
        );
      }),
    );
  });

  after(async () => {
    term?.kill();
    await admin?.close().catch(() => {});
    for (const b of nodes.values()) await b.kill();
    await etcd?.stop();
    for (const d of dirs) removeDir(d);
  });

  test('brokers, partitions, a broker SIGKILLed, q', async () => {
    const bootstrap = [...nodes.values()].map((b) => b.bootstrap).join(',');
    admin = new Admin({ brokers: bootstrap });
    await admin.createTopics([{ topic: 'orders', numPartitions: 6, replicationFactor: 3 }]);
    await until('orders fully replicated', async () => {
      const [t] = await admin!.describeTopics(['orders']);
      return t && t.partitions.length === 6 && t.partitions.every((p) => p.isr.length === 3 && p.leader >= 0);
    });
    const lines = Array.from({ length: 3000 }, (_, i) => `k${i}:v${i}`).join('\n');
    execFileSync('kcat', ['-P', '-b', bootstrap, '-t', 'orders', '-K:', '-X', 'acks=all'], { input: lines });

    term = startTerminal(`node bin/run.js top -b ${bootstrap} --interval 500; echo TOP_EXIT=$?; sleep 120`);
    await term.waitFor('header with 3 brokers up', (s) => /brokers 3 up 0 down/.test(s) && /orders/.test(s));
    // 3000 messages are shown as 3.0k retained on the topics screen.
    await term.waitFor('orders with 3.0k messages', (s) => /orders\s+6\s+3\s+0\s+0\s+3\.0k/.test(s));

    term.keys('Enter');
    const before = await term.waitFor('6 healthy partitions', (s) => {
      const rows = partitionRows(s);
      return rows.length === 6 && rows.every((r) => r.status === 'ok' && r.isr.length === 3) ? rows : null;
    });
    const victim = 2;
    const led = before.filter((r) => r.leader === victim).map((r) => r.partition);
    assert.ok(led.length > 0, `broker ${victim} leads some partitions: ${JSON.stringify(before)}`);

    await nodes.get(victim)!.kill();

    const afterKill = await term.waitFor(
      'partitions under-replicated without broker 2, new leaders',
      (s) => {
        const rows = partitionRows(s);
        return rows.length === 6 &&
          rows.every((r) => r.leader !== null && r.leader !== victim && r.missing.includes(victim)) &&
          rows.every((r) => r.status === 'UNDER-REP' && !r.isr.includes(victim))
          ? rows
          : null;
      },
      45_000,
    );
    for (const p of led) {
      const row = afterKill.find((r) => r.partition === p)!;
      assert.notEqual(row.leader, victim, `partition ${p} has a new leader`);
      assert.ok(row.replicas.includes(row.leader!), `partition ${p}'s new leader is one of its replicas`);
    }
    const header = term.screen();
    assert.match(header, /brokers 2 up 1 down/);
    assert.match(header, /under-replicated 6/);

    term.keys('3');
    await term.waitFor('broker 2 down on the brokers screen', (s) =>
      /^\s*2\s+127\.0\.0\.1:\d+\s+-\s+DOWN\s+\s*0\s+6\s+6: /m.test(s),
    );
    const screen = term.screen();
    for (const id of [1, 3]) assert.match(screen, new RegExp(`^\\s*${id}\\s+127\\.0\\.0\\.1:\\d+\\s+-\\s+up\\b`, 'm'));

    term.keys('q');
    const done = await term.waitFor('top exited', (s) => /TOP_EXIT=(\d+)/.exec(s));
    assert.equal(done[1], '0');
    // The alternate screen was left: the UI is gone from the terminal.
    assert.doesNotMatch(term.screen(), /kstream top {2}cluster/);
  });
});
