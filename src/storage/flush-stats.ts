/**
 * Where log flushes report their fsync time (the node's metrics: kafka_log_logflushstats_logflush_seconds).
 * One call per flush (a group commit covers many appends), none when nobody observes.
 */
let observer: ((seconds: number) => void) | null = null;

export function setFlushObserver(o: ((seconds: number) => void) | null): void {
  observer = o;
}

/** A flush's fdatasync calls took `seconds` (they run together: the time until the last one finished). */
export function flushed(seconds: number): void {
  observer?.(seconds);
}
