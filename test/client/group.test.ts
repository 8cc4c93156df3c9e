/**
 * Consumer groups of our consumers against kstream serve's group coordinator: two members split a 4-partition
 * topic (range by default, cooperative-sticky as an option), consume every record once, commit; the survivor of
 * a leave takes over from the committed offsets; admin views of the group (describe, offsets, delete).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Consumer, type ConsumerOptions, type ConsumerRecord, type TopicPartition } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { type GroupBroker, startGroupBroker, waitFor } from '../interop/groups-helpers.js';

let gb: GroupBroker;
let admin: Admin;

interface Member {
  /** Warnings the client logged (e.g. a failed LeaveGroup), for failure messages. */
  warnings: string[];
  consumer: Consumer;
  records: ConsumerRecord[];
  assigned: TopicPartition[][];
  revoked: TopicPartition[][];
  done: Promise<void>;
  error: unknown;
}

function startMember(opts: Partial<ConsumerOptions> & { groupId: string }, topics: string[]): Member {
  const warnings: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn(msg: string, fields?: Record<string, unknown>) {
      warnings.push(`${msg} ${JSON.stringify(fields)}`);
    },
    error(msg: string, fields?: Record<string, unknown>) {
      warnings.push(`${msg} ${JSON.stringify(fields)}`);
    },
    child() {
      return logger;
    },
  };
  const m: Member = {
    warnings,
    consumer: new Consumer({
      brokers: gb.broker.bootstrap,
      logger,
      autoOffsetReset: 'earliest',
      heartbeatIntervalMs: 300,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      maxWaitMs: 200,
      ...opts,
      onPartitionsAssigned: (tps) => {
        m.assigned.push(tps);
      },
      onPartitionsRevoked: (tps) => {
        m.revoked.push(tps);
      },
    }),
    records: [],
    assigned: [],
    revoked: [],
    done: Promise.resolve(),
    error: null,
  };
  if (topics.length > 0) m.consumer.subscribe(topics);
  m.done = (async () => {
    try {
      for await (const r of m.consumer.records()) m.records.push(r);
    } catch (e) {
      m.error = e;
    }
  })();
  return m;
}

const names = (tps: TopicPartition[]) => tps.map((tp) => `${tp.topic}/${tp.partition}`).sort();

async function produce(topic: string, perPartition: number, tag: string): Promise<void> {
  const p = new Producer({ brokers: gb.broker.bootstrap });
  const recs = [];
  for (let part = 0; part < 4; part++) {
    for (let i = 0; i < perPartition; i++) recs.push({ topic, partition: part, value: `${tag}-${part}-${i}` });
  }
  await p.sendBatch(recs);
  await p.close();
}

describe('consumer groups of our consumers', () => {
  before(async () => {
    gb = await startGroupBroker({ 'group.initial.rebalance.delay.ms': '0' });
    admin = new Admin({ brokers: gb.broker.bootstrap });
  });

  after(async () => {
    await admin?.close();
    await gb?.cleanup();
  });

  for (const assignor of ['range', 'cooperative-sticky'] as const) {
    test(`two members split a 4-partition topic (${assignor}), consume each record once, commit, fail over`, async () => {
      const topic = `grp-${assignor}`;
      const groupId = `g-${assignor}`;
      await admin.createTopics([{ topic, numPartitions: 4 }]);
      await produce(topic, 50, 'first');

      const a = startMember({ groupId, assignors: [assignor], clientId: 'member-a' }, [topic]);
      await waitFor('a owns all 4 partitions', 10_000, () => a.consumer.assignment().length === 4);
      const b = startMember({ groupId, assignors: [assignor], clientId: 'member-b' }, [topic]);
      await waitFor(
        'a 2/2 split',
        15_000,
        () => a.consumer.assignment().length === 2 && b.consumer.assignment().length === 2,
      );
      const aParts = names(a.consumer.assignment());
      const bParts = names(b.consumer.assignment());
      assert.deepEqual(
        [...aParts, ...bParts].sort(),
        [0, 1, 2, 3].map((p) => `${topic}/${p}`),
      );

      await produce(topic, 50, 'second');
      const distinct = () => new Set([...a.records, ...b.records].map((r) => `${r.partition}/${r.offset}`)).size;
      await waitFor('all 400 records consumed', 15_000, () => distinct() === 400);
      assert.equal(a.error, null);
      assert.equal(b.error, null);
      // After the split each member only gets records of its own partitions.
      const lastOf = (m: Member) => m.records.slice(-20).map((r) => `${r.topic}/${r.partition}`);
      assert.ok(lastOf(b).every((p) => bParts.includes(p)));

      if (assignor === 'cooperative-sticky') {
        // Cooperative: a never gave up the partitions it kept, only the two that moved.
        assert.equal(a.revoked.length, 1);
        assert.deepEqual(names(a.revoked[0]!), bParts);
        assert.deepEqual(names(b.assigned.flat()), bParts);
      }

      await a.consumer.commit();
      await b.consumer.commit();
      const committed = await admin.listConsumerGroupOffsets(groupId);
      assert.deepEqual(
        committed.map((c) => [c.topic, c.partition, c.offset]).sort(),
        [0, 1, 2, 3].map((p) => [topic, p, 100n]),
      );
      const committedByA = await a.consumer.committed();
      assert.equal(committedByA.size, 2);
      for (const v of committedByA.values()) assert.equal(v, 100n);

      const [desc] = await admin.describeGroups([groupId]);
      assert.equal(desc?.error, null);
      assert.equal(desc?.state, 'Stable');
      assert.equal(desc?.protocolType, 'consumer');
      assert.equal(desc?.protocol, assignor);
      assert.deepEqual(desc?.members.map((m) => m.clientId).sort(), ['member-a', 'member-b']);
      for (const m of desc?.members ?? []) {
        assert.deepEqual(m.subscribedTopics, [topic]);
        assert.equal(m.assignment?.[0]?.partitions.length, 2);
      }
      const listed = await admin.listGroups();
      assert.ok(listed.some((g) => g.groupId === groupId && g.protocolType === 'consumer'));

      // b leaves: a takes over all partitions, from the committed offsets.
      await b.consumer.close();
      await b.done;
      await waitFor('a owns all 4 again', 15_000, () => a.consumer.assignment().length === 4);
      const before = a.records.length;
      await produce(topic, 10, 'third');
      await waitFor('a reads the 40 new records', 15_000, () => a.records.length - before >= 40);
      await new Promise((r) => setTimeout(r, 300));
      const fresh = a.records.slice(before);
      assert.equal(fresh.length, 40, 'nothing consumed twice after the failover');
      assert.ok(fresh.every((r) => r.value?.toString().startsWith('third-')));

      await a.consumer.close(); // auto-commit on close (revoke)
      await a.done;
      assert.equal(a.error, null);
      const finalOffsets = await admin.listConsumerGroupOffsets(groupId);
      assert.deepEqual(
        finalOffsets.map((c) => c.offset),
        [110n, 110n, 110n, 110n],
      );
      const [empty] = await admin.describeGroups([groupId]);
      assert.equal(empty?.state, 'Empty');
      assert.equal(empty?.members.length, 0);
    });
  }

  test('admin: set offsets of an empty group, a new member starts there; delete the group', async () => {
    const topic = 'grp-admin';
    const groupId = 'g-admin';
    await admin.createTopics([{ topic, numPartitions: 4 }]);
    await produce(topic, 20, 'x');
    const results = await admin.alterConsumerGroupOffsets(
      groupId,
      [0, 1, 2, 3].map((partition) => ({ topic, partition, offset: 15 })),
    );
    assert.ok(results.every((r) => r.error === null));
    const m = startMember({ groupId, autoCommit: false }, [topic]);
    await waitFor('20 records (5 per partition)', 15_000, () => m.records.length === 20);
    assert.ok(m.records.every((r) => r.offset >= 15n));
    // A non-empty group cannot be deleted; after the member leaves it can.
    const [busy] = await admin.deleteGroups([groupId]);
    assert.match(busy?.error?.message ?? '', /NON_EMPTY_GROUP/);
    await m.consumer.close();
    await m.done;
    assert.deepEqual(m.warnings, []);
    await waitFor('the group to be empty after the member left', 5_000, async () => {
      const [d] = await admin.describeGroups([groupId]);
      return d?.state === 'Empty';
    });
    const [deleted, unknown] = await admin.deleteGroups([groupId, 'never-existed']);
    assert.equal(deleted?.error, null);
    assert.match(unknown?.error?.message ?? '', /GROUP_ID_NOT_FOUND/);
    assert.deepEqual(await admin.listConsumerGroupOffsets(groupId), []);
  });

  test('a pattern subscription takes matching topics, also ones created later; added partitions rebalance', async () => {
    await admin.createTopics([
      { topic: 're-a', numPartitions: 2 },
      { topic: 'other', numPartitions: 1 },
    ]);
    const m = startMember({ groupId: 'g-pattern', metadataCheckMs: 300 }, []);
    m.consumer.subscribe(/^re-/);
    const owned = () => names(m.consumer.assignment());
    await waitFor('re-a partitions', 10_000, () => owned().join() === 're-a/0,re-a/1');
    await admin.createTopics([{ topic: 're-b', numPartitions: 1 }]);
    await waitFor('re-b joins the subscription', 10_000, () => owned().join() === 're-a/0,re-a/1,re-b/0');
    const p = new Producer({ brokers: gb.broker.bootstrap });
    await p.send({ topic: 're-b', value: 'late' });
    await p.send({ topic: 'other', value: 'not for us' });
    await p.close();
    await waitFor('the record of the new topic', 10_000, () => m.records.some((r) => r.value?.toString() === 'late'));
    assert.ok(m.records.every((r) => r.topic.startsWith('re-')));
    if (await admin.cluster.anyConnection().then((c) => c.supports(37))) {
      await admin.createPartitions([{ topic: 're-b', count: 2 }]);
      await waitFor('the added partition', 10_000, () => owned().includes('re-b/1'));
    }
    await m.consumer.close();
    await m.done;
    assert.equal(m.error, null);
  });

  test('assign mode with a group id commits with generation -1 and resumes from it', async () => {
    const topic = 'grp-assign';
    const groupId = 'g-assign';
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const p = new Producer({ brokers: gb.broker.bootstrap });
    await p.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic, value: `${i}` })));
    await p.close();
    const c1 = new Consumer({ brokers: gb.broker.bootstrap, groupId, autoOffsetReset: 'earliest', maxWaitMs: 100 });
    c1.assign([{ topic, partition: 0 }]);
    let n = 0;
    for await (const _ of c1.records()) if (++n === 4) break;
    await c1.commit();
    await c1.close();
    const c2 = new Consumer({ brokers: gb.broker.bootstrap, groupId, maxWaitMs: 100 });
    c2.assign([{ topic, partition: 0 }]);
    const rest: string[] = [];
    for await (const r of c2.records({ untilEnd: true })) rest.push(r.value!.toString());
    await c2.close();
    assert.deepEqual(rest, ['4', '5', '6', '7', '8', '9']);
  });
});
