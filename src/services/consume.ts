/**
 * `kstream consume`: read topics from a start position (or through a consumer group), filter, and hand each
 * record to a sink, until Ctrl-C, --count records, or the end of every partition (--exit).
 */
import type { ConsumerRecord, SeekTarget, TopicPartition } from '../client/index.js';
import { type ConnectOptions, clusterOptions, formatMs, withDeadline } from './connect.js';
import { allText, encodePart } from './records.js';

export type StartAt =
  | { kind: 'latest' }
  | { kind: 'beginning' }
  /** A negative offset counts back from the end of each partition. */
  | { kind: 'offset'; offset: bigint }
  | { kind: 'time'; ms: number };

export interface ConsumeOptions extends ConnectOptions {
  topics: string[];
  start: StartAt;
  /** Only these partitions (not with a group). */
  partitions?: number[];
  /** Consume (and commit) as this consumer group. */
  group?: string;
  count?: number;
  exitAtEnd: boolean;
  /** Stop each partition before this offset (a range START:END); the run ends when every partition has. */
  stopAt?: bigint;
  /**
   * With a group: called once, after the first assignment, with one line saying where the partitions start
   * (a group with no committed offsets starts at the log end and waits for new records: people expect
   * otherwise).
   */
  onGroupStart?: (text: string) => void;
  grep?: RegExp;
  /** read_committed: only committed transactions' records, up to the last stable offset. Default read_uncommitted. */
  isolation?: 'read_committed' | 'read_uncommitted';
  signal?: AbortSignal;
  /** Receives each record; may wait (output back-pressure). */
  sink: (r: ConsumerRecord) => void | Promise<void>;
}

function target(start: StartAt): SeekTarget {
  switch (start.kind) {
    case 'latest':
      return 'latest';
    case 'beginning':
      return 'earliest';
    case 'offset':
      return start.offset;
    case 'time':
      return { timestamp: start.ms };
  }
}

function matches(re: RegExp, r: ConsumerRecord): boolean {
  const text = (b: Buffer | null) => (b ? b.toString('utf8') : '');
  return re.test(text(r.key)) || re.test(text(r.value)) || r.headers.some((h) => re.test(`${h.key}=${text(h.value)}`));
}

/** Returns the number of records given to the sink. */
export async function consume(o: ConsumeOptions): Promise<number> {
  const { Consumer } = await import('../client/index.js');
  // With a group, an explicit --offset / --from-time overrides the committed offsets of the partitions it gets
  // (once each); --from-beginning only applies where the group has no committed offset (auto.offset.reset).
  const explicit = o.group && (o.start.kind === 'offset' || o.start.kind === 'time') ? target(o.start) : null;
  const seeded = new Set<string>();
  let told = !o.group || !o.onGroupStart;
  const consumer: InstanceType<typeof Consumer> = new Consumer({
    ...clusterOptions(o),
    groupId: o.group,
    isolation: o.isolation ?? 'read_uncommitted',
    autoOffsetReset: o.start.kind === 'beginning' ? 'earliest' : 'latest',
    onPartitionsAssigned:
      explicit || !told
        ? (tps) => {
            if (explicit)
              for (const tp of tps) {
                const k = `${tp.topic}\u0000${tp.partition}`;
                if (!seeded.has(k)) consumer.seek(tp, explicit);
                seeded.add(k);
              }
            if (!told && tps.length > 0) {
              told = true;
              void startLine(consumer, o, tps, explicit !== null).then(
                (line) => o.onGroupStart?.(line),
                () => {},
              );
            }
          }
        : undefined,
  });
  let n = 0;
  try {
    const md = await withDeadline(
      consumer.connect().then(() => consumer.cluster.metadataFor(o.topics, { refresh: true })),
      o.timeoutMs,
      () => `no answer from ${o.brokers} within ${formatMs(o.timeoutMs)} (is a broker running there?)`,
    );
    for (const t of o.topics) if (!md.has(t)) throw new Error(`topic ${t} does not exist`);
    if (o.group) {
      if (o.partitions) throw new Error('--partition cannot be used with --group (the group assigns partitions)');
      consumer.subscribe(o.topics);
    } else {
      const specs: { topic: string; partition: number; offset: SeekTarget }[] = [];
      for (const t of o.topics) {
        const parts = md.get(t)!.partitions.map((p) => p.partition);
        const exists = new Set(parts);
        for (const p of o.partitions ?? parts) {
          if (!exists.has(p)) throw new Error(`topic ${t} has no partition ${p}`);
          specs.push({ topic: t, partition: p, offset: target(o.start) });
        }
      }
      consumer.assign(specs);
    }
    if (o.count === 0) return 0;
    // A range: each partition stops before stopAt; done once every assigned one has.
    const done = new Set<string>();
    const finished = (r: ConsumerRecord): boolean => {
      if (o.stopAt === undefined) return false;
      const k = `${r.topic}\u0000${r.partition}`;
      done.add(k);
      consumer.pause([{ topic: r.topic, partition: r.partition }]);
      return consumer.assignment().every((tp) => done.has(`${tp.topic}\u0000${tp.partition}`));
    };
    // Stop by closing the consumer (ends the iterator, leaves the group after committing). Passing the signal to
    // records() instead adds an abort listener per wait (MaxListenersExceededWarning on a long tail).
    const onAbort = () => void consumer.close().catch(() => {});
    if (o.signal?.aborted) return 0;
    o.signal?.addEventListener('abort', onAbort, { once: true });
    for await (const r of consumer.records({ untilEnd: o.exitAtEnd })) {
      if (o.stopAt !== undefined && r.offset >= o.stopAt) {
        if (finished(r)) break;
        continue;
      }
      if (!o.grep || matches(o.grep, r)) {
        await o.sink(r);
        n++;
        if (o.count !== undefined && n >= o.count) break;
      }
      if (o.stopAt !== undefined && r.offset === o.stopAt - 1n && finished(r)) break;
    }
    return n;
  } finally {
    await consumer.close().catch(() => {});
  }
}

/** Where a group's first assigned partitions start, in one line (see ConsumeOptions.onGroupStart). */
async function startLine(
  consumer: { committed(tps: TopicPartition[]): Promise<Map<string, bigint>> },
  o: ConsumeOptions,
  tps: TopicPartition[],
  explicit: boolean,
): Promise<string> {
  const g = `group ${o.group}`;
  if (explicit) return `${g}: starting at ${o.start.kind === 'time' ? 'the given time' : 'the given offset'}`;
  const committed = await consumer.committed(tps);
  const missing = tps
    .filter((tp) => (committed.get(`${tp.topic}/${tp.partition}`) ?? -1n) < 0n)
    .map((tp) => `${tp.topic}/${tp.partition}`)
    .sort();
  if (missing.length === 0) return `${g}: continuing from its committed offsets`;
  const where =
    o.start.kind === 'beginning'
      ? 'at the beginning'
      : 'at the end (new records only); --from-beginning to read what is there';
  if (missing.length === tps.length) return `${g} has no committed offsets: starting ${where}`;
  const listed = missing.length > 6 ? `${missing.slice(0, 6).join(', ')}, … (${missing.length})` : missing.join(', ');
  return `${g} has no committed offset for ${listed}: starting ${missing.length === 1 ? 'it' : 'those'} ${where}`;
}

/** The JSON line of a record (binary-safe: base64 and "encoding": "base64" when any part is not UTF-8). */
export function recordJson(r: ConsumerRecord): string {
  const b64 = !allText([r.key, r.value, ...r.headers.map((h) => h.value)]);
  const o: Record<string, unknown> = {
    topic: r.topic,
    partition: r.partition,
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    key: encodePart(r.key, b64),
    value: encodePart(r.value, b64),
    headers: r.headers.map((h) => ({ key: h.key, value: encodePart(h.value, b64) })),
  };
  if (b64) o.encoding = 'base64';
  return JSON.stringify(o);
}
