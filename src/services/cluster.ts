/** Cluster overview for `kstream cluster info|health` (and the TUI): brokers, controller, partition health. */
import type { Admin } from '../client/index.js';

export interface ClusterInfo {
  clusterId: string | null;
  controller: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  topics: number;
  partitions: number;
  /** "topic/partition" with fewer in-sync replicas than replicas. */
  underReplicated: string[];
  /** "topic/partition" without a leader. */
  offline: string[];
}

export async function clusterInfo(admin: Admin): Promise<ClusterInfo> {
  const c = await admin.describeCluster();
  const topics = await admin.describeTopics();
  const under: string[] = [];
  const offline: string[] = [];
  let partitions = 0;
  for (const t of topics) {
    for (const p of t.partitions) {
      partitions++;
      if (p.leader < 0) offline.push(`${t.topic}/${p.partition}`);
      if (p.isr.length < p.replicas.length) under.push(`${t.topic}/${p.partition}`);
    }
  }
  return {
    clusterId: c.clusterId,
    controller: c.controllerId,
    brokers: c.brokers,
    topics: topics.length,
    partitions,
    underReplicated: under,
    offline,
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
  if (info.offline.length) problems.push(`${info.offline.length} offline partition(s): ${info.offline.join(', ')}`);
  if (info.underReplicated.length)
    problems.push(`${info.underReplicated.length} under-replicated partition(s): ${info.underReplicated.join(', ')}`);
  return { healthy: problems.length === 0, problems, info };
}
