/**
 * librdkafka through kcat against a real `kstream serve`: metadata listing, and 100,000 keyed lines per codec
 * produced to a 3-partition topic and read back byte-identical, in order per partition, offsets from 0.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';

const run = promisify(execFile);
const N = 100_000;
let broker: BrokerProcess;
let work: string;

function kcat(args: string[], opts: { input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  const p = run('kcat', ['-b', broker.bootstrap, ...args], { maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
  if (opts.input !== undefined) {
    p.child.stdin?.end(opts.input);
  }
  return p;
}

describe('kcat (librdkafka) against kstream serve', () => {
  before(async () => {
    work = tempDir();
    const props = join(work, 'server.properties');
    writeFileSync(props, 'num.partitions=3\n# auto-created topics get 3 partitions\n');
    broker = await startBroker({ args: ['--config', props] });
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('kcat -L lists the broker and topics', async () => {
    await kcat(['-P', '-t', 'listed', '-K', ':'], { input: 'a:1\n' });
    const { stdout } = await kcat(['-L']);
    assert.match(stdout, new RegExp(`1 brokers:\\s+broker 1 at 127\\.0\\.0\\.1:${broker.port}`));
    assert.match(stdout, /topic "listed" with 3 partitions:/);
    assert.match(stdout, /partition 0, leader 1, replicas: 1, isrs: 1/);
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`100,000 keyed lines with -z ${codec} round-trip byte-identical`, async () => {
      const topic = `kcat-${codec}`;
      const lines: string[] = [];
      for (let i = 0; i < N; i++) {
        const key = `key-${i % 997}`;
        const value = `v${i} ${'x'.repeat(i % 50)} é✓ ${(i * 7919) % 100003}`;
        lines.push(`${key}\t${value}`);
      }
      await kcat(['-P', '-t', topic, '-K', '\t', '-z', codec, '-X', 'linger.ms=5'], { input: `${lines.join('\n')}\n` });
      const { stdout } = await kcat(['-C', '-t', topic, '-e', '-q', '-f', '%p\t%o\t%k\t%s\n']);
      const got = stdout.split('\n').filter((l) => l !== '');
      assert.equal(got.length, N, 'every record is read back');
      const byPartition = new Map<number, { offset: number; kv: string }[]>();
      for (const l of got) {
        const [p, o, k, ...v] = l.split('\t');
        const list = byPartition.get(Number(p)) ?? [];
        list.push({ offset: Number(o), kv: `${k}\t${v.join('\t')}` });
        byPartition.set(Number(p), list);
      }
      assert.equal(byPartition.size, 3, 'records spread over the 3 partitions');
      const sent = new Map(lines.map((l, i) => [l, i]));
      const seen = new Set<string>();
      for (const [p, list] of byPartition) {
        list.forEach((r, i) => {
          assert.equal(r.offset, i, `partition ${p} offsets contiguous from 0`);
        });
        let prev = -1;
        for (const r of list) {
          const idx = sent.get(r.kv);
          assert.notEqual(idx, undefined, `record ${JSON.stringify(r.kv)} was produced`);
          assert.ok((idx as number) > prev, `partition ${p} keeps production order`);
          prev = idx as number;
          seen.add(r.kv);
        }
      }
      assert.equal(seen.size, N, 'no duplicates, none missing');
    });
  }
});
