/**
 * Open segment files are bounded across all partitions (file-handles.ts): logs open their `.log` files on
 * use and the least recently used idle ones are closed past the bound, so idle partitions hold no
 * descriptor. In-process: many logs under a small bound stay correct through appends, rolls, reads,
 * truncation, deletion and reopening, with never more segment files open than the bound. End to end: a
 * broker under `ulimit -n 256` with more partitions than that serves produce and consume on all of them,
 * and starts again (it used to fail with EMFILE).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { defaultMaxOpenFiles, openFiles, softFileLimit } from '../../src/storage/file-handles.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { type BrokerProcess, tempDir as brokerTempDir, ROOT, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { config, produced, simpleBatch, splitBatches, tempDir } from './helpers.js';

const run = promisify(execFile);

/** Segment (.log) files under `dir` this process has open now. */
function openSegmentFiles(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(join('/proc/self/fd', fd));
      if (target.startsWith(dir) && /\.log(\.deleted)?$/.test(target)) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

test('the bound comes from the soft RLIMIT_NOFILE in /proc/self/limits', () => {
  const text = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63432                63432                processes
Max open files            256                  4096                 files
`;
  assert.equal(softFileLimit(text), 256);
  assert.equal(defaultMaxOpenFiles(256), 128);
  assert.equal(softFileLimit(text.replace('256  ', 'unlimited')), Number.POSITIVE_INFINITY);
  assert.equal(defaultMaxOpenFiles(20), 16, 'never below 16');
  assert.equal(defaultMaxOpenFiles(null), 4096);
  assert.ok((softFileLimit() ?? 0) > 0, 'this process has a readable limit');
});

test('60 logs under a bound of 16 open files: appends, rolls, reads, truncation, deletion, reopen', async () => {
  const { dir, cleanup } = await tempDir();
  const before = openFiles.maxOpen;
  openFiles.maxOpen = 16;
  const cfg = config({ segmentBytes: 1024, indexIntervalBytes: 128 });
  let logs: PartitionLog[] = [];
  try {
    for (let i = 0; i < 60; i++) logs.push(await PartitionLog.open(join(dir, `t-${i}`), cfg));
    const stored: Buffer[][] = logs.map(() => []);
    let maxSeen = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < logs.length; i++) {
        const { buf, batches } = produced(simpleBatch(2, 30, 1_700_000_000_000n + BigInt(round)));
        logs[i]!.append(buf, batches, 0, null);
        stored[i]!.push(Buffer.from(buf));
      }
      maxSeen = Math.max(maxSeen, openSegmentFiles(dir));
    }
    assert.ok(
      logs.every((l) => l.segmentCount >= 3),
      'each log rolled into several segments',
    );
    await Promise.all(logs.map((l) => l.flush()));
    const readAllOf = async (log: PartitionLog, from = 0n): Promise<Buffer[]> => {
      const out: Buffer[] = [];
      let offset = from;
      while (offset < log.logEndOffset) {
        const parts = splitBatches((await log.read(offset, 300, log.logEndOffset)).records);
        assert.ok(parts.length > 0);
        for (const p of parts) out.push(Buffer.from(p.bytes));
        offset = parts[parts.length - 1]!.lastOffset + 1n;
        maxSeen = Math.max(maxSeen, openSegmentFiles(dir));
      }
      return out;
    };
    for (let i = 0; i < logs.length; i++) assert.deepEqual(await readAllOf(logs[i]!), stored[i], `log ${i}`);
    assert.ok(maxSeen <= 16, `at most 16 segment files open at once, saw ${maxSeen}`);
    // Reads of all logs at once: each pins its segment while it reads (the bound gives way to pins).
    const all = await Promise.all(logs.map((l) => readAllOf(l)));
    for (const [i, got] of all.entries()) assert.deepEqual(got, stored[i], `log ${i}`);
    maxSeen = openSegmentFiles(dir);
    // Truncate some, delete the first segments of others.
    // Batch k holds offsets 2k and 2k+1: truncating to 11 keeps batches 0-4, deleting before 20 keeps 10-19.
    for (let i = 0; i < logs.length; i += 3) await logs[i]!.truncateTo(11n);
    for (let i = 1; i < logs.length; i += 3) await logs[i]!.deleteRecordsBefore(20n);
    for (let i = 0; i < logs.length; i++) {
      const from = i % 3 === 1 ? logs[i]!.logStartOffset : 0n;
      const got = await readAllOf(logs[i]!, from);
      const want = i % 3 === 0 ? stored[i]!.slice(0, 5) : stored[i]!.slice(Number(from) / 2);
      assert.deepEqual(got, want, `log ${i} after truncation / deletion`);
    }
    await Promise.all(logs.map((l) => l.close()));
    assert.equal(openSegmentFiles(dir), 0, 'closed logs hold no files');
    // Reopen them all: opening holds no descriptor per segment.
    logs = [];
    for (let i = 0; i < 60; i++) logs.push(await PartitionLog.open(join(dir, `t-${i}`), cfg));
    maxSeen = Math.max(maxSeen, openSegmentFiles(dir));
    for (let i = 0; i < logs.length; i++) {
      const from = i % 3 === 1 ? logs[i]!.logStartOffset : 0n;
      assert.equal((await readAllOf(logs[i]!, from)).length, i % 3 === 0 ? 5 : 20 - Number(from) / 2);
    }
    assert.ok(maxSeen <= 16, `at most 16 segment files open at once, saw ${maxSeen}`);
    assert.ok(openFiles.evictions > 0);
  } finally {
    await Promise.all(logs.map((l) => l.close().catch(() => {})));
    openFiles.maxOpen = before;
    await cleanup();
  }
});

test('a broker under ulimit -n 256 serves 300 partitions and starts again', async () => {
  const dataDir = brokerTempDir();
  const topics = ['fd-a', 'fd-b', 'fd-c'];
  const per = 100;
  let broker: BrokerProcess | undefined;
  try {
    broker = await startBroker({ dataDir, nofile: 256 });
    await RawClient.using(broker.port, async (c) => {
      const r = await c.request(ApiKey.CreateTopics, 5, {
        topics: topics.map((name) => ({
          name,
          numPartitions: per,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'segment.bytes', value: '1024' }],
        })),
        timeoutMs: 30_000,
        validateOnly: false,
      });
      for (const t of r.topics as Struct[]) assert.equal(t.errorCode, 0, `${t.name}: ${t.errorMessage}`);
    });
    const py = async (script: string, args: string[]) => {
      const { stdout } = await run('/usr/bin/python3', [join(ROOT, 'test/interop/py', script), ...args], {
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      return JSON.parse(stdout.trim().split('\n').pop()!);
    };
    const count = 30; // ~2 KB per partition: each rolls at least once (segment.bytes 1024)
    for (const t of topics) {
      assert.deepEqual(await py('produce_partitions.py', [broker.bootstrap, t, String(per), String(count)]), {
        delivered: per * count,
        errors: [],
      });
    }
    const consumeAll = async (b: BrokerProcess) => {
      for (const t of topics) {
        const r = await py('consume_report.py', [b.bootstrap, t, String(per), '90']);
        const parts = Object.values(r.partitions) as { count: number; errors: unknown[] }[];
        assert.equal(parts.length, per);
        for (const [p, got] of Object.entries(r.partitions) as [string, { count: number; errors: unknown[] }][]) {
          assert.deepEqual(got.errors, [], `${t}/${p}`);
          assert.equal(got.count, count, `${t}/${p}`);
        }
      }
    };
    await consumeAll(broker);
    assert.doesNotMatch(broker.logs(), /EMFILE/);
    assert.equal(await broker.stop(), 0);
    broker = await startBroker({ dataDir, nofile: 256 });
    await consumeAll(broker);
    assert.doesNotMatch(broker.logs(), /EMFILE/);
  } finally {
    await broker?.stop();
    removeDir(dataDir);
  }
});
