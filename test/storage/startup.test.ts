/**
 * Start-up and stop with many partitions (issue 22). A data dir has ONE clean-shutdown marker (as Kafka's one per
 * log dir), written by LogManager.closeAll() once every log has closed: a clean start makes one directory fsync in
 * all (the marker's removal, made durable before anything can be appended), not one per partition, and a clean
 * stop of partitions that got nothing new writes nothing in their dirs (no marker, no index files, no fsync).
 * A crash after a clean start recovers every partition; a marker per partition (older versions) is still honoured.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dirSyncs } from '../../src/storage/checkpoint.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/storage/partition-log.js';
import { config, produced, simpleBatch, tempDir } from './helpers.js';

const PARTITIONS = 20;
const INDEX = '00000000000000000000.index';

/** A data dir of PARTITIONS partitions of topic t, 3 records each, stopped cleanly. */
async function stoppedCleanly(dir: string): Promise<void> {
  const first = new LogManager(dir, config());
  await first.loadAll();
  for (let p = 0; p < PARTITIONS; p++) {
    const log = await first.getOrCreate('t', p);
    const { buf, batches } = produced(simpleBatch(3));
    log.append(buf, batches, 0, null);
  }
  await first.closeAll();
}

test('a clean stop writes one marker for the data dir; a clean start makes one directory fsync in all', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await stoppedCleanly(dir);
    assert.ok(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), 'the data dir marker');
    for (let p = 0; p < PARTITIONS; p++) assert.equal(existsSync(join(dir, `t-${p}`, CLEAN_SHUTDOWN_FILE)), false);

    const before = dirSyncs.count;
    const second = new LogManager(dir, config());
    const logs = await second.loadAll();
    try {
      assert.equal(logs.length, PARTITIONS);
      assert.ok(logs.every((l) => l.openStats.cleanShutdown));
      assert.ok(logs.every((l) => l.openStats.segmentsRecovered === 0));
      assert.ok(logs.every((l) => l.logEndOffset === 3n));
      assert.equal(dirSyncs.count - before, 1, 'directory fsyncs while loading cleanly stopped partitions');
      // The marker is gone (durably) before loadAll returns: a crash from now on recovers.
      assert.equal(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), false);
    } finally {
      await second.closeAll();
    }
  } finally {
    await cleanup();
  }
});

test('a clean stop of partitions that got nothing new writes nothing in their dirs', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await stoppedCleanly(dir);
    const inodes = Array.from({ length: PARTITIONS }, (_, p) => statSync(join(dir, `t-${p}`, INDEX)).ino);
    const second = new LogManager(dir, config());
    await second.loadAll();
    // One partition gets a record: its files are written; the other 19 are idle.
    const busy = second.get('t', 0)!;
    const { buf, batches } = produced(simpleBatch(1));
    busy.append(buf, batches, 0, null);
    const before = dirSyncs.count;
    await second.closeAll();
    // The busy partition: its flush and checkpoints (their own dir fsyncs); then the data dir's marker: one.
    const idleSyncs = dirSyncs.count - before;
    assert.ok(idleSyncs <= 5, `${idleSyncs} directory fsyncs for a clean stop of ${PARTITIONS} partitions`);
    for (let p = 1; p < PARTITIONS; p++) {
      assert.equal(statSync(join(dir, `t-${p}`, INDEX)).ino, inodes[p], `index of t-${p} not written again`);
    }
    assert.ok(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)));
    const third = new LogManager(dir, config());
    const logs = await third.loadAll();
    try {
      assert.ok(logs.every((l) => l.openStats.cleanShutdown));
      assert.equal(third.get('t', 0)!.logEndOffset, 4n);
      assert.equal(third.get('t', 1)!.logEndOffset, 3n);
    } finally {
      await third.closeAll();
    }
  } finally {
    await cleanup();
  }
});

test('a crash after a clean start recovers every partition (the marker is not back)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await stoppedCleanly(dir);
    const second = new LogManager(dir, config());
    await second.loadAll();
    const log = second.get('t', 0)!;
    const { buf, batches } = produced(simpleBatch(2));
    log.append(buf, batches, 0, null);
    await log.flush();
    // A crash: no log is closed, no marker is written.
    for (const l of second.all()) await l.detach();
    assert.equal(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), false);

    const third = new LogManager(dir, config());
    const logs = await third.loadAll();
    try {
      assert.ok(logs.every((l) => !l.openStats.cleanShutdown));
      assert.ok(logs.every((l) => l.openStats.segmentsRecovered === 1));
      assert.equal(third.get('t', 0)!.logEndOffset, 5n);
    } finally {
      await third.closeAll();
    }
  } finally {
    await cleanup();
  }
});

test('no data dir marker unless every partition dir was opened; per-partition markers (older versions) count', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await stoppedCleanly(dir);
    // A manager that never loaded the data dir opens one partition and closes: the other 19 dirs were not
    // opened by it, so it cannot vouch for them; and the marker of the first stop went when it opened a log (it
    // could have appended to it and crashed).
    const partial = new LogManager(dir, config());
    const log = await partial.getOrCreate('t', 0);
    assert.equal(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), false, 'the old marker goes before a log is opened');
    assert.equal(log.openStats.cleanShutdown, false);
    await partial.closeAll();
    assert.equal(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), false, 'no marker from a manager that loaded nothing');

    // Markers in the partition dirs, as older versions wrote them at a clean stop, still mean clean.
    for (let p = 0; p < PARTITIONS; p++) writeFileSync(join(dir, `t-${p}`, CLEAN_SHUTDOWN_FILE), '');
    const upgraded = new LogManager(dir, config());
    const logs = await upgraded.loadAll();
    try {
      assert.ok(logs.every((l) => l.openStats.cleanShutdown));
      for (let p = 0; p < PARTITIONS; p++) assert.equal(existsSync(join(dir, `t-${p}`, CLEAN_SHUTDOWN_FILE)), false);
    } finally {
      await upgraded.closeAll();
    }
    assert.ok(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)));
  } finally {
    await cleanup();
  }
});
