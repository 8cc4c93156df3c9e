/**
 * Issue 23, storage side: every topic name Kafka accepts round-trips through its partition dirs (names that
 * start with '.', 249 characters); deleting a 249-character topic works and a deletion cut short is finished
 * on load; checkpoint files damaged by the test (a log start offset past the log end, one flipped bit,
 * garbage) are reported with the file and value and ignored, never acted on.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LogManager, parsePartitionDirName } from '../../src/storage/log-manager.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { CapturingLogger, config, produced, simpleBatch, splitBatches, tempDir } from './helpers.js';

function appendOne(log: PartitionLog, n = 1): void {
  const { buf, batches } = produced(simpleBatch(n));
  log.append(buf, batches, 0, null);
}

/** Base offsets of every batch from the log start to the log end. */
async function offsetsOf(log: PartitionLog): Promise<bigint[]> {
  const out: bigint[] = [];
  let at = log.logStartOffset;
  while (at < log.logEndOffset) {
    const batches = splitBatches((await log.read(at, 1024 * 1024, log.logEndOffset)).records);
    if (batches.length === 0) break;
    for (const b of batches) out.push(b.baseOffset);
    at = (batches.at(-1) as { lastOffset: bigint }).lastOffset + 1n;
  }
  return out;
}

const LONG = 'l'.repeat(249);
const DOTTED_LONG = `.${'d'.repeat(248)}`;

test('every valid topic name round-trips through its partition dirs (leading dots, 249 characters)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const names: [string, number][] = [
      ['.x', 0],
      ['.x', 1],
      ['..x', 0],
      ['...', 0],
      ['-', 3],
      ['.metadata', 0],
      ['.delete-topic', 7],
      ['x.0123456789abcdef0123456789abcdef-delete', 0],
      ['y.0123456789abcdef0123456789abcdef-stray', 2],
      [DOTTED_LONG, 0],
      // The longest name with the largest partition index (0..99999): 255 bytes.
      [LONG, 99999],
    ];
    const m = new LogManager(dir, config());
    await m.loadAll();
    for (const [t, p] of names) appendOne(await m.getOrCreate(t, p), p + 1);
    await m.closeAll();

    const again = new LogManager(dir, config());
    await again.loadAll();
    assert.deepEqual(again.topics().sort(), [...new Set(names.map(([t]) => t))].sort());
    for (const [t, p] of names) assert.equal(again.get(t, p)?.logEndOffset, BigInt(p + 1), `${t}-${p}`);
    assert.deepEqual(again.partitionsOf('.x'), [0, 1]);
    await again.closeAll();

    assert.deepEqual(parsePartitionDirName('.x-0'), { topic: '.x', partition: 0 });
    assert.equal(parsePartitionDirName('..-1'), null, "'..' is not a topic name");
    assert.equal(parsePartitionDirName('.metadata'), null);
    assert.equal(parsePartitionDirName('.-0'), null, "'.' is not a topic name");
    assert.equal(parsePartitionDirName('a b-0'), null, 'not a topic name');
    assert.equal(parsePartitionDirName(`${LONG}x-0`), null, 'longer than 249');
  } finally {
    await cleanup();
  }
});

test('a topic of 249 characters is deleted; a deletion cut short by a crash is finished on load', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = new LogManager(dir, config());
    await m.loadAll();
    for (let p = 0; p < 3; p++) appendOne(await m.getOrCreate(LONG, p, undefined, 'a'.repeat(32)), 3);
    appendOne(await m.getOrCreate('other', 0));
    assert.equal(await m.deleteTopic(LONG), 3);
    assert.deepEqual(readdirSync(dir).sort(), ['other-0']);

    // Again, and this time the process "dies" after the first partition dir was renamed: what is on disk
    // then is a delete intent naming the topic id and a mix of renamed and untouched dirs.
    const id = 'b'.repeat(32);
    for (let p = 0; p < 3; p++) appendOne(await m.getOrCreate(DOTTED_LONG, p, undefined, id), 3);
    await m.closeAll();
    writeFileSync(join(dir, `.deleting-${id}`), `${DOTTED_LONG}\n`);
    renameSync(join(dir, `${DOTTED_LONG}-0`), join(dir, `${DOTTED_LONG.slice(0, 200)}-0.${'c'.repeat(32)}-delete`));
    const logger = new CapturingLogger();
    const again = new LogManager(dir, config(), logger);
    await again.loadAll();
    assert.deepEqual(again.topics(), ['other']);
    assert.deepEqual(readdirSync(dir), ['other-0']);
    assert.match(logger.at('info').join('\n'), /Finish(ed|ing) .*deletion of topic \.d{248}/);
    await again.closeAll();

    // The intent may have been left without its topic name (no space to write it): the topic id is enough.
    const m3 = new LogManager(dir, config());
    await m3.loadAll();
    for (let p = 0; p < 2; p++) appendOne(await m3.getOrCreate(LONG, p, undefined, id), 1);
    await m3.closeAll();
    writeFileSync(join(dir, `.deleting-${id}`), '');
    const m4 = new LogManager(dir, config());
    await m4.loadAll();
    assert.deepEqual(readdirSync(dir), ['other-0']);
    await m4.closeAll();
  } finally {
    await cleanup();
  }
});

/** A log of several segments: offsets 0..29 in batches of one record. */
async function segmentedLog(path: string): Promise<PartitionLog> {
  const log = await PartitionLog.open(path, config({ segmentBytes: 400 }));
  for (let i = 0; i < 30; i++) appendOne(log);
  assert.ok(log.segmentCount > 3);
  return log;
}

test('a log-start-offset checkpoint past the log end is reported and ignored: no segment is deleted', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 't-0');
    const log = await segmentedLog(path);
    const segments = log.segmentBaseOffsets;
    await log.close();
    const file = join(path, 'log-start-offset');
    writeFileSync(file, '1000\n');
    const logger = new CapturingLogger();
    const again = await PartitionLog.open(path, config({ segmentBytes: 400 }), logger);
    assert.equal(again.logStartOffset, 0n);
    assert.equal(again.logEndOffset, 30n);
    assert.deepEqual(again.segmentBaseOffsets, segments);
    assert.equal((await offsetsOf(again)).length, 30);
    const warned = logger.at('warn').join('\n');
    assert.ok(warned.includes(file), `the warning names the file: ${warned}`);
    assert.match(warned, /1000/);
    await again.close();
  } finally {
    await cleanup();
  }
});

/** Flip the lowest bit of the last digit of the line holding `value` (the offset) in a checkpoint file. */
function flipBitOfOffset(file: string, value: string): void {
  const text = readFileSync(file, 'latin1');
  const lines = text.split('\n');
  const i = lines.indexOf(value);
  assert.ok(i >= 0, `offset ${value} in ${JSON.stringify(text)}`);
  const line = lines[i] as string;
  lines[i] = line.slice(0, -1) + String.fromCharCode(line.charCodeAt(line.length - 1) ^ 1);
  writeFileSync(file, lines.join('\n'), 'latin1');
}

test('one flipped bit in a checkpoint is detected, reported and ignored: no record is hidden', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 't-0');
    const log = await segmentedLog(path);
    await log.close();
    // log start 0 -> 1 would hide offset 0.
    flipBitOfOffset(join(path, 'log-start-offset'), '0');
    const logger = new CapturingLogger();
    const again = await PartitionLog.open(path, config({ segmentBytes: 400 }), logger);
    assert.equal(again.logStartOffset, 0n);
    assert.deepEqual((await offsetsOf(again))[0], 0n);
    assert.match(logger.at('warn').join('\n'), /log-start-offset/);
    // A valid checkpoint is still honoured (and written back in a checked form).
    await again.deleteRecordsBefore(12n);
    await again.close();
    const third = await PartitionLog.open(path, config({ segmentBytes: 400 }));
    assert.equal(third.logStartOffset, 12n);
    await third.close();
    // Garbage in the recovery point: reported, the whole log re-scanned, nothing lost.
    writeFileSync(join(path, 'recovery-point'), '3O\n');
    const logger2 = new CapturingLogger();
    const fourth = await PartitionLog.open(path, config({ segmentBytes: 400 }), logger2);
    assert.equal(fourth.logStartOffset, 12n);
    assert.equal(fourth.logEndOffset, 30n);
    assert.match(logger2.at('warn').join('\n'), /recovery-point.*3O/s);
    await fourth.close();
  } finally {
    await cleanup();
  }
});

test('a checkpoint written by an older kstream (a bare offset) is still read', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 't-0');
    const log = await segmentedLog(path);
    await log.close();
    writeFileSync(join(path, 'log-start-offset'), '7\n');
    const again = await PartitionLog.open(path, config({ segmentBytes: 400 }));
    assert.equal(again.logStartOffset, 7n);
    await again.close();
  } finally {
    await cleanup();
  }
});
