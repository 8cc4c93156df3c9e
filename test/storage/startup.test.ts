/**
 * Start-up with many partitions (issue 22): opening a cleanly stopped data dir makes no directory fsync per
 * partition (each was ~1 ms on this kind of VM: most of a 10,000-partition start). The clean-shutdown marker is
 * still removed at once (a crash after start recovers), and its removal is made durable by the log's next flush.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dirSyncs } from '../../src/storage/checkpoint.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/storage/partition-log.js';
import { config, produced, simpleBatch, tempDir } from './helpers.js';

const PARTITIONS = 20;

test('a clean start-up opens every partition without a directory fsync per partition', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const first = new LogManager(dir, config());
    await first.loadAll();
    for (let p = 0; p < PARTITIONS; p++) {
      const log = await first.getOrCreate('t', p);
      const { buf, batches } = produced(simpleBatch(3));
      log.append(buf, batches, 0, null);
    }
    await first.closeAll();
    for (let p = 0; p < PARTITIONS; p++) assert.ok(existsSync(join(dir, `t-${p}`, CLEAN_SHUTDOWN_FILE)));

    const before = dirSyncs.count;
    const second = new LogManager(dir, config());
    const logs = await second.loadAll();
    try {
      assert.equal(logs.length, PARTITIONS);
      assert.ok(logs.every((l) => l.openStats.cleanShutdown));
      assert.ok(logs.every((l) => l.logEndOffset === 3n));
      assert.equal(dirSyncs.count - before, 0, 'directory fsyncs while loading cleanly stopped partitions');
      // The markers are gone at once: a crash from now on recovers.
      for (let p = 0; p < PARTITIONS; p++) assert.equal(existsSync(join(dir, `t-${p}`, CLEAN_SHUTDOWN_FILE)), false);
      // The next flush of a log makes its marker's removal durable (its directory is synced then).
      const log = second.get('t', 0)!;
      const { buf, batches } = produced(simpleBatch(1));
      log.append(buf, batches, 0, null);
      const atFlush = dirSyncs.count;
      await log.flush();
      assert.equal(dirSyncs.count - atFlush, 1, 'the first flush syncs the directory the marker left');
      await log.flush();
    } finally {
      await second.closeAll();
    }
  } finally {
    await cleanup();
  }
});
