/**
 * The single node's metadata store (src/cluster/local-store.ts) against its file in a temp dir: the
 * MetadataStore operations as etcd has them (revisions, compare-and-set, guarded compare-and-set, prefix
 * watches in order, leased keys, a campaign), persistence, a failed write leaving the store as it was, the
 * checks on open, and the layout of an earlier kstream read as a one-node cluster's.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LocalStore, MetadataFileError } from '../../src/cluster/local-store.js';
import type { WatchEvent } from '../../src/cluster/metadata-store.js';
import { removeDir, tempDir } from '../helpers/broker.js';

const dirs: string[] = [];
function storeFile(): string {
  const dir = tempDir('kstream-local-store-');
  dirs.push(dir);
  return join(dir, '.metadata', 'store.json');
}

const ID = 'a'.repeat(32);

describe('local metadata store', () => {
  after(() => {
    for (const d of dirs) removeDir(d);
  });

  test('put, get, list by prefix (sorted), compare-and-set on revision, guarded, delete', async () => {
    const s = new LocalStore(storeFile(), { nodeId: 1 });
    assert.equal(s.missing, true);
    assert.equal(await s.get('topics/a'), null);
    assert.equal(await s.compareAndSet('topics/a', '{"v":1}', 0), true, 'create if absent');
    assert.equal(await s.compareAndSet('topics/a', '{"v":2}', 0), false, 'already exists');
    const kv = await s.get('topics/a');
    assert.equal(kv?.value, '{"v":1}');
    assert.ok((kv?.modRevision ?? 0) > 0);
    assert.equal(await s.compareAndSet('topics/a', '{"v":2}', kv?.modRevision ?? -1), true);
    assert.equal(await s.compareAndSet('topics/a', '{"v":3}', kv?.modRevision ?? -1), false, 'stale revision');
    await s.put('topics/c', 'x');
    await s.put('topics/b', 'y');
    await s.put('brokers/1', 'z');
    assert.deepEqual(
      (await s.list('topics/')).map((k) => k.key),
      ['topics/a', 'topics/b', 'topics/c'],
    );
    await s.delete('topics/b');
    assert.equal(await s.get('topics/b'), null);

    await s.put('controller_epoch', '1');
    const guard = { key: 'controller_epoch', modRevision: (await s.get('controller_epoch'))?.modRevision ?? -1 };
    assert.equal(await s.compareAndSetGuarded('partitions/t/0', 'a', 0, guard), true);
    await s.put('controller_epoch', '2');
    const rev = (await s.get('partitions/t/0'))?.modRevision ?? -1;
    assert.equal(await s.compareAndSetGuarded('partitions/t/0', 'b', rev, guard), false, 'the guard moved on');
    assert.equal((await s.get('partitions/t/0'))?.value, 'a');
    await s.close();
  });

  test('changes of one turn are decided in order; watches see each change in order before the writer goes on', async () => {
    const s = new LocalStore(storeFile(), { nodeId: 1 });
    const seen: WatchEvent[] = [];
    const stop = await s.watch('partitions/', (e) => seen.push(e));
    await s.watch('topics/', () => {
      throw new Error('a failing watcher is its own problem');
    });
    const results = await Promise.all([
      s.compareAndSet('partitions/t/0', 'first', 0),
      s.compareAndSet('partitions/t/0', 'second', 0),
      s.compareAndSet('topics/t', '{}', 0),
      s.put('partitions/t/1', 'x'),
      s.delete('partitions/t/1'),
    ]);
    assert.deepEqual(results, [true, false, true, undefined, undefined]);
    assert.deepEqual(seen, [
      { type: 'put', key: 'partitions/t/0', value: 'first' },
      { type: 'put', key: 'partitions/t/1', value: 'x' },
      { type: 'delete', key: 'partitions/t/1', value: null },
    ]);
    await stop();
    await s.put('partitions/t/2', 'y');
    assert.equal(seen.length, 3, 'no event after the watch stopped');
    await s.close();
  });

  test('persisted: documents readable in the file, leased keys not; reopened with the same values', async () => {
    const file = storeFile();
    const s = new LocalStore(file, { nodeId: 1 });
    const topic = { id: ID, replicas: [[1], [1]], configs: { 'retention.ms': '1000' } };
    await s.put('topics/t', JSON.stringify(topic));
    await s.put('partitions/t/0', JSON.stringify({ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 }));
    await s.put('partitions/t/1', JSON.stringify({ leader: 1, leaderEpoch: 2, isr: [1], partitionEpoch: 3 }));
    await s.put('controller_epoch', '7');
    await s.put('note', '"quoted"');
    await s.putLeased('brokers/1', '{"nodeId":1}', 3);
    assert.equal((await s.get('brokers/1'))?.value, '{"nodeId":1}', 'a leased key is readable');
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(onDisk['topics/t'], topic);
    assert.equal(onDisk.controller_epoch, 7);
    assert.equal(onDisk['brokers/1'], undefined, 'leased keys are not persisted');
    await s.close();
    await assert.rejects(s.put('x', 'y'), /closed/);

    const again = new LocalStore(file, { nodeId: 1 });
    assert.equal(again.missing, false);
    assert.deepEqual(JSON.parse((await again.get('topics/t'))?.value ?? ''), topic);
    assert.equal((await again.get('controller_epoch'))?.value, '7');
    assert.equal((await again.get('note'))?.value, '"quoted"');
    assert.equal(await again.get('brokers/1'), null);
    const kv = await again.get('partitions/t/1');
    assert.ok((kv?.modRevision ?? 0) > 0, 'a loaded key has a revision: compare-and-set against 0 fails');
    assert.equal(await again.compareAndSet('partitions/t/1', 'x', 0), false);
    await again.close();
  });

  test('a write that fails leaves the store as it was and fails every change of its batch', async () => {
    const file = storeFile();
    const s = new LocalStore(file, { nodeId: 1 });
    await s.put('topics/keep', '{"v":1}');
    // The temp file cannot be made: a directory stands where it goes.
    mkdirSync(`${file}.tmp`);
    const [a, b] = await Promise.allSettled([s.put('topics/new', '{}'), s.delete('topics/keep')]);
    assert.equal(a.status, 'rejected');
    assert.equal(b.status, 'rejected');
    assert.equal(await s.get('topics/new'), null);
    assert.equal((await s.get('topics/keep'))?.value, '{"v":1}');
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8'))), ['topics/keep']);
    rmdirSync(`${file}.tmp`);
    await s.put('topics/new', '{}');
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8'))).sort(), ['topics/keep', 'topics/new']);
    await s.close();
  });

  test('a campaign wins at once; leader() names it', async () => {
    const s = new LocalStore(storeFile(), { nodeId: 1 });
    assert.equal(await s.leader('controller-election'), null);
    let elected = 0;
    await s.campaign('controller-election', '1', () => elected++);
    assert.equal(elected, 1);
    assert.equal(await s.leader('controller-election'), '1');
    await s.close();
  });

  test('a damaged file is a MetadataFileError naming the file and the entry', () => {
    const file = storeFile();
    mkdirSync(join(file, '..'), { recursive: true });
    const cases: [string, RegExp][] = [
      ['', /is empty/],
      ['{"topics/a": ', /is not valid JSON/],
      ['[]', /does not hold a JSON object/],
      ['{"topics/precious": {"id": 7}}', /invalid entry "topics\/precious": no topic id/],
      [`{"topics/a": {"id": "${ID}", "configs": {}}}`, /invalid entry "topics\/a": no partition count/],
      [`{"topics/a": {"id": "${ID}", "replicas": [], "configs": {}}}`, /no replicas per partition/],
      [`{"topics/a b": {"id": "${ID}", "partitions": 1, "configs": {}}}`, /not a valid topic name/],
      ['{"partitions/a/0": {"leader": 1}}', /invalid entry "partitions\/a\/0": no leader epoch/],
      ['{"partitions/a": {}}', /not partitions\/<topic>\/<partition>/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(file, text);
      assert.throws(
        () => new LocalStore(file, { nodeId: 1 }),
        (e: Error) => e instanceof MetadataFileError && message.test(e.message) && e.message.includes(file),
        text,
      );
    }
  });

  test("an earlier kstream's file: its topics become a one-node cluster's layout, written in it", async () => {
    const file = storeFile();
    mkdirSync(join(file, '..'), { recursive: true });
    const old = {
      'topics/orders': { id: ID, partitions: 2, configs: { 'retention.ms': '5000' } },
      'topics/__consumer_offsets': { id: 'b'.repeat(32), partitions: 1, configs: {}, internal: true },
    };
    writeFileSync(file, JSON.stringify(old));
    const s = new LocalStore(file, { nodeId: 3 });
    assert.deepEqual(s.migrated.sort(), ['__consumer_offsets', 'orders']);
    const expected = {
      'topics/__consumer_offsets': { id: 'b'.repeat(32), replicas: [[3]], configs: {} },
      'partitions/__consumer_offsets/0': { leader: 3, leaderEpoch: 0, isr: [3], partitionEpoch: 0 },
      'topics/orders': { id: ID, replicas: [[3], [3]], configs: { 'retention.ms': '5000' } },
      'partitions/orders/0': { leader: 3, leaderEpoch: 0, isr: [3], partitionEpoch: 0 },
      'partitions/orders/1': { leader: 3, leaderEpoch: 0, isr: [3], partitionEpoch: 0 },
    };
    const got = Object.fromEntries((await s.list('')).map((kv) => [kv.key, JSON.parse(kv.value) as unknown] as const));
    assert.deepEqual(got, expected);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), expected, 'the file is in the new layout');
    await s.close();
    const again = new LocalStore(file, { nodeId: 3 });
    assert.deepEqual(again.migrated, [], 'read as it is the next time');
    await again.close();
  });

  test('partition states follow their topics: missing ones are made, ones of no topic dropped', async () => {
    const file = storeFile();
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({
        'topics/t': { id: ID, replicas: [[1], [1]], configs: {} },
        'partitions/t/0': { leader: 1, leaderEpoch: 4, isr: [1], partitionEpoch: 5 },
        'partitions/t/7': { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 },
        'partitions/gone/0': { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 },
      }),
    );
    const s = new LocalStore(file, { nodeId: 1 });
    assert.deepEqual(
      (await s.list('partitions/')).map((kv) => [kv.key, JSON.parse(kv.value).leaderEpoch]),
      [
        ['partitions/t/0', 4],
        ['partitions/t/1', 0],
      ],
    );
    await s.close();
  });
});
