/**
 * How a node reaches the other nodes of its cluster (Kafka's inter-broker client): over its
 * `inter.broker.listener.name`, at each peer's address on that listener, with the listener's security
 * protocol — TLS trusting the listener's truststore and presenting its keystore, SASL with
 * `sasl.mechanism.inter.broker.protocol` and the node's own credentials. Every broker-to-broker connection
 * (the replica fetchers) is opened here. The options are built by the broker (src/broker/listeners.ts) and
 * read their files at each new connection, so a renewed certificate or a changed password file is used
 * without a restart.
 */
import { Connection, type ConnectionOptions } from '../client/connection.js';
import { NetworkError } from '../client/errors.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { BrokerInfo } from './cluster.js';

export interface InterBrokerSecurity {
  /** The inter-broker listener's name: a peer is reached at its advertised address on that listener. */
  readonly listener: string;
  /** For logs (never a secret): e.g. `SASL_SSL as broker (SCRAM-SHA-512)`. */
  readonly describe: string;
  /** TLS and SASL options for a new connection (certificate and password files read now; may throw). */
  connectOptions(): Pick<ConnectionOptions, 'tls' | 'sasl'>;
}

/** A cluster of plaintext inter-broker listeners (and a node alone, which connects to nobody). */
export const PLAINTEXT_INTER_BROKER: InterBrokerSecurity = {
  listener: 'PLAINTEXT',
  describe: 'PLAINTEXT',
  connectOptions: () => ({}),
};

/**
 * Where to reach a peer: its address on the inter-broker listener; a peer registered without that listener
 * (an older node) at its registered address, which is its own inter-broker listener's.
 */
export function peerAddress(b: BrokerInfo, listener: string): { host: string; port: number } {
  return b.listeners?.[listener] ?? { host: b.host, port: b.port };
}

/** A connection to a peer over the inter-broker listener, logged in (SASL) when the listener asks for it. */
export function connectToBroker(
  b: BrokerInfo,
  security: InterBrokerSecurity,
  opts: Pick<ConnectionOptions, 'clientId' | 'connectTimeoutMs' | 'requestTimeoutMs'>,
): Promise<Connection> {
  const { host, port } = peerAddress(b, security.listener);
  let secured: Pick<ConnectionOptions, 'tls' | 'sasl'>;
  try {
    secured = security.connectOptions();
  } catch (e) {
    return Promise.reject(new InterBrokerSetupError((e as Error).message));
  }
  return Connection.connect({ ...opts, ...secured, host, port, nodeId: b.nodeId });
}

/** The inter-broker TLS or SASL settings could not be read (a certificate or password file gone, …). */
export class InterBrokerSetupError extends Error {
  override name = 'InterBrokerSetupError';
}

/**
 * Whether a failed connect is the security setup's fault (a refused login, a certificate that does not
 * verify, a TLS handshake the peer refused) rather than a peer that is away: those are logged as warnings,
 * since they do not go away by retrying.
 */
export function isSecurityFailure(e: unknown): boolean {
  if (e instanceof InterBrokerSetupError) return true;
  if (e instanceof NetworkError) {
    const cause = e.cause;
    const code = cause instanceof Error ? String((cause as NodeJS.ErrnoException).code ?? '') : '';
    return /^ERR_(SSL|TLS)_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME/.test(code);
  }
  if (!(e instanceof KafkaError)) return false;
  return (
    e.code === ErrorCode.SASL_AUTHENTICATION_FAILED ||
    e.code === ErrorCode.UNSUPPORTED_SASL_MECHANISM ||
    e.code === ErrorCode.ILLEGAL_SASL_STATE
  );
}
