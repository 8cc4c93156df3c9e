import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  LogManager,
  PARTITION_METADATA_FILE,
  parsePartitionDirName,
  parsePartitionMetadata,
  partitionDirName,
} from '../../src/storage/log-manager.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { CapturingLogger, config, produced, simpleBatch, tempDir } from './helpers.js';

function appendOne(log: PartitionLog, n = 1): void {
  const { buf, batches } = produced(simpleBatch(n));
  log.append(buf, batches, 0, null);
}

test('partition directory names split on the last dash', () => {
  assert.deepEqual(parsePartitionDirName('orders-0'), { topic: 'orders', partition: 0 });
  assert.deepEqual(parsePartitionDirName('my-topic.v2-17'), { topic: 'my-topic.v2', partition: 17 });
  assert.deepEqual(parsePartitionDirName('a-1-2'), { topic: 'a-1', partition: 2 });
  assert.deepEqual(parsePartitionDirName('__consumer_offsets-49'), { topic: '__consumer_offsets', partition: 49 });
  assert.equal(parsePartitionDirName('orders'), null);
  assert.equal(parsePartitionDirName('orders-x'), null);
  assert.equal(parsePartitionDirName('-3'), null);
  assert.equal(parsePartitionDirName('.metadata'), null);
  assert.equal(parsePartitionDirName('orders-0.0123456789abcdef0123456789abcdef-delete'), null);
  assert.equal(partitionDirName('a.b-c', 4), 'a.b-c-4');
});

test('loadAll opens every partition dir (names with - and .), ignoring other entries', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = new LogManager(dir, config());
    const names: [string, number][] = [
      ['orders', 0],
      ['orders', 1],
      ['my-topic.v2', 0],
      ['a-1', 2],
    ];
    for (const [t, p] of names) appendOne(await m.getOrCreate(t, p), p + 1);
    await m.closeAll();
    mkdirSync(join(dir, '.metadata'));
    writeFileSync(join(dir, 'meta.properties'), 'x=1\n');
    mkdirSync(join(dir, 'not-a-partition'));

    const logger = new CapturingLogger();
    const again = new LogManager(dir, config(), logger, { recoveryThreads: 2 });
    const loaded = await again.loadAll();
    assert.equal(loaded.length, 4);
    assert.deepEqual(again.topics().sort(), ['a-1', 'my-topic.v2', 'orders']);
    assert.deepEqual(again.partitionsOf('orders'), [0, 1]);
    assert.equal(again.get('orders', 1)!.logEndOffset, 2n);
    assert.equal(again.get('a-1', 2)!.logEndOffset, 3n);
    assert.equal(again.get('a', 1), undefined);
    // getOrCreate of a loaded log returns it (and applies the config it is given)
    const same = await again.getOrCreate('orders', 0, config({ retentionMs: 5 }));
    assert.equal(same, again.get('orders', 0));
    assert.equal(same.config.retentionMs, 5);
    await again.closeAll();
  } finally {
    await cleanup();
  }
});

test('concurrent getOrCreate of one partition opens it once', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = new LogManager(dir, config());
    const logs = await Promise.all(Array.from({ length: 10 }, () => m.getOrCreate('t', 0)));
    assert.ok(logs.every((l) => l === logs[0]));
    await m.closeAll();
  } finally {
    await cleanup();
  }
});

test('deleteTopic removes only that topic; a new topic of the same name starts empty', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = new LogManager(dir, config());
    for (let p = 0; p < 3; p++) appendOne(await m.getOrCreate('gone', p), 3);
    appendOne(await m.getOrCreate('gone-keep', 0));
    appendOne(await m.getOrCreate('gone.x', 0));
    assert.equal(await m.deleteTopic('gone'), 3);
    assert.equal(m.get('gone', 0), undefined);
    assert.deepEqual(readdirSync(dir).sort(), ['gone-keep-0', 'gone.x-0']);
    const fresh = await m.getOrCreate('gone', 0);
    assert.equal(fresh.logEndOffset, 0n);
    await m.closeAll();
  } finally {
    await cleanup();
  }
});

test('a topic deletion interrupted by a crash is finished on load, never resurrecting part of it', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = new LogManager(dir, config());
    for (let p = 0; p < 4; p++) appendOne(await m.getOrCreate('doomed', p), 2);
    appendOne(await m.getOrCreate('other', 0));
    await m.closeAll();
    // crash after the intent was written and two of four partition dirs were renamed
    const id = '0123456789abcdef0123456789abcdef';
    writeFileSync(join(dir, `.delete-topic-${id}`), 'doomed\n');
    renameSync(join(dir, 'doomed-0'), join(dir, `doomed-0.${id}-delete`));
    renameSync(join(dir, 'doomed-1'), join(dir, `doomed-1.${id}-delete`));
    // and a leftover renamed dir from an earlier deletion whose intent file is already gone
    mkdirSync(join(dir, 'older-0.fedcba9876543210fedcba9876543210-delete'));
    const again = new LogManager(dir, config());
    await again.loadAll();
    assert.deepEqual(again.topics(), ['other']);
    assert.deepEqual(readdirSync(dir), ['other-0']);
    await again.closeAll();
  } finally {
    await cleanup();
  }
});

test('retention runs in the background and on demand; checkpoints are written', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cfg = config({ segmentBytes: 500, retentionBytes: 1000, retentionMs: -1 });
    const m = new LogManager(dir, cfg, undefined, { retentionCheckIntervalMs: 20, checkpointIntervalMs: 20 });
    const log = await m.getOrCreate('r', 0);
    for (let i = 0; i < 40; i++) appendOne(log, 2);
    const segs = log.segmentCount;
    m.startRetention();
    const deadline = Date.now() + 2000;
    while (log.segmentCount === segs && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    m.stopRetention();
    assert.ok(log.segmentCount < segs);
    assert.ok(log.logStartOffset > 0n);
    assert.ok(existsSync(join(dir, 'r-0', 'recovery-point')));
    const byHand = await m.runRetention();
    assert.equal(byHand.size, 0);
    await m.closeAll();
  } finally {
    await cleanup();
  }
});

test('partition.metadata: a log records its topic id; a log of another id is set aside (kept as *-stray), never reused', async () => {
  const { dir, cleanup } = await tempDir();
  const A = 'a'.repeat(32);
  const B = 'b'.repeat(32);
  try {
    const logger = new CapturingLogger();
    const m = new LogManager(dir, config(), logger);
    appendOne(await m.getOrCreate('t', 0, undefined, A), 3);
    assert.equal(readFileSync(join(dir, 't-0', PARTITION_METADATA_FILE), 'utf8'), `version: 0\ntopic_id: ${A}\n`);
    assert.equal(await m.storedTopicId('t', 0), A);
    assert.equal(await m.setAsideIfOtherTopic('t', 0, A), false, 'same id: nothing to do');
    await assert.rejects(m.getOrCreate('t', 0, undefined, B), /belongs to topic id a{32}, not b{32}/);

    // Another manager (a restart) sees the id on disk, sets the log aside, and opens an empty one for B.
    await m.closeAll();
    const again = new LogManager(dir, config(), logger);
    await again.loadAll();
    assert.equal(again.get('t', 0)!.logEndOffset, 3n);
    assert.equal(await again.setAsideIfOtherTopic('t', 0, B), true);
    assert.equal(again.get('t', 0), undefined);
    const fresh = await again.getOrCreate('t', 0, undefined, B);
    assert.equal(fresh.logEndOffset, 0n);
    assert.equal(await again.storedTopicId('t', 0), B);
    const stray = readdirSync(dir).filter((d) => /^t-0\.[0-9a-f]{32}-stray$/.test(d));
    assert.equal(stray.length, 1);
    assert.match(logger.lines.map((l) => l.msg).join('\n'), /Set log t-0 aside as t-0\.[0-9a-f]{32}-stray/);
    await again.closeAll();

    // The stray dir is never loaded; a dir from before partition.metadata existed is adopted.
    const third = new LogManager(dir, config(), logger);
    await third.loadAll();
    assert.deepEqual(third.topics(), ['t']);
    assert.equal(third.get('t', 0)!.logEndOffset, 0n);
    appendOne(await third.getOrCreate('legacy', 0), 1);
    assert.equal(await third.storedTopicId('legacy', 0), null);
    await third.getOrCreate('legacy', 0, undefined, A);
    assert.equal(await third.storedTopicId('legacy', 0), A);
    assert.equal(third.get('legacy', 0)!.logEndOffset, 1n, 'adopted, not emptied');
    assert.equal(parsePartitionMetadata('version: 0\ntopic_id: nothex\n'), null);
    await third.closeAll();
  } finally {
    await cleanup();
  }
});
