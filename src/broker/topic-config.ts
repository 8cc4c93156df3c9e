/**
 * Topic-level config keys (Kafka's names), their broker-level synonyms and defaults. A topic's effective
 * value is its own override, else the broker's synonym from the properties file, else the default.
 */
import { DEFAULT_LOG_CONFIG, type LogConfig, logConfigFromProps } from '../storage/config.js';

export type ConfigType = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';

export interface TopicConfigKey {
  /** Broker-level key whose value is this topic key's default. */
  synonym: string | null;
  default: string;
  type: ConfigType;
  doc: string;
}

export const TOPIC_CONFIG_KEYS: Record<string, TopicConfigKey> = {
  'cleanup.policy': {
    synonym: 'log.cleanup.policy',
    default: 'delete',
    type: 'list',
    doc: 'delete (drop old segments), compact (keep the newest record per key) or both.',
  },
  'compression.type': {
    synonym: 'compression.type',
    default: 'producer',
    type: 'string',
    doc: 'Compression of stored batches; producer keeps what the producer sent.',
  },
  'delete.retention.ms': {
    synonym: 'log.cleaner.delete.retention.ms',
    default: '86400000',
    type: 'long',
    doc: 'How long tombstones are kept in compacted topics.',
  },
  'flush.messages': {
    synonym: 'log.flush.interval.messages',
    default: '9223372036854775807',
    type: 'long',
    doc: 'fsync the log after this many messages.',
  },
  'flush.ms': {
    synonym: 'log.flush.interval.ms',
    default: '9223372036854775807',
    type: 'long',
    doc: 'fsync the log after this many milliseconds.',
  },
  'index.interval.bytes': {
    synonym: 'log.index.interval.bytes',
    default: '4096',
    type: 'int',
    doc: 'Bytes between offset index entries.',
  },
  'max.message.bytes': {
    synonym: 'message.max.bytes',
    default: '1048588',
    type: 'int',
    doc: 'Largest record batch accepted for this topic.',
  },
  'message.timestamp.type': {
    synonym: 'log.message.timestamp.type',
    default: 'CreateTime',
    type: 'string',
    doc: 'CreateTime (the producer\'s timestamp) or LogAppendTime (the broker\'s).',
  },
  'min.compaction.lag.ms': {
    synonym: 'log.cleaner.min.compaction.lag.ms',
    default: '0',
    type: 'long',
    doc: 'Minimum time a record stays uncompacted.',
  },
  'min.insync.replicas': {
    synonym: 'min.insync.replicas',
    default: '1',
    type: 'int',
    doc: 'Replicas that must acknowledge an acks=all write.',
  },
  'retention.bytes': {
    synonym: 'log.retention.bytes',
    default: '-1',
    type: 'long',
    doc: 'Largest size of a partition before old segments are deleted; -1 for no limit.',
  },
  'retention.ms': {
    synonym: 'log.retention.ms',
    default: '604800000',
    type: 'long',
    doc: 'How long records are kept; -1 for ever.',
  },
  'segment.bytes': {
    synonym: 'log.segment.bytes',
    default: '1073741824',
    type: 'int',
    doc: 'Size of a segment file before a new one is rolled.',
  },
  'segment.ms': {
    synonym: 'log.roll.ms',
    default: '604800000',
    type: 'long',
    doc: 'Age of a segment before a new one is rolled.',
  },
  'unclean.leader.election.enable': {
    synonym: 'unclean.leader.election.enable',
    default: 'false',
    type: 'boolean',
    doc: 'Whether a replica outside the ISR may become leader (losing data).',
  },
};

/** Topic-level defaults taken from the broker's properties (e.g. log.segment.bytes → segment.bytes). */
export function brokerTopicDefaults(props: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, spec] of Object.entries(TOPIC_CONFIG_KEYS)) {
    if (spec.synonym && props[spec.synonym] !== undefined) out[key] = props[spec.synonym] as string;
  }
  if (out['retention.ms'] === undefined && props['log.retention.hours'] !== undefined) {
    out['retention.ms'] = String(Number(props['log.retention.hours']) * 3600_000);
  }
  if (out['retention.ms'] === undefined && props['log.retention.minutes'] !== undefined) {
    out['retention.ms'] = String(Number(props['log.retention.minutes']) * 60_000);
  }
  return out;
}

export function brokerLogDefaults(props: Record<string, string>): LogConfig {
  return logConfigFromProps(brokerTopicDefaults(props), DEFAULT_LOG_CONFIG);
}
