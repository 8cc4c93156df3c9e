/** Group coordinator settings, read from the broker's properties with Kafka's key names and defaults. */

export interface CoordinatorConfig {
  /** group.min.session.timeout.ms / group.max.session.timeout.ms: allowed session timeouts. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms: wait for more members before the first rebalance of an empty group. */
  initialRebalanceDelayMs: number;
  /** group.max.size */
  maxSize: number;
  /** offset.metadata.max.bytes: longest metadata string of a committed offset. */
  offsetMetadataMaxBytes: number;
  /** offsets.retention.minutes (as ms): how long offsets of an empty group are kept. */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offsets.topic.num.partitions */
  offsetsTopicPartitions: number;
  /** offsets.topic.segment.bytes */
  offsetsTopicSegmentBytes: number;
  /** A new member's JoinGroup is held at most this long (Kafka's fixed 5 minutes). */
  newMemberJoinTimeoutMs: number;
}

export const COORDINATOR_KEYS: Record<string, { default: string; doc: string }> = {
  'group.min.session.timeout.ms': { default: '6000', doc: 'Smallest session timeout a group member may ask for.' },
  'group.max.session.timeout.ms': { default: '1800000', doc: 'Largest session timeout a group member may ask for.' },
  'group.initial.rebalance.delay.ms': {
    default: '3000',
    doc: 'How long the first rebalance of an empty group waits for more members to join.',
  },
  'group.max.size': { default: '2147483647', doc: 'Most members a consumer group may have.' },
  'offset.metadata.max.bytes': { default: '4096', doc: 'Longest metadata string stored with a committed offset.' },
  'offsets.retention.minutes': {
    default: '10080',
    doc: 'Committed offsets of a group that has been empty this long are deleted.',
  },
  'offsets.retention.check.interval.ms': { default: '600000', doc: 'How often expired offsets are looked for.' },
  'offsets.topic.num.partitions': { default: '50', doc: 'Partitions of __consumer_offsets (fixed once created).' },
  'offsets.topic.segment.bytes': { default: '104857600', doc: 'Segment size of __consumer_offsets.' },
};

function num(props: Record<string, string>, key: string, min: number): number {
  const raw = props[key] ?? COORDINATOR_KEYS[key]?.default ?? '';
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`invalid value ${JSON.stringify(raw)} for ${key}: expected an integer >= ${min}`);
  }
  return n;
}

export function coordinatorConfig(props: Record<string, string>): CoordinatorConfig {
  return {
    minSessionTimeoutMs: num(props, 'group.min.session.timeout.ms', 0),
    maxSessionTimeoutMs: num(props, 'group.max.session.timeout.ms', 0),
    initialRebalanceDelayMs: num(props, 'group.initial.rebalance.delay.ms', 0),
    maxSize: num(props, 'group.max.size', 1),
    offsetMetadataMaxBytes: num(props, 'offset.metadata.max.bytes', 0),
    offsetsRetentionMs: num(props, 'offsets.retention.minutes', 1) * 60_000,
    offsetsRetentionCheckIntervalMs: num(props, 'offsets.retention.check.interval.ms', 1),
    offsetsTopicPartitions: num(props, 'offsets.topic.num.partitions', 1),
    offsetsTopicSegmentBytes: num(props, 'offsets.topic.segment.bytes', 1024),
    newMemberJoinTimeoutMs: 300_000,
  };
}
