/**
 * Per-topic log configuration with Kafka's names. `LOG_CONFIG_KEYS` is the table DescribeConfigs and
 * `logConfigFromProps` use: each topic-level key, the broker-level key that sets its default, its type,
 * default and documentation line.
 */

export type TimestampType = 'CreateTime' | 'LogAppendTime';
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export type CompressionType = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface LogConfig {
  /** segment.bytes / log.segment.bytes: roll the active segment before it would exceed this size. */
  segmentBytes: number;
  /** segment.ms / log.roll.ms: roll a non-empty active segment this old. */
  segmentMs: number;
  /** retention.ms / log.retention.ms: delete closed segments whose newest timestamp is older; -1 = forever. */
  retentionMs: number;
  /** retention.bytes / log.retention.bytes: delete oldest closed segments while the log is larger; -1 = no limit. */
  retentionBytes: number;
  /** index.interval.bytes: bytes between sparse index entries. */
  indexIntervalBytes: number;
  /** flush.messages: fsync after this many messages; Number.MAX_SAFE_INTEGER = never. */
  flushMessages: number;
  /** flush.ms: fsync when data has been unflushed this long; Number.MAX_SAFE_INTEGER = never. */
  flushMs: number;
  messageTimestampType: TimestampType;
  /** max.message.bytes / message.max.bytes: largest record batch accepted. */
  maxMessageBytes: number;
  cleanupPolicy: CleanupPolicy;
  /** Used by the broker, not by storage: */
  compressionType: CompressionType;
  minInsyncReplicas: number;
  uncleanLeaderElectionEnable: boolean;
  messageTimestampDifferenceMaxMs: number;
  /** delete.retention.ms: how long tombstones survive compaction. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: a record stays uncompacted at least this long. */
  minCompactionLagMs: number;
}

/** Kafka's Long.MAX_VALUE as the broker displays it; parsed as Number.MAX_SAFE_INTEGER ("never"). */
export const LONG_MAX = '9223372036854775807';
const NEVER = Number.MAX_SAFE_INTEGER;
const INT_MAX = 2147483647;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  flushMessages: NEVER,
  flushMs: NEVER,
  messageTimestampType: 'CreateTime',
  maxMessageBytes: 1048588,
  cleanupPolicy: 'delete',
  compressionType: 'producer',
  minInsyncReplicas: 1,
  uncleanLeaderElectionEnable: false,
  messageTimestampDifferenceMaxMs: NEVER,
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
});

export type ConfigType = 'int' | 'long' | 'string' | 'boolean' | 'list';

export interface LogConfigKey {
  /** Topic-level key (CreateTopics / AlterConfigs / DescribeConfigs on a topic). */
  name: string;
  /** Broker-level key (server properties) that sets the default for every topic. */
  serverDefault: string;
  field: keyof LogConfig;
  type: ConfigType;
  /** The default rendered as Kafka renders it. */
  default: string;
  doc: string;
}

/** Thrown for a bad configuration value or an unknown key (strict mode); `key` names the offending key. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.key = key;
  }
}

export const LOG_CONFIG_KEYS: readonly LogConfigKey[] = [
  {
    name: 'delete.retention.ms',
    serverDefault: 'log.cleaner.delete.retention.ms',
    field: 'deleteRetentionMs',
    type: 'long',
    default: '86400000',
    doc: 'How long tombstones (null values) are kept in a compacted topic, so consumers see the delete.',
  },
  {
    name: 'min.compaction.lag.ms',
    serverDefault: 'log.cleaner.min.compaction.lag.ms',
    field: 'minCompactionLagMs',
    type: 'long',
    default: '0',
    doc: 'The minimum time a record stays uncompacted in the log.',
  },
  {
    name: 'cleanup.policy',
    serverDefault: 'log.cleanup.policy',
    field: 'cleanupPolicy',
    type: 'list',
    default: 'delete',
    doc: 'A list of "delete" and/or "compact": discard old segments by retention, and/or compact by key.',
  },
  {
    name: 'compression.type',
    serverDefault: 'compression.type',
    field: 'compressionType',
    type: 'string',
    default: 'producer',
    doc: 'Compression of stored batches: uncompressed, gzip, snappy, lz4, zstd, or producer (keep what the producer sent).',
  },
  {
    name: 'flush.messages',
    serverDefault: 'log.flush.interval.messages',
    field: 'flushMessages',
    type: 'long',
    default: LONG_MAX,
    doc: 'Force an fsync of the log after this many messages; by default durability comes from replication.',
  },
  {
    name: 'flush.ms',
    serverDefault: 'log.flush.interval.ms',
    field: 'flushMs',
    type: 'long',
    default: LONG_MAX,
    doc: 'Force an fsync of the log when data has been unflushed for this many milliseconds.',
  },
  {
    name: 'index.interval.bytes',
    serverDefault: 'log.index.interval.bytes',
    field: 'indexIntervalBytes',
    type: 'int',
    default: '4096',
    doc: 'How many bytes of log lie between two entries of the sparse offset index.',
  },
  {
    name: 'max.message.bytes',
    serverDefault: 'message.max.bytes',
    field: 'maxMessageBytes',
    type: 'int',
    default: '1048588',
    doc: 'The largest record batch size allowed.',
  },
  {
    name: 'message.timestamp.difference.max.ms',
    serverDefault: 'log.message.timestamp.difference.max.ms',
    field: 'messageTimestampDifferenceMaxMs',
    type: 'long',
    default: LONG_MAX,
    doc: 'Maximum difference between a CreateTime timestamp and the broker clock.',
  },
  {
    name: 'message.timestamp.type',
    serverDefault: 'log.message.timestamp.type',
    field: 'messageTimestampType',
    type: 'string',
    default: 'CreateTime',
    doc: 'Whether record timestamps are the producer\'s create time or the broker\'s log append time: "CreateTime" or "LogAppendTime".',
  },
  {
    name: 'min.insync.replicas',
    serverDefault: 'min.insync.replicas',
    field: 'minInsyncReplicas',
    type: 'int',
    default: '1',
    doc: 'With acks=all, the minimum number of in-sync replicas that must acknowledge a write.',
  },
  {
    name: 'retention.bytes',
    serverDefault: 'log.retention.bytes',
    field: 'retentionBytes',
    type: 'long',
    default: '-1',
    doc: 'Delete old segments while the partition is larger than this; -1 means no size limit.',
  },
  {
    name: 'retention.ms',
    serverDefault: 'log.retention.ms',
    field: 'retentionMs',
    type: 'long',
    default: '604800000',
    doc: 'Delete segments whose newest record is older than this many milliseconds; -1 means keep forever.',
  },
  {
    name: 'segment.bytes',
    serverDefault: 'log.segment.bytes',
    field: 'segmentBytes',
    type: 'int',
    default: '1073741824',
    doc: 'Maximum size of one segment file.',
  },
  {
    name: 'segment.ms',
    serverDefault: 'log.roll.ms',
    field: 'segmentMs',
    type: 'long',
    default: '604800000',
    doc: 'Roll a new segment after this many milliseconds even if the current one is not full.',
  },
  {
    name: 'unclean.leader.election.enable',
    serverDefault: 'unclean.leader.election.enable',
    field: 'uncleanLeaderElectionEnable',
    type: 'boolean',
    default: 'false',
    doc: 'Allow electing a replica outside the ISR as leader as a last resort, at the risk of data loss.',
  },
];

const BY_NAME = new Map<string, LogConfigKey>(LOG_CONFIG_KEYS.map((k) => [k.name, k]));
const BY_SERVER_KEY = new Map<string, LogConfigKey>(LOG_CONFIG_KEYS.map((k) => [k.serverDefault, k]));

/** Broker-level keys in coarser units, lower precedence than the key they scale to. */
const SCALED_SERVER_KEYS: readonly { key: string; target: string; factor: number }[] = [
  { key: 'log.roll.hours', target: 'log.roll.ms', factor: 3600_000 },
  { key: 'log.retention.hours', target: 'log.retention.ms', factor: 3600_000 },
  { key: 'log.retention.minutes', target: 'log.retention.ms', factor: 60_000 },
];

/** Whether `name` is a topic-level key this table knows. */
export function isTopicConfigKey(name: string): boolean {
  return BY_NAME.has(name);
}

export function logConfigKey(name: string): LogConfigKey | undefined {
  return BY_NAME.get(name) ?? BY_SERVER_KEY.get(name);
}

function bad(key: string, value: string, want: string): never {
  throw new ConfigError(key, `Invalid value "${value}" for configuration ${key}: ${want}`);
}

function parseInteger(key: string, raw: string, type: 'int' | 'long', min: number, max: number): number {
  const v = raw.trim();
  if (!/^[-+]?\d+$/.test(v)) bad(key, raw, `must be an integer${type === 'long' ? ' (long)' : ''}`);
  const big = BigInt(v);
  if (type === 'int' && (big > BigInt(INT_MAX) || big < -2147483648n)) bad(key, raw, 'must fit a 32-bit integer');
  if (type === 'long' && (big > 9223372036854775807n || big < -9223372036854775808n)) {
    bad(key, raw, 'must fit a 64-bit integer');
  }
  const n = big > BigInt(NEVER) ? NEVER : big < BigInt(-NEVER) ? -NEVER : Number(big);
  if (n < min) bad(key, raw, `must be at least ${min}`);
  if (n > max) bad(key, raw, `must be at most ${max}`);
  return n;
}

const TIMESTAMP_TYPES: readonly string[] = ['CreateTime', 'LogAppendTime'];
const COMPRESSION_TYPES: readonly string[] = ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Parse one value for `spec` (reported under `key`) into `out`. */
function apply(out: LogConfig, spec: LogConfigKey, key: string, raw: string, factor = 1): void {
  switch (spec.field) {
    case 'segmentBytes':
      out.segmentBytes = parseInteger(key, raw, 'int', 14, INT_MAX);
      return;
    case 'segmentMs':
      out.segmentMs = Math.min(NEVER, parseInteger(key, raw, 'long', 1, NEVER) * factor);
      return;
    case 'retentionMs': {
      const n = parseInteger(key, raw, 'long', -1, NEVER);
      out.retentionMs = n < 0 ? -1 : Math.min(NEVER, n * factor);
      return;
    }
    case 'retentionBytes':
      out.retentionBytes = parseInteger(key, raw, 'long', -NEVER, NEVER);
      if (out.retentionBytes < 0) out.retentionBytes = -1;
      return;
    case 'indexIntervalBytes':
      out.indexIntervalBytes = parseInteger(key, raw, 'int', 0, INT_MAX);
      return;
    case 'flushMessages':
      out.flushMessages = parseInteger(key, raw, 'long', 1, NEVER);
      return;
    case 'flushMs':
      out.flushMs = parseInteger(key, raw, 'long', 0, NEVER);
      return;
    case 'maxMessageBytes':
      out.maxMessageBytes = parseInteger(key, raw, 'int', 0, INT_MAX);
      return;
    case 'minInsyncReplicas':
      out.minInsyncReplicas = parseInteger(key, raw, 'int', 1, INT_MAX);
      return;
    case 'deleteRetentionMs':
      out.deleteRetentionMs = parseInteger(key, raw, 'long', 0, NEVER);
      return;
    case 'minCompactionLagMs':
      out.minCompactionLagMs = parseInteger(key, raw, 'long', 0, NEVER);
      return;
    case 'messageTimestampDifferenceMaxMs':
      out.messageTimestampDifferenceMaxMs = parseInteger(key, raw, 'long', 0, NEVER);
      return;
    case 'messageTimestampType': {
      const v = raw.trim();
      if (!TIMESTAMP_TYPES.includes(v)) bad(key, raw, 'must be CreateTime or LogAppendTime');
      out.messageTimestampType = v as TimestampType;
      return;
    }
    case 'compressionType': {
      const v = raw.trim().toLowerCase();
      if (!COMPRESSION_TYPES.includes(v)) bad(key, raw, `must be one of ${COMPRESSION_TYPES.join(', ')}`);
      out.compressionType = v as CompressionType;
      return;
    }
    case 'cleanupPolicy': {
      const parts = raw
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== '');
      if (parts.length === 0 || parts.some((p) => p !== 'delete' && p !== 'compact')) {
        bad(key, raw, 'must be a list of "delete" and/or "compact"');
      }
      const compact = parts.includes('compact');
      const del = parts.includes('delete');
      out.cleanupPolicy = compact && del ? 'compact,delete' : compact ? 'compact' : 'delete';
      return;
    }
    case 'uncleanLeaderElectionEnable': {
      const v = raw.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') bad(key, raw, 'must be true or false');
      out.uncleanLeaderElectionEnable = v === 'true';
      return;
    }
  }
}

export interface LogConfigParseOptions {
  /**
   * 'topic' (default): topic-level keys and broker-level keys are both accepted, unknown keys are ignored.
   * 'strict-topic': only topic-level keys; an unknown key throws ConfigError (CreateTopics / AlterConfigs).
   */
  mode?: 'topic' | 'strict-topic';
}

/**
 * Overlay Kafka-style `key=value` strings on `base`. Topic-level keys (`retention.ms`) take precedence over
 * broker-level keys (`log.retention.ms`, then `log.retention.minutes`, then `log.retention.hours`).
 * Throws ConfigError naming the key for a bad value.
 */
export function logConfigFromProps(
  props: Record<string, string>,
  base: Readonly<LogConfig> = DEFAULT_LOG_CONFIG,
  options: LogConfigParseOptions = {},
): LogConfig {
  const out: LogConfig = { ...base };
  if (options.mode === 'strict-topic') {
    for (const key of Object.keys(props)) {
      if (!BY_NAME.has(key)) throw new ConfigError(key, `Unknown topic configuration ${key}`);
    }
  } else {
    for (const s of SCALED_SERVER_KEYS) {
      const raw = props[s.key];
      if (raw !== undefined) apply(out, BY_SERVER_KEY.get(s.target)!, s.key, raw, s.factor);
    }
    for (const spec of LOG_CONFIG_KEYS) {
      if (spec.serverDefault === spec.name) continue;
      const raw = props[spec.serverDefault];
      if (raw !== undefined) apply(out, spec, spec.serverDefault, raw);
    }
  }
  for (const spec of LOG_CONFIG_KEYS) {
    const raw = props[spec.name];
    if (raw !== undefined) apply(out, spec, spec.name, raw);
  }
  return out;
}

function render(spec: LogConfigKey, config: Readonly<LogConfig>): string {
  const v = config[spec.field];
  if (typeof v === 'number' && v >= NEVER && spec.default === LONG_MAX) return LONG_MAX;
  return String(v);
}

/** The topic-level `key → value` strings of a config, Kafka-rendered (Long.MAX for "never"). */
export function logConfigToProps(config: Readonly<LogConfig>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of LOG_CONFIG_KEYS) out[spec.name] = render(spec, config);
  return out;
}

/** Topic-level keys whose value in `config` differs from `base` (DescribeConfigs source = topic override). */
export function overriddenKeys(config: Readonly<LogConfig>, base: Readonly<LogConfig>): string[] {
  return LOG_CONFIG_KEYS.filter((k) => config[k.field] !== base[k.field]).map((k) => k.name);
}
