/**
 * A follower learns its leader's high watermark although nothing more is produced (issue 20: a group's lag
 * computed on a coordinator that follows the partition is only right if the follower's copy of the high
 * watermark is). The leader moves the high watermark when the last in-sync follower fetches past the records;
 * every follower must then get the new value in a fetch answer although no record follows (an incremental
 * session answer carries a partition whose high watermark moved; a parked follower fetch answers by its max
 * wait at the latest).
 *
 * Each node's high watermarks are read from its replication-offset-checkpoint file, which the node writes
 * from its in-process replicas every replica.high.watermark.checkpoint.interval.ms (100 ms here).
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { HW_CHECKPOINT_FILE, hwKey, parseHwCheckpoint } from '../../src/cluster/hw-checkpoint.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { kcatProduce } from '../helpers/kcat.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
let cluster: Cluster | undefined;
let admin: Admin | undefined;

/** Node `id`'s checkpointed high watermark of each partition of `topic` (undefined: not listed). */
function checkpointed(c: Cluster, id: number, topic: string, partitions: number): (bigint | undefined)[] {
  let text: string | null = null;
  try {
    text = readFileSync(join(c.dataDir(id), HW_CHECKPOINT_FILE), 'utf8');
  } catch {
    // Not written yet.
  }
  const hws = parseHwCheckpoint(text);
  return Array.from({ length: partitions }, (_, p) => hws.get(hwKey(topic, p)));
}

/** `n` records to partition `p` of `topic` with kcat, acks as given. */
async function produce(c: Cluster, topic: string, p: number, n: number, acks: string): Promise<void> {
  await kcatProduce(
    c.bootstrap(),
    topic,
    p,
    Array.from({ length: n }, (_, i) => `r${p}-${i}`),
    acks,
  );
}

describe('follower high watermark', { timeout: 240_000 }, () => {
  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      props: {
        'replica.lag.time.max.ms': '10000',
        'replica.high.watermark.checkpoint.interval.ms': '100',
      },
    });
    admin = new Kafka({ brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect().catch(() => {});
    await cluster?.close();
  });

  test('every follower reaches the leader high watermark with no more records produced (acks=1 and all)', async () => {
    const c = cluster as Cluster;
    const a = admin as Admin;
    const topic = 'hw-follow';
    await a.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
    // Every replica in sync first: the high watermark then needs all three (each node leads one partition).
    await until(
      'a full ISR on every partition',
      async () => {
        const md = await a.fetchTopicMetadata({ topics: [topic] });
        const ps = md.topics[0]?.partitions ?? [];
        return ps.length === 3 && ps.every((p) => p.isr.length === 3) ? true : null;
      },
      60_000,
    );
    // Different counts per partition, so a value of one partition cannot pass for another's.
    const counts = [37, 52, 61];
    await produce(c, topic, 0, counts[0] as number, '1');
    await produce(c, topic, 1, counts[1] as number, 'all');
    await produce(c, topic, 2, counts[2] as number, '1');
    const want = counts.map(BigInt);
    // What every consumer sees from the leaders: all of it (the leaders' high watermarks).
    const { stdout } = await run('kcat', ['-b', c.bootstrap(), '-C', '-t', topic, '-e', '-q', '-f', '%p\n'], {
      timeout: 60_000,
    });
    const read = [0, 0, 0];
    for (const l of stdout.split('\n')) if (l !== '') read[Number(l)]++;
    assert.deepEqual(read, counts, 'records read per partition from the leaders');
    // Then nothing more is produced: every node's copy of every partition must come to the same high watermark.
    let seen: Record<number, (bigint | undefined)[]> = {};
    await until(
      'every replica with the leader high watermark',
      async () => {
        seen = {};
        for (const id of c.ids) seen[id] = checkpointed(c, id, topic, 3);
        return c.ids.every((id) => (seen[id] as (bigint | undefined)[]).every((hw, p) => hw === want[p])) ? true : null;
      },
      20_000,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: want ${want.join(',')}, per node ${JSON.stringify(seen, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`,
      );
    });
  });
});
