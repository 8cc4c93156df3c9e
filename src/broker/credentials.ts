/**
 * SCRAM credentials in the metadata store (etcd in a cluster, so every node knows every user): one document
 * per user under `users/<name>`, the salt, stored key, server key and iterations per mechanism — never the
 * password nor the salted password. Read at each login (a user made on one node logs in on the others at
 * once); changed by compare-and-set (AlterUserScramCredentials, `serve --bootstrap-user`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../cluster/metadata-store.js';
import {
  credentialFromSalted,
  h,
  hmac,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  saltedPassword,
  xor,
} from '../protocol/scram.js';

interface StoredCredential {
  salt: string;
  storedKey: string;
  serverKey: string;
  iterations: number;
}

type UserDoc = Partial<Record<ScramMechanism, StoredCredential>>;

const PREFIX = 'users/';
/** Iterations of the credentials `serve --bootstrap-user` makes (Kafka's kafka-configs default). */
export const DEFAULT_ITERATIONS = 4096;

function keyOf(user: string): string {
  return `${PREFIX}${encodeURIComponent(user)}`;
}

function decode(c: StoredCredential): ScramCredential {
  return {
    salt: Buffer.from(c.salt, 'base64'),
    storedKey: Buffer.from(c.storedKey, 'base64'),
    serverKey: Buffer.from(c.serverKey, 'base64'),
    iterations: c.iterations,
  };
}

function encode(c: ScramCredential): StoredCredential {
  return {
    salt: c.salt.toString('base64'),
    storedKey: c.storedKey.toString('base64'),
    serverKey: c.serverKey.toString('base64'),
    iterations: c.iterations,
  };
}

export class Credentials {
  constructor(private readonly store: MetadataStore) {}

  async scram(user: string, m: ScramMechanism): Promise<ScramCredential | null> {
    const kv = await this.store.get(keyOf(user));
    if (!kv) return null;
    const c = (JSON.parse(kv.value) as UserDoc)[m];
    return c ? decode(c) : null;
  }

  /** Every user and the mechanisms (with iterations) it has credentials for. */
  async list(): Promise<Map<string, { mechanism: ScramMechanism; iterations: number }[]>> {
    const out = new Map<string, { mechanism: ScramMechanism; iterations: number }[]>();
    for (const kv of await this.store.list(PREFIX)) {
      if (!kv.key.startsWith(PREFIX)) continue;
      const doc = JSON.parse(kv.value) as UserDoc;
      const mechs = SCRAM_MECHANISMS.filter((m) => doc[m]).map((m) => ({
        mechanism: m,
        iterations: (doc[m] as StoredCredential).iterations,
      }));
      if (mechs.length > 0) out.set(decodeURIComponent(kv.key.slice(PREFIX.length)), mechs);
    }
    return out;
  }

  /** Apply `change` to a user's document by compare-and-set (retried on a concurrent write). */
  async update(user: string, change: (doc: UserDoc) => UserDoc): Promise<void> {
    const key = keyOf(user);
    for (;;) {
      const kv = await this.store.get(key);
      const next = change(kv ? (JSON.parse(kv.value) as UserDoc) : {});
      if (SCRAM_MECHANISMS.every((m) => !next[m])) {
        if (kv) await this.store.delete(key);
        return;
      }
      if (await this.store.compareAndSet(key, JSON.stringify(next), kv?.modRevision ?? 0)) return;
    }
  }

  upsert(user: string, m: ScramMechanism, c: ScramCredential): Promise<void> {
    return this.update(user, (doc) => ({ ...doc, [m]: encode(c) }));
  }

  remove(user: string, m: ScramMechanism): Promise<void> {
    return this.update(user, (doc) => {
      const next = { ...doc };
      delete next[m];
      return next;
    });
  }

  /** SCRAM-SHA-256 and SCRAM-SHA-512 credentials from a password, made here (serve --bootstrap-user). */
  async createFromPassword(user: string, password: string, iterations = DEFAULT_ITERATIONS): Promise<void> {
    for (const m of SCRAM_MECHANISMS) {
      const salt = randomBytes(32);
      const salted = await saltedPassword(m, password, salt, iterations);
      await this.upsert(user, m, credentialFromSalted(m, salted, salt, iterations));
    }
  }

  /** SASL PLAIN: the password checked against the user's SCRAM credential (SHA-512 first). */
  async checkPassword(user: string, password: string): Promise<boolean> {
    for (const m of ['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const) {
      const c = await this.scram(user, m);
      if (!c) continue;
      const salted = await saltedPassword(m, password, c.salt, c.iterations);
      const storedKey = h(m, hmac(m, salted, 'Client Key'));
      return timingSafeEqual(storedKey, c.storedKey);
    }
    return false;
  }
}

/** Check a SCRAM client proof: H(proof XOR HMAC(StoredKey, AuthMessage)) must be the stored key. */
export function proofValid(m: ScramMechanism, c: ScramCredential, authMessage: string, proof: Buffer): boolean {
  const signature = hmac(m, c.storedKey, authMessage);
  if (proof.length !== signature.length) return false;
  return timingSafeEqual(h(m, xor(proof, signature)), c.storedKey);
}
