/**
 * A 20 s etcd outage under acks=all traffic (issue 23, defect 1), with a real etcd stopped and started again
 * on the same ports and data dir, 3 real nodes and confluent-kafka-python producing:
 * - while etcd is away the leaders keep serving what they lead (acks=all keeps being acknowledged on every
 *   partition, whose ISR is intact), each node's memory stays bounded (RSS under 2x its size before) and its
 *   log grows by less than 1 MB (retries back off and are logged once per state change, not per attempt);
 * - within 10 s of etcd's return every node answers Metadata and a topic created through an admin client
 *   (kafkajs) is usable; the partitions kept their leaders (no leadership change for an etcd outage);
 * - every acknowledged record is read back.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ROOT } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
const OUTAGE_MS = 20_000;
const RECOVERY_MS = 10_000;
const PARTITIONS = 3;
let cluster: Cluster;
let producer: ChildProcess | null = null;

/** Resident memory of a process in bytes (VmRSS of /proc/<pid>/status). */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

function kafka(brokers: string) {
  return new Kafka({
    brokers: brokers.split(','),
    clientId: 'etcd-outage-test',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
}

/** Partitions of `topic` as node `id` answers Metadata (through kafkajs, connected to that node only). */
async function metadataFrom(id: number, topic: string) {
  const admin = kafka(cluster.node(id).bootstrap).admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return md.topics[0]?.partitions ?? [];
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Every record of `topic` read with kcat: "partition offset" → value. */
async function readAll(topic: string): Promise<Map<string, string>> {
  const { stdout } = await run(
    'kcat',
    ['-b', cluster.bootstrap(), '-C', '-t', topic, '-e', '-q', '-f', '%p %o %s\n', '-X', 'fetch.wait.max.ms=100'],
    { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 },
  );
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [p, o, v] = line.split(' ');
    if (v !== undefined) out.set(`${p} ${o}`, v);
  }
  return out;
}

describe('etcd outage', () => {
  before(async () => {
    cluster = await startCluster({ nodes: 3 });
  });

  after(async () => {
    producer?.kill('SIGKILL');
    await cluster?.close();
  });

  test('etcd stopped for 20 s: leaders keep serving, memory and logs stay bounded, the cluster converges after', {
    timeout: 180_000,
  }, async () => {
    const admin = kafka(cluster.bootstrap()).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'outage', numPartitions: PARTITIONS, replicationFactor: 3 }] });
    } finally {
      await admin.disconnect();
    }
    const before = await until('outage: 3 partitions with a full ISR', async () => {
      const ps = await metadataFrom(1, 'outage');
      return ps.length === PARTITIONS && ps.every((p) => p.isr.length === 3 && p.leader > 0) ? ps : null;
    });
    assert.equal(new Set(before.map((p) => p.leader)).size, 3, 'each node leads one partition');

    // acks=all traffic from a real client, 150 records/s round-robin over the partitions.
    const acked: { at: number; partition: number; offset: string; value: string }[] = [];
    let errors = '';
    producer = spawn(
      '/usr/bin/python3',
      [join(ROOT, 'test/interop/py/paced_ack_logger.py'), cluster.bootstrap(), 'outage', String(PARTITIONS), '150'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let partial = '';
    let done = false;
    producer.stdout?.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() as string;
      for (const l of lines) {
        if (l.startsWith('DONE')) done = true;
        const [p, offset, value] = l.split(' ');
        if (value !== undefined) acked.push({ at: Date.now(), partition: Number(p), offset: offset as string, value });
      }
    });
    producer.stderr?.on('data', (d) => {
      errors += d;
    });
    await until('acks=all flowing on every partition', async () => {
      const ps = new Set(acked.map((a) => a.partition));
      return acked.length > 300 && ps.size === PARTITIONS;
    });

    const ids = cluster.ids;
    const pid = (id: number) => cluster.node(id).child.pid as number;
    const rssBefore = new Map(ids.map((id) => [id, rss(pid(id))]));
    const rssMax = new Map(rssBefore);
    const logBefore = new Map(ids.map((id) => [id, cluster.node(id).logs().length]));
    const sample = setInterval(() => {
      for (const id of ids) {
        try {
          rssMax.set(id, Math.max(rssMax.get(id) as number, rss(pid(id))));
        } catch {
          // exited: reported below
        }
      }
    }, 250);

    try {
      const down = Date.now();
      await cluster.etcd.halt();
      await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
      // Metadata changes wait for etcd: asked for meanwhile, they are refused with a retriable error
      // (REQUEST_TIMED_OUT), on a connection that stays open, and nothing is half-made.
      const during = kafka(cluster.bootstrap()).admin();
      await during.connect();
      try {
        await assert.rejects(
          during.createTopics({ topics: [{ topic: 'during-outage', numPartitions: 1, replicationFactor: 3 }] }),
          (e: { errors?: { type: string }[] }) => e.errors?.[0]?.type === 'REQUEST_TIMED_OUT',
          'CreateTopics while etcd is away: REQUEST_TIMED_OUT',
        );
        const md = await RawClient.using(cluster.node(2).port, (c) =>
          c.request(ApiKey.Metadata, 9, {
            topics: [{ name: 'auto-during-outage' }, { name: 'outage' }],
            allowAutoTopicCreation: true,
            includeTopicAuthorizedOperations: false,
          }),
        );
        assert.deepEqual(
          md.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode]),
          [
            ['auto-during-outage', ErrorCode.REQUEST_TIMED_OUT],
            ['outage', 0],
          ],
          'Metadata with auto-creation while etcd is away: the new topic waits, the others are described',
        );
      } finally {
        await during.disconnect().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, down + OUTAGE_MS - Date.now()));
      for (const id of ids) assert.ok(cluster.isUp(id), `node ${id} is still running after the outage`);
      // acks=all kept being acknowledged on every partition, also once the leases could no longer be renewed
      // (the last 10 s of the outage).
      const late = acked.filter((a) => a.at > down + OUTAGE_MS - 10_000);
      for (let p = 0; p < PARTITIONS; p++) {
        assert.ok(
          late.filter((a) => a.partition === p).length > 50,
          `partition ${p} (leader ${before[p]?.leader}) kept acknowledging acks=all during the outage ` +
            `(${late.filter((a) => a.partition === p).length} in its last 10 s); producer errors: ${errors.slice(-500)}`,
        );
      }

      await cluster.etcd.restart();
      const back = Date.now();
      const deadline = () => Math.max(1, back + RECOVERY_MS - Date.now());
      // Every node answers Metadata, naming all three brokers.
      for (const id of ids) {
        await until(
          `node ${id} answers Metadata within ${RECOVERY_MS / 1000} s of etcd's return`,
          async () => {
            const ps = await metadataFrom(id, 'outage');
            return ps.length === PARTITIONS;
          },
          deadline(),
        );
      }
      // A topic created through a real admin client, usable at once.
      await until(
        `a topic can be created within ${RECOVERY_MS / 1000} s of etcd's return`,
        async () => {
          const a = kafka(cluster.bootstrap()).admin();
          await a.connect();
          try {
            await a.createTopics({
              topics: [{ topic: 'after-outage', numPartitions: 3, replicationFactor: 3 }],
              waitForLeaders: true,
              timeout: 3000,
            });
          } catch (e) {
            if (!/already exists/i.test((e as Error).message)) throw e;
          } finally {
            await a.disconnect().catch(() => {});
          }
          const ps = await metadataFrom(1, 'after-outage');
          return ps.length === 3 && ps.every((p) => p.leader > 0);
        },
        deadline(),
      );
      await until(
        `the new topic takes acks=all records within ${RECOVERY_MS / 1000} s of etcd's return`,
        async () => {
          const p = kafka(cluster.bootstrap()).producer();
          await p.connect();
          try {
            await p.send({
              topic: 'after-outage',
              acks: -1,
              messages: [0, 1, 2].map((i) => ({ partition: i, value: `new-${i}` })),
            });
          } finally {
            await p.disconnect().catch(() => {});
          }
          return true;
        },
        deadline(),
      );
      const recovered = Date.now();

      for (const id of ids) {
        const grew = cluster.node(id).logs().length - (logBefore.get(id) as number);
        assert.ok(
          grew < 1024 * 1024,
          `node ${id} logged ${grew} bytes from the outage to recovery (< 1 MB); its last lines:\n` +
            cluster.node(id).logs().slice(-1500),
        );
        const max = rssMax.get(id) as number;
        const base = rssBefore.get(id) as number;
        assert.ok(
          max < 2 * base,
          `node ${id} RSS peaked at ${(max / 1e6).toFixed(0)} MB, before the outage ${(base / 1e6).toFixed(0)} MB`,
        );
      }
      // No leadership change for an etcd outage: the same leaders, in the same leader epochs.
      const afterOutage = await metadataFrom(1, 'outage');
      for (const p of before) {
        const now = afterOutage.find((x) => x.partitionId === p.partitionId);
        assert.equal(now?.leader, p.leader, `partition ${p.partitionId} kept its leader`);
        assert.equal(now?.isr.length, 3, `partition ${p.partitionId} kept its full ISR`);
      }
      process.stderr.write(
        `# etcd back after ${OUTAGE_MS} ms; Metadata, CreateTopics and a produce to the new topic worked ` +
          `${recovered - back} ms later\n`,
      );
    } finally {
      clearInterval(sample);
      for (const id of ids) {
        process.stderr.write(
          `# node ${id}: RSS ${((rssBefore.get(id) as number) / 1e6).toFixed(0)} MB before, peak ` +
            `${((rssMax.get(id) as number) / 1e6).toFixed(0)} MB; log grew ` +
            `${cluster.node(id).logs().length - (logBefore.get(id) as number)} bytes\n`,
        );
      }
    }

    // Traffic still flows after the outage; then every acknowledged record is read back.
    const n = acked.length;
    await until('acks=all after the outage', async () => acked.length > n + 100);
    producer.kill('SIGTERM');
    await until('the producer flushed', async () => done, 60_000);
    const stored = await readAll('outage');
    const lost = acked.filter((a) => stored.get(`${a.partition} ${a.offset}`) !== a.value);
    assert.equal(
      lost.length,
      0,
      `${lost.length} of ${acked.length} acknowledged records lost: ${JSON.stringify(lost.slice(0, 5))}`,
    );
    const lister = kafka(cluster.bootstrap()).admin();
    await lister.connect();
    const names = await lister.listTopics().finally(() => lister.disconnect());
    assert.ok(
      !names.includes('during-outage') && !names.includes('auto-during-outage'),
      `nothing was created by the requests refused during the outage: ${names.join(', ')}`,
    );
    const fresh = await readAll('after-outage');
    assert.deepEqual(
      [...new Set(fresh.values())].sort(),
      ['new-0', 'new-1', 'new-2'],
      'the topic created after the outage holds what was produced to it',
    );
  });
});
