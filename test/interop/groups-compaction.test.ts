/**
 * Log compaction end to end (the cleaner that also keeps `__consumer_offsets` small): a compacted topic
 * written by kcat with 10 values for each of 1,000 keys plus tombstones is read back through kcat as the
 * newest value per live key, at the offsets those records had when written. The broker is SIGKILLed while
 * the cleaner is working and nothing is lost.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { type GroupBroker, startGroupBroker, waitFor } from './groups-helpers.js';

const run = promisify(execFile);
const TOPIC = 'compacted';
const KEYS = 1000;
const ROUNDS = 10;
const LAG_MS = 6000;
let gb: GroupBroker;
let admin: Admin;

interface Line {
  offset: number;
  key: string;
  value: string;
}

async function kcat(args: string[], input?: string): Promise<string> {
  const p = run('kcat', ['-b', gb.broker.bootstrap, ...args], { timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (input !== undefined) p.child.stdin?.end(input);
  return (await p).stdout;
}

async function readBack(): Promise<Line[]> {
  const out = await kcat(['-C', '-t', TOPIC, '-e', '-q', '-Z', '-f', '%o\t%k\t%s\n']);
  return out
    .split('\n')
    .filter((l) => l)
    .map((l) => {
      const [o, key, value] = l.split('\t');
      return { offset: Number(o), key: key as string, value: value as string };
    });
}

describe('log compaction read back through kcat', () => {
  before(async () => {
    gb = await startGroupBroker({ 'log.cleaner.backoff.ms': '300' });
    const kafka = new Kafka({
      clientId: 'compaction-test',
      brokers: [gb.broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '16384' },
            { name: 'delete.retention.ms', value: '1000' },
            // Nothing is compacted before the test has read the uncompacted log.
            { name: 'min.compaction.lag.ms', value: String(LAG_MS) },
          ],
        },
      ],
    });
  });
  after(async () => {
    await admin?.disconnect();
    await gb?.cleanup();
  });

  test('10 values × 1,000 keys + tombstones compact to the newest value per live key, offsets unchanged', async () => {
    const lines: string[] = [];
    for (let r = 0; r < ROUNDS; r++) for (let k = 0; k < KEYS; k++) lines.push(`key-${k}:r${r}-${k}`);
    // Tombstones (-Z: an empty value is sent as null) for every 10th key.
    for (let k = 0; k < KEYS; k += 10) lines.push(`key-${k}:`);
    const t0 = Date.now();
    await kcat(['-P', '-t', TOPIC, '-K', ':', '-Z', '-z', 'gzip'], `${lines.join('\n')}\n`);
    // A batch larger than a segment, on its own, closes the segment holding the tombstones.
    const filler = `filler:${'f'.repeat(40_000)}`;
    lines.push(filler);
    await kcat(['-P', '-t', TOPIC, '-K', ':', '-z', 'none'], `${filler}\n`);
    const before = await readBack();
    assert.ok(Date.now() - t0 < LAG_MS, 'read before the compaction lag passed');
    assert.equal(before.length, lines.length, 'nothing compacted yet');
    const newest = new Map<string, Line>();
    for (const l of before) newest.set(l.key, l);
    assert.equal(newest.get('key-0')?.value, 'NULL');

    // Kill the broker while the cleaner works (just after the lag), restart it: nothing lost.
    await new Promise((r) => setTimeout(r, Math.max(0, LAG_MS - (Date.now() - t0)) + 300));
    await gb.broker.kill();
    await gb.restart();
    const mid = await readBack();
    const midByOffset = new Map(mid.map((l) => [l.offset, l]));
    for (const [key, n] of newest) {
      if (n.value === 'NULL') continue;
      assert.deepEqual(midByOffset.get(n.offset), n, `newest value of ${key} survived the crash`);
    }

    const live = [...newest.values()].filter((l) => l.value !== 'NULL');
    const after = await waitFor(
      'compaction to finish',
      60_000,
      async () => {
        const got = await readBack();
        return got.length === live.length ? got : null;
      },
      500,
    );
    assert.deepEqual(
      after,
      live.sort((a, b) => a.offset - b.offset),
      'exactly the newest record of each live key, at its original offset',
    );
    for (const l of after) if (l.key !== 'filler') assert.match(l.value, /^r9-/);
    const offsets = await admin.fetchTopicOffsets(TOPIC);
    assert.equal(offsets[0]?.high, String(lines.length), 'the log end did not move');
  });
});
