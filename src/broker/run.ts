/**
 * Build a broker from `serve` options (properties file + flags) and start it. Once it runs, the node writes
 * `<data-dir>/serve.json`: its arguments and every serve flag's value with where it came from (flag,
 * properties file or default), passwords in URLs redacted — for `kstream debug bundle --data-dir` and for
 * whoever wonders how a node was started.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { redactUrlCredentials } from '../protocol/config-names.js';
import { tuneHeap } from '../util/heap.js';
import { createLogger, isLogLevel, type LogLevel } from '../util/logger.js';
import { VERSION } from '../version.js';
import { withHttpPort } from './admin-http.js';
import { Broker } from './broker.js';
import { brokerConfig, ConfigError, loadPropertiesFile, SERVE_FLAG_KEYS, serveConfigValues } from './config.js';

/** Options left undefined were not given: the properties file, then the defaults, decide. */
export interface ServeOptions {
  dataDir?: string;
  host?: string;
  port?: number;
  advertisedHost?: string;
  advertisedPort?: number;
  nodeId?: number;
  etcd?: string[];
  clusterId?: string;
  rack?: string;
  configFile?: string;
  logLevel?: LogLevel;
  props?: Record<string, string>;
  /** A first SCRAM user made before the node listens (if absent), and its password (never logged). */
  bootstrapUser?: { name: string; password: string };
  /** --http-port: the admin listener's port (0: off). */
  httpPort?: number;
  /** The command line, for serve.json (default process.argv after the script). */
  argv?: string[];
}

export const SERVE_FILE = 'serve.json';

export async function startBroker(o: ServeOptions): Promise<Broker> {
  tuneHeap();
  const fileProps = o.configFile ? loadPropertiesFile(o.configFile) : {};
  const props = { ...fileProps, ...(o.props ?? {}) };
  if (o.logLevel !== undefined) props['log.level'] = o.logLevel;
  if (o.httpPort !== undefined) props['admin.listeners'] = withHttpPort(props['admin.listeners'], o.httpPort);
  if (o.configFile !== undefined) props['config.file'] = resolve(o.configFile);
  const logLevel = props['log.level'] ?? 'info';
  if (!isLogLevel(logLevel)) {
    throw new ConfigError(`invalid value ${JSON.stringify(logLevel)} for log.level: use debug, info, warn or error`);
  }
  const config = brokerConfig({
    props,
    dataDir: o.dataDir,
    host: o.host,
    port: o.port,
    advertisedHost: o.advertisedHost,
    advertisedPort: o.advertisedPort,
    nodeId: o.nodeId,
    etcd: o.etcd,
    clusterId: o.clusterId,
    rack: o.rack,
  });
  const log = createLogger(logLevel).child({ node: config.nodeId });
  const broker = new Broker(config, log);
  if (o.bootstrapUser) broker.setBootstrapUser(o.bootstrapUser.name, o.bootstrapUser.password);
  await broker.start();
  const given: Record<keyof typeof SERVE_FLAG_KEYS, unknown> = {
    'data-dir': o.dataDir,
    host: o.host,
    port: o.port,
    'advertised-host': o.advertisedHost,
    'advertised-port': o.advertisedPort,
    'node-id': o.nodeId,
    etcd: o.etcd,
    'cluster-id': o.clusterId,
    rack: o.rack,
    'log-level': o.logLevel,
    config: o.configFile,
  };
  const values = serveConfigValues(config);
  const flags = Object.fromEntries(
    Object.entries(SERVE_FLAG_KEYS).map(([flag, key]) => [
      flag,
      {
        config: key,
        value: redactUrlCredentials(values[key] ?? ''),
        from:
          given[flag as keyof typeof SERVE_FLAG_KEYS] !== undefined
            ? 'flag'
            : key in fileProps
              ? 'config-file'
              : key in props
                ? 'properties'
                : 'default',
      },
    ]),
  );
  const doc = {
    kstream: VERSION,
    node: process.version,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    argv: (o.argv ?? process.argv.slice(2)).map(redactUrlCredentials),
    listening: `${config.host}:${broker.boundPort}`,
    flags,
  };
  const file = join(resolve(config.dataDir), SERVE_FILE);
  try {
    await writeFile(`${file}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  } catch (e) {
    log.warn(`cannot write ${file}`, { error: e });
  }
  return broker;
}
