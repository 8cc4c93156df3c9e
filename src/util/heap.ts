/**
 * V8 heap tuning for the processes that move data: the broker (`serve`) and the load generators (`bench`).
 */
import { setFlagsFromString } from 'node:v8';

/** The old-generation growth these processes run with (V8's --heap-growing-percent). */
export const HEAP_GROWING_PERCENT = 300;

/**
 * V8 keeps a small heap tight: a broker with ~10 MB live grew its old-generation limit only a little past
 * that, and under a steady 100,000 records/s (requests that live a few ms get promoted) it ran a full
 * mark-compact every ~350 ms, each a 1-5 ms pause plus incremental steps of up to 4 ms: the broker's share
 * of the end-to-end p99. Letting the old generation grow by 300 % before the next one removes them, for a
 * few MB more RSS (docs/benchmarks.md). Like Kafka's GC settings in kafka-run-class.sh; a
 * --heap-growing-percent given to node wins. Call before the process starts its work.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
