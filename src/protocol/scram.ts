/**
 * SCRAM (RFC 5802, RFC 7677) primitives for SCRAM-SHA-256 and SCRAM-SHA-512, the two mechanisms Kafka has:
 * the salted password (PBKDF2), the client and server keys, and the messages' attribute syntax. Used by the
 * broker (verifying) and the client (proving). Kafka's mechanism numbers (DescribeUserScramCredentials,
 * AlterUserScramCredentials): 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.
 */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Kafka's int8 for each mechanism (KIP-554). */
export const SCRAM_MECHANISM_ID: Record<ScramMechanism, number> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };
export function scramMechanismOf(id: number): ScramMechanism | null {
  return id === 1 ? 'SCRAM-SHA-256' : id === 2 ? 'SCRAM-SHA-512' : null;
}

/** Kafka's bounds for iterations of a stored credential. */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;

export function hashOf(m: ScramMechanism): 'sha256' | 'sha512' {
  return m === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

export function saltedPassword(m: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const hash = hashOf(m);
  const len = hash === 'sha256' ? 32 : 64;
  return new Promise((res, rej) =>
    pbkdf2(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, len, hash, (e, k) =>
      e ? rej(e) : res(k),
    ),
  );
}

export function hmac(m: ScramMechanism, key: Buffer, text: string | Buffer): Buffer {
  return createHmac(hashOf(m), key).update(text).digest();
}

export function h(m: ScramMechanism, data: Buffer): Buffer {
  return createHash(hashOf(m)).update(data).digest();
}

/** What a server stores for a user: never the password nor the salted password. */
export interface ScramCredential {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
  iterations: number;
}

export function credentialFromSalted(
  m: ScramMechanism,
  salted: Buffer,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  const clientKey = hmac(m, salted, 'Client Key');
  return { salt, storedKey: h(m, clientKey), serverKey: hmac(m, salted, 'Server Key'), iterations };
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

export function nonce(): string {
  return randomBytes(24).toString('base64');
}

/** `a=1,b=2` → {a: '1', b: '2'}; null when malformed (an attribute without `x=`). */
export function parseAttributes(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) return null;
    out.set(m[1] as string, m[2] as string);
  }
  return out;
}

/** saslname (RFC 5802): `=2C` is `,` and `=3D` is `=`; any other `=` is an error (null). */
export function decodeSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

export function encodeSaslName(s: string): string {
  return s.replace(/=/g, '=3D').replace(/,/g, '=2C');
}
