/**
 * High-watermark checkpoint (replication-offset-checkpoint) on a 3-node cluster with a real etcd: written on
 * clean shutdown and periodically, read at start, so a restarted leader whose followers are not back yet
 * still exposes what was committed (ListOffsets latest, kcat) instead of dropping to its log start.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import {
  HW_CHECKPOINT_FILE,
  hwKey,
  parseHwCheckpoint,
  serializeHwCheckpoint,
} from '../../src/cluster/hw-checkpoint.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
let cluster: Cluster;
let admin: Admin;

/** A node's checkpoint interval on a restart (hourly otherwise: what is on disk then came from a clean stop). */
function checkpointEvery(ms: number): Record<string, string> {
  return { 'replica.high.watermark.checkpoint.interval.ms': String(ms) };
}

const raw = <T>(id: number, f: (c: RawClient) => Promise<T>): Promise<T> => RawClient.using(cluster.node(id).port, f);

async function metadata(id: number, topic: string) {
  return raw(id, async (c) => {
    const r = await c.request(ApiKey.Metadata, 9, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    return {
      brokers: (r.brokers as { nodeId: number }[]).map((b) => b.nodeId),
      partition: r.topics[0]?.partitions[0] as { leaderId: number; isrNodes: number[] } | undefined,
    };
  });
}

/** ListOffsets latest (the high watermark) of partition 0, asked of node `id`. */
async function latest(id: number, topic: string): Promise<{ errorCode: number; offset: bigint }> {
  return raw(id, async (c) => {
    const r = await c.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    return r.topics[0].partitions[0] as { errorCode: number; offset: bigint };
  });
}

function checkpointLine(id: number, topic: string): string | undefined {
  try {
    const text = readFileSync(join(cluster.dataDir(id), HW_CHECKPOINT_FILE), 'utf8');
    return text.split('\n').find((l) => l.startsWith(`${topic} 0 `));
  } catch {
    return undefined;
  }
}

test('the checkpoint file: Kafka layout, sorted, round trip; malformed files and lines are ignored', () => {
  const text = serializeHwCheckpoint([
    { topic: 'b', partition: 1, hw: 7n },
    { topic: 'a.x-y', partition: 10, hw: 0n },
    { topic: 'b', partition: 0, hw: 12345678901234n },
  ]);
  assert.equal(text, '0\n3\na.x-y 10 0\nb 0 12345678901234\nb 1 7\n');
  const m = parseHwCheckpoint(text);
  assert.equal(m.get(hwKey('b', 0)), 12345678901234n);
  assert.equal(m.size, 3);
  assert.equal(parseHwCheckpoint('1\n1\na 0 5\n').size, 0, 'unknown version');
  assert.deepEqual([...parseHwCheckpoint('0\n2\na 0 5\ngarbage\n')], [[hwKey('a', 0), 5n]]);
  assert.equal(parseHwCheckpoint(null).size, 0);
});

describe('high-watermark checkpoint', () => {
  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      clusterId: 'hw',
      props: {
        // The ISR keeps dead followers for the whole test: the high watermark cannot be re-learnt from them.
        'replica.lag.time.max.ms': '600000',
        ...checkpointEvery(3_600_000),
      },
    });
    admin = new Kafka({ brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  });

  test('a leader restarted without its followers keeps its high watermark (clean stop, then periodic)', async () => {
    await admin.createTopics({ topics: [{ topic: 'hw', numPartitions: 1, replicationFactor: 3 }] });
    const p0 = await until('hw in sync on 3', async () => {
      const p = (await metadata(1, 'hw')).partition;
      return p && p.isrNodes.length === 3 ? p : null;
    });
    const leader = p0.leaderId;
    const followers = [1, 2, 3].filter((id) => id !== leader);
    await raw(leader, async (c) => {
      const records = await buildBatch({
        records: Array.from({ length: 100 }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })),
      });
      const r = await c.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: 'hw', partitionData: [{ index: 0, records }] }],
      });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
    });
    assert.equal((await latest(leader, 'hw')).offset, 100n);

    // Both followers die; the leader sees them go, then stops cleanly (it cannot hand leadership over).
    for (const f of followers) await cluster.kill(f);
    await until('the leader alone in the cluster', async () => (await metadata(leader, 'hw')).brokers.length === 1);
    assert.equal(await cluster.stop(leader), 0);
    assert.equal(checkpointLine(leader, 'hw'), 'hw 0 100', 'the clean stop checkpointed the high watermark');

    // Back alone: still the leader, its ISR still names the dead followers, so the high watermark cannot be
    // re-learnt; it comes from the checkpoint.
    await cluster.start(leader);
    const hw = await until('ListOffsets answered by the restarted leader', async () => {
      const r = await latest(leader, 'hw');
      return r.errorCode === 0 ? r.offset : null;
    });
    assert.equal(hw, 100n, 'consumers see the committed end, not 0');
    const { stdout } = await run(
      'kcat',
      ['-b', cluster.node(leader).bootstrap, '-C', '-t', 'hw', '-p', '0', '-e', '-q', '-f', '%s\n'],
      { timeout: 60_000 },
    );
    assert.equal(stdout.trim().split('\n').length, 100, 'kcat reads the 100 committed records');

    // The followers return with a 200 ms checkpoint interval; 10 more records: their periodic checkpoints
    // follow the high watermark they learn from the leader.
    for (const f of followers) await cluster.start(f, checkpointEvery(200));
    await until('ISR back to 3', async () => (await metadata(leader, 'hw')).partition?.isrNodes.length === 3, 60_000);
    await raw(leader, async (c) => {
      const records = await buildBatch({
        records: Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.from(`w${i}`) })),
      });
      const r = await c.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: 'hw', partitionData: [{ index: 0, records }] }],
      });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
    });
    for (const f of followers) {
      await until(`node ${f} checkpointed hw 0 110`, async () => checkpointLine(f, 'hw') === 'hw 0 110');
    }
  });
});
