/**
 * Controller epoch fencing against a real etcd (Debian's etcd-server): each newly elected controller takes
 * the next controller epoch; its partition-state writes carry it and are fenced on it, so a controller that
 * lost its election (and has not noticed yet) cannot change partition state; nodes ignore a partition state
 * from an older controller epoch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClusterManager, CONTROLLER_EPOCH_KEY, type PartitionDoc, partitionKey } from '../../src/cluster/cluster.js';
import { EtcdStore } from '../../src/cluster/etcd-store.js';
import { silentLogger } from '../../src/util/logger.js';
import { type EtcdProcess, startEtcd } from '../helpers/etcd.js';

let etcd: EtcdProcess;
const managers: ClusterManager[] = [];
const stores: EtcdStore[] = [];

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function node(id: number): ClusterManager {
  const m = new ClusterManager(
    new EtcdStore([etcd.url], 'fence', silentLogger),
    { nodeId: id, host: '127.0.0.1', port: 9000 + id, rack: null },
    silentLogger,
    () => {},
  );
  managers.push(m);
  return m;
}

function store(): EtcdStore {
  const s = new EtcdStore([etcd.url], 'fence', silentLogger);
  stores.push(s);
  return s;
}

async function stateInEtcd(s: EtcdStore, topic: string, p: number): Promise<PartitionDoc> {
  const kv = await s.get(partitionKey(topic, p));
  assert.ok(kv, `${topic}-${p} exists`);
  return JSON.parse(kv.value) as PartitionDoc;
}

describe('controller epoch fencing', () => {
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    for (const m of managers) await m.stop().catch(() => {});
    for (const s of stores) await s.close().catch(() => {});
    await etcd?.stop();
  });

  test('a controller that lost its election cannot change partition state; nodes ignore a stale epoch', async () => {
    const a = node(1);
    await a.start();
    await until('node 1 elected controller', () => a.isController && a.ownControllerEpoch !== null);
    const epochA = a.ownControllerEpoch as number;
    assert.equal(epochA, 1, 'the first controller takes epoch 1');
    const b = node(2);
    await b.start();
    await until('node 2 registered', () => a.brokers.has(2) && b.brokers.has(1));
    assert.equal(b.isController, false);

    assert.ok(
      await a.createTopic(
        't',
        [
          [1, 2],
          [2, 1],
        ],
        {},
        'id-t',
      ),
    );
    await until('both nodes see t', () => a.partition('t', 1) !== undefined && b.partition('t', 1) !== undefined);

    // While it is the controller, its decisions land, stamped with its epoch.
    const moved = await a.casPartition(
      't',
      0,
      (d) => ({ ...d, leader: 2, leaderEpoch: d.leaderEpoch + 1, partitionEpoch: d.partitionEpoch + 1 }),
      true,
    );
    assert.equal(moved?.controllerEpoch, epochA);
    const raw = store();
    assert.equal((await stateInEtcd(raw, 't', 0)).leader, 2);
    await until('node 2 sees the change', () => b.partition('t', 0)?.doc.leader === 2);

    // Another node is elected meanwhile (node 1 paused, cut off…): it takes the next epoch, as becomeController
    // does. Node 1 has not noticed; its campaign still looks fine to it.
    const kv = await raw.get(CONTROLLER_EPOCH_KEY);
    assert.equal(kv?.value, String(epochA));
    assert.ok(await raw.compareAndSet(CONTROLLER_EPOCH_KEY, String(epochA + 1), kv?.modRevision ?? -1));
    assert.equal(a.isController, true, 'node 1 still believes it is the controller');

    // Its next controller decision is refused by etcd (the transaction's guard on the epoch key), and it steps down.
    const before = await stateInEtcd(raw, 't', 0);
    const refused = await a.casPartition(
      't',
      0,
      (d) => ({ ...d, leader: 1, leaderEpoch: d.leaderEpoch + 1, partitionEpoch: d.partitionEpoch + 1 }),
      true,
    );
    assert.equal(refused, null, 'the deposed controller could not write');
    assert.deepEqual(await stateInEtcd(raw, 't', 0), before, 'partition state unchanged');
    assert.equal(a.isController, false, 'it stepped down');
    assert.equal(a.ownControllerEpoch, null);
    // Leader elections it would run as controller do nothing now either.
    await a.electLeaders();
    assert.deepEqual(await stateInEtcd(raw, 't', 0), before);

    // The new controller's state (epoch 2), then a state from the old epoch written around the fence (a raw
    // put): every node keeps the newer one. A later change on partition 1 (same watch, later revision) shows
    // the stale event was processed.
    const newer: PartitionDoc = { ...before, leader: 1, leaderEpoch: before.leaderEpoch + 1, controllerEpoch: 2 };
    newer.partitionEpoch = before.partitionEpoch + 1;
    await raw.put(partitionKey('t', 0), JSON.stringify(newer));
    await until('nodes see epoch 2 state', () =>
      [a, b].every((m) => m.partition('t', 0)?.doc.controllerEpoch === 2 && m.controllerEpoch === 2),
    );
    const stale: PartitionDoc = { ...newer, leader: 2, leaderEpoch: newer.leaderEpoch + 1, controllerEpoch: 1 };
    stale.partitionEpoch = newer.partitionEpoch + 1;
    await raw.put(partitionKey('t', 0), JSON.stringify(stale));
    const p1 = await stateInEtcd(raw, 't', 1);
    await raw.put(partitionKey('t', 1), JSON.stringify({ ...p1, isr: [2], partitionEpoch: p1.partitionEpoch + 1 }));
    await until('nodes see the marker on partition 1', () =>
      [a, b].every((m) => m.partition('t', 1)?.doc.isr.length === 1),
    );
    for (const m of [a, b]) {
      assert.equal(m.partition('t', 0)?.doc.leader, 1, `node ${m.self.nodeId} ignored the stale leader`);
      assert.equal(m.partition('t', 0)?.doc.controllerEpoch, 2);
    }
    // (Undo the write that went around the fence, so etcd and the views agree again for the next test.)
    await raw.put(partitionKey('t', 0), JSON.stringify({ ...newer, partitionEpoch: stale.partitionEpoch + 1 }));
    await until('views agree with etcd again', () =>
      [a, b].every((m) => m.partition('t', 0)?.doc.partitionEpoch === stale.partitionEpoch + 1),
    );
  });

  test('a newly elected controller takes the next epoch and its writes carry it', async () => {
    const [a, b] = managers as [ClusterManager, ClusterManager];
    // Node 1 leaves for real (resigns its campaign): node 2 is elected and takes epoch 3 (2 was taken above).
    await a.stop();
    await until('node 2 elected', () => b.isController && b.ownControllerEpoch !== null);
    assert.equal(b.ownControllerEpoch, 3);
    const raw = store();
    assert.equal((await raw.get(CONTROLLER_EPOCH_KEY))?.value, '3');
    // Broker 1 is gone: the new controller moves partition 0's leadership (node 1 led it) to node 2.
    await b.electLeaders();
    await until('partition 0 led by node 2', async () => (await stateInEtcd(raw, 't', 0)).leader === 2);
    const d = await stateInEtcd(raw, 't', 0);
    assert.equal(d.controllerEpoch, 3);
    assert.deepEqual(d.isr, [2]);
  });
});
