/**
 * DescribeConfigs for topics (resource type 2) and brokers (4): every known key with its value, source,
 * synonyms (v1+) and documentation/type (v3+). Unknown resources get an error per resource.
 */
import { isSensitiveConfigName, redactUrlCredentials } from '../../protocol/config-names.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { allowed, clusterAllowed, Op, Res } from '../acl/check.js';
import { BROKER_KEYS, type BrokerConfig, serveConfigValues } from '../config.js';
import { defineHandler } from '../router.js';
import { type ConfigType, TOPIC_CONFIG_KEYS } from '../topic-config.js';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
const TYPE_CODE: Record<ConfigType, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7 };

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

export function describeTopicConfigs(
  config: BrokerConfig,
  overrides: Record<string, string>,
  keys: string[] | null,
  synonyms: boolean,
  docs: boolean,
): DescribedConfig[] {
  const out: DescribedConfig[] = [];
  for (const [name, spec] of Object.entries(TOPIC_CONFIG_KEYS)) {
    if (keys && !keys.includes(name)) continue;
    const chain: { name: string; value: string; source: number }[] = [];
    if (overrides[name] !== undefined) {
      chain.push({ name, value: overrides[name], source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    }
    if (spec.synonym && config.props[spec.synonym] !== undefined) {
      chain.push({
        name: spec.synonym,
        value: config.props[spec.synonym],
        source: ConfigSource.STATIC_BROKER_CONFIG,
      });
    }
    chain.push({ name: spec.synonym ?? name, value: spec.default, source: ConfigSource.DEFAULT_CONFIG });
    const top = chain[0] as (typeof chain)[number];
    out.push({
      name,
      value: top.value,
      readOnly: false,
      isDefault: top.source === ConfigSource.DEFAULT_CONFIG,
      configSource: top.source,
      isSensitive: false,
      synonyms: synonyms ? chain : [],
      configType: TYPE_CODE[spec.type],
      documentation: docs ? spec.doc : null,
    });
  }
  return out;
}

function describeBrokerConfigs(
  config: BrokerConfig,
  keys: string[] | null,
  synonyms: boolean,
  docs: boolean,
): DescribedConfig[] {
  const out: DescribedConfig[] = [];
  const names = new Set([...Object.keys(BROKER_KEYS), ...Object.keys(config.props)]);
  // Serve flags' defaults depend on each other (advertised.port follows port): report the value in effect.
  const resolved = serveConfigValues(config);
  for (const name of [...names].sort()) {
    if (keys && !keys.includes(name)) continue;
    const spec = BROKER_KEYS[name];
    const given = config.props[name];
    const sensitive = isSensitiveConfigName(name);
    const raw = given ?? resolved[name] ?? spec?.default ?? null;
    // Passwords inside URLs (etcd.endpoints=http://user:pw@host) never leave the broker either.
    const value = raw === null ? null : redactUrlCredentials(raw);
    const source = given !== undefined ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
    out.push({
      name,
      value: sensitive ? null : value,
      readOnly: true,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: sensitive,
      synonyms: synonyms ? [{ name, value: sensitive ? null : value, source }] : [],
      configType: spec ? TYPE_CODE[spec.type] : TYPE_CODE.string,
      documentation: docs ? (spec?.doc ?? null) : null,
    });
  }
  return out;
}

export const describeConfigs = defineHandler(Api.DescribeConfigs, {
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const { node } = ctx;
    const results: Item<ResponseInput<typeof Api.DescribeConfigs>['results']>[] = [];
    for (const r of req.resources) {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      const keys = r.configurationKeys;
      // DESCRIBE_CONFIGS on the topic, or on the cluster for a broker's configs.
      const denied =
        r.resourceType === ResourceType.TOPIC
          ? !allowed(ctx, Op.DESCRIBE_CONFIGS, Res.TOPIC, r.resourceName) && ErrorCode.TOPIC_AUTHORIZATION_FAILED
          : r.resourceType === ResourceType.BROKER &&
            !clusterAllowed(ctx, Op.DESCRIBE_CONFIGS) &&
            ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      if (denied) {
        results.push({ ...base, errorCode: denied, errorMessage: null, configs: [] });
        continue;
      }
      if (r.resourceType === ResourceType.TOPIC) {
        const overrides = node.topicConfigs(r.resourceName);
        if (!overrides) {
          results.push({
            ...base,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `topic ${r.resourceName} does not exist`,
            configs: [],
          });
          continue;
        }
        const configs = describeTopicConfigs(
          node.config,
          overrides,
          keys,
          Boolean(req.includeSynonyms),
          Boolean(req.includeDocumentation),
        );
        results.push({ ...base, errorCode: 0, errorMessage: null, configs });
      } else if (r.resourceType === ResourceType.BROKER) {
        if (r.resourceName !== '' && r.resourceName !== String(node.nodeId)) {
          results.push({
            ...base,
            errorCode: ErrorCode.INVALID_REQUEST,
            errorMessage: `no broker ${r.resourceName} here`,
            configs: [],
          });
          continue;
        }
        const configs = describeBrokerConfigs(
          node.config,
          keys,
          Boolean(req.includeSynonyms),
          Boolean(req.includeDocumentation),
        );
        results.push({ ...base, errorCode: 0, errorMessage: null, configs });
      } else {
        results.push({
          ...base,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `resource type ${r.resourceType} is not supported`,
          configs: [],
        });
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
