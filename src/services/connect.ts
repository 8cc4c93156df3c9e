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
  /** TLS and SASL (src/cli/security.ts). */
  tls?: ClusterOptions['tls'];
  sasl?: ClusterOptions['sasl'];
}

/** Options for any client (Admin, Producer, Consumer) from the CLI's connection settings. */
export function clusterOptions(c: ConnectOptions): ClusterOptions {
  return {
    brokers: c.brokers,
    clientId: 'kstream-cli',
    connectTimeoutMs: c.timeoutMs,
    requestTimeoutMs: c.timeoutMs,
    // Retriable errors (a leader or coordinator failing over: a broker restarting, killed, its lease expiring)
    // are retried for half the timeout, so a command rides out a failover and still reports the last error
    // itself before withDeadline's "no answer" cuts it off.
    retry: { retries: 3, initialBackoffMs: 100, maxBackoffMs: 1000, timeoutMs: Math.floor(c.timeoutMs / 2) },
    // Offsets by time / earliest / latest need no leader epoch (ListOffsets v4+ adds it for fencing); v3 also
    // reads librdkafka's mock cluster, whose v4+ answers carry an 8-byte epoch (Kafka's is 4 bytes) that shifts
    // every partition after the first. The same cap as kstream top (src/tui/run.tsx).
    maxVersions: { [ApiKey.ListOffsets]: 3 },
    tls: c.tls,
    sasl: c.sasl,
  };
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
