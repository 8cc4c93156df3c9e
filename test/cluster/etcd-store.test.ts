/** The etcd metadata store against a real etcd (Debian's etcd-server): get/put/CAS, watches, leases, election. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdStore } from '../../src/cluster/etcd-store.js';
import type { WatchEvent } from '../../src/cluster/metadata-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { type EtcdProcess, startEtcd } from '../helpers/etcd.js';

let etcd: EtcdProcess;

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('etcd metadata store', () => {
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  test('put, get, list by prefix, compare-and-set on revision, delete', async () => {
    const s = new EtcdStore([etcd.url], 'c1', silentLogger);
    try {
      assert.equal(await s.get('topics/a'), null);
      assert.equal(await s.compareAndSet('topics/a', '{"v":1}', 0), true, 'create if absent');
      assert.equal(await s.compareAndSet('topics/a', '{"v":2}', 0), false, 'already exists');
      const kv = await s.get('topics/a');
      assert.equal(kv?.value, '{"v":1}');
      assert.equal(await s.compareAndSet('topics/a', '{"v":2}', kv?.modRevision ?? -1), true);
      assert.equal(await s.compareAndSet('topics/a', '{"v":3}', kv?.modRevision ?? -1), false, 'stale revision');
      await s.put('topics/b', 'x');
      await s.put('brokers/1', 'y');
      assert.deepEqual(
        (await s.list('topics/')).map((k) => k.key),
        ['topics/a', 'topics/b'],
      );
      await s.delete('topics/b');
      assert.equal(await s.get('topics/b'), null);
      const other = new EtcdStore([etcd.url], 'c2', silentLogger);
      assert.equal(await other.get('topics/a'), null, 'clusters are separate namespaces');
      await other.close();
    } finally {
      await s.close();
    }
  });

  test('guarded compare-and-set: fails once the guard key changed, even with the right revision', async () => {
    const s = new EtcdStore([etcd.url], 'c5', silentLogger);
    try {
      await s.put('controller_epoch', '1');
      const guard = { key: 'controller_epoch', modRevision: (await s.get('controller_epoch'))?.modRevision ?? -1 };
      assert.equal(await s.compareAndSetGuarded('partitions/t/0', 'a', 0, guard), true);
      const rev = (await s.get('partitions/t/0'))?.modRevision ?? -1;
      await s.put('controller_epoch', '2');
      assert.equal(await s.compareAndSetGuarded('partitions/t/0', 'b', rev, guard), false, 'guard moved on');
      assert.equal((await s.get('partitions/t/0'))?.value, 'a');
      const now = { key: 'controller_epoch', modRevision: (await s.get('controller_epoch'))?.modRevision ?? -1 };
      assert.equal(await s.compareAndSetGuarded('partitions/t/0', 'c', rev, now), true);
    } finally {
      await s.close();
    }
  });

  test('watch sees puts and deletes under a prefix', async () => {
    const s = new EtcdStore([etcd.url], 'c3', silentLogger);
    const events: WatchEvent[] = [];
    const stop = await s.watch('partitions/', (e) => events.push(e));
    await s.put('partitions/t/0', 'L1');
    await s.put('other', 'ignored');
    await s.delete('partitions/t/0');
    await until(() => events.length >= 2);
    assert.deepEqual(events, [
      { type: 'put', key: 'partitions/t/0', value: 'L1' },
      { type: 'delete', key: 'partitions/t/0', value: null },
    ]);
    await stop();
    await s.close();
  });

  test('a leased key disappears when its owner closes; election picks one leader and fails over', async () => {
    const a = new EtcdStore([etcd.url], 'c4', silentLogger);
    const b = new EtcdStore([etcd.url], 'c4', silentLogger);
    await a.putLeased('brokers/1', 'a', 2);
    assert.equal((await b.get('brokers/1'))?.value, 'a');
    let aLeads = false;
    let bLeads = false;
    await a.campaign('controller', '1', () => {
      aLeads = true;
    });
    await until(() => aLeads);
    await b.campaign('controller', '2', () => {
      bLeads = true;
    });
    assert.equal(await b.leader('controller'), '1');
    await a.close();
    await until(async () => (await b.get('brokers/1')) === null);
    await until(() => bLeads);
    assert.equal(await b.leader('controller'), '2');
    await b.close();
  });
});
