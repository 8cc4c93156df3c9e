/**
 * The server side of a SASL exchange on one connection: PLAIN (RFC 4616) and SCRAM-SHA-256 / SCRAM-SHA-512
 * (RFC 5802, RFC 7677), checked against the credentials in the metadata store (credentials.ts). A failed
 * step throws SaslFailure with the message the client gets; the handler (handlers/sasl.ts) answers it with
 * SASL_AUTHENTICATION_FAILED after connection.failed.authentication.delay.ms and closes the connection.
 * Nothing here logs a token: they carry passwords (PLAIN) or proofs (SCRAM).
 *
 * PLAIN also has a file of users of its own (Kafka has none built in: its PLAIN users live in the JAAS config):
 * `sasl.plain.users.file`, lines `NAME:HASH` with a salted scrypt hash made by `kstream user hash` (PlainUsersFile
 * below). A user in the file is checked against it alone; any other user against the store.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  decodeSaslName,
  hmac,
  nonce,
  parseAttributes,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
} from '../protocol/scram.js';
import type { Logger } from '../util/logger.js';
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
    /** sasl.plain.users.file, checked before the store for PLAIN logins. */
    private readonly plainUsers: PlainUsersFile | null = null,
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
    const inFile = this.plainUsers === null ? null : await this.plainUsers.check(user, password);
    if (!(inFile ?? (await this.credentials.checkPassword(user, password)))) throw fail(INVALID);
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

// ---------------------------------------------------------------------------------------------------------
// sasl.plain.users.file

/** scrypt's cost of new hashes: N = 2^14, r 8, p 1 (16 MiB, tens of ms: once per PLAIN login). */
const SCRYPT_DEFAULTS = { ln: 14, r: 8, p: 1 };
const HASH_BYTES = 32;

interface PlainHash {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function b64(b: Buffer): string {
  return b.toString('base64').replace(/=+$/, '');
}

function scryptAsync(password: string, salt: Buffer, h: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** h.ln;
  return new Promise((res, rej) =>
    scrypt(password, salt, HASH_BYTES, { N, r: h.r, p: h.p, maxmem: 256 * N * h.r + 1024 * 1024 }, (e, key) =>
      e ? rej(e) : res(key),
    ),
  );
}

/**
 * A salted hash of a PLAIN password for sasl.plain.users.file, in the PHC string form:
 * `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (base64 without padding).
 */
export async function hashPlainPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT_DEFAULTS);
  const { ln, r, p } = SCRYPT_DEFAULTS;
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}

/** A hash as hashPlainPassword writes it, with bounded costs (a typo must not make a login take minutes); null: not one. */
function parsePlainHash(text: string): PlainHash | null {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(text);
  if (!m) return null;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(m[4] as string, 'base64');
  const hash = Buffer.from(m[5] as string, 'base64');
  if (salt.length < 8 || hash.length < 16) return null;
  return { ln, r, p, salt, hash };
}

/**
 * The users of a sasl.plain.users.file: one `NAME:HASH` a line (the name may hold ':', the hash holds none),
 * blank lines and `#` comments skipped. Errors name the line, never its text (it could be a password).
 */
export function parsePlainUsers(text: string, source: string): Map<string, PlainHash> {
  const users = new Map<string, PlainHash>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(':');
    const name = at > 0 ? line.slice(0, at) : '';
    const hash = at > 0 ? parsePlainHash(line.slice(at + 1)) : null;
    if (name === '' || hash === null)
      throw new ConfigError(`${source} line ${i + 1}: expected NAME:HASH with a hash made by kstream user hash`);
    if (users.has(name)) throw new ConfigError(`${source} line ${i + 1}: user ${name} is listed twice`);
    users.set(name, hash);
  }
  return users;
}

/**
 * sasl.plain.users.file: read at start (a file that does not load stops the start), read again when it changed
 * (its size, modification or change time, or inode: checked at each PLAIN login), so users are added, removed
 * or given new passwords without a restart. A change that does not load is logged and the users last read are
 * kept (empty the file to remove every user).
 */
export class PlainUsersFile {
  private users: Map<string, PlainHash>;
  private stamp: string;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.stamp = this.stat();
    this.users = parsePlainUsers(this.read(), `sasl.plain.users.file ${path}`);
    log.info('PLAIN users file loaded', { file: path, users: this.users.size });
  }

  /** Whether `password` is `user`'s; null when the file has no such user (the store decides then). */
  async check(user: string, password: string): Promise<boolean | null> {
    this.reloadIfChanged();
    const h = this.users.get(user);
    if (h === undefined) return null;
    const key = await scryptAsync(password, h.salt, h);
    return key.length === h.hash.length && timingSafeEqual(key, h.hash);
  }

  get size(): number {
    return this.users.size;
  }

  private stat(): string {
    try {
      const s = statSync(this.path);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (e) {
      return `missing:${(e as NodeJS.ErrnoException).code}`;
    }
  }

  private read(): string {
    try {
      return readFileSync(this.path, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `sasl.plain.users.file ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }

  private reloadIfChanged(): void {
    const stamp = this.stat();
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.users = parsePlainUsers(this.read(), `sasl.plain.users.file ${this.path}`);
      this.log.info('PLAIN users file reloaded', { file: this.path, users: this.users.size });
    } catch (e) {
      this.log.warn('PLAIN users file not reloaded; the users last read are kept', {
        file: this.path,
        error: (e as Error).message,
        users: this.users.size,
      });
    }
  }
}

/** The sasl.plain.users.file of the config, loaded; null without one. */
export function plainUsersFromConfig(props: Record<string, string>, log: Logger): PlainUsersFile | null {
  const path = (props['sasl.plain.users.file'] ?? '').trim();
  return path === '' ? null : new PlainUsersFile(path, log);
}
