/**
 * Topic-level config keys for the broker's handlers, derived from storage's one table (LOG_CONFIG_KEYS): a
 * topic's effective value is its own override, else the broker's synonym from the properties file, else the
 * default.
 */
import { DEFAULT_LOG_CONFIG, LOG_CONFIG_KEYS, type LogConfig, logConfigFromProps } from '../storage/config.js';

export type ConfigType = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';

export interface TopicConfigKey {
  /** Broker-level key whose value is this topic key's default. */
  synonym: string;
  default: string;
  type: ConfigType;
  doc: string;
}

export const TOPIC_CONFIG_KEYS: Record<string, TopicConfigKey> = Object.fromEntries(
  [...LOG_CONFIG_KEYS]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((k) => [k.name, { synonym: k.serverDefault, default: k.default, type: k.type, doc: k.doc }]),
);

/** The broker's topic defaults: its properties (log.segment.bytes, log.retention.hours …) over Kafka's defaults. */
export function brokerLogDefaults(props: Record<string, string>): LogConfig {
  return logConfigFromProps(props, DEFAULT_LOG_CONFIG);
}
