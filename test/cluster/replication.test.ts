/**
 * A 3-node cluster on a real etcd (Debian's etcd-server): replica and leader spread, acks=all through a
 * leader SIGKILL with nothing acknowledged lost, the killed node catching up and rejoining the ISR with an
 * identical log, a paused follower leaving the ISR, NOT_ENOUGH_REPLICAS below min.insync.replicas, a
 * coordinator loss, reassignment. The subtests with a bound in time (leadership moved inside the lease on a
 * controlled shutdown; acks=all through an etcd outage with a 3 s replica.lag.time.max.ms) are in
 * replication-timing.test.ts, which runs alone.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { ROOT } from '../helpers/broker.js';
import type { Cluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';
import { type Replicated, startReplicated } from './replicated.js';

const run = promisify(execFile);
let r: Replicated;
let cluster: Cluster;
const children: ChildProcess[] = [];
let admin: Admin;
const bootstrap = (except?: number) => r.bootstrap(except);
const anyLive = () => r.anyLive();
const partitions = (topic: string, via?: number) => r.partitions(topic, via);

/** confluent-kafka-python producing with acks=all to partition 0 of `topic`; `acked` fills as acks arrive. */
function ackLogger(topic: string): { producer: ChildProcess; acked: { offset: string; value: string }[] } {
  const producer = spawn('/usr/bin/python3', [join(ROOT, 'test/interop/py/ack_logger.py'), bootstrap(), topic], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(producer);
  const acked: { offset: string; value: string }[] = [];
  let partial = '';
  producer.stdout?.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() as string;
    for (const l of lines) {
      const [, offset, value] = l.split(' ');
      acked.push({ offset: offset as string, value: value as string });
    }
  });
  return { producer, acked };
}

/** Partition 0 of `topic`, read with kcat from the live brokers (except `except`): offset → value. */
async function readPartition(topic: string, except?: number): Promise<Map<string, string>> {
  const { stdout } = await run(
    'kcat',
    ['-b', bootstrap(except), '-C', '-t', topic, '-p', '0', '-e', '-q', '-f', '%o %s\n'],
    {
      maxBuffer: 512 * 1024 * 1024,
      timeout: 60_000,
    },
  );
  return new Map(
    stdout
      .split('\n')
      .filter((l) => l)
      .map((l) => l.split(' ') as [string, string]),
  );
}

describe('replicated cluster on etcd', () => {
  before(async () => {
    r = await startReplicated();
    ({ cluster, admin } = r);
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await r?.close();
  });

  test('12 partitions with RF 3: every broker holds 12 replicas and leads 4', async () => {
    await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 12, replicationFactor: 3 }] });
    const ps = await until('metadata for spread', async () => {
      const p = await partitions('spread');
      return p.length === 12 && p.every((x) => x.isr.length === 3) ? p : null;
    });
    for (const id of [1, 2, 3]) {
      assert.equal(ps.filter((p) => p.replicas.includes(id)).length, 12, `broker ${id} replicas`);
      assert.equal(ps.filter((p) => p.leader === id).length, 4, `broker ${id} leads 4`);
      assert.ok(
        ps.every((p) => p.leader === p.replicas[0]),
        'the preferred (first) replica leads',
      );
    }
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'too-many', numPartitions: 1, replicationFactor: 4 }] }),
    );
  });

  test('acks=all through a leader SIGKILL: every acknowledged record survives; the node rejoins with an identical log', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'ha',
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
    });
    const leader = (await until('ha leader', async () => (await partitions('ha'))[0]?.leader)) as number;
    const { producer, acked } = ackLogger('ha');
    // 200,000 records in all: 100,000 acknowledged before the leader dies, 100,000 after.
    await until('100,000 acks', async () => acked.length >= 100_000, 120_000);
    const killedAt = Date.now();
    const atKill = acked.length;
    await cluster.kill(leader);
    // Failover time: until the new leader has acknowledged the first 1,000 records.
    await until('acks after the failover', async () => acked.length >= atKill + 1_000, 60_000);
    const failoverMs = Date.now() - killedAt;
    await until('100,000 acks after the failover', async () => acked.length >= atKill + 100_000, 120_000);
    producer.kill('SIGKILL');
    await new Promise((r) => producer.once('exit', r));
    const after = await partitions('ha', leader);
    assert.notEqual(after[0]?.leader, leader, 'a new leader was elected');
    assert.ok(!after[0]?.isr.includes(leader), 'the dead node left the ISR');

    const stored = await readPartition('ha', leader);
    for (const a of acked) assert.equal(stored.get(a.offset), a.value, `acknowledged offset ${a.offset} survived`);

    await cluster.start(leader);
    await until(
      'the restarted node back in the ISR',
      async () => (await partitions('ha'))[0]?.isr.length === 3,
      60_000,
    );
    const logs = [1, 2, 3].map((id) => {
      const d = join(cluster.dataDir(id), 'ha-0');
      return Buffer.concat(
        readdirSync(d)
          .filter((f) => f.endsWith('.log'))
          .sort()
          .map((f) => readFileSync(join(d, f))),
      );
    });
    assert.ok(logs[0]?.equals(logs[1] as Buffer) && logs[1]?.equals(logs[2] as Buffer), 'replica logs are identical');
    process.stderr.write(
      `# failover: leader killed -> 1,000 records acknowledged by the new leader in ${failoverMs} ms\n`,
    );
  });

  test('a paused follower leaves the ISR; below min.insync.replicas acks=all is refused and acks=1 works', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'isr',
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
    });
    const p0 = await until('isr metadata', async () => {
      const p = (await partitions('isr'))[0];
      return p && p.isr.length === 3 ? p : null;
    });
    const leader = cluster.node(p0.leader);
    const followers = p0.replicas.filter((r) => r !== p0.leader);
    const c = await RawClient.connect(leader.port);
    const produce = async (acks: number, value: string) => {
      const records = await buildBatch({ records: [{ key: null, value: Buffer.from(value) }] });
      const r = await c.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks,
        timeoutMs: 10_000,
        topicData: [{ name: 'isr', partitionData: [{ index: 0, records }] }],
      });
      return r.responses[0].partitionResponses[0].errorCode as number;
    };
    /**
     * The ISR as the leader answers Metadata, on the connection above. (Read through kafkajs, this wait took
     * 30 s: a request that went to the paused node waited out its timeout, while the ISR shrank in ~3 s.)
     */
    const isr = async () => {
      const md = await c.request(ApiKey.Metadata, 1, { topics: [{ name: 'isr' }] });
      const ps = ((md.topics as Struct[])[0]?.partitions ?? []) as Struct[];
      return (ps[0]?.isrNodes ?? []) as number[];
    };
    try {
      assert.equal(await produce(-1, 'all three'), 0);
      cluster.pause(followers[0] as number);
      await until('ISR of 2 without the paused follower', async () => {
        const now = await isr();
        return now.length === 2 && !now.includes(followers[0] as number);
      });
      assert.equal(await produce(-1, 'two of three'), 0, 'acks=all works with 2 of 3 in sync');
      cluster.pause(followers[1] as number);
      await until('ISR of 1', async () => {
        const code = await produce(-1, 'probe');
        return code === ErrorCode.NOT_ENOUGH_REPLICAS || code === ErrorCode.REQUEST_TIMED_OUT ? code : null;
      });
      assert.equal(await produce(-1, 'refused'), ErrorCode.NOT_ENOUGH_REPLICAS);
      assert.equal(await produce(1, 'acks one'), 0, 'acks=1 keeps working');
    } finally {
      for (const f of followers) cluster.resume(f);
      c.close();
    }
    await until('ISR back to 3', async () => (await partitions('isr'))[0]?.isr.length === 3, 60_000);
  });

  test('a consumer group survives the loss of its coordinator and resumes from the committed offsets', async () => {
    await admin.createTopics({ topics: [{ topic: 'grp', numPartitions: 4, replicationFactor: 3 }] });
    await until('grp ready', async () => (await partitions('grp')).every((p) => p.isr.length === 3));
    const lines = `${Array.from({ length: 4000 }, (_, i) => `k${i}:v${i}`).join('\n')}\n`;
    const prod = run('kcat', ['-b', bootstrap(), '-P', '-t', 'grp', '-K', ':', '-X', 'acks=all'], { timeout: 60_000 });
    prod.child.stdin?.end(lines);
    await prod;
    const group = async (mode: string, count: number) => {
      const { stdout } = await run(
        '/usr/bin/python3',
        [join(ROOT, 'test/interop/py/group_confluent.py'), bootstrap(), 'grp', 'cg', 'range', mode, String(count)],
        { timeout: 150_000, maxBuffer: 64 * 1024 * 1024 },
      );
      return JSON.parse(stdout.trim().split('\n').pop() as string) as { read: [number, number][] };
    };
    const first = await group('consume', 2000);
    assert.equal(first.read.length, 2000);
    const c = await RawClient.connect(anyLive().port);
    const fc = await c.request(ApiKey.FindCoordinator, 3, { key: 'cg', keyType: 0 });
    c.close();
    assert.equal(fc.errorCode, 0);
    const coordinator = fc.nodeId as number;
    await cluster.kill(coordinator);
    const rest = await group('drain', 2000);
    const seen = new Set(first.read.map(([p, o]) => `${p}:${o}`));
    for (const [p, o] of rest.read) {
      assert.ok(!seen.has(`${p}:${o}`), `record ${p}:${o} read twice: the committed offsets were lost`);
      seen.add(`${p}:${o}`);
    }
    assert.equal(seen.size, 4000, 'every record read exactly once across the coordinator loss');
    await cluster.start(coordinator);
  });

  test('reassignment moves a partition from broker 1 to a new broker 4 while a producer writes, losing nothing', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'move',
          numPartitions: 1,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
    });
    const before = await until('move ready', async () => {
      const p = (await partitions('move'))[0];
      return p && p.isr.length === 3 ? p : null;
    });
    assert.ok(before.replicas.includes(1));
    const b4 = await cluster.start(4);
    const { producer, acked } = ackLogger('move');
    await until('acks before the move', async () => acked.length >= 10_000);
    const target = before.replicas.map((r) => (r === 1 ? 4 : r));
    const c = await RawClient.connect(b4.port);
    try {
      const r = await c.request(ApiKey.AlterPartitionReassignments, 0, {
        timeoutMs: 10_000,
        topics: [{ name: 'move', partitions: [{ partitionIndex: 0, replicas: target }] }],
      });
      assert.equal(r.responses[0].partitions[0].errorCode, 0);
      const listed = await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 10_000, topics: null });
      const inProgress = listed.topics.find((t: { name: string }) => t.name === 'move');
      if (inProgress) assert.deepEqual(inProgress.partitions[0].addingReplicas, [4]);
    } finally {
      c.close();
    }
    const done = await until(
      'reassignment complete',
      async () => {
        const p = (await partitions('move'))[0];
        const same = (a: number[], b: number[]) => [...a].sort().join() === [...b].sort().join();
        return p && same(p.replicas, target) && same(p.isr, target) ? p : null;
      },
      60_000,
    );
    assert.ok(!done.replicas.includes(1));
    const atDone = acked.length;
    await until('acks after the move', async () => acked.length >= atDone + 10_000, 60_000);
    producer.kill('SIGKILL');
    await new Promise((r) => producer.once('exit', r));
    const stored = await readPartition('move');
    for (const a of acked)
      assert.equal(stored.get(a.offset), a.value, `acknowledged offset ${a.offset} survived the move`);
    await until('broker 1 dropped its replica', async () => !readdirSync(cluster.dataDir(1)).includes('move-0'));
  });

  test('kstream cluster reassign --drain and elect-leaders from the CLI', async () => {
    const cli = (args: string[]) =>
      run(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args, '-b', bootstrap()], { cwd: ROOT, timeout: 120_000 });
    const plan = await cli(['cluster', 'reassign', '--drain', '4', '--dry-run', '-o', 'json']);
    const moves = JSON.parse(plan.stdout) as { topic: string; partition: number; from: number[]; to: number[] }[];
    assert.ok(
      moves.some((m) => m.topic === 'move'),
      'broker 4 holds move/0',
    );
    for (const m of moves) assert.ok(!m.to.includes(4));
    const res = await cli(['cluster', 'reassign', '--drain', '4', '--wait']);
    assert.match(res.stdout, /started/);
    assert.match(res.stderr, /all moves complete/);
    const ps = await partitions('move');
    assert.ok(!ps[0]?.replicas.includes(4), 'broker 4 drained');
    const el = await cli(['cluster', 'elect-leaders', '-o', 'json']);
    const rows = JSON.parse(el.stdout) as { name: string; status: string; ok: boolean }[];
    assert.ok(rows.length > 0 && rows.every((r) => r.ok), el.stdout);
    await assert.rejects(cli(['cluster', 'reassign', '--drain', '4', '--topic', 'x']), /either --topic/);
  });
});
