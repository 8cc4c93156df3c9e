/**
 * Fetch sessions (KIP-227) against full fetches, side by side on one broker: a fetcher (as a follower would,
 * replica id set, or a consumer with --consumer) over PARTITIONS partitions of one topic.
 *
 *   node --import tsx bench/fetch-sessions.ts [--partitions 1000] [--hot 10] [--records 20000] [--idle 2000]
 *       [--rounds 2] [--consumer]
 *
 * Two steps per mode, the modes interleaved for --rounds rounds (full, session, full, session, …):
 *   idle:  --idle fetches with max_wait 0 while nothing changes: fetches/s, request and response bytes each;
 *   drain: --records records of 100 bytes stored in --hot partitions (the others empty) read from offset 0 to
 *          the end, 4 MiB per partition (as followers ask) and 1 MiB per fetch: records/s, fetches, request and answer bytes.
 * The session mode builds its requests with the follower's own FollowerSession (src/cluster/replica-fetcher.ts).
 * Starts its own broker (dist/, so `node scripts/build.js` first) on a free loopback port with a temp data dir,
 * removed on exit. Prints one markdown table; say the machine's load (uptime) next to its figures.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type FollowerReplica, FollowerSession } from '../src/cluster/replica-fetcher.js';
import type { Struct } from '../src/protocol/codec/schema.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { buildBatch } from '../src/protocol/records/record.js';
import { decodeResponse, encodeRequest } from '../src/protocol/wire.js';

const { values } = parseArgs({
  options: {
    partitions: { type: 'string', default: '1000' },
    hot: { type: 'string', default: '10' },
    records: { type: 'string', default: '20000' },
    idle: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    consumer: { type: 'boolean', default: false },
  },
});
const PARTITIONS = Number(values.partitions);
const HOT = Math.min(PARTITIONS, Number(values.hot));
const RECORDS = Number(values.records);
const IDLE = Number(values.idle);
const ROUNDS = Number(values.rounds);
const REPLICA_ID = values.consumer ? -1 : 7;
const TOPIC = 'sessions';

/** A framed Kafka connection that counts the bytes it sends and receives. */
class Wire {
  private buf = Buffer.alloc(0);
  private id = 1;
  private readonly pending = new Map<number, { key: number; v: number; done: (b: Struct) => void }>();
  sent = 0;
  received = 0;
  constructor(private readonly s: Socket) {
    s.on('data', (d: Buffer) => {
      this.received += d.length;
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4) {
        const size = this.buf.readInt32BE(0);
        if (this.buf.length < 4 + size) break;
        const frame = this.buf.subarray(4, 4 + size);
        this.buf = this.buf.subarray(4 + size);
        const p = this.pending.get(frame.readInt32BE(0));
        if (!p) continue;
        this.pending.delete(frame.readInt32BE(0));
        p.done(decodeResponse(p.key, p.v, frame).body);
      }
    });
  }
  static open(port: number): Promise<Wire> {
    return new Promise((res, rej) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => res(new Wire(s)));
      s.once('error', rej);
    });
  }
  request(key: number, v: number, body: Struct): Promise<Struct> {
    const correlationId = this.id++;
    const frame = encodeRequest({ apiKey: key, apiVersion: v, correlationId, clientId: 'bench' }, body);
    // One write per request: several small writes meet Nagle and delayed ACKs (40 ms a request on Linux).
    const bytes = Buffer.concat(frame);
    this.sent += bytes.length;
    this.s.write(bytes);
    return new Promise((done) => this.pending.set(correlationId, { key, v, done }));
  }
  close(): void {
    this.s.destroy();
  }
}

/** A partition as the fetcher follows it: its next offset moves with the batches it is given. */
class Follower implements FollowerReplica {
  readonly topic = TOPIC;
  readonly leaderEpoch = -1;
  readonly logStartOffset = 0n;
  readonly latestEpoch = -1;
  needsTruncation = false;
  logEndOffset = 0n;
  records = 0;
  constructor(readonly index: number) {}
  appendFromLeader(batches: Buffer): void {
    // Batch headers only: base offset (8), length (4), …, last offset delta at 23, record count at 57.
    let at = 0;
    while (at + 61 <= batches.length) {
      const base = batches.readBigInt64BE(at);
      const len = batches.readInt32BE(at + 8);
      if (at + 12 + len > batches.length) break;
      this.logEndOffset = base + BigInt(batches.readInt32BE(at + 23)) + 1n;
      this.records += batches.readInt32BE(at + 57);
      at += 12 + len;
    }
  }
  async truncateTo(): Promise<void> {}
}

async function startBroker(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const bin = join(resolve(import.meta.dirname, '..'), 'bin', 'run.js');
  const child = spawn(process.execPath, [bin, 'serve', '--data-dir', dir, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (code) => rej(new Error(`broker exited with ${code}`)));
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function fetchBody(sessionId: number, sessionEpoch: number, topics: Struct[], forgotten: Struct[], maxWaitMs: number) {
  return {
    replicaId: REPLICA_ID,
    maxWaitMs,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId,
    sessionEpoch,
    topics,
    forgottenTopicsData: forgotten,
    rackId: '',
  };
}

/** One fetch of every partition, in a session or in full; gives the partitions to the followers. */
async function fetchOnce(w: Wire, parts: Follower[], session: FollowerSession | null, maxWaitMs: number) {
  let body: Struct;
  if (session) {
    const r = session.request(parts);
    body = fetchBody(r.sessionId, r.sessionEpoch, r.topics, r.forgotten, maxWaitMs);
  } else {
    const partitions = parts.map((p) => ({
      partition: p.index,
      currentLeaderEpoch: -1,
      fetchOffset: p.logEndOffset,
      logStartOffset: 0n,
      partitionMaxBytes: 4 * 1024 * 1024,
      lastFetchedEpoch: -1,
    }));
    body = fetchBody(0, -1, [{ topic: TOPIC, partitions }], [], maxWaitMs);
  }
  const res = await w.request(ApiKey.Fetch, 12, body);
  if (session && !session.answered(res.errorCode, res.sessionId)) throw new Error(`session error ${res.errorCode}`);
  for (const t of res.responses as Struct[]) {
    for (const p of t.partitions as Struct[]) {
      if (p.records && p.records.length > 0) parts[p.partitionIndex]?.appendFromLeader(p.records);
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), 'kstream-bench-sessions-'));
const broker = await startBroker(dir);
const rows: string[] = [];
try {
  const w = await Wire.open(broker.port);
  const ct = await w.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 60_000,
    validateOnly: false,
  });
  if (ct.topics[0].errorCode !== 0) throw new Error(`CreateTopics: error ${ct.topics[0].errorCode}`);
  // --records of 100 bytes in the hot partitions, batches of 100.
  const value = Buffer.alloc(100, 'x');
  for (let i = 0; i < RECORDS / 100; i++) {
    const records = await buildBatch({ records: Array.from({ length: 100 }, () => ({ key: null, value })) });
    const r = await w.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: TOPIC, partitionData: [{ index: i % HOT, records }] }],
    });
    if (r.responses[0].partitionResponses[0].errorCode !== 0) throw new Error('produce failed');
  }
  rows.push(
    '| round | mode | idle fetches/s | idle request B | idle answer B | drain records/s | drain fetches | drain request KiB | drain answer KiB (records incl.) |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of ['full', 'session'] as const) {
      const c = await Wire.open(broker.port);
      try {
        // Drain: read everything from offset 0.
        const parts = Array.from({ length: PARTITIONS }, (_, i) => new Follower(i));
        const session = mode === 'session' ? new FollowerSession() : null;
        const t0 = performance.now();
        let fetches = 0;
        let got = 0;
        while (got < RECORDS) {
          await fetchOnce(c, parts, session, 0);
          fetches++;
          got = parts.reduce((n, p) => n + p.records, 0);
        }
        const drainS = (performance.now() - t0) / 1000;
        const drainSent = c.sent;
        const drainReceived = c.received;
        // Idle: nothing changes any more.
        await fetchOnce(c, parts, session, 0);
        const s0 = c.sent;
        const r0 = c.received;
        const t1 = performance.now();
        for (let i = 0; i < IDLE; i++) await fetchOnce(c, parts, session, 0);
        const idleS = (performance.now() - t1) / 1000;
        rows.push(
          `| ${round} | ${mode} | ${Math.round(IDLE / idleS)} | ${Math.round((c.sent - s0) / IDLE)} | ` +
            `${Math.round((c.received - r0) / IDLE)} | ${Math.round(RECORDS / drainS)} | ${fetches} | ` +
            `${Math.round(drainSent / 1024)} | ${Math.round(drainReceived / 1024)} |`,
        );
      } finally {
        c.close();
      }
    }
  }
  w.close();
} finally {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `Fetch sessions vs full fetches: ${PARTITIONS} partitions (${HOT} with data), ${RECORDS} records of 100 B, ` +
    `${values.consumer ? 'consumer' : 'follower (replica id 7)'}; Fetch v12`,
);
console.log(rows.join('\n'));
