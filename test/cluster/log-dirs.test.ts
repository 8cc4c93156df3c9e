/**
 * DescribeLogDirs in a 2-node cluster on a real etcd: each broker answers for its own replicas only (a
 * partition with RF 1 appears on exactly one broker, an RF 2 partition on both with the same size once the
 * follower caught up), and `kstream debug bundle` collects log-dirs.json and serve flags from every broker.
 */

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Admin } from '../../src/client/index.js';
import { kstream } from '../cli/run.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { until as untilWithin } from '../helpers/until.js';

const run = promisify(execFile);
let cluster: Cluster;
let admin: Admin;
let work: string;

const until = <T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000) =>
  untilWithin(what, f, ms);

const bootstrap = () => cluster.bootstrap();

describe('log dirs in a cluster', () => {
  before(async () => {
    work = tempDir('kstream-logdirs-');
    cluster = await startCluster({ nodes: 2, clusterId: 'ld', dataDir: (id) => join(work, `node${id}`) });
    admin = new Admin({ brokers: bootstrap() });
    await admin.connect();
  });
  after(async () => {
    await admin?.close().catch(() => {});
    await cluster?.close();
    removeDir(work);
  });

  test('each broker lists only its own replicas', async () => {
    const created = await admin.createTopics([
      { topic: 'split', numPartitions: 4, replicationFactor: 1 },
      { topic: 'both', numPartitions: 1, replicationFactor: 2 },
    ]);
    assert.deepEqual(
      created.map((c) => c.error),
      [null, null],
    );
    const topics = await until('replicas of split and both', async () => {
      const t = await admin.describeTopics(['split', 'both']);
      const ok = t.every((x) => !x.error && x.partitions.every((p) => p.isr.length === p.replicas.length));
      return ok && t.length === 2 ? t : null;
    });
    const p = run('kcat', ['-b', bootstrap(), '-P', '-t', 'both', '-X', 'acks=all'], { timeout: 30_000 });
    p.child.stdin?.end(`${Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n')}\n`);
    await p;

    const dirs = await until('the follower of both/0 caught up', async () => {
      const d = await admin.describeLogDirs({
        topics: [
          { topic: 'split', partitions: [0, 1, 2, 3] },
          { topic: 'both', partitions: [0] },
        ],
      });
      const sizes = d.map((b) => b.logDirs[0]?.replicas.find((r) => r.topic === 'both')?.size);
      return sizes.length === 2 && sizes[0] !== undefined && sizes[0] > 0n && sizes[0] === sizes[1] ? d : null;
    });
    assert.deepEqual(
      dirs.map((b) => b.broker),
      [1, 2],
    );
    const split = topics.find((t) => t.topic === 'split');
    for (const b of dirs) {
      assert.equal(b.error, null);
      assert.equal(b.logDirs.length, 1);
      assert.match(b.logDirs[0]!.logDir, new RegExp(`node${b.broker}$`));
      const held = b.logDirs[0]!.replicas.filter((r) => r.topic === 'split').map((r) => r.partition);
      const expected = (split?.partitions ?? []).filter((x) => x.replicas.includes(b.broker)).map((x) => x.partition);
      assert.deepEqual(held, expected.sort(), `broker ${b.broker}`);
      assert.ok(held.length > 0 && held.length < 4, `broker ${b.broker} holds some, not all: ${held}`);
    }
  });

  test('debug bundle: log dirs and serve flags of every broker', async () => {
    const file = join(work, 'bundle.zip');
    const r = await kstream(['debug', 'bundle', '-o', file, '-b', bootstrap()], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /ERROR/);
    const logDirs = JSON.parse(execFileSync('unzip', ['-p', file, 'log-dirs.json'], { encoding: 'utf8' }));
    assert.deepEqual(
      logDirs.map((b: { broker: number }) => b.broker),
      [1, 2],
    );
    for (const b of logDirs) {
      const parts = b.logDirs[0].replicas.filter((x: { topic: string }) => x.topic === 'both');
      assert.equal(parts.length, 1, JSON.stringify(b));
      assert.ok(Number(parts[0].size) > 0);
    }
    for (const id of [1, 2]) {
      const flags = JSON.parse(
        execFileSync('unzip', ['-p', file, `brokers/${id}/serve-flags.json`], { encoding: 'utf8' }),
      );
      assert.equal(flags.flags['node-id'].value, String(id));
      assert.equal(flags.flags['cluster-id'].value, 'ld');
      assert.equal(flags.flags.etcd.value, cluster.etcd.url);
    }
  });
});
