/**
 * `kstream top` end to end in a real terminal (tmux) against a 3-node cluster on etcd, one scenario: records
 * produced, a consumer group (kcat -G, librdkafka) reads part of them and its lag is shown rising as more are
 * produced; the group's coordinator (also the leader of some partitions) is SIGKILLed and the screen shows it
 * down, the partitions it was a replica of under-replicated with the missing replica, new leaders for those
 * it led (also in the event log and on the Events screen); a resize redraws the screen; the group, served by
 * a new coordinator, catches up and its lag falls to 0; the broker comes back and its partitions are fully
 * replicated again; `q` exits 0 and restores the terminal (the alternate screen is left).
 */

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Admin } from '../../src/client/index.js';
import { eventLogRows } from '../../src/tui/hooks/use-event-log.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { until } from '../helpers/until.js';
import { eventLines, partitionRows, startTerminal, type Terminal } from './tmux.js';

const run = promisify(execFile);
let cluster: Cluster | undefined;
let term: Terminal | undefined;
let admin: Admin | undefined;

/** `n` keyed records to orders (keys spread them over the partitions), acks=all. */
function produce(from: number, n: number): void {
  const lines = Array.from({ length: n }, (_, i) => `k${from + i}:v${from + i}`).join('\n');
  execFileSync('kcat', ['-P', '-b', cluster!.bootstrap(), '-t', 'orders', '-K:', '-X', 'acks=all'], { input: lines });
}

/** Group `billing` (kcat -G) reads `n` records and leaves, committing what it read. */
async function consume(n: number): Promise<void> {
  await run(
    'kcat',
    ['-b', cluster!.bootstrap(), '-G', 'billing', '-X', 'auto.offset.reset=earliest', '-c', String(n), '-q', 'orders'],
    { timeout: 60_000 },
  );
}

/** The group's row on the groups screen. */
function groupRow(screen: string): { state: string; members: string; lag: string } | null {
  const m = /^billing\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)/m.exec(screen);
  return m ? { state: m[1]!, members: m[2]!, lag: m[4]! } : null;
}

describe('kstream top in tmux against a 3-node cluster', { timeout: 180_000 }, () => {
  before(async () => {
    cluster = await startCluster({ nodes: 3, clusterId: 'toptest', props: { 'replica.lag.time.max.ms': '3000' } });
  });

  after(async () => {
    term?.kill();
    await admin?.close().catch(() => {});
    await cluster?.close();
  });

  test('group lag rising, the coordinator SIGKILLed, partitions under-replicated with new leaders, lag falling, q', async (t) => {
    const c = cluster!;
    admin = new Admin({ brokers: c.bootstrap() });
    await admin.createTopics([{ topic: 'orders', numPartitions: 6, replicationFactor: 3 }]);
    await until('orders fully replicated', async () => {
      const [t] = await admin!.describeTopics(['orders']);
      return t && t.partitions.length === 6 && t.partitions.every((p) => p.isr.length === 3 && p.leader >= 0);
    });
    produce(0, 3000);
    // The group reads everything, so it has a committed offset on every partition (lag counts only those).
    await consume(3000);

    term = startTerminal(`node bin/run.js top -b ${c.bootstrap()} --interval 500ms; echo TOP_EXIT=$?; sleep 120`);
    await term.waitFor('header with 3 brokers up', (s) => /brokers 3 up 0 down/.test(s) && /orders/.test(s));
    // The event log's first line: what top connected to.
    await term.waitFor('the connected event', (s) =>
      eventLines(s).includes('connected to cluster toptest: 3 brokers, 1 topic, 6 partitions, 1 group'),
    );
    await term.waitFor('orders with 3.0k messages', (s) => /orders\s+6\s+3\s+0\s+0\s+3\.0k/.test(s));

    // The group's lag rising as records arrive that it does not read.
    term.keys('2');
    await term.waitFor('billing lag 0', (s) => groupRow(s)?.lag === '0');
    produce(3000, 2000);
    await term.waitFor('billing lag rising to 2.0k', (s) => groupRow(s)?.lag === '2.0k');
    produce(5000, 2000);
    await term.waitFor('billing lag rising to 4.0k', (s) => groupRow(s)?.lag === '4.0k');

    // The victim: the group's coordinator, which also leads some partitions of orders.
    const [described] = await admin.describeGroups(['billing']);
    const victim = described!.coordinator;
    assert.ok(c.ids.includes(victim), `coordinator ${victim}`);

    term.keys('1', 'Enter');
    const healthy = await term.waitFor('6 healthy partitions', (s) => {
      const rows = partitionRows(s);
      return rows.length === 6 && rows.every((r) => r.status === 'ok' && r.isr.length === 3) ? rows : null;
    });
    const led = healthy.filter((r) => r.leader === victim).map((r) => r.partition);
    assert.ok(led.length > 0, `broker ${victim} leads some partitions: ${JSON.stringify(healthy)}`);

    await c.kill(victim);

    const afterKill = await term.waitFor(
      `partitions under-replicated without broker ${victim}, new leaders`,
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

    // The event log above the live area: the broker down.
    const down = `broker ${victim} DOWN (${c.node(victim).bootstrap})`;
    await term.waitFor('broker down in the event log', (s) => eventLines(s).includes(down));

    // The Events screen (4), the whole history newest first: every partition under-replicated without the
    // broker (in one line or several, as the ISRs shrink), new leaders for those it led.
    term.keys('4');
    await term.waitFor('under-replicated partitions and new leaders on the Events screen', (s) => {
      const rows = s
        .slice(s.indexOf('TIME'))
        .split('\n')
        .flatMap((l) => /^\d\d:\d\d:\d\d (\S.*)$/.exec(l)?.[1] ?? []);
      const under = new Set(
        rows.flatMap((l) => {
          const m = new RegExp(
            `^orders: \\d+ partitions? under-replicated \\(([\\d,]+); missing replica ${victim}\\)$`,
          ).exec(l);
          return m ? m[1]!.split(',').map(Number) : [];
        }),
      );
      const moved = rows.flatMap(
        (l) => /^orders: new leaders? for \d+ partitions? \((.*)\)$/.exec(l)?.[1]?.split(', ') ?? [],
      );
      return (
        rows.includes(down) &&
        under.size === 6 &&
        led.every((p) => moved.some((m) => new RegExp(`^${p}: ${victim}→\\d$`).test(m)))
      );
    });

    // Resize: the screen is redrawn for the new size, the log (paused: no new events meanwhile) above the
    // live area, the live area ending on the last row.
    term.keys('p');
    const paused = await term.waitFor('paused', (s) => (/PAUSED/.test(s) ? s : null));
    const newest = eventLines(paused).at(-1)!;
    term.resize(130, 30);
    const rows = eventLogRows(30);
    await term.waitFor('the screen redrawn at 130x30', (s) => {
      const lines = s.split('\n');
      return (
        lines.length >= 30 &&
        lines.findIndex((l) => /^kstream top {2}cluster/.test(l)) === rows &&
        lines.filter((l) => /^kstream top {2}cluster/.test(l)).length === 1 &&
        /^sort: name/.test(lines[28]!) &&
        lines.slice(0, rows).some((l) => l.slice(10).startsWith(newest.slice(0, 100)))
      );
    });
    term.keys('p');
    await term.waitFor('resumed', (s) => !/PAUSED/.test(s));

    term.keys('3');
    await term.waitFor(`broker ${victim} down on the brokers screen`, (s) =>
      // LEADERS 0, REPLICAS 6, DISK and FREE unknown (a down broker answers no DescribeLogDirs), OUT OF ISR 6.
      new RegExp(`^\\s*${victim}\\s+127\\.0\\.0\\.1:\\d+\\s+-\\s+DOWN\\s+\\s*0\\s+6\\s+-\\s+-\\s+6: `, 'm').test(s),
    );
    const screen = term.screen();
    for (const id of c.ids.filter((x) => x !== victim))
      assert.match(screen, new RegExp(`^\\s*${id}\\s+127\\.0\\.0\\.1:\\d+\\s+-\\s+up\\b`, 'm'));

    // The group catches up through its new coordinator: the lag falls to 0.
    term.keys('2');
    await term.waitFor('billing lag still 4.0k', (s) => groupRow(s)?.lag === '4.0k');
    await consume(4000);
    await term.waitFor('billing lag back to 0', (s) => groupRow(s)?.lag === '0');
    term.keys('Enter');
    const drill = await term.waitFor('group drill-down: 6 partitions caught up', (s) => {
      const rows = [...s.matchAll(/^orders\s+(\d)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+([▁▂▃▄▅▆▇█]+)$/gm)];
      return /group billing/.test(s) && rows.length === 6 && rows.every((r) => r[2] === r[3] && r[4] === '0')
        ? s
        : null;
    });
    // The lag trend went up, then down: a partition's sparkline has a peak that is not at its end.
    const sparks = [...drill.matchAll(/^orders\s+\d\s+\d+\s+\d+\s+0\s+\S+\s+([▁▂▃▄▅▆▇█]+)$/gm)].map((m) => m[1]!);
    assert.ok(
      sparks.some((x) => x.includes('█') && !x.endsWith('█')),
      `lag trends ${JSON.stringify(sparks)} in\n${drill}`,
    );

    // The broker comes back (same port, same data): up again, every partition fully replicated again.
    await c.start(victim);
    term.keys('4');
    await term.waitFor(
      `broker ${victim} up again, 6 partitions fully replicated again, on the Events screen`,
      (s) => {
        const rows = s
          .slice(s.indexOf('TIME'))
          .split('\n')
          .flatMap((l) => /^\d\d:\d\d:\d\d (\S.*)$/.exec(l)?.[1] ?? []);
        const recovered = new Set(
          rows.flatMap(
            (l) => /^orders: \d+ partitions? fully replicated again \(([\d,]+)\)$/.exec(l)?.[1]?.split(',') ?? [],
          ),
        );
        return rows.includes(`broker ${victim} up again (${c.node(victim).bootstrap})`) && recovered.size === 6;
      },
      60_000,
    );
    term.keys('1');
    await term.waitFor(
      'no partition under-replicated',
      (s) => /under-replicated 0 /.test(s) && /brokers 3 up 0 down/.test(s),
    );

    for (const line of eventLines(term.screen())) t.diagnostic(`event: ${line}`);
    term.keys('q');
    const done = await term.waitFor('top exited', (s) => /TOP_EXIT=(\d+)/.exec(s));
    assert.equal(done[1], '0');
    // The alternate screen was left: the UI is gone from the terminal.
    assert.doesNotMatch(term.screen(), /kstream top {2}cluster/);
  });
});
