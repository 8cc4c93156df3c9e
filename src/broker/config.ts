/**
 * Broker configuration with Kafka's key names. Sources, lowest to highest precedence: defaults, the
 * `--config` properties file, command-line flags.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { EtcdSecurity } from '../cluster/etcd-store.js';
import type { InterBrokerSecurity } from '../cluster/inter-broker.js';
import { defaultMaxOpenFiles } from '../storage/file-handles.js';
import { type AdminListener, DEFAULT_ADMIN_LISTENER, parseAdminListener } from './admin-http.js';
import { ConfigError } from './config-error.js';
import { interBrokerListener, interBrokerSecurity, type Listener, parseListeners } from './listeners.js';

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
  /** Most bytes of records one Fetch response carries, whatever the request asks. */
  fetchMaxBytes: number;
  /** max.incremental.fetch.session.cache.slots: most fetch sessions (KIP-227) at once; 0: none. */
  fetchSessionCacheSlots: number;
  deleteTopicEnable: boolean;
  /** New partitions one CreateTopics / CreatePartitions request may add (all its topics together). */
  maxRequestPartitions: number;
  /** Partition replicas one node may host (KIP-578). */
  maxBrokerPartitions: number;
  /** Partitions the whole cluster may have (KIP-578). */
  maxPartitions: number;
  /** Bytes of requests being read or handled, all connections together; -1: unbounded. */
  queuedMaxRequestBytes: number;
  /** Per connection: answered bytes not yet taken by the client above which its next request waits. */
  queuedMaxResponseBytesPerConnection: number;
  /** broker.session.timeout.ms: how long a node that stopped renewing its lease stays registered. */
  brokerSessionTimeoutMs: number;
  /** listeners (or the one PLAINTEXT listener of host/port); host/port above are the first one's. */
  listeners: Listener[];
  /** How this node connects to the others (inter.broker.listener.name's TLS and SASL); null alone. */
  interBroker: InterBrokerSecurity | null;
  /** TLS and login of the etcd client (etcd.ssl.*, etcd.username); empty without etcd. */
  etcdSecurity: EtcdSecurity;
  /** The admin HTTP listener (admin.listeners, --http-port): /metrics, /health, /ready; null: off. */
  admin: AdminListener | null;
  /** metrics.partition.level: per-partition metrics on, off, or auto (on up to 1,000 local partitions). */
  metricsPartitionLevel: 'true' | 'false' | 'auto';
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
  'fetch.max.bytes': {
    default: '57671680',
    type: 'int',
    doc: 'Most bytes of records one Fetch response carries (consumers and followers), whatever the request asks.',
  },
  'max.incremental.fetch.session.cache.slots': {
    default: '1000',
    type: 'int',
    doc:
      'Most incremental fetch sessions (KIP-227) the broker keeps at once, consumers and followers together; ' +
      'when full, a new session replaces one unused for 2 minutes, or a smaller one (a follower also a ' +
      "consumer's), else the fetcher goes on without one. 0: no sessions.",
  },
  'delete.topic.enable': { default: 'true', type: 'boolean', doc: 'Whether DeleteTopics is allowed.' },
  'max.request.partitions': {
    default: '4000',
    type: 'int',
    doc:
      'Most new partitions one CreateTopics or CreatePartitions request may add, all its topics together ' +
      '(auto-creation too); more: POLICY_VIOLATION for every topic of the request.',
  },
  'max.broker.partitions': {
    default: '10000',
    type: 'int',
    doc:
      'Most partition replicas one node may host, every topic counted (KIP-578); a creation that would put more ' +
      'on any node fails with POLICY_VIOLATION.',
  },
  'max.partitions': {
    default: '2147483647',
    type: 'int',
    doc: 'Most partitions the whole cluster may have, replicas not counted (KIP-578); more: POLICY_VIOLATION.',
  },
  'queued.max.request.bytes': {
    default: '209715200',
    type: 'long',
    doc:
      'Memory for requests being read or handled, all connections together; a connection whose next request ' +
      'does not fit waits (is not read from) until memory is freed. Requests up to 1 MiB never wait. ' +
      'At least socket.request.max.bytes, or -1 for no bound.',
  },
  'queued.max.response.bytes.per.connection': {
    default: '16777216',
    type: 'int',
    doc:
      'Per connection: answered bytes the client has not read yet above which the broker stops reading ' +
      "that connection's requests until it catches up (as Kafka mutes a channel).",
  },
  'log.dirs': { default: './kstream-data', type: 'string', doc: 'Where partition logs live (--data-dir).' },
  'log.max.open.files': {
    default: String(defaultMaxOpenFiles()),
    type: 'int',
    doc:
      "Most segment files held open by the node, all partitions together (kstream's own key): idle ones are " +
      "closed least recently used first and reopened on use. Default: half of the process's open-file limit.",
  },
  'broker.session.timeout.ms': {
    default: '3000',
    type: 'int',
    doc:
      'How long a node that stopped answering (killed, cut off, paused) stays registered: the TTL of its etcd ' +
      'lease, in whole seconds (rounded up; etcd raises a TTL below its own minimum, 2 s with its default ' +
      'election timeout). When it expires the controller removes the node from every ISR and elects new ' +
      'leaders where it led. Lower: faster failover; too low for the network or etcd: nodes drop out while alive.',
  },
  'min.insync.replicas': { default: '1', type: 'int', doc: 'Replicas that must acknowledge acks=all writes.' },
  'producer.id.expiration.ms': {
    default: '86400000',
    type: 'int',
    doc:
      'How long a partition remembers an idempotent producer that sent nothing (its epoch and last sequences, ' +
      'for duplicate detection) after its last batch.',
  },
  'producer.id.expiration.check.interval.ms': {
    default: '600000',
    type: 'int',
    doc: 'How often expired idempotent producers are removed (producer.id.expiration.ms).',
  },
  'host.name': { default: '127.0.0.1', type: 'string', doc: 'Address the broker listens on (--host).' },
  port: { default: '9092', type: 'int', doc: 'Port the broker listens on; 0 picks a free one (--port).' },
  'advertised.host.name': {
    default: '127.0.0.1',
    type: 'string',
    doc: 'Host clients are told to connect to (--advertised-host; default host.name).',
  },
  'advertised.port': {
    default: '9092',
    type: 'int',
    doc: 'Port clients are told to connect to (--advertised-port; default the port listened on).',
  },
  'etcd.endpoints': {
    default: '',
    type: 'string',
    doc: 'etcd URLs of the cluster to join (--etcd); empty: the node runs alone. Passwords in URLs are redacted.',
  },
  'cluster.id': { default: 'kstream', type: 'string', doc: "The cluster's name in etcd (--cluster-id)." },
  'broker.rack': { default: '', type: 'string', doc: "This broker's rack, for replica placement (--rack)." },
  'log.level': {
    default: 'info',
    type: 'string',
    doc: 'Log level of the broker: debug, info, warn, error (--log-level).',
  },
  'config.file': { default: '', type: 'string', doc: 'The properties file the broker was started with (--config).' },
  listeners: {
    default: '',
    type: 'string',
    doc:
      'Comma-separated NAME://host:port the broker listens on (port 0: a free one); empty: one PLAINTEXT ' +
      'listener on host.name:port (--host/--port).',
  },
  'advertised.listeners': {
    default: '',
    type: 'string',
    doc: 'NAME://host:port per listener that Metadata tells clients connected on it; default: the listener itself.',
  },
  'listener.security.protocol.map': {
    default: 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    type: 'string',
    doc: 'Listener name to security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).',
  },
  'inter.broker.listener.name': {
    default: '',
    type: 'string',
    doc: 'The listener other brokers fetch from; default PLAINTEXT if there is one, else the first listener.',
  },
  'ssl.keystore.type': { default: 'PEM', type: 'string', doc: 'PEM or PKCS12.' },
  'ssl.keystore.location': {
    default: '',
    type: 'string',
    doc: "PEM file with the listener's private key and certificate chain (or a PKCS12 file).",
  },
  'ssl.keystore.certificate.chain': { default: '', type: 'string', doc: 'The certificate chain, PEM text.' },
  'ssl.keystore.key': { default: '', type: 'string', doc: 'The private key, PEM text.' },
  'ssl.key.password': { default: '', type: 'string', doc: 'Password of an encrypted private key.' },
  'ssl.keystore.password': { default: '', type: 'string', doc: 'Password of a PKCS12 keystore.' },
  'ssl.truststore.type': { default: 'PEM', type: 'string', doc: 'PEM.' },
  'ssl.truststore.location': {
    default: '',
    type: 'string',
    doc: 'PEM file of the CAs client certificates are checked against (ssl.client.auth).',
  },
  'ssl.truststore.certificates': { default: '', type: 'string', doc: 'The trusted CAs, PEM text.' },
  'ssl.client.auth': {
    default: 'none',
    type: 'string',
    doc: 'required, requested or none: whether TLS clients must present a certificate signed by a trusted CA.',
  },
  'ssl.enabled.protocols': { default: 'TLSv1.2,TLSv1.3', type: 'string', doc: 'TLS versions accepted.' },
  'ssl.cipher.suites': { default: '', type: 'string', doc: "Cipher suites (OpenSSL names); empty: Node's defaults." },
  'sasl.enabled.mechanisms': {
    default: 'SCRAM-SHA-256,SCRAM-SHA-512',
    type: 'string',
    doc:
      'SASL mechanisms of SASL_PLAINTEXT and SASL_SSL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (per listener: ' +
      'listener.name.<name>.sasl.enabled.mechanisms). PLAIN checks the password against sasl.plain.users.file, else the SCRAM credentials.',
  },
  'sasl.plain.users.file': {
    default: '',
    type: 'string',
    doc:
      'A file of PLAIN users, NAME:HASH a line (hashes made by kstream user hash), checked before the SCRAM ' +
      'credentials; reloaded when it changes.',
  },
  'connection.failed.authentication.delay.ms': {
    default: '100',
    type: 'int',
    doc: 'How long a failed login waits before its SASL_AUTHENTICATION_FAILED answer (then the connection closes).',
  },
  'connections.max.reauth.ms': {
    default: '0',
    type: 'long',
    doc:
      'SASL session lifetime told to clients (KIP-368): they re-authenticate before it ends, else the connection ' +
      'is closed at its next request; 0: sessions never end.',
  },
  'authorizer.class.name': {
    default: '',
    type: 'string',
    doc:
      'Turns ACLs on: org.apache.kafka.metadata.authorizer.StandardAuthorizer or kafka.security.authorizer.AclAuthorizer ' +
      "select kstream's built-in authorizer (serve --authorizer); empty: every request is allowed.",
  },
  'super.users': {
    default: '',
    type: 'string',
    doc: 'Principals allowed everything whatever the ACLs say, separated by ; (User:admin;User:ops).',
  },
  'allow.everyone.if.no.acl.found': {
    default: 'false',
    type: 'boolean',
    doc: 'With the authorizer on: whether a resource that no ACL matches is open to everyone.',
  },
  'quota.window.num': {
    default: '11',
    type: 'int',
    doc:
      'Samples in the window client quotas (producer_byte_rate, consumer_byte_rate, request_percentage) are ' +
      'measured over: a client may burst this many windows worth of its quota.',
  },
  'quota.window.size.seconds': {
    default: '1',
    type: 'int',
    doc: 'Length of each client quota sample, in seconds (also the longest request_percentage throttle).',
  },
  'controller.quota.window.num': {
    default: '11',
    type: 'int',
    doc: 'Samples in the window controller_mutation_rate is measured over (its burst, in windows).',
  },
  'controller.quota.window.size.seconds': {
    default: '1',
    type: 'int',
    doc: 'Length of each controller_mutation_rate sample, in seconds.',
  },
  'ssl.principal.mapping.rules': {
    default: 'DEFAULT',
    type: 'string',
    doc: 'RULE:pattern/replacement/[LU] and DEFAULT, mapping a client certificate subject to a principal name.',
  },
  'ssl.endpoint.identification.algorithm': {
    default: 'https',
    type: 'string',
    doc:
      "https: a node connecting to another over a TLS inter-broker listener checks the peer's host against its " +
      'certificate; empty: it does not (the certificate is still verified against the truststore).',
  },
  'sasl.mechanism.inter.broker.protocol': {
    default: '',
    type: 'string',
    doc:
      'SASL mechanism nodes log in to each other with over a SASL inter-broker listener (PLAIN, SCRAM-SHA-256, ' +
      "SCRAM-SHA-512); must be enabled on that listener. Empty: the listener's first enabled mechanism.",
  },
  'inter.broker.sasl.username': {
    default: '',
    type: 'string',
    doc:
      "The user this node logs in to the others as over a SASL inter-broker listener (kstream's key; Kafka's " +
      'listener.name.<l>.<mechanism>.sasl.jaas.config works too).',
  },
  'inter.broker.sasl.password.file': {
    default: '',
    type: 'string',
    doc: "File whose first line is inter.broker.sasl.username's password (read at each connection).",
  },
  'etcd.ssl.ca.location': {
    default: '',
    type: 'string',
    doc: "PEM file of the CAs etcd's server certificate is checked against (https:// endpoints); empty: the system's.",
  },
  'etcd.ssl.certificate.location': {
    default: '',
    type: 'string',
    doc: "PEM file of this node's client certificate for etcd (etcd --client-cert-auth), with etcd.ssl.key.location.",
  },
  'etcd.ssl.key.location': { default: '', type: 'string', doc: "PEM file of the client certificate's private key." },
  'etcd.ssl.key.password': { default: '', type: 'string', doc: 'Password of an encrypted etcd.ssl.key.location.' },
  'etcd.username': {
    default: '',
    type: 'string',
    doc: "etcd user (etcd's own authentication), with etcd.password.file.",
  },
  'etcd.password.file': { default: '', type: 'string', doc: "File whose first line is etcd.username's password." },
  'admin.listeners': {
    default: DEFAULT_ADMIN_LISTENER,
    type: 'string',
    doc:
      'The admin HTTP listener (/metrics, /health, /ready): http://host:port or https://host:port (TLS from ' +
      'listener.name.admin.ssl.*, else ssl.*); port 0 or empty: off (--http-port sets the port). The default ' +
      'port, when busy, is skipped with a warning; a port given here, when busy, stops the start.',
  },
  'metrics.partition.level': {
    default: 'auto',
    type: 'string',
    doc:
      'Per-partition metrics (offsets, size, ISR, leader) on /metrics: true, false, or auto (on while the node ' +
      'hosts at most 1,000 partitions).',
  },
};

/** Each `kstream serve` flag and the broker config key that holds it (DescribeConfigs shows them all). */
export const SERVE_FLAG_KEYS = {
  'data-dir': 'log.dirs',
  host: 'host.name',
  port: 'port',
  'advertised-host': 'advertised.host.name',
  'advertised-port': 'advertised.port',
  'node-id': 'broker.id',
  etcd: 'etcd.endpoints',
  'cluster-id': 'cluster.id',
  rack: 'broker.rack',
  'log-level': 'log.level',
  config: 'config.file',
} as const;

/** The value in effect for every serve key, defaults resolved (advertised.* follow host/port, …). */
export function serveConfigValues(c: BrokerConfig): Record<string, string> {
  return {
    'log.dirs': c.dataDir,
    'host.name': c.host,
    port: String(c.port),
    'advertised.host.name': c.advertisedHost,
    'advertised.port': String(c.advertisedPort),
    'broker.id': String(c.nodeId),
    'etcd.endpoints': c.etcd.join(','),
    'cluster.id': c.clusterId,
    'broker.rack': c.rack ?? '',
    'log.level': c.props['log.level'] ?? 'info',
    'config.file': c.props['config.file'] ?? '',
  };
}

export { ConfigError };

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
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? (e as Error).message);
    throw new ConfigError(`cannot read config file ${path}: ${why}`);
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

/**
 * The broker's config: `o.props` (the properties file) with every option that was given set over it under
 * its key (SERVE_FLAG_KEYS), so DescribeConfigs shows flags and file alike; options left out fall back to
 * the file, then to the defaults.
 */
export function brokerConfig(o: BrokerOptions): BrokerConfig {
  const props = { ...(o.props ?? {}) };
  const given: [string, string | number | string[] | undefined][] = [
    ['broker.id', o.nodeId],
    ['log.dirs', o.dataDir],
    ['host.name', o.host],
    ['port', o.port],
    ['advertised.host.name', o.advertisedHost],
    ['advertised.port', o.advertisedPort],
    ['etcd.endpoints', o.etcd?.join(',')],
    ['cluster.id', o.clusterId],
    ['broker.rack', o.rack],
  ];
  for (const [key, v] of given) if (v !== undefined) props[key] = String(v);
  const withListeners = props.listeners !== undefined && props.listeners.trim() !== '';
  if (withListeners && (o.host !== undefined || o.port !== undefined)) {
    throw new ConfigError('give either listeners (in the config) or --host/--port, not both');
  }
  const plainHost = props['host.name'] ?? '127.0.0.1';
  const plainPort = int(props, 'port', 0, 65535);
  const listeners = parseListeners(props, plainHost, plainPort);
  if (!withListeners) {
    // --host/--port: the one PLAINTEXT listener, advertised as advertised.host.name/advertised.port say.
    const l = listeners[0] as Listener;
    l.advertisedHost = props['advertised.host.name'] ?? l.advertisedHost;
    if (props['advertised.port'] !== undefined) l.advertisedPort = int(props, 'advertised.port', 1, 65535);
  }
  const first = listeners[0] as Listener;
  const inter = interBrokerListener(listeners, props);
  const etcd = (props['etcd.endpoints'] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x);
  return checkLimits({
    nodeId: int(props, 'broker.id'),
    host: first.host,
    port: first.port,
    advertisedHost: inter.advertisedHost,
    advertisedPort: inter.advertisedPort,
    dataDir: props['log.dirs'] ?? './kstream-data',
    rack: props['broker.rack'] || null,
    etcd,
    clusterId: props['cluster.id'] ?? 'kstream',
    props,
    numPartitions: int(props, 'num.partitions', 1, 100000),
    defaultReplicationFactor: int(props, 'default.replication.factor', 1, 32767),
    autoCreateTopicsEnable: bool(props, 'auto.create.topics.enable'),
    socketRequestMaxBytes: int(props, 'socket.request.max.bytes', 1024),
    messageMaxBytes: int(props, 'message.max.bytes', 1),
    fetchMaxBytes: int(props, 'fetch.max.bytes', 1024),
    fetchSessionCacheSlots: int(props, 'max.incremental.fetch.session.cache.slots', 0),
    deleteTopicEnable: bool(props, 'delete.topic.enable'),
    maxRequestPartitions: int(props, 'max.request.partitions', 1),
    maxBrokerPartitions: int(props, 'max.broker.partitions', 1),
    maxPartitions: int(props, 'max.partitions', 1),
    queuedMaxRequestBytes: queuedMaxRequestBytes(props),
    queuedMaxResponseBytesPerConnection: int(props, 'queued.max.response.bytes.per.connection', 65536),
    brokerSessionTimeoutMs: int(props, 'broker.session.timeout.ms', 1000, 3_600_000),
    listeners,
    // A node alone connects to no other node: its inter-broker login is checked only in a cluster.
    interBroker: etcd.length > 0 ? interBrokerSecurity(props, inter) : null,
    etcdSecurity: etcd.length > 0 ? etcdSecurity(props, etcd) : {},
    admin: parseAdminListener(props),
    metricsPartitionLevel: partitionLevel(props),
  });
}

function readConfigFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`cannot read ${key} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The etcd client's TLS (`etcd.ssl.ca.location`, `etcd.ssl.certificate.location` + `etcd.ssl.key.location`,
 * `etcd.ssl.key.password`; https:// endpoints) and etcd's own login (`etcd.username`, the password in the first
 * line of `etcd.password.file`). Files are read now: a new certificate takes a restart.
 */
function etcdSecurity(props: Record<string, string>, endpoints: string[]): EtcdSecurity {
  const get = (key: string) => {
    const v = props[key]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const out: EtcdSecurity = {};
  const caFile = get('etcd.ssl.ca.location');
  const certFile = get('etcd.ssl.certificate.location');
  const keyFile = get('etcd.ssl.key.location');
  const secure = endpoints.filter((e) => /^https:\/\//i.test(e));
  if (secure.length > 0 && secure.length < endpoints.length) {
    throw new ConfigError('etcd.endpoints mixes https:// and http:// URLs: etcd is reached over TLS or not at all');
  }
  if ((caFile || certFile || keyFile) && secure.length === 0) {
    throw new ConfigError('etcd.ssl.* are set but etcd.endpoints are not https:// URLs');
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      'etcd.ssl.certificate.location and etcd.ssl.key.location go together (a client certificate and its key)',
    );
  }
  if (secure.length > 0) {
    out.tls = {
      ca: caFile === undefined ? null : readConfigFile(caFile, 'etcd.ssl.ca.location'),
      cert: certFile === undefined ? null : readConfigFile(certFile, 'etcd.ssl.certificate.location'),
      key: null,
    };
    if (keyFile !== undefined) {
      const pem = readConfigFile(keyFile, 'etcd.ssl.key.location');
      const passphrase = get('etcd.ssl.key.password');
      if (passphrase === undefined) out.tls.key = pem;
      else {
        // gRPC takes no key password: the key is decrypted here, in memory.
        try {
          out.tls.key = Buffer.from(
            createPrivateKey({ key: pem, passphrase }).export({ type: 'pkcs8', format: 'pem' }) as string,
          );
        } catch {
          throw new ConfigError(`cannot decrypt etcd.ssl.key.location ${keyFile} with etcd.ssl.key.password`);
        }
      }
    }
  }
  const user = get('etcd.username');
  const passwordFile = get('etcd.password.file');
  if ((user === undefined) !== (passwordFile === undefined)) {
    throw new ConfigError('etcd.username and etcd.password.file go together');
  }
  if (user !== undefined && passwordFile !== undefined) {
    const password = readConfigFile(passwordFile, 'etcd.password.file').toString('utf8').split(/\r?\n/)[0] ?? '';
    if (password === '')
      throw new ConfigError(`etcd.password.file ${passwordFile} is empty: its first line is the password`);
    out.auth = { username: user, password };
  }
  return out;
}

/** Limits that depend on each other, checked once every value parsed. */
function checkLimits(c: BrokerConfig): BrokerConfig {
  if (c.numPartitions > c.maxRequestPartitions) {
    throw new ConfigError(
      `num.partitions (${c.numPartitions}) is more than max.request.partitions (${c.maxRequestPartitions}): ` +
        'every topic created with the default partition count would be refused',
    );
  }
  return c;
}

function partitionLevel(props: Record<string, string>): 'true' | 'false' | 'auto' {
  const raw = (props['metrics.partition.level'] ?? 'auto').trim().toLowerCase();
  if (raw !== 'true' && raw !== 'false' && raw !== 'auto') {
    throw new ConfigError(
      `invalid value ${JSON.stringify(raw)} for metrics.partition.level: expected true, false or auto`,
    );
  }
  return raw;
}

/** queued.max.request.bytes: -1 (or 0) for no bound, else at least socket.request.max.bytes (as in Kafka). */
function queuedMaxRequestBytes(props: Record<string, string>): number {
  const n = int(props, 'queued.max.request.bytes', -1, Number.MAX_SAFE_INTEGER);
  if (n <= 0) return -1;
  const largest = int(props, 'socket.request.max.bytes', 1024);
  if (n < largest) {
    throw new ConfigError(
      `queued.max.request.bytes (${n}) must be at least socket.request.max.bytes (${largest}), or -1 for no bound`,
    );
  }
  return n;
}
