/**
 * Measurements for bench/scale.sh that need a client in-process (a bench tool, not product code):
 *
 *   node --import tsx bench/scale-probe.ts metadata BROKER TOPIC [N]   Metadata (all topics) and ListOffsets
 *       (earliest + latest of every partition of TOPIC) latency, N each after a warm-up: one JSON line with the
 *       median and p99 (ms) of each.
 *   node --import tsx bench/scale-probe.ts top BROKER [N]   what one `kstream top` poll does (fetchRaw +
 *       buildSnapshot, its own admin client), N polls: JSON with the median/p99 poll time and this process's
 *       peak RSS (MiB) — top's own data path without the terminal rendering.
 *   node --import tsx bench/scale-probe.ts idle BROKER_PORT N   open N connections, each sends one ApiVersions
 *       request (a real Kafka connection, as a client's bootstrap) and then stays idle; prints "ready N" once
 *       every answer is in, then holds them until stdin closes or SIGTERM.
 */
import { connect, type Socket } from 'node:net';
import { Admin } from '../src/client/index.js';
import { buildSnapshot, fetchRaw } from '../src/tui/data.js';
import type { Snapshot } from '../src/tui/types.js';
import { silentLogger } from '../src/util/logger.js';

const [cmd, a1, a2, a3] = process.argv.slice(2);

function stats(ms: number[]): { median: number; p99: number } {
  const s = [...ms].sort((x, y) => x - y);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return { median: +at(0.5).toFixed(2), p99: +at(0.99).toFixed(2) };
}

async function timed(n: number, f: () => Promise<unknown>): Promise<number[]> {
  await f();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
  }
  return out;
}

function admin(brokers: string): Admin {
  return new Admin({ brokers, clientId: 'scale-probe', logger: silentLogger, requestTimeoutMs: 60_000 });
}

async function metadata(brokers: string, topic: string, n: number): Promise<void> {
  const a = admin(brokers);
  try {
    await a.connect();
    // Metadata for all topics (a null topic list), straight from the broker each time.
    const md = await timed(n, () => a.describeTopics());
    const lo = await timed(n, () => a.fetchTopicOffsets([topic]));
    console.log(JSON.stringify({ metadataMs: stats(md), listOffsetsMs: stats(lo) }));
  } finally {
    await a.close();
  }
}

async function top(brokers: string, n: number): Promise<void> {
  const a = admin(brokers);
  try {
    let prev: Snapshot | null = null;
    const ms = await timed(n, async () => {
      prev = buildSnapshot(await fetchRaw(a), prev);
    });
    console.log(JSON.stringify({ pollMs: stats(ms), rssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  } finally {
    await a.close();
  }
}

/** An ApiVersions v0 request (no body), client id "idle". */
function apiVersions(correlationId: number): Buffer {
  const id = Buffer.from('idle');
  const b = Buffer.alloc(4 + 2 + 2 + 4 + 2 + id.length);
  b.writeInt32BE(b.length - 4, 0);
  b.writeInt16BE(18, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(correlationId, 8);
  b.writeInt16BE(id.length, 12);
  id.copy(b, 14);
  return b;
}

async function idle(port: number, n: number): Promise<void> {
  const socks: Socket[] = [];
  let answered = 0;
  // Opened in waves so the listen backlog is never the limit.
  for (let i = 0; i < n; i += 500) {
    const wave = Array.from({ length: Math.min(500, n - i) }, (_, j) => {
      return new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => s.write(apiVersions(i + j)));
        s.once('data', () => {
          answered++;
          resolve();
        });
        s.on('error', reject);
        socks.push(s);
      });
    });
    await Promise.all(wave);
  }
  console.log(`ready ${answered}`);
  const end = (): void => {
    for (const s of socks) s.destroy();
    process.exit(0);
  };
  process.stdin.on('end', end).resume();
  process.on('SIGTERM', end);
}

switch (cmd) {
  case 'metadata':
    await metadata(a1!, a2!, Number(a3 ?? 50));
    break;
  case 'top':
    await top(a1!, Number(a2 ?? 10));
    break;
  case 'idle':
    await idle(Number(a1), Number(a2));
    break;
  default:
    process.stderr.write('usage: scale-probe.ts metadata|top|idle ...\n');
    process.exit(2);
}
