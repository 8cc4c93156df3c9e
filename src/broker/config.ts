/**
 * Broker configuration with Kafka's key names. Sources, lowest to highest precedence: defaults, the
 * `--config` properties file, command-line flags.
 */
import { readFileSync } from 'node:fs';

export interface BrokerConfig {
  nodeId: number;
  host: string;
  port: number;
  advertisedHost: string;
  advertisedPort: number;
  dataDir: string;
  rack: string | null;
  /** etcd endpoints: set, the node joins the cluster named by clusterId; empty, it runs alone. */
  etcd: string[];
  clusterId: string;
  /** Every property as given (Kafka names), for DescribeConfigs and per-topic defaults. */
  props: Record<string, string>;
  numPartitions: number;
  defaultReplicationFactor: number;
  autoCreateTopicsEnable: boolean;
  socketRequestMaxBytes: number;
  messageMaxBytes: number;
  deleteTopicEnable: boolean;
}

/** Broker-level keys this broker understands, with defaults and documentation (DescribeConfigs shows them). */
export const BROKER_KEYS: Record<
  string,
  { default: string; type: 'int' | 'long' | 'boolean' | 'string'; doc: string }
> = {
  'broker.id': { default: '1', type: 'int', doc: 'The id of this broker (--node-id).' },
  'num.partitions': { default: '1', type: 'int', doc: 'Default number of partitions for new topics.' },
  'default.replication.factor': { default: '1', type: 'int', doc: 'Default replication factor for new topics.' },
  'auto.create.topics.enable': {
    default: 'true',
    type: 'boolean',
    doc: 'Create a topic when a client asks for its metadata or produces to it.',
  },
  'socket.request.max.bytes': {
    default: '104857600',
    type: 'int',
    doc: 'Largest request the broker reads; a larger size prefix closes the connection.',
  },
  'message.max.bytes': { default: '1048588', type: 'int', doc: 'Largest record batch the broker accepts.' },
  'delete.topic.enable': { default: 'true', type: 'boolean', doc: 'Whether DeleteTopics is allowed.' },
  'log.dirs': { default: './kstream-data', type: 'string', doc: 'Where partition logs live (--data-dir).' },
  'min.insync.replicas': { default: '1', type: 'int', doc: 'Replicas that must acknowledge acks=all writes.' },
};

export class ConfigError extends Error {}

/** Parse a Kafka-style properties file: `key=value` (or `key: value`), `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string, source = 'properties'): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + (lines[++i] as string).trim();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${source}:${i + 1}: expected key=value, got ${JSON.stringify(line)}`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

export function loadPropertiesFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parseProperties(text, path);
}

function int(props: Record<string, string>, key: string, min = 0, max = 2 ** 31 - 1): number {
  const raw = props[key] ?? BROKER_KEYS[key]?.default;
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`invalid value ${JSON.stringify(raw)} for ${key}: expected an integer in ${min}..${max}`);
  }
  return n;
}

function bool(props: Record<string, string>, key: string): boolean {
  const raw = (props[key] ?? BROKER_KEYS[key]?.default ?? '').toLowerCase();
  if (raw !== 'true' && raw !== 'false')
    throw new ConfigError(`invalid value ${JSON.stringify(raw)} for ${key}: expected true or false`);
  return raw === 'true';
}

export interface BrokerOptions {
  nodeId?: number;
  host?: string;
  port?: number;
  advertisedHost?: string;
  advertisedPort?: number;
  dataDir?: string;
  rack?: string;
  etcd?: string[];
  clusterId?: string;
  props?: Record<string, string>;
}

export function brokerConfig(o: BrokerOptions): BrokerConfig {
  const props = { ...(o.props ?? {}) };
  if (o.nodeId !== undefined) props['broker.id'] = String(o.nodeId);
  if (o.dataDir !== undefined) props['log.dirs'] = o.dataDir;
  const host = o.host ?? props['listeners.host'] ?? '127.0.0.1';
  const port = o.port ?? 9092;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid port ${port}`);
  return {
    nodeId: int(props, 'broker.id'),
    host,
    port,
    advertisedHost:
      o.advertisedHost ?? props['advertised.host'] ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    advertisedPort: o.advertisedPort ?? port,
    dataDir: props['log.dirs'] ?? './kstream-data',
    rack: o.rack ?? props['broker.rack'] ?? null,
    etcd:
      o.etcd ??
      (props['etcd.endpoints']
        ? props['etcd.endpoints']
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x)
        : []),
    clusterId: o.clusterId ?? props['cluster.id'] ?? 'kstream',
    props,
    numPartitions: int(props, 'num.partitions', 1, 100000),
    defaultReplicationFactor: int(props, 'default.replication.factor', 1, 32767),
    autoCreateTopicsEnable: bool(props, 'auto.create.topics.enable'),
    socketRequestMaxBytes: int(props, 'socket.request.max.bytes', 1024),
    messageMaxBytes: int(props, 'message.max.bytes', 1),
    deleteTopicEnable: bool(props, 'delete.topic.enable'),
  };
}
