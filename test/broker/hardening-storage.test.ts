/**
 * Issue 23 against a real `kstream serve`, with real clients (kcat, kafkajs) and files damaged by the test:
 * topic names Kafka accepts (a leading '.', 249 characters) survive a restart and can be deleted; a missing,
 * empty or invalid metadata file stops the start with a message instead of deleting every log, and logs the
 * metadata does not know are set aside, not deleted; a deletion or creation cut short is finished or rolled
 * back at start; the data dir lock is the kernel's (a reused PID does not block a restart, a removed .lock
 * file does not let a second broker in); and on a full disk (a real 8 MB tmpfs) topics can be deleted to free
 * space, creation is all or nothing, and the broker starts and serves reads.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';

const run = promisify(execFile);
const cleanup: (() => Promise<void> | void)[] = [];

async function broker(dataDir: string, props?: Record<string, string>): Promise<BrokerProcess> {
  const b = await startBroker({ dataDir, props });
  cleanup.push(() => b.kill());
  return b;
}

async function adminOf(b: BrokerProcess): Promise<Admin> {
  const admin = new Kafka({
    brokers: [b.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  }).admin();
  await admin.connect();
  cleanup.push(() => admin.disconnect());
  return admin;
}

async function serveFails(dataDir: string): Promise<{ code: number; stderr: string }> {
  try {
    await run(
      process.execPath,
      [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1', '--http-port', '0'],
      {
        cwd: ROOT,
        timeout: 30_000,
      },
    );
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
  throw new Error('serve was expected to fail');
}

async function produce(bootstrap: string, topic: string, lines: string[], extra: string[] = []): Promise<void> {
  const dir = tempDir('kstream-input-');
  cleanup.push(() => removeDir(dir));
  const file = join(dir, 'in.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  await run('kcat', ['-P', '-b', bootstrap, '-t', topic, '-l', file, ...extra], { timeout: 60_000 });
}

async function consume(bootstrap: string, topic: string): Promise<string[]> {
  const { stdout } = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q'], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter((l) => l !== '');
}

async function topicNames(admin: Admin): Promise<string[]> {
  return (await admin.listTopics()).sort();
}

function storeFile(dataDir: string): string {
  return join(dataDir, '.metadata', 'store.json');
}

function storedTopics(dataDir: string): Record<string, { id: string; partitions: number }> {
  return JSON.parse(readFileSync(storeFile(dataDir), 'utf8'));
}

function logBytes(dir: string): number {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

const LONG = 'l'.repeat(249);

describe('hardening: names, damaged metadata, interrupted operations, the lock, a full disk', () => {
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  test('a topic named .x is auto-created by kcat, and the broker restarts with it (also 249 characters)', async () => {
    const dataDir = tempDir();
    cleanup.push(() => removeDir(dataDir));
    const b = await broker(dataDir);
    const dotted = `.${'y'.repeat(248)}`;
    await run('sh', ['-c', `echo x | kcat -P -b ${b.bootstrap} -t .x`], { timeout: 30_000 });
    await run('sh', ['-c', `echo long | kcat -P -b ${b.bootstrap} -t ${dotted}`], { timeout: 30_000 });
    assert.deepEqual(await consume(b.bootstrap, '.x'), ['x']);
    assert.equal(await b.stop(), 0);
    const b2 = await broker(dataDir);
    assert.deepEqual(await consume(b2.bootstrap, '.x'), ['x']);
    assert.deepEqual(await consume(b2.bootstrap, dotted), ['long']);
    assert.equal(await b2.stop(), 0);
  });

  test('a topic of 249 characters is deleted (kafkajs), gone from disk, and the broker restarts', async () => {
    const dataDir = tempDir();
    cleanup.push(() => removeDir(dataDir));
    const b = await broker(dataDir);
    const admin = await adminOf(b);
    await admin.createTopics({ topics: [{ topic: LONG, numPartitions: 3 }, { topic: 'stays' }] });
    await produce(b.bootstrap, LONG, ['a', 'b', 'c']);
    await produce(b.bootstrap, 'stays', ['s']);
    await admin.deleteTopics({ topics: [LONG] });
    assert.deepEqual(await topicNames(admin), ['stays']);
    assert.deepEqual(
      readdirSync(dataDir).filter((n) => n.startsWith('lll')),
      [],
      'no partition dir of the topic left',
    );
    assert.match(b.logs(), /deleted topic/);
    await admin.disconnect();
    assert.equal(await b.stop(), 0);
    const b2 = await broker(dataDir);
    const admin2 = await adminOf(b2);
    assert.deepEqual(await topicNames(admin2), ['stays']);
    assert.deepEqual(await consume(b2.bootstrap, 'stays'), ['s']);
    await admin2.disconnect();
    assert.equal(await b2.stop(), 0);
  });

  test('a missing, empty or invalid metadata file stops the start with a message; no log is touched', async () => {
    const dataDir = tempDir();
    cleanup.push(() => removeDir(dataDir));
    const b = await broker(dataDir);
    const lines = Array.from({ length: 200 }, (_, i) => `r${i}`);
    await produce(b.bootstrap, 'precious', lines);
    assert.equal(await b.stop(), 0);
    const file = storeFile(dataDir);
    const good = readFileSync(file);
    const logDir = join(dataDir, 'precious-0');
    const bytes = logBytes(logDir);
    assert.ok(bytes > 0);

    const damaged: [string, (() => void) | null][] = [
      ['empty', () => writeFileSync(file, '')],
      ['missing', () => unlinkSync(file)],
      ['cut short', () => writeFileSync(file, good.subarray(0, 40))],
      ['not an object of topics', () => writeFileSync(file, '{"topics/precious": {"id": 7}}')],
    ];
    for (const [what, damage] of damaged) {
      damage?.();
      const { code, stderr } = await serveFails(dataDir);
      assert.equal(code, 1, what);
      assert.equal(stderr.trim().split('\n').length, 1, `${what}: one line: ${stderr}`);
      assert.ok(stderr.startsWith('kstream: '), stderr);
      assert.ok(stderr.includes(file), `${what}: names the file: ${stderr}`);
      assert.match(stderr, /restore/, `${what}: says what to do: ${stderr}`);
      assert.equal(logBytes(logDir), bytes, `${what}: the log is untouched`);
    }
    writeFileSync(file, good);
    const b2 = await broker(dataDir);
    assert.deepEqual(await consume(b2.bootstrap, 'precious'), lines);
    assert.equal(await b2.stop(), 0);
  });

  test('logs of a topic the metadata does not know are set aside (kept), never deleted', async () => {
    const dataDir = tempDir();
    cleanup.push(() => removeDir(dataDir));
    const b = await broker(dataDir);
    await produce(b.bootstrap, 'known', ['k']);
    await produce(b.bootstrap, 'unknown', ['u1', 'u2']);
    assert.equal(await b.stop(), 0);
    const bytes = logBytes(join(dataDir, 'unknown-0'));
    const store = storedTopics(dataDir);
    delete store['topics/unknown'];
    writeFileSync(storeFile(dataDir), JSON.stringify(store));

    const b2 = await broker(dataDir);
    const admin = await adminOf(b2);
    assert.deepEqual(await topicNames(admin), ['known']);
    const stray = readdirSync(dataDir).filter((n) => /^unknown-0\.[0-9a-f]{32}-stray$/.test(n));
    assert.equal(stray.length, 1, `set aside: ${readdirSync(dataDir)}`);
    assert.equal(logBytes(join(dataDir, stray[0] as string)), bytes, 'kept whole');
    assert.match(b2.logs(), /Set log unknown-0 aside/);
    assert.doesNotMatch(b2.logs(), /removing logs/);
    assert.deepEqual(await consume(b2.bootstrap, 'known'), ['k']);
    await admin.disconnect();
    assert.equal(await b2.stop(), 0);
  });

  test('a deletion or creation cut short by a crash is finished or rolled back at start', async () => {
    const dataDir = tempDir();
    cleanup.push(() => removeDir(dataDir));
    const b = await broker(dataDir);
    const admin = await adminOf(b);
    await admin.createTopics({
      topics: [
        { topic: 'doomed', numPartitions: 2 },
        { topic: 'half', numPartitions: 4 },
      ],
    });
    await produce(b.bootstrap, 'doomed', ['d']);
    await admin.disconnect();
    await b.kill();
    const store = storedTopics(dataDir);
    // Crash right after the delete intent of "doomed" was written (an empty file named by the topic id: it
    // needs no free space).
    writeFileSync(join(dataDir, `.deleting-${store['topics/doomed']?.id}`), '');
    // Crash while creating "half": the store has it (committed), two of its four partition dirs are missing.
    rmSync(join(dataDir, 'half-2'), { recursive: true });
    rmSync(join(dataDir, 'half-3'), { recursive: true });
    writeFileSync(join(dataDir, `.creating-${store['topics/half']?.id}`), 'half\n');
    // Crash while creating "never": not committed to the store, one partition dir made.
    const neverId = 'f'.repeat(32);
    writeFileSync(join(dataDir, `.creating-${neverId}`), 'never\n');
    mkdirSync(join(dataDir, 'never-0'));
    writeFileSync(join(dataDir, 'never-0', 'partition.metadata'), `version: 0\ntopic_id: ${neverId}\n`);

    const b2 = await broker(dataDir);
    const admin2 = await adminOf(b2);
    assert.deepEqual(await topicNames(admin2), ['half']);
    const md = await admin2.fetchTopicMetadata({ topics: ['half'] });
    assert.equal(md.topics[0]?.partitions.length, 4);
    const left = readdirSync(dataDir).sort();
    assert.deepEqual(
      left.filter(
        (n) => !['.lock', '.metadata', 'meta.properties', 'serve.json', 'replication-offset-checkpoint'].includes(n),
      ),
      ['half-0', 'half-1', 'half-2', 'half-3'],
    );
    assert.deepEqual(
      Object.keys(storedTopics(dataDir)).filter((k) => k.startsWith('topics/')),
      ['topics/half'],
    );
    await admin2.disconnect();
    assert.equal(await b2.stop(), 0);
  });

  test('the data dir lock: a live unrelated process with the PID in .lock does not block a start', async () => {
    const dataDir = tempDir();
    cleanup.push(() => removeDir(dataDir));
    const b = await broker(dataDir);
    await b.kill();
    const sleeper: ChildProcess = spawn('sleep', ['600'], { stdio: 'ignore' });
    cleanup.push(() => {
      sleeper.kill('SIGKILL');
    });
    writeFileSync(join(dataDir, '.lock'), String(sleeper.pid));
    const b2 = await broker(dataDir);
    assert.equal(await b2.stop(), 0);
  });

  test('the data dir lock: a running broker blocks a second one even when .lock was removed', async () => {
    const dataDir = tempDir();
    cleanup.push(() => removeDir(dataDir));
    const b = await broker(dataDir);
    rmSync(join(dataDir, '.lock'), { force: true });
    const { code, stderr } = await serveFails(dataDir);
    assert.equal(code, 1);
    assert.match(stderr, /^kstream: data dir .* is in use by another kstream process/);
    assert.equal(await b.stop(), 0);
  });

  test('a full disk (8 MB tmpfs): delete frees space, creation is all or nothing, the broker starts', async () => {
    const mnt = tempDir('kstream-tmpfs-');
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
    cleanup.push(async () => {
      await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
      removeDir(mnt);
    });
    const dataDir = join(mnt, 'data');
    const free = () => {
      const s = statfsSync(mnt);
      return s.bavail * s.bsize;
    };
    const filler = join(mnt, 'filler');
    /** Fill the disk up, then give back `leave` bytes. */
    const fill = (leave = 0) => {
      const fd = openSync(filler, 'a');
      try {
        const chunk = Buffer.alloc(64 * 1024, 1);
        let size = statSync(filler).size;
        for (;;) {
          try {
            size += writeSync(fd, chunk);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
            break;
          }
        }
        for (let n = 4096; ; ) {
          try {
            size += writeSync(fd, chunk, 0, n);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
            if (n === 1) break;
            n = Math.max(1, n >> 1);
          }
        }
        if (leave > 0) ftruncateSync(fd, size - leave);
      } finally {
        closeSync(fd);
      }
    };
    const dirsOf = (topic: string) => readdirSync(dataDir).filter((n) => n.startsWith(`${topic}-`));

    const b = await broker(dataDir);
    const admin = await adminOf(b);
    await admin.createTopics({
      topics: [{ topic: 'big', configEntries: [{ name: 'segment.bytes', value: '262144' }] }, { topic: 'keep' }],
    });
    await produce(
      b.bootstrap,
      'big',
      Array.from({ length: 3000 }, (_, i) => `${i}`.padEnd(1000, 'x')),
      // Batches of at most 50 records: ~5 segments of 256 KiB lie wholly below offset 1500, whatever the timing.
      ['-X', 'batch.num.messages=50'],
    );
    await produce(b.bootstrap, 'keep', ['k1', 'k2', 'k3']);

    // Almost full: a few pages left, enough for some partitions of a new topic but not all.
    fill(64 * 1024);
    const grouped = await admin.describeGroups(['g']).then(
      () => 'ok',
      (e: Error) => e.message,
    );
    const offsets = dirsOf('__consumer_offsets').length;
    assert.ok(
      offsets === 0 || offsets === 50,
      `__consumer_offsets fully created or not at all: ${offsets} (${grouped})`,
    );
    const created = await admin.createTopics({ topics: [{ topic: 'new', numPartitions: 40 }] }).then(
      () => 'created',
      (e: Error & { errors?: { type: string }[] }) => e.errors?.map((x) => x.type).join(',') ?? e.message,
    );
    assert.equal(created, 'KAFKA_STORAGE_ERROR', 'a clear error');
    assert.deepEqual(dirsOf('new'), [], 'nothing of the topic left');
    assert.match(b.logs(), /cannot create topic new/);

    // Full: DeleteRecords frees the segments below the new log start; deleting a topic frees all of it.
    fill();
    let before = free();
    await admin.deleteTopicRecords({ topic: 'big', partitions: [{ partition: 0, offset: '1500' }] });
    assert.ok(free() - before > 1_000_000, `space freed by DeleteRecords: ${free() - before} bytes`);
    fill();
    before = free();
    await admin.deleteTopics({ topics: ['big'] });
    assert.deepEqual(dirsOf('big'), []);
    assert.ok(free() - before > 1_000_000, `space freed by DeleteTopics: ${free() - before} bytes`);
    assert.deepEqual(await topicNames(admin), offsets === 50 ? ['__consumer_offsets', 'keep'] : ['keep']);
    await admin.disconnect();

    // A broker killed on a full disk starts on it again, serves reads, and can delete.
    fill();
    await b.kill();
    const b2 = await broker(dataDir);
    assert.deepEqual(await consume(b2.bootstrap, 'keep'), ['k1', 'k2', 'k3']);
    const admin2 = await adminOf(b2);
    assert.deepEqual(await topicNames(admin2), offsets === 50 ? ['__consumer_offsets', 'keep'] : ['keep']);
    await admin2.deleteTopics({ topics: ['keep'] });
    assert.deepEqual(dirsOf('keep'), []);
    // With space again, the group coordinator's topic is created whole.
    unlinkSync(filler);
    await admin2.describeGroups(['g']);
    assert.equal(dirsOf('__consumer_offsets').length, 50);
    await admin2.disconnect();
    assert.equal(await b2.stop(), 0);
    assert.ok(!existsSync(join(dataDir, '.lock')));
  });
});
