/**
 * Crash safety: SIGKILL `kstream serve` while confluent-kafka-python produces with acks=all; after restart
 * every acknowledged record is there at its acknowledged offset, offsets are contiguous, and producing
 * continues at the next offset. A torn final batch is dropped on restart with a log line.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';

const run = promisify(execFile);
const brokers: BrokerProcess[] = [];
const children: ChildProcess[] = [];
let dataDir = '';

function ackLogger(bootstrap: string, topic: string, start = 0, limit?: number) {
  const args = [join(ROOT, 'test/interop/py/ack_logger.py'), bootstrap, topic, String(start)];
  if (limit !== undefined) args.push(String(limit));
  const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const acked: { offset: number; value: string }[] = [];
  let partial = '';
  child.stdout.on('data', (d) => {
    const text = partial + d;
    const lines = text.split('\n');
    partial = lines.pop() as string;
    for (const l of lines) {
      const [, o, v] = l.split(' ');
      acked.push({ offset: Number(o), value: v as string });
    }
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return { child, acked, exited };
}

async function readAll(bootstrap: string, topic: string): Promise<{ offset: number; value: string }[]> {
  const { stdout } = await run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-p', '0', '-e', '-q', '-f', '%o %s\n'], {
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  return stdout
    .split('\n')
    .filter((l) => l)
    .map((l) => {
      const [o, v] = l.split(' ');
      return { offset: Number(o), value: v as string };
    });
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('crash safety', () => {
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const b of brokers) await b.kill();
    removeDir(dataDir);
  });

  test('SIGKILL during acks=all produce loses nothing acknowledged; producing continues', async () => {
    dataDir = tempDir();
    const b1 = await startBroker({ dataDir });
    brokers.push(b1);
    const p = ackLogger(b1.bootstrap, 'crash');
    await waitFor(() => p.acked.length >= 20_000, 60_000, '20,000 acknowledged records');
    await b1.kill();
    const ackedAtKill = p.acked.length;
    p.child.kill('SIGKILL');
    await p.exited;
    assert.ok(p.acked.length >= ackedAtKill);

    const b2 = await startBroker({ dataDir });
    brokers.push(b2);
    const stored = await readAll(b2.bootstrap, 'crash');
    stored.forEach((r, i) => {
      assert.equal(r.offset, i, 'offsets contiguous from 0');
    });
    const byOffset = new Map(stored.map((r) => [r.offset, r.value]));
    for (const a of p.acked) assert.equal(byOffset.get(a.offset), a.value, `acknowledged offset ${a.offset} survived`);

    const p2 = ackLogger(b2.bootstrap, 'crash', 10_000_000, 100);
    await p2.exited;
    assert.equal(p2.acked.length, 100);
    assert.equal(p2.acked[0]?.offset, stored.length, 'producing continues at the next offset');
    await b2.stop();
  });

  test('a torn final batch is dropped on restart with a log line; nothing before it is lost', async () => {
    const b3 = await startBroker({ dataDir });
    brokers.push(b3);
    const before = await readAll(b3.bootstrap, 'crash');
    const p = ackLogger(b3.bootstrap, 'crash', 20_000_000, 50);
    await p.exited;
    assert.equal(p.acked.length, 50);
    await b3.kill();
    const dir = join(dataDir, 'crash-0');
    const logs = readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .sort();
    const last = join(dir, logs[logs.length - 1] as string);
    truncateSync(last, statSync(last).size - 7);

    const b4 = await startBroker({ dataDir });
    brokers.push(b4);
    const afterRestart = await readAll(b4.bootstrap, 'crash');
    assert.ok(afterRestart.length < before.length + 50, 'the torn batch is gone');
    assert.ok(afterRestart.length >= before.length, 'nothing before the torn batch was lost');
    afterRestart.forEach((r, i) => {
      assert.equal(r.offset, i);
    });
    for (const r of before) assert.equal(afterRestart[r.offset]?.value, r.value);
    assert.match(b4.logs(), /crash-0|partition=0/);
    assert.match(b4.logs(), /WARN/);
    await b4.stop();
  });
});
