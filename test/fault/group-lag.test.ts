/**
 * Issue 20: a group's lag on /metrics is measured against the leader's high watermark. When the group's
 * coordinator only follows a partition and is cut off from its leader (nft drops between the two nodes in
 * their network namespaces; both keep etcd and the third node), its copy of the partition's high watermark
 * stops moving while the leader takes more records: the coordinator must not export a lag computed from that
 * stale copy (it hid 40 records of lag as 0), and once the link heals it exports the right lag again.
 *
 * Needs root (network namespaces, nft, tmpfs mounts): skipped otherwise. The lab, its processes and mounts are
 * removed by after() also when the test fails (test/fault/harness.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { kcatProduce } from '../helpers/kcat.js';
import { until } from '../helpers/until.js';
import { FaultCluster, NODE_PORT } from './harness.js';
import { createTopic, metadata, request } from './wire.js';

const run = promisify(execFile);
const root = process.getuid?.() === 0;
const HTTP_PORT = 9644;
const GROUP = 'cut-off-group';
const TOPIC = 'cut-off';

/** `n` records to partition 0 of TOPIC through `bootstrap` with kcat. */
async function produce(bootstrap: string, n: number, tag: string, acks: string): Promise<void> {
  await kcatProduce(
    bootstrap,
    TOPIC,
    0,
    Array.from({ length: n }, (_, i) => `${tag}-${i}`),
    acks,
  );
}

/** The group's series of node `id`'s /metrics: committed offset and lag of partition 0 (undefined: no series). */
async function groupSeries(c: FaultCluster, id: number): Promise<{ offset?: number; lag?: number }> {
  const r = await fetch(`http://${c.ip(id)}:${HTTP_PORT}/metrics`, { signal: AbortSignal.timeout(3000) });
  const text = await r.text();
  const value = (name: string): number | undefined => {
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`)) continue;
      if (!line.includes(`consumergroup="${GROUP}"`) || !line.includes(`topic="${TOPIC}"`)) continue;
      if (!line.includes('partition="0"')) continue;
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  };
  return { offset: value('kafka_consumergroup_current_offset'), lag: value('kafka_consumergroup_lag') };
}

describe('group lag when the coordinator is cut off from the leader', {
  skip: !root && 'needs root (network namespaces)',
  timeout: 300_000,
}, () => {
  let c: FaultCluster | undefined;

  before(async () => {
    c = await FaultCluster.start({
      tmpfsMb: 64,
      httpPort: HTTP_PORT,
      props: {
        'admin.listeners': `http://0.0.0.0:${HTTP_PORT}`,
        'replica.lag.time.max.ms': '3000',
        'offsets.topic.replication.factor': '3',
        'min.insync.replicas': '1',
      },
    });
  });

  after(async () => {
    await c?.close();
  });

  test('no lag from a stale follower copy; the right lag once the link heals', async () => {
    const fc = c as FaultCluster;
    // The group's coordinator (FindCoordinator creates __consumer_offsets first).
    const coordinator = await until(
      'a coordinator for the group',
      async () => {
        const r = await request(fc.endpoint(1), ApiKey.FindCoordinator, 2, { key: GROUP, keyType: 0 }).catch(
          () => null,
        );
        return r && (r.errorCode as number) === 0 ? (r.nodeId as number) : null;
      },
      60_000,
    );
    const others = fc.ids.filter((id) => id !== coordinator);
    const leader = others[0] as number;
    const third = others[1] as number;
    // One partition led by another node, the coordinator one of its followers.
    const created = await createTopic(fc.endpoint(leader), TOPIC, [[leader, coordinator, third]], {});
    assert.equal(created.errorCode, 0, created.errorMessage ?? '');
    await until(
      'the partition led by its first replica, all in sync',
      async () => {
        const m = await metadata(fc.endpoint(coordinator), TOPIC).catch(() => null);
        const p = m?.partitions[0];
        return p && p.leader === leader && p.isr.length === 3 ? true : null;
      },
      60_000,
    );
    await produce(fc.bootstrap(), 10, 'first', 'all');
    // A kcat group reads them and commits offset 10 (on the coordinator).
    await run('kcat', ['-b', fc.bootstrap(), '-G', GROUP, '-o', 'beginning', '-e', '-q', TOPIC], {
      timeout: 60_000,
    });
    let seen: { offset?: number; lag?: number } = {};
    await until(
      'committed offset 10 and lag 0 on the coordinator',
      async () => {
        seen = await groupSeries(fc, coordinator).catch(() => ({}));
        return seen.offset === 10 && seen.lag === 0 ? true : null;
      },
      30_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(seen)}`);
    });

    // Cut the coordinator off from the leader (both keep etcd and the third node); 40 more records on the leader.
    fc.lab.block(`n${coordinator}`, [fc.ip(leader)], 'both');
    await produce(`${fc.ip(leader)}:${NODE_PORT}`, 40, 'second', '1');
    await until(
      'the leader drops the coordinator from the ISR',
      async () => {
        const p = (await metadata(fc.endpoint(leader), TOPIC).catch(() => null))?.partitions[0];
        return p && !p.isr.includes(coordinator) ? true : null;
      },
      30_000,
    );
    // The coordinator's copy still says 10: its lag of 0 would be a lie. Unknown (no series) is what it may say.
    await until(
      'no lag from the stale copy on the coordinator',
      async () => {
        seen = await groupSeries(fc, coordinator).catch(() => ({}));
        return seen.offset === 10 && (seen.lag === undefined || seen.lag === 40) ? true : null;
      },
      20_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(seen)}`);
    });
    assert.notEqual(seen.lag, 0);

    // Healed: the follower catches up, rejoins the ISR, and the lag is the leader's again.
    fc.heal(coordinator);
    await until(
      'lag 40 on the coordinator once healed',
      async () => {
        seen = await groupSeries(fc, coordinator).catch(() => ({}));
        return seen.offset === 10 && seen.lag === 40 ? true : null;
      },
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(seen)}`);
    });
  });
});
