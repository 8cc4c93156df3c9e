/**
 * Capped exponential backoff with jitter: the one retry policy of every loop that retries something that
 * may be away for a while (etcd above all). The delay doubles from `initialMs` up to `maxMs`, and each delay
 * is drawn at random from its upper half ("equal jitter"), so nodes that lost etcd together do not retry in
 * lock-step. A loop logs the first failure of a run (warn) and its end (info), never every attempt: an outage
 * of any length costs two log lines per loop.
 *
 *   const backoff = new Backoff({ maxMs: 2000 });
 *   try { await work(); backoff.succeeded(log, 'registration'); }
 *   catch (e) { setTimeout(again, backoff.failed(log, 'registration', e)); }
 */
import type { Logger } from './logger.js';

export interface BackoffOptions {
  /** Delay after the first failure (before jitter); default 100 ms. */
  initialMs?: number;
  /** Upper bound of any delay; default 2000 ms. */
  maxMs?: number;
  /** Growth per failure; default 2. */
  factor?: number;
  /** Part of each delay taken off at random (0: none, 1: anywhere in [0, delay]); default 0.5. */
  jitter?: number;
}

const DEFAULTS: Required<BackoffOptions> = { initialMs: 100, maxMs: 2000, factor: 2, jitter: 0.5 };

/** The delay before retry number `attempt` (0 after the first failure), jittered with `random()` in [0, 1). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULTS, ...opts };
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** Math.min(attempt, 64));
  return Math.round(base * (1 - o.jitter * random()));
}

export class Backoff {
  private failures = 0;
  private since = 0;

  constructor(
    readonly options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {}

  /** Failed attempts since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** Count a failed attempt; the delay to wait before the next one. */
  next(): number {
    if (this.failures === 0) this.since = Date.now();
    return backoffDelay(this.failures++, this.options, this.random);
  }

  /** After a success: start again from the initial delay. Returns how many attempts had failed before. */
  reset(): number {
    const n = this.failures;
    this.failures = 0;
    return n;
  }

  /**
   * A failed attempt of `what`: logged (warn) only if it is the first of a run, with the bounds of the
   * backoff; the delay to wait before the next attempt.
   */
  failed(log: Logger, what: string, error: unknown, fields: Record<string, unknown> = {}): number {
    if (this.failures === 0) {
      log.warn(`${what} failed; retrying with backoff`, { ...fields, error, maxDelayMs: this.maxMs });
    } else log.debug(`${what} failed again`, { ...fields, error, attempt: this.failures + 1 });
    return this.next();
  }

  /** A success of `what`: logged (info) only if attempts had failed before it. */
  succeeded(log: Logger, what: string, fields: Record<string, unknown> = {}): void {
    const failedFor = Date.now() - this.since;
    const n = this.reset();
    if (n > 0) log.info(`${what} works again`, { ...fields, failedAttempts: n, failedForMs: failedFor });
  }

  get maxMs(): number {
    return this.options.maxMs ?? DEFAULTS.maxMs;
  }
}

/** Resolve after `ms`, without keeping the process alive for it. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
