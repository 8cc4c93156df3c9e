/**
 * `kstream bench produce|consume|e2e` against a real broker with small record counts and `-o json`: the JSON
 * shape and that the counts add up. No timing assertions (benchmarks measure; tests check behaviour).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker } from '../helpers/broker.js';

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'bench', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, KSTREAM_BROKERS: broker.bootstrap },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(args: string[]): Record<string, unknown> {
  const r = run([...args, '-o', 'json']);
  assert.equal(r.status, 0, `bench ${args.join(' ')} failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `-o json prints one line, got: ${r.stdout}`);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

function assertLatency(l: unknown, count: number): void {
  const lat = l as Record<string, number>;
  for (const k of ['mean', 'p50', 'p95', 'p99', 'p999', 'max']) {
    assert.equal(typeof lat[k], 'number', `latencyMs.${k}`);
    assert.ok(lat[k]! >= 0, `latencyMs.${k} >= 0`);
  }
  assert.ok(lat.p50! <= lat.p99! && lat.p99! <= lat.max!, 'percentiles are ordered');
  assert.equal(lat.count, count);
}

test('bench produce: JSON report, every record acknowledged (3 partitions, 2 producers, acks=all)', () => {
  const r = json([
    'produce',
    '-t',
    'bench-p',
    '-n',
    '3001',
    '-s',
    '50',
    '-p',
    '3',
    '--producers',
    '2',
    // produce's name for --linger works here too
    '--linger-ms',
    '2',
    '--acks',
    'all',
  ]);
  assert.equal(r.bench, 'produce');
  assert.equal(r.topic, 'bench-p');
  assert.equal(r.records, 3001);
  assert.equal(r.bytes, 3001 * 50);
  assert.equal(typeof r.elapsedMs, 'number');
  assert.ok((r.recordsPerSec as number) > 0);
  assert.equal(typeof r.mbPerSec, 'number');
  assertLatency(r.latencyMs, 3001);
  const c = r.config as Record<string, unknown>;
  assert.equal(c.acks, 'all');
  assert.equal(c.producers, 2);
  assert.equal(c.partitions, 3);
});

test('bench consume: reads back what was produced; stops at --records or at the end of the topic', () => {
  json(['produce', '-t', 'bench-c', '-n', '5000', '-s', '20', '-p', '2', '-z', 'lz4', '--throughput', '50000']);
  const some = json(['consume', '-t', 'bench-c', '-n', '1200']);
  assert.equal(some.bench, 'consume');
  assert.equal(some.records, 1200);
  assert.equal(some.bytes, 1200 * 20);
  assert.equal(some.endOfTopic, false);
  const all = json(['consume', '-t', 'bench-c', '-n', '100000']);
  assert.equal(all.records, 5000);
  assert.equal(all.bytes, 5000 * 20);
  assert.equal(all.endOfTopic, true);
  // Partitions × --fetch-bytes beyond int32 (2 × 1.5 GiB): capped on the wire, not an encoding error (1,000
  // partitions × the default 4 MiB failed so).
  const wide = json(['consume', '-t', 'bench-c', '-n', '100000', '--fetch-bytes', String(1536 * 1024 * 1024)]);
  assert.equal(wide.records, 5000);
});

test('bench e2e: every record sent is consumed and timed', () => {
  const r = json(['e2e', '-t', 'bench-e', '-n', '2000', '--throughput', '20000', '-p', '2']);
  assert.equal(r.bench, 'e2e');
  assert.equal(r.records, 2000);
  assert.equal(r.consumed, 2000);
  assert.equal(r.bytes, 2000 * 100);
  assertLatency(r.latencyMs, 2000);
});

test('bench e2e --warmup-records: the first records are timed apart, the rest in the percentiles', () => {
  const r = json(['e2e', '-t', 'bench-w', '-n', '2000', '--throughput', '20000', '-p', '2', '--warmup-records', '500']);
  assert.equal(r.consumed, 2000);
  assertLatency(r.warmupLatencyMs, 500);
  assertLatency(r.latencyMs, 1500);
  assert.equal((r.config as Record<string, unknown>).warmupRecords, 500);
  const text = run(['e2e', '-t', 'bench-w', '-n', '300', '--throughput', '20000', '--warmup-records', '100']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /warm-up \(first 100 records, not in the figures above\)/);
});

test('bench: text output names the rates and percentiles', () => {
  const r = run(['produce', '-t', 'bench-t', '-n', '500']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /500 records .* records\/s, [\d.]+ MB\/s/);
  assert.match(r.stdout, /latency \(ms\): p50 [\d.]+, p95 [\d.]+, p99 [\d.]+, p99\.9 [\d.]+, max [\d.]+/);
});

for (const [args, pattern] of [
  [['produce', '--acks', '2'], /--acks/],
  [['produce', '--throughput', '0'], /--throughput/],
  [['produce', '--records', '0'], /records|0/],
  [['produce', '-z', 'brotli'], /brotli|compression/],
  [['e2e', '--record-size', '4'], /record-size/],
  [['consume', '-o', 'yaml'], /yaml|output/],
] as const) {
  test(`bench ${args.join(' ')}: one-line usage error, exit 2`, () => {
    const r = run([...args]);
    assert.equal(r.status, 2, `exit code; stderr: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0]!, /^kstream: /);
    assert.match(lines[0]!, pattern);
    assert.equal(r.stdout, '');
  });
}
