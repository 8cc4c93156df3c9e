/** Cluster overview for `kstream cluster info|health` (and the TUI): brokers, controller, partition health. */
import type { Admin } from '../client/index.js';
import { adminEndpoints, type ReadyState, readinessByNode } from './admin-http.js';

interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** A broker as the cluster's metadata shows it: up (listed) or down (only named as a replica). */
export interface BrokerStatus {
  nodeId: number;
  /** null when down and never seen: Metadata lists live brokers only. */
  host: string | null;
  port: number | null;
  rack: string | null;
  up: boolean;
  /** Partitions it leads, partitions it is a replica of. */
  leaders: number;
  replicas: number;
  /** "topic-partition" names it is a replica of but not in the ISR. */
  outOfIsr: string[];
  /** GET /ready of its admin HTTP listener; absent when it has none (admin.listeners off). */
  ready?: ReadyState;
}

/** A partition as Metadata describes it: its leader, replicas and in-sync replicas. */
export interface PartitionReplicas {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/**
 * Every broker with its state. Kafka's Metadata lists live brokers only, so a broker is down when it is
 * named as a replica (or was listed in `previous`, e.g. the TUI's last poll) but is missing from `live`.
 * Shared by `kstream cluster info|health` and the TUI's brokers screen.
 */
export function brokerStatuses(
  live: readonly BrokerAddress[],
  partitions: Iterable<PartitionReplicas>,
  previous: readonly BrokerAddress[] = [],
): BrokerStatus[] {
  const out = new Map<number, BrokerStatus>();
  const add = (nodeId: number, up: boolean, a?: BrokerAddress): BrokerStatus => {
    const b: BrokerStatus = {
      nodeId,
      host: a?.host ?? null,
      port: a?.port ?? null,
      rack: a?.rack ?? null,
      up,
      leaders: 0,
      replicas: 0,
      outOfIsr: [],
    };
    out.set(nodeId, b);
    return b;
  };
  for (const b of live) add(b.nodeId, true, b);
  for (const b of previous) if (!out.has(b.nodeId)) add(b.nodeId, false, b);
  for (const p of partitions) {
    for (const id of p.replicas) {
      const b = out.get(id) ?? add(id, false);
      b.replicas++;
      if (p.leader === id) b.leaders++;
      if (!p.isr.includes(id)) b.outOfIsr.push(`${p.topic}-${p.partition}`);
    }
  }
  return [...out.values()].sort((a, b) => a.nodeId - b.nodeId);
}

/** A partition that is offline (no leader) or under-replicated (fewer in-sync replicas than replicas). */
export interface DegradedPartition extends PartitionReplicas {
  state: 'offline' | 'under-replicated';
}

export interface ClusterInfo {
  clusterId: string | null;
  controller: number;
  /** Live brokers and, marked down, brokers named as replicas but missing from the metadata. */
  brokers: BrokerStatus[];
  /** Topics and their partitions, internal topics (__consumer_offsets, …) not included. */
  topics: number;
  partitions: number;
  /** Internal topics and their partitions, counted apart (ElectLeaders and health cover them too). */
  internalTopics: number;
  internalPartitions: number;
  /** "topic/partition" with a leader but fewer in-sync replicas than replicas (internal topics included). */
  underReplicated: string[];
  /** "topic/partition" without a leader. */
  offline: string[];
  /** Those partitions with their leader, replicas and ISR (offline first). */
  degraded: DegradedPartition[];
}

export async function clusterInfo(admin: Admin): Promise<ClusterInfo> {
  const c = await admin.describeCluster();
  const names = await admin.listTopics({ includeInternal: true });
  const topics = names.length > 0 ? await admin.describeTopics(names) : [];
  const all: PartitionReplicas[] = [];
  let internalTopics = 0;
  let internalPartitions = 0;
  for (const t of topics) {
    if (t.isInternal) {
      internalTopics++;
      internalPartitions += t.partitions.length;
    }
    for (const p of t.partitions) {
      all.push({ topic: t.topic, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr });
    }
  }
  const offline = all.filter((p) => p.leader < 0);
  const under = all.filter((p) => p.leader >= 0 && p.isr.length < p.replicas.length);
  const name = (p: PartitionReplicas) => `${p.topic}/${p.partition}`;
  const brokers = brokerStatuses(c.brokers, all);
  // Readiness where a node has an admin listener (admin.listeners, reported by DescribeConfigs).
  const ready = await readinessByNode(
    await adminEndpoints(
      admin,
      brokers.filter((b) => b.up),
    ),
  );
  for (const b of brokers) {
    const r = ready.get(b.nodeId);
    if (r !== undefined) b.ready = r;
  }
  return {
    clusterId: c.clusterId,
    controller: c.controllerId,
    brokers,
    topics: topics.length - internalTopics,
    partitions: all.length - internalPartitions,
    internalTopics,
    internalPartitions,
    underReplicated: under.map(name),
    offline: offline.map(name),
    degraded: [
      ...offline.map((p) => ({ ...p, state: 'offline' as const })),
      ...under.map((p) => ({ ...p, state: 'under-replicated' as const })),
    ],
  };
}

export interface HealthReport {
  healthy: boolean;
  problems: string[];
  info: ClusterInfo;
}

export async function clusterHealth(admin: Admin): Promise<HealthReport> {
  const info = await clusterInfo(admin);
  const problems: string[] = [];
  if (info.controller < 0) problems.push('no active controller');
  const down = info.brokers.filter((b) => !b.up).map((b) => b.nodeId);
  if (down.length) problems.push(`${down.length} broker(s) down: ${down.join(', ')}`);
  const notReady = info.brokers.filter((b) => b.up && b.ready === 'not ready').map((b) => b.nodeId);
  if (notReady.length) problems.push(`${notReady.length} broker(s) not ready (/ready): ${notReady.join(', ')}`);
  if (info.offline.length) problems.push(`${info.offline.length} offline partition(s): ${info.offline.join(', ')}`);
  if (info.underReplicated.length)
    problems.push(`${info.underReplicated.length} under-replicated partition(s): ${info.underReplicated.join(', ')}`);
  return { healthy: problems.length === 0, problems, info };
}
