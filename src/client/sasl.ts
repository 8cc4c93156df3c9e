/**
 * The client side of SASL: PLAIN (RFC 4616) and SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802): the tokens a client
 * sends in SaslAuthenticate requests, and the check of the server's final message (a server that does not
 * know the password cannot forge it).
 */
import {
  encodeSaslName,
  h,
  hmac,
  nonce,
  parseAttributes,
  type ScramMechanism,
  saltedPassword,
  xor,
} from '../protocol/scram.js';

export function plainToken(user: string, password: string): Buffer {
  return Buffer.from(`\u0000${user}\u0000${password}`, 'utf8');
}

export class ScramClient {
  private readonly clientNonce = nonce();
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    user: string,
    private readonly password: string,
  ) {
    this.clientFirstBare = `n=${encodeSaslName(user)},r=${this.clientNonce}`;
  }

  first(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** The client-final message for the server-first message; throws when the server's message is not valid. */
  async final(serverFirst: Buffer): Promise<Buffer> {
    const text = serverFirst.toString('utf8');
    const a = parseAttributes(text);
    const r = a?.get('r');
    const s = a?.get('s');
    const i = Number(a?.get('i'));
    if (!a || !r || !s || !Number.isInteger(i) || i < 1) throw new Error('invalid SCRAM server-first message');
    if (!r.startsWith(this.clientNonce)) throw new Error('SCRAM server nonce does not extend the client nonce');
    const m = this.mechanism;
    const salted = await saltedPassword(m, this.password, Buffer.from(s, 'base64'), i);
    const clientKey = hmac(m, salted, 'Client Key');
    const withoutProof = `c=biws,r=${r}`;
    const authMessage = `${this.clientFirstBare},${text},${withoutProof}`;
    const proof = xor(clientKey, hmac(m, h(m, clientKey), authMessage));
    this.serverSignature = hmac(m, hmac(m, salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Whether the server-final message proves the server knows the credential. */
  verify(serverFinal: Buffer): boolean {
    const a = parseAttributes(serverFinal.toString('utf8'));
    const v = a?.get('v');
    return v !== undefined && this.serverSignature !== null && Buffer.from(v, 'base64').equals(this.serverSignature);
  }
}
