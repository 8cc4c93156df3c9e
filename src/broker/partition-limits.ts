/**
 * Partition limits (KIP-578's `max.broker.partitions` and `max.partitions`, and kstream's per-request
 * `max.request.partitions`): a request that would pass one fails with POLICY_VIOLATION and an error message
 * naming the limit, before anything is created — as Kafka's controller refuses an excessively large batch.
 * They apply to CreateTopics, CreatePartitions and auto-creation, not to the internal __consumer_offsets topic
 * (KIP-578: internal behaviour must not break on a limit), whose partitions still count.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { BrokerConfig } from './config.js';

/** What exists (or is being created) now: partitions in the cluster, and replicas on each node. */
export interface PartitionLoad {
  partitions: number;
  replicasPerNode: Map<number, number>;
}

export function emptyLoad(): PartitionLoad {
  return { partitions: 0, replicasPerNode: new Map() };
}

/** Count a topic's partitions, given as each partition's replicas. */
export function addToLoad(load: PartitionLoad, replicas: readonly (readonly number[])[]): void {
  load.partitions += replicas.length;
  for (const rs of replicas) for (const r of rs) load.replicasPerNode.set(r, (load.replicasPerNode.get(r) ?? 0) + 1);
}

/** POLICY_VIOLATION when one request would add more than max.request.partitions new partitions. */
export function checkRequestPartitions(config: BrokerConfig, requested: number): void {
  if (requested > config.maxRequestPartitions) {
    throw new KafkaError(
      ErrorCode.POLICY_VIOLATION,
      `the request would create ${requested} partitions; at most ${config.maxRequestPartitions} may be created ` +
        'by one request (max.request.partitions)',
    );
  }
}

/**
 * POLICY_VIOLATION when adding partitions whose replicas are `added` to `load` would pass max.partitions
 * (partitions in the cluster) or max.broker.partitions (replicas on any one node).
 */
export function checkPartitionLimits(
  config: BrokerConfig,
  load: PartitionLoad,
  added: readonly (readonly number[])[],
): void {
  const total = load.partitions + added.length;
  if (total > config.maxPartitions) {
    throw new KafkaError(
      ErrorCode.POLICY_VIOLATION,
      `the cluster would have ${total} partitions, more than max.partitions (${config.maxPartitions})`,
    );
  }
  const after = new Map<number, number>();
  for (const rs of added) for (const r of rs) after.set(r, (after.get(r) ?? load.replicasPerNode.get(r) ?? 0) + 1);
  for (const [node, n] of [...after].sort((a, b) => a[0] - b[0])) {
    if (n > config.maxBrokerPartitions) {
      throw new KafkaError(
        ErrorCode.POLICY_VIOLATION,
        `node ${node} would host ${n} partition replicas, more than max.broker.partitions ` +
          `(${config.maxBrokerPartitions}); it hosts ${load.replicasPerNode.get(node) ?? 0} now`,
      );
    }
  }
}
