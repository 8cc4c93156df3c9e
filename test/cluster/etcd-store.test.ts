/** The etcd metadata store against a real etcd (Debian's etcd-server): get/put/CAS, watches, leases, election. */
import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
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
    assert.deepEqual(
      events.map(({ modRevision: _, ...e }) => e),
      [
        { type: 'put', key: 'partitions/t/0', value: 'L1' },
        { type: 'delete', key: 'partitions/t/0', value: null },
      ],
    );
    // A put carries its revision: a compare-and-set on it succeeds without reading the key again.
    const rev = events[0]?.modRevision as number;
    assert.ok(rev > 0);
    await stop();
    await s.close();
  });

  test('compareAndSetMany writes all or nothing, in one transaction, guarded', async () => {
    const s = new EtcdStore([etcd.url], 'c3m', silentLogger);
    try {
      await s.put('partitions/t/0', 'a');
      await s.put('partitions/t/1', 'b');
      await s.put('guard', '1');
      const [p0, p1, g] = await Promise.all(['partitions/t/0', 'partitions/t/1', 'guard'].map((k) => s.get(k)));
      const r0 = p0?.modRevision as number;
      const r1 = p1?.modRevision as number;
      const guard = { key: 'guard', modRevision: g?.modRevision as number };
      // One stale revision: nothing is written.
      assert.equal(
        await s.compareAndSetMany([
          { key: 'partitions/t/0', value: 'A', expected: r0 },
          { key: 'partitions/t/1', value: 'B', expected: r1 - 1 },
        ]),
        false,
      );
      assert.equal((await s.get('partitions/t/0'))?.value, 'a');
      // The guard key changed: nothing is written.
      await s.put('guard', '2');
      assert.equal(
        await s.compareAndSetMany(
          [
            { key: 'partitions/t/0', value: 'A', expected: r0 },
            { key: 'partitions/t/1', value: 'B', expected: r1 },
          ],
          guard,
        ),
        false,
      );
      assert.equal((await s.get('partitions/t/1'))?.value, 'b');
      // All current: both written, at one revision.
      const guardNow = { key: 'guard', modRevision: (await s.get('guard'))?.modRevision as number };
      assert.equal(
        await s.compareAndSetMany(
          [
            { key: 'partitions/t/0', value: 'A', expected: r0 },
            { key: 'partitions/t/1', value: 'B', expected: r1 },
            { key: 'partitions/t/2', value: 'C', expected: 0 },
          ],
          guardNow,
        ),
        true,
      );
      const after = await s.list('partitions/t/');
      assert.deepEqual(
        after.map((kv) => kv.value),
        ['A', 'B', 'C'],
      );
      assert.equal(new Set(after.map((kv) => kv.modRevision)).size, 1, 'one transaction');
    } finally {
      await s.close();
    }
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

  test('etcd away: retries are paced (connections counted at its port); the session survives its restart', async () => {
    const s = new EtcdStore([etcd.url], 'c6', silentLogger);
    const direct = new Etcd3({ hosts: etcd.url });
    const leaseOf = async () => (await direct.namespace('/kstream/c6/').get('brokers/1').exec()).kvs[0]?.lease;
    let server: ReturnType<typeof createServer> | null = null;
    try {
      await s.putLeased('brokers/1', 'a', 3);
      for (const p of ['brokers/', 'topics/', 'partitions/', 'controller']) await s.watch(p, () => {});
      let elected = 0;
      let lost = 0;
      await s.campaign(
        'controller',
        '1',
        () => elected++,
        () => lost++,
      );
      await until(() => elected === 1).catch(() => assert.fail('the campaign was not elected'));
      const lease = await leaseOf();
      assert.ok(lease && lease !== '0');

      // etcd goes away; its client port now accepts and drops every connection, counting them.
      await etcd.halt();
      let connections = 0;
      const counter = createServer((c) => {
        connections++;
        c.destroy();
      });
      server = counter;
      await new Promise<void>((r) => counter.listen(Number(new URL(etcd.url).port), '127.0.0.1', () => r()));
      await new Promise((r) => setTimeout(r, 10_000));
      // Session keep-alive, 4 watches, a campaign: each retried with backoff (at most ~1/s each). Retries that
      // multiply (a reconnection per error, two errors per failed stream) made hundreds here, and more each second.
      assert.ok(connections < 200, `${connections} connection attempts to an absent etcd in 10 s`);
      await new Promise<void>((r) => counter.close(() => r()));
      server = null;

      await etcd.restart();
      await until(async () => (await s.get('brokers/1').catch(() => null))?.value === 'a').catch(() =>
        assert.fail('the leased key is not back after etcd restarted'),
      );
      // Back within the TTL etcd gives leases on its restart: the same session, no re-election.
      await new Promise((r) => setTimeout(r, 5000));
      assert.equal(await leaseOf(), lease, 'the leased key kept its lease');
      assert.deepEqual({ elected, lost }, { elected: 1, lost: 0 }, 'the campaign neither lost nor ran again');
      assert.equal(await s.leader('controller'), '1');
    } finally {
      if (server) await new Promise<void>((r) => server?.close(() => r()));
      if (etcd.child.exitCode !== null || etcd.child.signalCode !== null) await etcd.restart().catch(() => {});
      direct.close();
      await s.close();
    }
  });
  test('a watch etcd cancels (compacted while cut off) is read again and followed: puts, deletes, later changes', async () => {
    // A TCP relay in front of etcd that the test can cut: while cut, keys change and etcd compacts past the
    // watch's revision, so the watch cannot resume and etcd cancels it when it reconnects.
    const [host, port] = new URL(etcd.url).host.split(':') as [string, string];
    const links = new Set<Socket>();
    let open = true;
    const relay = createServer((client) => {
      if (!open) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(port), host);
      links.add(client);
      links.add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        links.delete(client);
        links.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    const s = new EtcdStore([relayUrl], 'c9', silentLogger);
    const direct = new Etcd3({ hosts: etcd.url });
    const ns = direct.namespace('/kstream/c9/');
    try {
      await ns.put('topics/a').value('1');
      const view = new Map<string, string>();
      await s.watch('topics/', (e) => {
        if (e.type === 'put') view.set(e.key, e.value as string);
        else view.delete(e.key);
      });
      await ns.put('topics/b').value('1');
      await until(() => view.get('topics/b') === '1');
      // Cut: the watch's stream breaks; etcd3 keeps reconnecting (refused) from the revision it saw last.
      open = false;
      for (const l of links) l.destroy();
      await ns.delete().key('topics/a');
      await ns.put('topics/b').value('2');
      await ns.put('topics/c').value('1');
      const { header } = await ns.put('topics/d').value('1');
      await direct.kv.compact({ revision: header.revision, physical: true });
      open = true;
      // Back: etcd cancels the resumed watch (its revision is compacted); the store reads the keys again.
      await until(() => !view.has('topics/a') && view.get('topics/b') === '2' && view.get('topics/c') === '1', 30_000);
      assert.equal(view.get('topics/d'), '1');
      // And follows what changes afterwards.
      await ns.put('topics/e').value('1');
      await ns.delete().key('topics/c');
      await until(() => view.get('topics/e') === '1' && !view.has('topics/c'));
    } finally {
      open = false;
      await s.close();
      direct.close();
      for (const l of links) l.destroy();
      await new Promise<void>((r) => relay.close(() => r()));
    }
  });
});
