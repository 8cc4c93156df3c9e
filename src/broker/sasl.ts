/**
 * The server side of a SASL exchange on one connection: PLAIN (RFC 4616) and SCRAM-SHA-256 / SCRAM-SHA-512
 * (RFC 5802, RFC 7677), checked against the credentials in the metadata store (credentials.ts). A failed
 * step throws SaslFailure with the message the client gets; the handler (handlers/sasl.ts) answers it with
 * SASL_AUTHENTICATION_FAILED after connection.failed.authentication.delay.ms and closes the connection.
 * Nothing here logs a token: they carry passwords (PLAIN) or proofs (SCRAM).
 */
import {
  decodeSaslName,
  hmac,
  nonce,
  parseAttributes,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
} from '../protocol/scram.js';
import { ConfigError } from './config.js';
import { type Credentials, proofValid } from './credentials.js';

export type SaslMechanism = 'PLAIN' | ScramMechanism;
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', ...SCRAM_MECHANISMS];

export class SaslFailure extends Error {
  /** For the broker's log (never a password): the user name the client gave, if any. */
  user: string | null = null;
}

export interface SaslStep {
  /** The server's next message (empty when there is none). */
  challenge: Buffer;
  /** Set when the client is authenticated: its user name. */
  user: string | null;
}

/** The one message for an unknown user and a wrong password alike (nothing to tell users apart). */
const INVALID = 'Authentication failed: Invalid username or password';

export class SaslServer {
  private state: 'start' | 'final' | 'done' = 'start';
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private fullNonce = '';
  private user = '';
  private credential: ScramCredential | null = null;

  constructor(
    readonly mechanism: SaslMechanism,
    private readonly credentials: Credentials,
  ) {}

  async step(token: Buffer): Promise<SaslStep> {
    if (this.state === 'done') throw new SaslFailure('Authentication already completed on this exchange');
    if (this.mechanism === 'PLAIN') return this.plain(token);
    return this.state === 'start' ? this.scramFirst(token) : this.scramFinal(token);
  }

  private async plain(token: Buffer): Promise<SaslStep> {
    this.state = 'done';
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) throw new SaslFailure('Invalid SASL/PLAIN message: expected authzid NUL user NUL password');
    const [authzid, user, password] = parts as [string, string, string];
    const fail = (msg: string) => {
      const f = new SaslFailure(msg);
      f.user = user;
      return f;
    };
    if (user === '') throw fail('Authentication failed: username not specified');
    if (password === '') throw fail('Authentication failed: password not specified');
    if (authzid !== '' && authzid !== user) {
      throw fail('Authentication failed: Client requested an authorization id that is different from username');
    }
    if (!(await this.credentials.checkPassword(user, password))) throw fail(INVALID);
    return { challenge: Buffer.alloc(0), user };
  }

  private async scramFirst(token: Buffer): Promise<SaslStep> {
    const m = this.mechanism as ScramMechanism;
    const text = token.toString('utf8');
    // gs2-header: n (no channel binding) or y (client supports it, server does not), optional a=authzid.
    const gs2 = /^([ny]),(a=[^,]*)?,/.exec(text);
    if (!gs2) {
      this.state = 'done';
      throw new SaslFailure(
        text.startsWith('p=') ? 'Channel binding is not supported' : 'Invalid SCRAM client-first message',
      );
    }
    this.gs2Header = gs2[0];
    this.clientFirstBare = text.slice(gs2[0].length);
    const attrs = parseAttributes(this.clientFirstBare);
    const user = attrs ? decodeSaslName(attrs.get('n') ?? '') : null;
    const clientNonce = attrs?.get('r');
    if (!attrs || attrs.has('m') || !user || !clientNonce) {
      this.state = 'done';
      throw new SaslFailure('Invalid SCRAM client-first message');
    }
    const authzid = gs2[2] ? decodeSaslName(gs2[2].slice(2)) : '';
    this.user = user;
    if (authzid !== '' && authzid !== user) {
      this.state = 'done';
      const f = new SaslFailure('Authentication failed: authorization id differs from the user name');
      f.user = user;
      throw f;
    }
    const credential = await this.credentials.scram(user, m);
    if (credential === null) {
      this.state = 'done';
      const f = new SaslFailure(INVALID);
      f.user = user;
      throw f;
    }
    this.credential = credential;
    this.fullNonce = clientNonce + nonce();
    this.serverFirst = `r=${this.fullNonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = 'final';
    return { challenge: Buffer.from(this.serverFirst, 'utf8'), user: null };
  }

  private async scramFinal(token: Buffer): Promise<SaslStep> {
    this.state = 'done';
    const m = this.mechanism as ScramMechanism;
    const fail = (msg: string) => {
      const f = new SaslFailure(msg);
      f.user = this.user;
      return f;
    };
    const text = token.toString('utf8');
    const at = text.lastIndexOf(',p=');
    const attrs = parseAttributes(text);
    if (at < 0 || !attrs || !attrs.has('c') || !attrs.has('r') || !attrs.has('p')) {
      throw fail('Invalid SCRAM client-final message');
    }
    if (attrs.get('c') !== Buffer.from(this.gs2Header, 'utf8').toString('base64')) {
      throw fail('Invalid SCRAM client-final message: channel binding differs from the client-first message');
    }
    // A client-final message from another exchange (replayed) carries another server nonce. `endsWith`, as
    // Kafka checks it: librdkafka sends its own nonce in front of the combined one.
    if (!(attrs.get('r') as string).endsWith(this.fullNonce)) {
      throw fail('Invalid SCRAM client-final message: nonce mismatch');
    }
    const withoutProof = text.slice(0, at);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const proof = Buffer.from(attrs.get('p') as string, 'base64');
    const c = this.credential as ScramCredential;
    if (!proofValid(m, c, authMessage, proof)) throw fail(INVALID);
    const signature = hmac(m, c.serverKey, authMessage).toString('base64');
    return { challenge: Buffer.from(`v=${signature}`, 'utf8'), user: this.user };
  }
}

/** sasl.enabled.mechanisms of a listener, checked (Kafka's default GSSAPI is not served here). */
export function enabledMechanisms(text: string): SaslMechanism[] {
  const out: SaslMechanism[] = [];
  for (const raw of text.split(',')) {
    const m = raw.trim().toUpperCase();
    if (m === '') continue;
    if (!SASL_MECHANISMS.includes(m as SaslMechanism)) {
      throw new ConfigError(`sasl.enabled.mechanisms: ${m} is not supported (${SASL_MECHANISMS.join(', ')} are)`);
    }
    out.push(m as SaslMechanism);
  }
  return out;
}
