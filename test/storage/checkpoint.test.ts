import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { CheckpointFile, LeaderEpochCache } from '../../src/storage/checkpoint.js';
import { OffsetIndex, TimeIndex } from '../../src/storage/indexes.js';
import { tempDir } from './helpers.js';

test('leader epoch cache follows Kafka: assign, end offsets, truncation, file format', () => {
  const c = new LeaderEpochCache();
  assert.deepEqual(c.endOffsetFor(0, 10n), { leaderEpoch: -1, endOffset: -1n });
  assert.equal(c.assign(1, 0n), true);
  assert.equal(c.assign(1, 5n), false);
  c.assign(3, 10n);
  c.assign(4, 20n);
  assert.deepEqual(c.endOffsetFor(0, 30n), { leaderEpoch: 0, endOffset: 0n });
  assert.deepEqual(c.endOffsetFor(2, 30n), { leaderEpoch: 1, endOffset: 10n });
  assert.deepEqual(c.endOffsetFor(4, 30n), { leaderEpoch: 4, endOffset: 30n });
  assert.deepEqual(c.endOffsetFor(5, 30n), { leaderEpoch: -1, endOffset: -1n });
  // a lower start offset for a new epoch replaces conflicting entries
  c.assign(5, 15n);
  assert.deepEqual(
    c.entries.map((e) => [e.epoch, e.startOffset]),
    [
      [1, 0n],
      [3, 10n],
      [5, 15n],
    ],
  );
  c.truncateFromEnd(15n);
  assert.equal(c.latestEpoch, 3);
  c.truncateFromStart(12n);
  assert.deepEqual(
    c.entries.map((e) => [e.epoch, e.startOffset]),
    [[3, 12n]],
  );
  const text = c.serialize();
  assert.equal(text, '0\n1\n3 12\n');
  assert.deepEqual(LeaderEpochCache.parse(text)!.entries, c.entries);
  assert.equal(LeaderEpochCache.parse('0\n2\n1 0\n'), null);
  assert.equal(LeaderEpochCache.parse('garbage'), null);
});

test('checkpoint files are written atomically and coalesce concurrent writes', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const f = new CheckpointFile(join(dir, 'cp'));
    assert.equal(await f.read(), null);
    await Promise.all(Array.from({ length: 20 }, (_, i) => f.write(`${i}\n`)));
    assert.equal(readFileSync(join(dir, 'cp'), 'utf8'), '19\n');
    assert.equal(await f.read(), '19\n');
  } finally {
    await cleanup();
  }
});

test('property: offset index lookup equals a linear floor search; files round-trip', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 100000 }), { minLength: 0, maxLength: 200 }),
      fc.array(fc.integer({ min: -5, max: 100005 }), { minLength: 1, maxLength: 50 }),
      (rels, targets) => {
        rels.sort((a, b) => a - b);
        const idx = new OffsetIndex(1);
        for (let i = 0; i < rels.length; i++) idx.append(rels[i]!, (i + 1) * 10);
        const back = OffsetIndex.fromBuffer(idx.toBuffer(), 1e9)!;
        for (const t of targets) {
          let want = 0;
          for (let i = 0; i < rels.length; i++) if (rels[i]! <= t) want = (i + 1) * 10;
          assert.equal(idx.lookup(t), want);
          assert.equal(back.lookup(t), want);
        }
      },
    ),
  );
  const t = new TimeIndex(1);
  assert.equal(t.maybeAppend(100n, 0), true);
  assert.equal(t.maybeAppend(100n, 1), false);
  assert.equal(t.maybeAppend(200n, 5), true);
  assert.equal(t.lookupBefore(100n), -1);
  assert.equal(t.lookupBefore(150n), 0);
  assert.equal(t.lookupBefore(1000n), 5);
  assert.equal(TimeIndex.fromBuffer(t.toBuffer())!.lastTimestamp(), 200n);
  assert.equal(OffsetIndex.fromBuffer(Buffer.alloc(7), 100), null);
});
