/**
 * Clients for the CLI services, configured from a bootstrap list and one timeout: connecting and every
 * request are bounded by it, and a failure becomes one readable line (no error-code prefix).
 */

import { detailOf } from '../client/errors.js';
import { Admin, type ClusterOptions } from '../client/index.js';
import { ApiKey } from '../protocol/messages/index.js';

export interface ConnectOptions {
  brokers: string;
  /** Connect and request timeout, ms. */
  timeoutMs: number;
}

/** Options for any client (Admin, Producer, Consumer) from the CLI's connection settings. */
export function clusterOptions(c: ConnectOptions): ClusterOptions {
  return {
    brokers: c.brokers,
    clientId: 'kstream-cli',
    connectTimeoutMs: c.timeoutMs,
    requestTimeoutMs: c.timeoutMs,
    retry: { retries: 3, initialBackoffMs: 100, maxBackoffMs: 1000 },
    maxVersions: maxVersionsFromEnv(),
  };
}

/**
 * `KSTREAM_MAX_VERSIONS=ListOffsets=3,Fetch=11`: never use an API above that version, whatever the broker
 * offers. An escape hatch for brokers that advertise a version they encode wrongly, like librdkafka 2.0's mock
 * cluster (ListOffsets v4+ answers carry an 8-byte leader epoch where Kafka's is 4 bytes), in the spirit of
 * librdkafka's `broker.version.fallback`. Unset: the highest version both sides support.
 */
export function maxVersionsFromEnv(text = process.env.KSTREAM_MAX_VERSIONS): Record<number, number> {
  const out: Record<number, number> = {};
  for (const item of (text ?? '').split(',')) {
    if (item.trim() === '') continue;
    const m = /^\s*(\w+)\s*=\s*(\d+)\s*$/.exec(item);
    const key = m ? (Object.hasOwn(ApiKey, m[1]!) ? ApiKey[m[1] as keyof typeof ApiKey] : Number(m[1])) : Number.NaN;
    if (!m || !Number.isInteger(key))
      throw new Error(
        `invalid KSTREAM_MAX_VERSIONS item "${item.trim()}": expected ApiName=version, e.g. ListOffsets=3`,
      );
    out[key] = Number(m[2]);
  }
  return out;
}

/**
 * Run `fn` with a connected Admin, closed afterwards. The whole of it is bounded by the timeout: past it the
 * admin is closed and a "no answer" error thrown, so an unreachable or stuck broker never hangs the CLI.
 */
export async function withAdmin<T>(c: ConnectOptions, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clusterOptions(c));
  try {
    return await withDeadline(
      admin.connect().then(() => fn(admin)),
      c.timeoutMs,
      () => `no answer from ${c.brokers} within ${formatMs(c.timeoutMs)} (is a broker running there?)`,
    );
  } finally {
    await admin.close().catch(() => {});
  }
}

/** `work`, or an Error with `message()` once `ms` have passed (the timer does not keep the process alive). */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** An error's message without the Kafka error-name prefix, for a row's STATUS or a one-line failure. */
export function errorText(e: unknown): string {
  return detailOf(e);
}
