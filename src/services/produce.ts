/**
 * `kstream produce`: records from lines of text (optionally key<delim>value) or JSON objects, sent with the
 * Producer. JSON input is parsed and validated in full before anything is sent, so a bad line sends nothing.
 */
import type { Readable } from 'node:stream';
import type { Acks, CompressionType, ProducerRecord } from '../client/index.js';
import { type ConnectOptions, clusterOptions, formatMs, withDeadline } from './connect.js';
import { parseJsonRecord } from './records.js';

export interface ProduceOptions extends ConnectOptions {
  topic: string;
  input: Readable;
  format: 'text' | 'json';
  keyDelimiter?: string;
  partition?: number;
  headers?: { key: string; value: string }[];
  acks: Acks;
  /** Idempotent produce (default: on with acks all). */
  idempotence?: boolean;
  /** Produce in transactions of this transactional id: one for the whole run, or one per `txnSize` records. */
  transactionalId?: string;
  /** Records per transaction (with transactionalId); default: all of them in one. */
  txnSize?: number;
  compression: CompressionType;
  lingerMs?: number;
  /** At most this many records per second (records are handed to the producer on a fixed schedule). */
  rate?: number;
  /** Called about every 250 ms with the counts so far (a TTY progress line). */
  onProgress?: (p: ProduceSummary) => void;
  /** Called after each line of text input is read (a prompt for the next one, when a person types). */
  onLine?: () => void;
  /** Called once the topic is found, before the first line is read (the first prompt). */
  onConnected?: () => void;
}

export interface ProduceSummary {
  records: number;
  bytes: number;
  partitions: number[];
  elapsedMs: number;
  /** Transactions committed (with transactionalId). */
  transactions?: number;
}

/** A line of input that cannot be sent (JSON input), with its 1-based number. */
export class InputError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}; nothing was sent`);
    this.name = 'InputError';
  }
}

/** Lines as bytes (binary-safe: a value need not be UTF-8), without the "\n"; a last line without one counts. */
async function* byteLines(input: Readable): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    let buf = Buffer.concat([rest, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    let i = buf.indexOf(10);
    while (i >= 0) {
      yield buf.subarray(0, i);
      buf = buf.subarray(i + 1);
      i = buf.indexOf(10);
    }
    rest = Buffer.from(buf);
  }
  if (rest.length > 0) yield rest;
}

async function* lines(input: Readable): AsyncGenerator<string> {
  for await (const l of byteLines(input)) yield l.toString('utf8').replace(/\r$/, '');
}

/** A JSON input record with the number of its line. */
type JsonRecord = ProducerRecord & { line: number };

/** Every line parsed as a JSON record, or an InputError for the first bad one. Blank lines are skipped. */
export async function readJsonRecords(input: Readable, topic: string): Promise<JsonRecord[]> {
  const out: JsonRecord[] = [];
  let n = 0;
  for await (const line of lines(input)) {
    n++;
    if (line.trim() === '') continue;
    try {
      const r = parseJsonRecord(line);
      const rec: JsonRecord = { topic, key: r.key, value: r.value, headers: r.headers, line: n };
      if (r.partition !== undefined) rec.partition = r.partition;
      if (r.timestamp !== undefined) rec.timestamp = r.timestamp;
      out.push(rec);
    } catch (e) {
      throw new InputError(n, (e as Error).message);
    }
  }
  return out;
}

function textRecord(line: Buffer, o: ProduceOptions): ProducerRecord {
  let key: Buffer | null = null;
  let value = line;
  if (o.keyDelimiter !== undefined && o.keyDelimiter !== '') {
    const delim = Buffer.from(o.keyDelimiter);
    const i = line.indexOf(delim);
    if (i >= 0) {
      key = line.subarray(0, i);
      value = line.subarray(i + delim.length);
    }
  }
  return { topic: o.topic, key, value, headers: o.headers };
}

/**
 * A schedule of `rate` calls per second: the i-th call (0-based, counted from the first) resolves no earlier
 * than first + i/rate s. Fixed targets rather than a sleep per record, so timer lateness does not add up; a
 * sender that falls behind (slow input, back-pressure) is not allowed to burst past the rate to catch up
 * beyond one record.
 */
export function pacer(rate: number, now: () => number = () => performance.now()): () => Promise<void> {
  if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
  const interval = 1000 / rate;
  let next: number | null = null;
  return async () => {
    const t = now();
    if (next === null || next < t - interval) next = t;
    const wait = next - t;
    next += interval;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };
}

function sizeOf(r: ProducerRecord): number {
  const len = (v: Buffer | string | null | undefined) =>
    v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  return len(r.key) + len(r.value);
}

export async function produce(o: ProduceOptions): Promise<ProduceSummary> {
  const t0 = performance.now();
  // JSON: validate everything first (nothing is sent if a line is bad).
  const all = o.format === 'json' ? await readJsonRecords(o.input, o.topic) : null;
  const { Producer } = await import('../client/index.js');
  const producer = new Producer({
    ...clusterOptions(o),
    allowAutoTopicCreation: false,
    metadataTimeoutMs: o.timeoutMs,
    // Kafka's delivery.timeout.ms (120 s, as the Java client): a record rides out a broker restart or failover
    // with retries (--timeout bounds each request, not the delivery). It was max(--timeout, 30 s), and a
    // SIGKILLed follower stalls acks=all produce ~30 s: `produce --rate` died with "expired after 30587 ms".
    deliveryTimeoutMs: Math.max(o.timeoutMs + (o.lingerMs ?? 5), 120_000),
    acks: o.acks,
    compression: o.compression,
    lingerMs: o.lingerMs ?? 5,
    ...(o.idempotence === false ? { idempotent: false } : {}),
    // Transactional: initTransactions / commit retry a moving coordinator for at most --timeout.
    ...(o.transactionalId !== undefined ? { transactionalId: o.transactionalId, maxBlockMs: o.timeoutMs } : {}),
  });
  const transactional = o.transactionalId !== undefined;
  /** Records sent in the open transaction, and transactions committed. */
  let inTxn = 0;
  let committed = 0;
  const partitions = new Set<number>();
  let records = 0;
  let bytes = 0;
  let failure: Error | null = null;
  let pending: Promise<void>[] = [];
  const summary = (): ProduceSummary => ({
    records,
    bytes,
    partitions: [...partitions].sort((a, b) => a - b),
    elapsedMs: performance.now() - t0,
    ...(transactional ? { transactions: committed } : {}),
  });
  /** Commit the open transaction (its records all acknowledged first). */
  const commit = async () => {
    await Promise.all(pending);
    pending = [];
    if (failure) throw failure;
    await producer.commitTransaction();
    committed++;
    inTxn = 0;
  };
  const pace = o.rate !== undefined ? pacer(o.rate) : null;
  const timer = o.onProgress ? setInterval(() => o.onProgress?.(summary()), 250) : null;
  timer?.unref();
  const send = async (rec: ProducerRecord) => {
    if (o.partition !== undefined && rec.partition === undefined) rec.partition = o.partition;
    if (o.headers?.length && o.format === 'json') rec.headers = [...(rec.headers ?? []), ...o.headers];
    const size = sizeOf(rec);
    if (pace) await pace();
    if (transactional && inTxn === 0) producer.beginTransaction();
    if (transactional) inTxn++;
    pending.push(
      producer.send(rec).then(
        (md) => {
          records++;
          bytes += size;
          partitions.add(md.partition);
        },
        (e: Error) => {
          failure ??= e;
        },
      ),
    );
    if (pending.length >= 10_000) {
      await Promise.all(pending);
      pending = [];
    }
    if (failure) throw failure;
    if (transactional && o.txnSize !== undefined && inTxn >= o.txnSize) await commit();
  };
  try {
    // A missing topic fails at once (the producer itself would wait for it to be created).
    const md = await withDeadline(
      producer
        .connect()
        .then(() => producer.cluster.metadataFor([o.topic], { refresh: true }))
        .then(async (m) => {
          if (transactional) await producer.initTransactions();
          return m;
        }),
      o.timeoutMs,
      () => `no answer from ${o.brokers} within ${formatMs(o.timeoutMs)} (is a broker running there?)`,
    );
    if (!md.has(o.topic))
      throw new Error(`topic ${o.topic} does not exist (create it with: kstream topic create ${o.topic})`);
    const count = md.get(o.topic)!.partitions.length;
    if (o.partition !== undefined && o.partition >= count)
      throw new Error(`topic ${o.topic} has no partition ${o.partition}`);
    // JSON lines name partitions too: checked with the rest before the first record is sent.
    const bad = all?.find((r) => r.partition !== undefined && r.partition >= count);
    if (bad) throw new InputError(bad.line, `topic ${o.topic} has no partition ${bad.partition} (it has ${count})`);
    o.onConnected?.();
    if (all) for (const { line: _, ...rec } of all) await send(rec);
    else
      for await (const line of byteLines(o.input)) {
        o.onLine?.();
        await send(textRecord(line, o));
      }
    if (transactional && inTxn > 0) await commit();
    await producer.flush();
    await Promise.all(pending);
    if (failure) throw failure;
    return summary();
  } finally {
    if (timer) clearInterval(timer);
    await producer.close().catch(() => {});
  }
}
