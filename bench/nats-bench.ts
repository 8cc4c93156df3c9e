/**
 * A small load generator for NATS JetStream (Debian's nats-server has no bench tool and natscli is not
 * packaged), for the peers table of bench/peers.sh: the same record count and size as `kstream bench`.
 *
 *   node --import tsx bench/nats-bench.ts --server 127.0.0.1:4222 [--records 1000000] [--size 100]
 *       [--window 2000] [--storage file]
 *
 * publish: a stream on one subject (file storage by default), async JetStream publishes pipelined with at most
 * --window unacknowledged (each publish waits for the stream's PubAck, like a Kafka acks=1 produce: the server
 * has appended the message; nats-server does not fsync each message, its file store syncs every 2 min).
 * consume: an ordered consumer (no acks) reads the stream back from the start until it has every message.
 * ingest: the same records again as plain NATS publishes to the stream's subject (no PubAck, like acks=0),
 * timed until the stream holds all of them (its message count polled): the server's ingest without the
 * client's per-request cost (nats.js's JetStream publish is a request/reply, and the client is the limit).
 * Prints one JSON line: {publish: {records, seconds, recordsPerSec, mbPerSec}, consume: {...}, ingest: {...}}.
 */
import { parseArgs } from 'node:util';
import { connect, type PubAck, StorageType } from 'nats';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: '127.0.0.1:4222' },
    records: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '100' },
    window: { type: 'string', default: '2000' },
    storage: { type: 'string', default: 'file' },
    stream: { type: 'string', default: 'KSTREAM_BENCH' },
  },
});
// nats.js creates an Error per request (kept for a time-out's stack trace): capturing stacks costs more than
// the rest of a publish (37 % of the client's CPU in a profile), so capture none; error messages stay.
Error.stackTraceLimit = 0;

const N = Number(values.records);
const SIZE = Number(values.size);
const WINDOW = Math.max(1, Number(values.window));
const STREAM = values.stream;
const SUBJECT = `${STREAM.toLowerCase()}.data`;

function rate(records: number, ms: number) {
  const s = ms / 1000;
  return {
    records,
    seconds: Math.round(s * 1000) / 1000,
    recordsPerSec: Math.round(records / s),
    mbPerSec: Math.round(((records * SIZE) / 1e6 / s) * 10) / 10,
  };
}

const nc = await connect({ servers: values.server });
try {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(STREAM).catch(() => false);
  await jsm.streams.add({
    name: STREAM,
    subjects: [SUBJECT],
    storage: values.storage === 'memory' ? StorageType.Memory : StorageType.File,
  });
  const js = nc.jetstream();
  const payload = Buffer.alloc(SIZE, 120);

  // Publish: keep up to WINDOW publishes in flight; every one must be acknowledged.
  let inFlight = 0;
  let acked = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const onAck = (_a: PubAck) => {
    acked++;
    inFlight--;
    const w = wake;
    wake = null;
    w?.();
  };
  const onError = (e: Error) => {
    failure ??= e;
    inFlight--;
    const w = wake;
    wake = null;
    w?.();
  };
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    while (inFlight >= WINDOW && !failure) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
    inFlight++;
    js.publish(SUBJECT, payload).then(onAck, onError);
  }
  while (inFlight > 0 && !failure) await new Promise<void>((r) => (wake = r));
  if (failure) throw failure;
  const publishMs = performance.now() - t0;
  if (acked !== N) throw new Error(`only ${acked} of ${N} publishes acknowledged`);

  // Consume: an ordered consumer from the first message.
  const t1 = performance.now();
  const consumer = await js.consumers.get(STREAM);
  const messages = await consumer.consume({ max_messages: 10_000 });
  let got = 0;
  let bytes = 0;
  for await (const m of messages) {
    got++;
    bytes += m.data.length;
    if (got >= N) break;
  }
  const consumeMs = performance.now() - t1;
  if (bytes !== N * SIZE) throw new Error(`consumed ${bytes} bytes, expected ${N * SIZE}`);

  // Ingest: plain publishes (flushed every 10,000), until the stream holds 2N messages.
  const t2 = performance.now();
  for (let i = 0; i < N; i++) {
    nc.publish(SUBJECT, payload);
    if (i % 10_000 === 9_999) await nc.flush();
  }
  await nc.flush();
  const until = performance.now() + 120_000;
  let stored = 0;
  while (performance.now() < until) {
    stored = (await jsm.streams.info(STREAM)).state.messages;
    if (stored >= 2 * N) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ingestMs = performance.now() - t2;
  if (stored < 2 * N) throw new Error(`the stream holds ${stored - N} of ${N} plain publishes`);
  await jsm.streams.delete(STREAM).catch(() => false);
  console.log(
    JSON.stringify({
      publish: rate(N, publishMs),
      consume: rate(got, consumeMs),
      ingest: rate(N, ingestMs),
      window: WINDOW,
    }),
  );
} finally {
  await nc.close();
}
