/**
 * Shared pieces of `kstream bench`: latency histograms (hdr-histogram-js, its pure-JS Int32 histogram, never
 * the WebAssembly build, so the single executable bundles no WASM and nothing compiles at run time), the
 * result shape printed as text or JSON, a live progress line (only on a TTY), topic set-up, and the --timeout
 * that bounds the set-up.
 */
import { Admin } from '../client/admin.js';
import type { ClusterOptions } from '../client/cluster.js';
import { ErrorCode } from '../client/errors.js';
import { clusterOptions, formatMs, withDeadline } from '../services/connect.js';

/** Where a bench connects, and how long its set-up may take. */
export interface BenchConnection {
  brokers: string;
  /**
   * --timeout, ms: the set-up (topic creation or description, offsets, connecting the clients, their first
   * metadata) must be done within it, and every client's connect is bounded by it. The measured phase is not.
   */
  timeoutMs: number;
  /** TLS and SASL of every connection (--tls…, --user, the profile). */
  tls?: ClusterOptions['tls'];
  sasl?: ClusterOptions['sasl'];
}

/**
 * The deadline of a bench's set-up: the returned function bounds a step by what is left of `timeoutMs` since
 * this call (one budget for all the steps), then rejects with the CLI's one line ("no answer from … within
 * 10s (is a broker running there?)"). The caller closes its clients (a `finally`), so the process exits.
 */
export function setupDeadline(c: BenchConnection): <T>(step: Promise<T>) => Promise<T> {
  const until = performance.now() + c.timeoutMs;
  return <T>(step: Promise<T>) =>
    withDeadline(
      step,
      Math.max(0, until - performance.now()),
      () => `no answer from ${c.brokers} within ${formatMs(c.timeoutMs)} (is a broker running there?)`,
    );
}

/**
 * Connection settings of the bench's producers and consumers: connecting bounded by --timeout, requests by at
 * least 30 s (the client's default), so that a loaded broker's slow Produce or Fetch answers during the
 * measured phase do not fail the bench when --timeout is short.
 */
export function benchClientOptions(c: BenchConnection): {
  brokers: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  tls?: ClusterOptions['tls'];
  sasl?: ClusterOptions['sasl'];
} {
  return {
    brokers: c.brokers,
    connectTimeoutMs: c.timeoutMs,
    requestTimeoutMs: Math.max(c.timeoutMs, 30_000),
    tls: c.tls,
    sasl: c.sasl,
  };
}

/** An admin client for the set-up: connecting and every request bounded by --timeout, like the other commands. */
export function benchAdmin(c: BenchConnection): Admin {
  return new Admin({ ...clusterOptions(c), clientId: 'kstream-bench' });
}

/** What `bench produce` and `bench e2e` share: where and how the records are produced. */
export interface ProducingOptions extends BenchConnection {
  topic: string;
  partitions: number;
  records: number;
  recordSize: number;
  acks: 0 | 1 | -1;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  batchSize: number;
  lingerMs: number;
  /** Producer requests in flight per broker (default 5). */
  maxInFlight?: number;
  /** Records/s over all producers; <= 0: unlimited. */
  throughput: number;
  /** Idempotent producers (default: as the client decides, on with acks all and maxInFlight <= 5). */
  idempotence?: boolean;
  /** Show the live progress line (only drawn on a TTY anyway). */
  progress?: boolean;
}

/** The subset of hdr-histogram-js's JsHistogram that the benchmarks use. */
export interface LatencyHistogram {
  autoResize: boolean;
  readonly totalCount: number;
  readonly maxValue: number;
  readonly mean: number;
  recordValue(value: number): void;
  recordValueWithCount(value: number, count: number): void;
  getValueAtPercentile(percentile: number): number;
}

type HistogramClass = new (lowest: number, highest: number, digits: number) => LatencyHistogram;

let histogramClass: HistogramClass | null = null;

/**
 * A histogram of microseconds (1 µs .. auto-resized, 3 significant digits). Loaded on first use from the
 * package's plain-JS module (its main entry also pulls in the WASM build, pako and base64-js), with an
 * import() of a literal path so that esbuild bundles it into the single executable (a createRequire() at run
 * time found no node_modules there: `kstream bench produce|e2e` failed in the binary).
 */
export async function createHistogram(): Promise<LatencyHistogram> {
  if (!histogramClass) {
    // A CommonJS module: its exports object (holding `default`) is the namespace's default, in Node and in
    // esbuild's bundle alike; accept the class itself too.
    const ns = (await import('hdr-histogram-js/dist/Int32Histogram.js')) as unknown as {
      default: HistogramClass | { default: HistogramClass };
    };
    const d = ns.default;
    histogramClass = typeof d === 'function' ? d : d.default;
  }
  const h = new histogramClass(1, 60_000_000, 3);
  h.autoResize = true;
  return h;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles of a histogram of microseconds, in milliseconds (3 decimals). */
export function summarize(h: LatencyHistogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  // A percentile is the top of its bucket (3 significant digits), which can lie above the exact maximum.
  const max = h.maxValue;
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), max));
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    p50: at(50),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: ms(max),
  };
}

export interface BenchResult {
  bench: 'produce' | 'consume' | 'e2e';
  topic: string;
  /** Records produced (produce, e2e) or consumed (consume). */
  records: number;
  /** Bytes of record values (keys are null). */
  bytes: number;
  elapsedMs: number;
  recordsPerSec: number;
  /** MB = 10^6 bytes, of record values. */
  mbPerSec: number;
  /** produce: send → acknowledged; e2e: send → consumed (warm-up records excluded); absent for consume. */
  latencyMs?: LatencySummary;
  /** e2e with warm-up records: their send → consumed latency. */
  warmupLatencyMs?: LatencySummary;
  /** e2e: records the consumer received (equals records when nothing was lost). */
  consumed?: number;
  config: Record<string, string | number | boolean>;
}

export function rates(records: number, bytes: number, elapsedMs: number): { recordsPerSec: number; mbPerSec: number } {
  const s = Math.max(elapsedMs, 0.001) / 1000;
  return { recordsPerSec: Math.round(records / s), mbPerSec: Math.round((bytes / 1e6 / s) * 100) / 100 };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** The human-readable report: one summary line, then the latency line. */
export function formatText(r: BenchResult): string {
  const lines = [
    `${r.bench} ${r.topic}: ${fmt(r.records)} records (${fmt(r.bytes)} B) in ${(r.elapsedMs / 1000).toFixed(2)} s: ` +
      `${fmt(r.recordsPerSec)} records/s, ${r.mbPerSec.toFixed(2)} MB/s`,
  ];
  if (r.consumed !== undefined) lines.push(`consumed ${fmt(r.consumed)} of ${fmt(r.records)} records`);
  const l = r.latencyMs;
  if (l) {
    const what = r.bench === 'e2e' ? 'end-to-end latency' : 'latency';
    lines.push(`${what} (ms): p50 ${l.p50}, p95 ${l.p95}, p99 ${l.p99}, p99.9 ${l.p999}, max ${l.max}, mean ${l.mean}`);
  }
  const w = r.warmupLatencyMs;
  if (w) {
    lines.push(
      `warm-up (first ${fmt(w.count)} records, not in the figures above) (ms): p50 ${w.p50}, p99 ${w.p99}, max ${w.max}`,
    );
  }
  return lines.join('\n');
}

/** A live progress line on stderr, redrawn at most twice a second; silent unless stderr is a TTY. */
export class Progress {
  private readonly enabled: boolean;
  private timer: NodeJS.Timeout | null = null;
  private lastCount = 0;
  private lastAt = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly count: () => number,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true && !process.env.CI;
    this.stream = stream;
  }
  private readonly stream: NodeJS.WriteStream;
  start(): void {
    if (!this.enabled) return;
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.draw(), 500);
    this.timer.unref();
  }
  private draw(): void {
    const now = performance.now();
    const n = this.count();
    const rate = ((n - this.lastCount) * 1000) / Math.max(1, now - this.lastAt);
    this.lastCount = n;
    this.lastAt = now;
    const pct = this.total > 0 ? ((n / this.total) * 100).toFixed(1) : '0.0';
    this.stream.write(
      `\r\x1b[2K${this.label}: ${fmt(n)}/${fmt(this.total)} (${pct}%) ${fmt(Math.round(rate))} records/s`,
    );
  }
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.stream.write('\r\x1b[2K');
  }
}

/**
 * Create the topic with `partitions` partitions if it does not exist (an existing topic is used as it is).
 * Returns the partition count. Bounded by `within` (default: a set-up deadline of its own).
 */
export async function ensureTopic(
  c: BenchConnection,
  topic: string,
  partitions: number,
  within: <T>(step: Promise<T>) => Promise<T> = setupDeadline(c),
): Promise<number> {
  const admin = benchAdmin(c);
  try {
    return await within(
      (async () => {
        const [res] = await admin.createTopics([{ topic, numPartitions: partitions }]);
        if (res?.error && res.error.code !== ErrorCode.TOPIC_ALREADY_EXISTS) throw res.error;
        const [desc] = await admin.describeTopics([topic]);
        if (!desc || desc.error) throw desc?.error ?? new Error(`topic ${topic} not found after creating it`);
        return desc.partitions.length;
      })(),
    );
  } finally {
    await admin.close().catch(() => {});
  }
}

/** A value of `size` bytes of printable filler (like kafka-producer-perf-test's random payload). */
export function payload(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = 65 + ((i * 7) % 26);
  return b;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
