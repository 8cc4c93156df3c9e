/**
 * A follower catching up from a leader whose copy is damaged: two nodes, a partition on both; the follower
 * stops, the leader takes more records, then one of the leader's closed segments past the follower's end is
 * damaged while both are down. Back up, the follower's fetches reach the damage and get CORRUPT_MESSAGE: the
 * leader logs the damage once (not once per fetch) and the two do not spin — the follower's fetch waits out
 * its max wait, so the leader sees a few requests a second, not thousands.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { OFF } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const TOPIC = 'damaged-leader';
let cluster: Cluster | undefined;

async function produce(port: number, batches: number, acks: number): Promise<void> {
  await RawClient.using(port, async (c) => {
    for (let i = 0; i < batches; i++) {
      const records = await buildBatch({
        records: Array.from({ length: 10 }, (_, j) => ({
          key: null,
          value: Buffer.from(`v${i}-${j}-${'x'.repeat(40)}`),
        })),
      });
      // A node that just became leader may answer NOT_LEADER_OR_FOLLOWER (6) for a moment: ask again.
      await until(`batch ${i} acknowledged`, async () => {
        const r = await c.request(ApiKey.Produce, 9, {
          transactionalId: null,
          acks,
          timeoutMs: 10_000,
          topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: Buffer.from(records) }] }],
        });
        const code = (r.responses as Struct[])[0]!.partitionResponses[0].errorCode as number;
        if (code !== 0 && code !== 6) throw new Error(`produce answered ${code}`);
        return code === 0;
      });
    }
  });
}

async function partitionState(port: number): Promise<{ leader: number; isr: number[] } | null> {
  return RawClient.using(port, async (c) => {
    const md = await c.request(ApiKey.Metadata, 1, { topics: [{ name: TOPIC }] });
    const p = ((md.topics as Struct[])[0]?.partitions as Struct[] | undefined)?.[0];
    return p ? { leader: p.leaderId as number, isr: p.isrNodes as number[] } : null;
  });
}

/** Read syscalls a process has made so far (/proc/<pid>/io): each request it reads costs at least one. */
function readSyscalls(pid: number): number {
  return Number(/^syscr: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
}

describe('a follower catching up from a damaged leader', () => {
  before(async () => {
    cluster = await startCluster({ nodes: [1, 2], props: { 'log.segment.bytes': '2048' } });
  });
  after(() => cluster?.close());

  test('gets CORRUPT_MESSAGE at the damage without spinning; the leader logs it once', async () => {
    const c = cluster!;
    // Until the controller is there to take it (NOT_CONTROLLER-like errors right after start); 36: created.
    await until('the topic is created', () =>
      RawClient.using(c.node(1).port, async (raw) => {
        const r = await raw.request(ApiKey.CreateTopics, 5, {
          topics: [
            {
              name: TOPIC,
              numPartitions: -1,
              replicationFactor: -1,
              assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
              configs: [],
            },
          ],
          timeoutMs: 10_000,
          validateOnly: false,
        });
        const code = (r.topics as Struct[])[0]!.errorCode as number;
        return code === 0 || code === 36;
      }),
    );
    await until('leader 1 with both in sync', async () => {
      const s = await partitionState(c.node(1).port);
      return s?.leader === 1 && s.isr.length === 2;
    });
    await produce(c.node(1).port, 20, -1); // offsets 0-199 on both nodes
    assert.equal(await c.stop(2), 0);
    await produce(c.node(1).port, 40, 1); // offsets 200-599 on node 1 only
    assert.equal(await c.stop(1), 0);

    // Node 1: a negative batch length in a closed segment past the follower's end (offset 200).
    const dir = join(c.dataDir(1), `${TOPIC}-0`);
    const segs = readdirSync(dir)
      .filter((n) => /^\d{20}\.log$/.test(n))
      .sort();
    const victim = segs.find((n, i) => BigInt(n.slice(0, 20)) > 300n && i < segs.length - 1)!;
    assert.ok(victim, `a closed segment past offset 300 among ${segs.join(' ')}`);
    const bytes = readFileSync(join(dir, victim));
    const second = bytes.readInt32BE(OFF.batchLength) + 12;
    bytes.writeInt32BE(-1, second + OFF.batchLength);
    writeFileSync(join(dir, victim), bytes);

    const leader = await c.start(1);
    await until('node 1 leads again', async () => (await partitionState(leader.port))?.leader === 1);
    const follower = await c.start(2);
    await until('the follower reached the damage', async () => leader.logs().includes('Damaged log segment'), 60_000);

    const pids = [leader.child.pid!, follower.child.pid!];
    const before = pids.map(readSyscalls);
    await new Promise((r) => setTimeout(r, 5000));
    const reads = pids.map((p, i) => readSyscalls(p) - before[i]!);
    // A follower asking again at once as each error comes back makes thousands of requests in 5 s.
    for (const [i, n] of reads.entries()) assert.ok(n < 2000, `node ${i + 1}: ${n} read syscalls in 5 s`);
    const lines = leader
      .logs()
      .split('\n')
      .filter((l) => l.includes('Damaged log segment'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(victim));
    // The follower is not in sync (it cannot get past the damage) and stays out of the ISR.
    assert.deepEqual((await partitionState(leader.port))?.isr, [1]);
  });
});
