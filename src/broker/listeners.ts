/**
 * Listeners, as Kafka names them: `listeners=PLAINTEXT://127.0.0.1:9092,SSL://0.0.0.0:9093`,
 * `advertised.listeners` (what Metadata tells clients that connected on that listener),
 * `listener.security.protocol.map` (listener name → PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL) and
 * `inter.broker.listener.name`. Without `listeners`, `host.name`/`port` (`--host`/`--port`) are one PLAINTEXT
 * listener.
 *
 * TLS comes from PEM files with Kafka's option names (`ssl.keystore.type=PEM`, `ssl.keystore.location` or
 * `ssl.keystore.certificate.chain` + `ssl.keystore.key`, `ssl.key.password`, `ssl.truststore.location` or
 * `ssl.truststore.certificates`, `ssl.client.auth`, `ssl.enabled.protocols`, `ssl.cipher.suites`,
 * `ssl.principal.mapping.rules`), each also per listener as `listener.name.<name>.<option>`. PKCS12 keystores
 * (`ssl.keystore.type=PKCS12` + `ssl.keystore.password`) work too; JKS does not (convert it to PEM).
 */
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TLSSocket, ConnectionOptions as TlsConnectionOptions, TlsOptions } from 'node:tls';
import type { ConnectionOptions } from '../client/connection.js';
import type { InterBrokerSecurity } from '../cluster/inter-broker.js';
import { ConfigError } from './config-error.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
const PROTOCOLS: readonly string[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

export interface Listener {
  /** Upper case, as Kafka compares them (PLAINTEXT, SSL, CLIENT, …). */
  name: string;
  protocol: SecurityProtocol;
  host: string;
  /** 0 until bound when 0 was asked. */
  port: number;
  advertisedHost: string;
  advertisedPort: number;
}

/** An address clients can reach for a bind address (0.0.0.0 / :: / empty → loopback). */
function reachable(host: string): string {
  return host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function parseEndpoints(text: string, key: string): { name: string; host: string; port: number }[] {
  const out: { name: string; host: string; port: number }[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([A-Za-z0-9_.-]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(item);
    if (!m) throw new ConfigError(`invalid ${key} entry ${JSON.stringify(item)}: expected NAME://host:port`);
    const port = Number(m[3]);
    if (port > 65535) throw new ConfigError(`invalid port ${port} in ${key} entry ${JSON.stringify(item)}`);
    const name = (m[1] as string).toUpperCase();
    if (out.some((e) => e.name === name)) throw new ConfigError(`listener name ${name} appears twice in ${key}`);
    out.push({ name, host: (m[2] as string).replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

/**
 * The listeners of a node from its properties. `listeners` absent: one PLAINTEXT listener on host:port, as
 * before listeners existed.
 */
export function parseListeners(props: Record<string, string>, host: string, port: number): Listener[] {
  const protocolMap = new Map<string, SecurityProtocol>();
  for (const p of PROTOCOLS) protocolMap.set(p, p as SecurityProtocol);
  const mapText = props['listener.security.protocol.map'];
  if (mapText !== undefined && mapText.trim() !== '') {
    protocolMap.clear();
    for (const raw of mapText.split(',')) {
      const item = raw.trim();
      if (item === '') continue;
      const [name, proto] = item.split(':').map((x) => x.trim().toUpperCase());
      if (!name || !proto || !PROTOCOLS.includes(proto)) {
        throw new ConfigError(
          `invalid listener.security.protocol.map entry ${JSON.stringify(item)}: expected NAME:PROTOCOL, ` +
            `PROTOCOL one of ${PROTOCOLS.join(', ')}`,
        );
      }
      protocolMap.set(name, proto as SecurityProtocol);
    }
  }
  const text = props.listeners;
  const endpoints =
    text === undefined || text.trim() === '' ? [{ name: 'PLAINTEXT', host, port }] : parseEndpoints(text, 'listeners');
  if (endpoints.length === 0) throw new ConfigError('listeners is empty: give at least one NAME://host:port');
  const advertised = new Map(
    parseEndpoints(props['advertised.listeners'] ?? '', 'advertised.listeners').map((e) => [e.name, e]),
  );
  const listeners = endpoints.map((e): Listener => {
    const protocol = protocolMap.get(e.name);
    if (protocol === undefined) {
      throw new ConfigError(
        `listener ${e.name} has no security protocol: add ${e.name}:<PROTOCOL> to listener.security.protocol.map`,
      );
    }
    const adv = advertised.get(e.name);
    advertised.delete(e.name);
    return {
      name: e.name,
      protocol,
      host: e.host === '' ? '0.0.0.0' : e.host,
      port: e.port,
      advertisedHost: adv ? reachable(adv.host) : reachable(e.host),
      advertisedPort: adv ? adv.port : e.port,
    };
  });
  for (const name of advertised.keys()) {
    throw new ConfigError(`advertised.listeners names ${name}, which is not in listeners`);
  }
  const inter = props['inter.broker.listener.name'];
  if (inter !== undefined && inter !== '' && !listeners.some((l) => l.name === inter.toUpperCase())) {
    throw new ConfigError(`inter.broker.listener.name ${inter} is not one of the listeners`);
  }
  return listeners;
}

/** The listener other brokers use (inter.broker.listener.name; else PLAINTEXT if there is one; else the first). */
export function interBrokerListener(listeners: Listener[], props: Record<string, string>): Listener {
  const name = (props['inter.broker.listener.name'] ?? '').toUpperCase();
  return (
    listeners.find((l) => l.name === name) ??
    listeners.find((l) => l.name === 'PLAINTEXT') ??
    (listeners[0] as Listener)
  );
}

export function usesTls(l: Listener): boolean {
  return l.protocol === 'SSL' || l.protocol === 'SASL_SSL';
}

/** A listener option: `listener.name.<name>.<key>` first, then `<key>`. */
export function listenerProp(props: Record<string, string>, listener: string, key: string): string | undefined {
  const v = props[`listener.name.${listener.toLowerCase()}.${key}`] ?? props[key];
  return v === undefined || v.trim() === '' ? undefined : v;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function pemBlocks(text: string): { type: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ type: m[1] as string, pem: `${m[0]}\n` }));
}

function readFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`cannot read ${key} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export interface ListenerTls {
  options: TlsOptions;
  /** Files the options were read from (watched: certificates are reloaded when they change). */
  files: string[];
  /** ssl.client.auth=requested: a certificate is asked for but not required. */
  clientAuth: 'required' | 'requested' | 'none';
}

/** The TLS server options of a listener from its ssl.* properties (files read now). */
export function listenerTls(props: Record<string, string>, listener: string): ListenerTls {
  const get = (key: string) => listenerProp(props, listener, key);
  const where = (key: string) =>
    props[`listener.name.${listener.toLowerCase()}.${key}`] !== undefined
      ? `listener.name.${listener.toLowerCase()}.${key}`
      : key;
  const files: string[] = [];
  const ctx: SecureContextOptions = {};
  const type = (get('ssl.keystore.type') ?? 'PEM').toUpperCase();
  const location = get('ssl.keystore.location');
  if (type === 'PKCS12') {
    if (location === undefined) throw new ConfigError(`listener ${listener}: ssl.keystore.location is required`);
    files.push(location);
    ctx.pfx = readFile(location, where('ssl.keystore.location'));
    ctx.passphrase = get('ssl.keystore.password');
  } else if (type === 'PEM') {
    let keyPem: string;
    let chainPem: string;
    if (location !== undefined) {
      files.push(location);
      const blocks = pemBlocks(readFile(location, where('ssl.keystore.location')).toString('utf8'));
      keyPem = blocks
        .filter((b) => b.type.endsWith('PRIVATE KEY'))
        .map((b) => b.pem)
        .join('');
      chainPem = blocks
        .filter((b) => b.type === 'CERTIFICATE')
        .map((b) => b.pem)
        .join('');
    } else {
      keyPem = get('ssl.keystore.key') ?? '';
      chainPem = get('ssl.keystore.certificate.chain') ?? '';
    }
    if (keyPem === '' || chainPem === '') {
      throw new ConfigError(
        `listener ${listener} (TLS) needs a private key and its certificate chain: ssl.keystore.location ` +
          '(a PEM file with both) or ssl.keystore.key and ssl.keystore.certificate.chain',
      );
    }
    ctx.key = keyPem;
    ctx.cert = chainPem;
    ctx.passphrase = get('ssl.key.password');
  } else {
    throw new ConfigError(`ssl.keystore.type ${type} is not supported: use PEM or PKCS12 (convert JKS with keytool)`);
  }
  const trustType = (get('ssl.truststore.type') ?? 'PEM').toUpperCase();
  const trustLocation = get('ssl.truststore.location');
  if (trustType !== 'PEM') throw new ConfigError(`ssl.truststore.type ${trustType} is not supported: use PEM`);
  if (trustLocation !== undefined) {
    files.push(trustLocation);
    ctx.ca = readFile(trustLocation, where('ssl.truststore.location')).toString('utf8');
  } else if (get('ssl.truststore.certificates') !== undefined) {
    ctx.ca = get('ssl.truststore.certificates');
  }
  const protocols = (get('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const p of protocols) {
    if (p !== 'TLSv1.2' && p !== 'TLSv1.3') {
      throw new ConfigError(`ssl.enabled.protocols: ${p} is not supported (TLSv1.2 and TLSv1.3 are)`);
    }
  }
  ctx.minVersion = protocols.includes('TLSv1.2') ? 'TLSv1.2' : 'TLSv1.3';
  ctx.maxVersion = protocols.includes('TLSv1.3') ? 'TLSv1.3' : 'TLSv1.2';
  const ciphers = get('ssl.cipher.suites');
  if (ciphers !== undefined) ctx.ciphers = ciphers.split(',').join(':');
  const clientAuth = (get('ssl.client.auth') ?? 'none').toLowerCase();
  if (clientAuth !== 'required' && clientAuth !== 'requested' && clientAuth !== 'none') {
    throw new ConfigError(`invalid ssl.client.auth ${JSON.stringify(clientAuth)}: use required, requested or none`);
  }
  if (clientAuth !== 'none' && ctx.ca === undefined) {
    throw new ConfigError(
      `listener ${listener}: ssl.client.auth=${clientAuth} needs ssl.truststore.location (the CAs client certificates are checked against)`,
    );
  }
  parsePrincipalRules(get('ssl.principal.mapping.rules') ?? 'DEFAULT');
  return {
    options: {
      ...ctx,
      requestCert: clientAuth !== 'none',
      // requested: a client without a certificate is let in; one with a bad certificate is closed after the
      // handshake (broker.ts), so only `authorized` peers or anonymous ones remain.
      rejectUnauthorized: clientAuth === 'required',
    },
    files,
    clientAuth: clientAuth as ListenerTls['clientAuth'],
  };
}

// ---- principals --------------------------------------------------------------------------------------------

export interface PrincipalRule {
  pattern: RegExp | null;
  replacement: string;
  caseOf: 'L' | 'U' | null;
}

/**
 * ssl.principal.mapping.rules as Kafka defines them: a list of `RULE:pattern/replacement/[LU]` and `DEFAULT`
 * (the distinguished name as it is), tried in order; the first whose pattern matches the whole name wins.
 */
export function parsePrincipalRules(text: string): PrincipalRule[] {
  const rules: PrincipalRule[] = [];
  const re = /\s*(?:(DEFAULT)|RULE:((?:\\\/|[^/])*)\/((?:\\\/|[^/])*)\/([LU])?)\s*(?:,|$)/gy;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m || m[0] === '')
      throw new ConfigError(`invalid ssl.principal.mapping.rules at ${JSON.stringify(text.slice(at))}`);
    at = re.lastIndex;
    if (m[1]) rules.push({ pattern: null, replacement: '', caseOf: null });
    else {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${(m[2] as string).replace(/\\\//g, '/')})$`);
      } catch (e) {
        throw new ConfigError(`invalid pattern in ssl.principal.mapping.rules: ${(e as Error).message}`);
      }
      rules.push({ pattern, replacement: (m[3] as string).replace(/\\\//g, '/'), caseOf: (m[4] as 'L' | 'U') ?? null });
    }
  }
  return rules;
}

/** The name of a distinguished name after the rules (Kafka: no rule matches → the DN as it is). */
export function applyPrincipalRules(dn: string, rules: PrincipalRule[]): string {
  for (const r of rules) {
    if (r.pattern === null) return dn;
    if (!r.pattern.test(dn)) continue;
    const name = dn.replace(r.pattern, r.replacement);
    return r.caseOf === 'L' ? name.toLowerCase() : r.caseOf === 'U' ? name.toUpperCase() : name;
  }
  return dn;
}

/**
 * The subject of a TLS peer's certificate as an RFC 2253 distinguished name (most specific first:
 * `CN=client,OU=…,O=…,C=…`), or null without a certificate.
 */
export function peerDistinguishedName(socket: TLSSocket): string | null {
  const cert = socket.getPeerX509Certificate?.();
  if (!cert) return null;
  return distinguishedName(cert);
}

export function distinguishedName(cert: X509Certificate): string {
  // Node lists the subject's attributes one a line in certificate order (C first); RFC 2253 reverses them.
  return cert.subject
    .split('\n')
    .filter((l) => l !== '')
    .reverse()
    .map((l) => l.replace(/([,+"\\<>;])/g, '\\$1'))
    .join(',');
}

/**
 * A broker's address as told to a client connected on `listener` (Kafka answers each client with the
 * endpoints of the listener it came in on). A broker registered without that listener keeps host/port.
 */
export function addressOn<
  B extends { host: string; port: number; listeners?: Record<string, { host: string; port: number }> },
>(b: B, listener: Listener | null): B {
  const at = listener === null ? undefined : b.listeners?.[listener.name];
  return at === undefined || (at.host === b.host && at.port === b.port) ? b : { ...b, host: at.host, port: at.port };
}

// ---- the inter-broker client --------------------------------------------------------------------------------

type InterBrokerMechanism = NonNullable<ConnectionOptions['sasl']>['mechanism'];
const CLIENT_MECHANISMS: readonly string[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** A property given for the listener (`listener.name.<l>.<key>`) or for all, empty values included. */
function rawListenerProp(props: Record<string, string>, listener: string, key: string): string | undefined {
  return props[`listener.name.${listener.toLowerCase()}.${key}`] ?? props[key];
}

/** The first line of a password file (as `serve --bootstrap-password-file` reads it). */
function readPasswordFile(path: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${key} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new ConfigError(`${key} ${path} is empty: its first line is the password`);
  return password;
}

/**
 * `username` and `password` of a JAAS login module line, as Kafka's brokers take their own inter-broker
 * credentials: `org.apache.kafka.common.security.scram.ScramLoginModule required username="broker"
 * password="…";`. Other options (PLAIN's `user_<name>` list) are ignored.
 */
export function jaasCredentials(text: string, key: string): { user: string; password: string } {
  const options = new Map<string, string>();
  const re = /([A-Za-z_][\w.-]*)\s*=\s*(?:"((?:\\.|[^"\\])*)"|([^\s;"]+))/g;
  for (const m of text.matchAll(re)) {
    options.set(m[1] as string, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] as string));
  }
  const user = options.get('username');
  const password = options.get('password');
  if (!user || password === undefined || password === '') {
    // The text itself is not shown: it holds a password.
    throw new ConfigError(`${key} needs username="…" and password="…" (the node's own inter-broker login)`);
  }
  return { user, password };
}

/**
 * How this node connects to the other nodes (src/cluster/inter-broker.ts): over the inter-broker listener
 * `l`, with its protocol. TLS (SSL, SASL_SSL): the listener's truststore is trusted (Node's CAs without
 * one), its keystore presented when a peer asks for a client certificate, and the peer's host checked
 * against its certificate unless `ssl.endpoint.identification.algorithm` is empty (Kafka's default: https).
 * SASL (SASL_PLAINTEXT, SASL_SSL): `sasl.mechanism.inter.broker.protocol` (default the listener's first
 * enabled mechanism; it must be enabled there) as the user of
 * `listener.name.<l>.<mechanism>.sasl.jaas.config` (Kafka's way) or of `inter.broker.sasl.username` with the
 * password in the first line of `inter.broker.sasl.password.file`. Checked now (ConfigError); files are read
 * again at each connection.
 */
export function interBrokerSecurity(props: Record<string, string>, l: Listener): InterBrokerSecurity {
  let tls: (() => TlsConnectionOptions) | null = null;
  if (usesTls(l)) {
    const algorithm = (rawListenerProp(props, l.name, 'ssl.endpoint.identification.algorithm') ?? 'https').trim();
    if (algorithm !== '' && algorithm.toLowerCase() !== 'https') {
      throw new ConfigError(
        `ssl.endpoint.identification.algorithm ${JSON.stringify(algorithm)} is not supported: use https or leave it empty`,
      );
    }
    tls = () => {
      const o = listenerTls(props, l.name).options;
      const c: TlsConnectionOptions = {
        key: o.key,
        cert: o.cert,
        pfx: o.pfx,
        passphrase: o.passphrase,
        ca: o.ca,
        minVersion: o.minVersion,
        maxVersion: o.maxVersion,
        ciphers: o.ciphers,
        rejectUnauthorized: true,
      };
      if (algorithm === '') c.checkServerIdentity = () => undefined;
      return c;
    };
  }
  let sasl: (() => NonNullable<ConnectionOptions['sasl']>) | null = null;
  let as = '';
  if (l.protocol === 'SASL_PLAINTEXT' || l.protocol === 'SASL_SSL') {
    const enabled = (listenerProp(props, l.name, 'sasl.enabled.mechanisms') ?? 'SCRAM-SHA-256,SCRAM-SHA-512')
      .split(',')
      .map((m) => m.trim().toUpperCase())
      .filter((m) => m !== '');
    const mechanism = (props['sasl.mechanism.inter.broker.protocol'] ?? '').trim().toUpperCase() || enabled[0] || '';
    if (!CLIENT_MECHANISMS.includes(mechanism)) {
      throw new ConfigError(
        `sasl.mechanism.inter.broker.protocol ${mechanism || '(empty)'} is not supported: use ${CLIENT_MECHANISMS.join(', ')}`,
      );
    }
    if (!enabled.includes(mechanism)) {
      throw new ConfigError(
        `sasl.mechanism.inter.broker.protocol ${mechanism} is not in sasl.enabled.mechanisms of the inter-broker ` +
          `listener ${l.name} (${enabled.join(',')})`,
      );
    }
    const jaasKey = `listener.name.${l.name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
    const jaas = props[jaasKey];
    const user = props['inter.broker.sasl.username']?.trim() ?? '';
    const passwordFile = props['inter.broker.sasl.password.file']?.trim() ?? '';
    const m = mechanism as InterBrokerMechanism;
    if (jaas !== undefined && jaas.trim() !== '') {
      if (user !== '' || passwordFile !== '') {
        throw new ConfigError(`give either ${jaasKey} or inter.broker.sasl.username/password.file, not both`);
      }
      const creds = jaasCredentials(jaas, jaasKey);
      sasl = () => ({ mechanism: m, ...creds });
      as = creds.user;
    } else {
      if (user === '' || passwordFile === '') {
        throw new ConfigError(
          `the inter-broker listener ${l.name} is ${l.protocol}: give this node's login as inter.broker.sasl.username ` +
            `and inter.broker.sasl.password.file (a file whose first line is the password), or as ${jaasKey}`,
        );
      }
      readPasswordFile(passwordFile, 'inter.broker.sasl.password.file');
      sasl = () => ({
        mechanism: m,
        user,
        password: readPasswordFile(passwordFile, 'inter.broker.sasl.password.file'),
      });
      as = user;
    }
    as = ` as ${as} (${mechanism})`;
  }
  if (tls !== null) tls(); // certificates readable now, or the start stops with a ConfigError
  const makeTls = tls;
  const makeSasl = sasl;
  return {
    listener: l.name,
    describe: `${l.protocol}${as}`,
    connectOptions: () => ({
      ...(makeTls === null ? {} : { tls: makeTls() }),
      ...(makeSasl === null ? {} : { sasl: makeSasl() }),
    }),
  };
}
