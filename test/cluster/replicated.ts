/**
 * The 3-node cluster of replication.test.ts and replication-timing.test.ts (the latter holds the time-bound
 * subtests that scripts/run-tests.js runs alone): one etcd, replica.lag.time.max.ms 3 s, a kafkajs admin.
 */
import { type Admin, Kafka, logLevel } from 'kafkajs';
import type { BrokerProcess } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';

export const LAG_MS = 3000;

export interface Replicated {
  cluster: Cluster;
  admin: Admin;
  /** host:port of the live nodes, except `except`. */
  bootstrap(except?: number): string;
  /** The first live node. */
  anyLive(): BrokerProcess;
  /** A topic's partitions (leader, ISR, replicas) from kafkajs' metadata, asked of the live nodes but `via`. */
  partitions(
    topic: string,
    via?: number,
  ): Promise<{ partitionId: number; leader: number; isr: number[]; replicas: number[] }[]>;
  close(): Promise<void>;
}

export async function startReplicated(): Promise<Replicated> {
  const cluster = await startCluster({
    nodes: 3,
    clusterId: 'test',
    props: { 'replica.lag.time.max.ms': String(LAG_MS) },
  });
  const bootstrap = (except?: number) => cluster.bootstrap(except);
  const admin = new Kafka({ brokers: bootstrap().split(','), logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return {
    cluster,
    admin,
    bootstrap,
    anyLive: () => cluster.node(cluster.ids.find((id) => cluster.isUp(id)) as number),
    async partitions(topic, via) {
      const k = new Kafka({
        brokers: bootstrap(via).split(','),
        logLevel: logLevel.NOTHING,
        retry: { retries: 1 },
      }).admin();
      await k.connect();
      try {
        const md = await k.fetchTopicMetadata({ topics: [topic] });
        return md.topics[0]?.partitions ?? [];
      } finally {
        await k.disconnect();
      }
    },
    async close() {
      await admin.disconnect().catch(() => {});
      await cluster.close();
    },
  };
}
