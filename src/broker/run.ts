/** Build a broker from `serve` options (properties file + flags) and start it. */
import { createLogger, type LogLevel } from '../util/logger.js';
import { Broker } from './broker.js';
import { brokerConfig, loadPropertiesFile } from './config.js';

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
}

export async function startBroker(o: ServeOptions): Promise<Broker> {
  const props = { ...(o.configFile ? loadPropertiesFile(o.configFile) : {}), ...(o.props ?? {}) };
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
  const log = createLogger(o.logLevel ?? 'info').child({ node: config.nodeId });
  const broker = new Broker(config, log);
  await broker.start();
  return broker;
}
