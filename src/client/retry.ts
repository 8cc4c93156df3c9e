/**
 * Retries with exponential backoff and jitter, for retriable Kafka errors (see errors.isRetriable). The delays
 * are those of the project's one backoff policy (src/util/backoff.ts: capped doubling, equal jitter), in the
 * client's option names.
 */
import { backoffDelay } from '../util/backoff.js';
import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first. Default 5. */
  retries?: number;
  /**
   * Retriable failures of one operation (an admin call, a coordinator lookup, an offsets lookup) are retried
   * for at least this long, beyond `retries` (Kafka's default.api.timeout.ms): a leader or coordinator failing
   * over takes seconds (a broker's lease, an election). Default 0 (only `retries` counts).
   */
  timeoutMs?: number;
  /** First backoff. Default 100 ms. */
  initialBackoffMs?: number;
  /** Largest backoff. Default 1,000 ms. */
  maxBackoffMs?: number;
}

/** A sleep that keeps the process alive (a client waiting to retry is work still to do). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Backoff before attempt `attempt` (1-based): initial * 2^(attempt-1), capped at the maximum, drawn at random
 * from the upper half of that (util/backoff.ts's equal jitter), so clients that lost a broker together do not
 * retry in lock-step.
 */
export function backoff(attempt: number, opts: RetryOptions = {}): number {
  return backoffDelay(Math.max(0, attempt - 1), {
    initialMs: opts.initialBackoffMs ?? 100,
    maxMs: opts.maxBackoffMs ?? 1000,
  });
}

/** Whether an operation started at `started` may retry after its attempt number `attempt` (0-based) failed. */
export function mayRetry(attempt: number, started: number, opts: RetryOptions = {}): boolean {
  return attempt < (opts.retries ?? 5) || Date.now() - started < (opts.timeoutMs ?? 0);
}

/**
 * Run `fn` until it succeeds, a non-retriable error is thrown, or the retries are used up (the last error is
 * thrown). `onRetry` runs before each backoff, e.g. to mark metadata stale.
 */
export async function withRetries<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
  onRetry?: (err: unknown, attempt: number) => void | Promise<void>,
  retriable: (e: unknown) => boolean = isRetriable,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!mayRetry(attempt, started, opts) || !retriable(e)) throw e;
      await onRetry?.(e, attempt + 1);
      await sleep(backoff(attempt + 1, opts));
    }
  }
}
