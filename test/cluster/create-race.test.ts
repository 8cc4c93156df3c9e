/**
 * Two nodes creating the same topic at once (the first FindCoordinator of a fresh cluster sent to every node,
 * which each create __consumer_offsets; a CreateTopics retried on another node): one creation wins the
 * compare-and-set in etcd, the others answer TOPIC_ALREADY_EXISTS and remove the logs they had made — and
 * the losing node must then serve the winner's replicas. Before, the losing node's replica sync saw the
 * winner's record while its own creation was still making logs, set those logs aside as an "older topic of
 * the same name" under the creation's feet, and was left with partitions whose dirs were gone (ENOENT on
 * every sync and clean, group coordinators that could not write: found by the fault harness, test/fault).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
let cluster: Cluster;
const ids = [1, 2, 3];

async function raw<T>(id: number, f: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect(cluster.node(id).port);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/** Dirs of `topic` in a node's data dir, and dirs set aside as strays. */
function dirsOf(id: number, topic: string): { live: string[]; stray: string[] } {
  const all = readdirSync(cluster.dataDir(id));
  return {
    live: all.filter((d) => new RegExp(`^${topic}-\\d+$`).test(d)),
    stray: all.filter((d) => d.startsWith(`${topic}-`) && d.endsWith('-stray')),
  };
}

/** ERROR lines of a node's log. */
const errors = (id: number) =>
  cluster
    .node(id)
    .logs()
    .split('\n')
    .filter((l) => / ERROR /.test(l));

describe('the same topic created on every node at once', () => {
  before(async () => {
    cluster = await startCluster({ nodes: ids, clusterId: 'create-race' });
  });
  after(() => cluster?.close());

  test('__consumer_offsets from the first FindCoordinator on all three nodes: one topic, every replica served', async () => {
    const answers = await Promise.all(
      ids.map((id) =>
        raw(id, async (c) => {
          // Retriable COORDINATOR_NOT_AVAILABLE while it is being created: ask again, as clients do.
          for (let i = 0; i < 100; i++) {
            const r = await c.request(ApiKey.FindCoordinator, 3, { key: `g${id}`, keyType: 0 });
            if (r.errorCode === ErrorCode.NONE) return r.nodeId as number;
            await new Promise((res) => setTimeout(res, 200));
          }
          return -1;
        }),
      ),
    );
    assert.ok(
      answers.every((n) => ids.includes(n)),
      `every node found a coordinator: ${answers}`,
    );
    for (const id of ids) {
      await until(`node ${id} holds its 50 __consumer_offsets replicas`, async () => {
        return dirsOf(id, '__consumer_offsets').live.length === 50;
      });
      assert.deepEqual(dirsOf(id, '__consumer_offsets').stray, [], `node ${id} set no log aside`);
      assert.deepEqual(errors(id), [], `node ${id} logged no error`);
    }
    // Every group's coordinator works: a consumer group commits and reads back through each node.
    for (const id of ids) {
      const group = `g${id}`;
      await run('kcat', ['-b', cluster.node(id).bootstrap, '-C', '-G', group, '__consumer_offsets', '-e', '-q'], {
        timeout: 30_000,
      }).catch(() => {});
      const fc = await raw(id, (c) => c.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0 }));
      assert.equal(fc.errorCode, ErrorCode.NONE);
    }
  });

  test('a 30-partition topic created through all three nodes at once: one wins, the others already exist, every replica served', async () => {
    for (const round of [1, 2, 3]) {
      const topic = `race${round}`;
      const codes = await Promise.all(
        ids.map((id) =>
          raw(id, async (c) => {
            const r = await c.request(ApiKey.CreateTopics, 5, {
              topics: [{ name: topic, numPartitions: 30, replicationFactor: 3, assignments: [], configs: [] }],
              timeoutMs: 20_000,
              validateOnly: false,
            });
            return (r.topics[0] as { errorCode: number }).errorCode;
          }),
        ),
      );
      assert.equal(codes.filter((c) => c === ErrorCode.NONE).length, 1, `one creation won: ${codes}`);
      assert.equal(
        codes.filter((c) => c === ErrorCode.TOPIC_ALREADY_EXISTS).length,
        2,
        `the others: TOPIC_ALREADY_EXISTS: ${codes}`,
      );
      for (const id of ids) {
        await until(`node ${id} holds its 30 replicas of ${topic}`, async () => dirsOf(id, topic).live.length === 30);
        assert.deepEqual(dirsOf(id, topic).stray, [], `node ${id} set no log of ${topic} aside`);
      }
    }
    // acks=all on every partition of every topic: each follower's log works (a replica whose dir is gone
    // would hold the ISR until replica.lag.time.max.ms and the delivery would time out).
    const py = `
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'acks': 'all', 'message.timeout.ms': 15000})
bad = []
def cb(err, msg):
    if err is not None: bad.append('%s/%d %s' % (msg.topic(), msg.partition(), err))
for t in ('race1', 'race2', 'race3'):
    for i in range(30):
        p.produce(t, value=b'x', partition=i, on_delivery=cb)
p.flush(30)
print('\\n'.join(bad) if bad else 'ok')
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', py, cluster.bootstrap()], { timeout: 60_000 });
    assert.equal(stdout.trim(), 'ok');
    for (const id of ids) assert.deepEqual(errors(id), [], `node ${id} logged no error`);
  });
});
