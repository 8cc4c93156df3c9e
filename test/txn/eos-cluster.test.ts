/**
 * Exactly once under failure (issue 17): on a 3-node cluster, a confluent-kafka-python consume-transform-produce
 * loop (transactions that carry the consumed offsets, send_offsets_to_transaction) copies 50,000 numbered
 * records from topic A to topic B while the broker of its transaction coordinator, and then the leader of a
 * partition of B, are SIGKILLed, each while a transaction is open (its records sent, not committed), and
 * restarted. B read with read_committed holds every record exactly once: the
 * new coordinator replayed `__transaction_state` and finished or aborted what was in flight, and aborted
 * transactions (the loop rewinds to its committed offsets after one) never show.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ROOT } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { pyScript } from '../helpers/python.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const N = 50_000;
const PARTS = 3;
const TXN_ID = 'eos-copier';
let cluster: Cluster;
let admin: Admin;
const children: ChildProcess[] = [];

/** The node coordinating a transactional id, asked of any live node. */
async function coordinatorOf(transactionalId: string): Promise<number> {
  return until(`coordinator of ${transactionalId}`, async () => {
    const port = cluster.node(cluster.ids.find((id) => cluster.isUp(id)) as number).port;
    const r = await RawClient.using(port, (c) =>
      c.request(ApiKey.FindCoordinator, 1, { key: transactionalId, keyType: 1 }),
    );
    return r.errorCode === 0 ? (r.nodeId as number) : null;
  });
}

async function leaderOf(topic: string, partition: number): Promise<number> {
  return until(`leader of ${topic}-${partition}`, async () => {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const p = md.topics[0]?.partitions.find((x) => x.partitionId === partition);
    return p && p.leader >= 0 ? p.leader : null;
  });
}

describe('exactly once under failure: consume-transform-produce on 3 nodes', () => {
  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      props: {
        'replica.lag.time.max.ms': '3000',
        'transaction.state.log.num.partitions': '5',
        'offsets.topic.num.partitions': '5',
      },
    });
    admin = new Kafka({ brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  });

  test('50,000 records copied A → B while the coordinator and a leader of B are killed: each once in B', async (t) => {
    const configEntries = [{ name: 'min.insync.replicas', value: '2' }];
    await admin.createTopics({
      topics: [
        { topic: 'eos-a', numPartitions: PARTS, replicationFactor: 3, configEntries },
        { topic: 'eos-b', numPartitions: PARTS, replicationFactor: 3, configEntries },
      ],
    });
    for (let p = 0; p < PARTS; p++) await leaderOf('eos-b', p);
    const filled = await pyScript('confluent_eos_copy.py', [
      cluster.bootstrap(),
      'fill',
      'eos-a',
      String(N),
      String(PARTS),
    ]);
    assert.deepEqual(filled, { filled: N, unflushed: 0 });

    const copier = spawn(
      '/usr/bin/python3',
      [
        join(ROOT, 'test/interop/py/confluent_eos_copy.py'),
        cluster.bootstrap(),
        'copy',
        'eos-a',
        'eos-b',
        String(N),
        'eos-group',
        TXN_ID,
        '170',
        '8000,25000',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    copier.stdin?.on('error', () => {});
    children.push(copier);
    let progress = 0;
    let pausedAt: number | null = null;
    let last: Record<string, number> | null = null;
    let partial = '';
    let stderr = '';
    copier.stderr?.on('data', (d) => {
      stderr += d;
    });
    copier.stdout?.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() as string;
      for (const l of lines) {
        if (l.startsWith('progress ')) progress = Number(l.slice(9));
        else if (l.startsWith('paused ')) pausedAt = Number(l.slice(7));
        else if (l.startsWith('{')) last = JSON.parse(l) as Record<string, number>;
      }
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((r) =>
      copier.once('exit', (code) => {
        exitCode = code;
        r(code);
      }),
    );
    // A stall says where it stands: the copier's last words, the transaction's state, the nodes' logs.
    const progressed = async (what: string, enough: () => boolean) => {
      try {
        await until(what, async () => enough(), 120_000);
      } catch (e) {
        let state = 'unknown';
        try {
          const port = cluster.node(await coordinatorOf(TXN_ID)).port;
          const d = await RawClient.using(port, (c) =>
            c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN_ID] }),
          );
          state = JSON.stringify(d.transactionStates, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
        } catch (err) {
          state = String(err);
        }
        for (const id of cluster.ids) {
          if (!cluster.isUp(id)) continue;
          const lines = cluster
            .node(id)
            .logs()
            .split('\n')
            .filter((l) => /txn|transaction|marker|leader|WARN|ERROR/i.test(l));
          t.diagnostic(`node ${id} log (txn/leader lines): ${lines.slice(-40).join('\n')}`);
        }
        throw new Error(
          `${(e as Error).message}: progress ${progress}, copier ${exitCode === undefined ? 'running' : `exited ${exitCode}`}; transaction ${state}; copier stderr: ${stderr.slice(-3000)}`,
        );
      }
    };

    // The copier stops twice with a transaction open (its records sent to every partition of B, not committed):
    // at the first stop the coordinator's broker is killed, at the second the leader of a partition of B. Fixed
    // points, so a fast copy cannot finish before a kill.
    const paused = async (what: string): Promise<number> => {
      await progressed(what, () => pausedAt !== null);
      const n = pausedAt as number;
      pausedAt = null;
      return n;
    };
    const at = await paused('copy under way, a transaction open');
    const coordinator = await coordinatorOf(TXN_ID);
    await cluster.kill(coordinator);
    copier.stdin?.write('go\n');
    await progressed('transactions go on with a new coordinator', () => progress >= at + 5_000);
    await cluster.start(coordinator);
    assert.notEqual(await coordinatorOf(TXN_ID), -1);

    const at2 = await paused('copy further, a transaction open');
    const leader = await leaderOf('eos-b', 0);
    await cluster.kill(leader);
    copier.stdin?.write('go\n');
    await progressed('transactions go on with a new leader of B', () => progress >= at2 + 5_000);
    await cluster.start(leader);

    const code = await exited;
    assert.equal(code, 0, `copier exited with ${code}: ${stderr.slice(-2000)}`);
    const summary = last as Record<string, number> | null;
    assert.ok(summary, 'the copier printed its summary');
    assert.equal(summary.committed, N, `committed offsets cover the source: ${JSON.stringify(summary)}`);
    t.diagnostic(
      `killed coordinator ${coordinator} at ${at} copied, leader ${leader} of eos-b-0 at ${at2}; ${JSON.stringify(summary)}`,
    );

    const read = (await pyScript('confluent_eos_copy.py', [
      cluster.bootstrap(),
      'read',
      'eos-b',
      String(PARTS),
      String(N),
    ])) as {
      values: number[];
      complete: boolean;
    };
    const counts = new Map<number, number>();
    for (const v of read.values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    const missing: number[] = [];
    for (let i = 0; i < N; i++) if (!counts.has(i)) missing.push(i);
    assert.deepEqual(
      { read: read.values.length, duplicates, missing: missing.length, firstMissing: missing.slice(0, 5) },
      { read: N, duplicates: 0, missing: 0, firstMissing: [] },
      `aborted transactions during the run: ${summary.aborts}`,
    );
    // The coordinator shows the id at rest, with no partitions left open.
    await until('the transactional id at rest', async () => {
      const port = cluster.node(await coordinatorOf(TXN_ID)).port;
      const d = await RawClient.using(port, (c) =>
        c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN_ID] }),
      );
      const st = (d.transactionStates as Struct[])[0] as Struct;
      return st.transactionState === 'CompleteCommit' && (st.topics as Struct[]).length === 0;
    });
  });
});
