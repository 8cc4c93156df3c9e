/**
 * Retries with exponential backoff and jitter, for retriable Kafka errors (see errors.isRetriable).
 */
import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first. Default 5. */
  retries?: number;
  /** First backoff. Default 100 ms. */
  initialBackoffMs?: number;
  /** Largest backoff. Default 1,000 ms. */
  maxBackoffMs?: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Backoff before attempt `attempt` (1-based): initial * 2^(attempt-1), capped, with ±20% jitter. */
export function backoff(attempt: number, opts: RetryOptions = {}): number {
  const initial = opts.initialBackoffMs ?? 100;
  const max = opts.maxBackoffMs ?? 1000;
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
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
  const retries = opts.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= retries || !retriable(e)) throw e;
      await onRetry?.(e, attempt + 1);
      await sleep(backoff(attempt + 1, opts));
    }
  }
}
