/**
 * ListOffsets over many partitions against a real broker (issue 22): the client's work per call must be linear
 * in the partitions asked. The old placement of items into per-leader requests compared each item with every
 * item already placed (n²/2 reads of the item list). Counted through a Proxy — the mechanism, not a time.
 * The placement itself at 10,000 partitions: list-offsets.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { LATEST_TIMESTAMP, type ListOffsetsItem, listOffsets } from '../../src/client/list-offsets.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/until.js';

/** `items` behind a Proxy that counts reads of its elements (items[i]). */
function counted<T>(items: T[]): { list: T[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(items, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) reads++;
      return Reflect.get(target, prop, receiver);
    },
  });
  return { list, reads: () => reads };
}

describe('listOffsets against kstream serve: 1,000 partitions', () => {
  const PARTS = 1000;
  let broker: BrokerProcess;
  let admin: Admin;

  before(async () => {
    broker = await startBroker();
    admin = new Admin({ brokers: broker.bootstrap });
    const [created] = await admin.createTopics([{ topic: 'many', numPartitions: PARTS }], { timeoutMs: 120_000 });
    assert.equal(created?.error, null);
    // Every partition led and answering before the counted call (no retry rounds in it).
    await until(
      'every partition answers ListOffsets',
      async () => {
        const offs = await admin.fetchTopicOffsets(['many']);
        return offs.length === PARTS && offs.every((o) => o.error === null);
      },
      120_000,
    );
  });

  after(async () => {
    await admin?.close();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('the item list is read a few times per item, not once per pair; one request to the leader', async () => {
    const items: ListOffsetsItem[] = Array.from({ length: PARTS }, (_, p) => ({
      topic: 'many',
      partition: p,
      timestamp: LATEST_TIMESTAMP,
    }));
    const { list, reads } = counted(items);
    let requests = 0;
    const request = admin.cluster.request.bind(admin.cluster);
    admin.cluster.request = (node, api, body, opts) => {
      if (api.key === ApiKey.ListOffsets) requests++;
      return request(node, api, body, opts);
    };
    try {
      const res = await listOffsets(admin.cluster, list);
      assert.equal(res.length, PARTS);
      assert.ok(
        res.every((r, p) => r.error === null && r.partition === p && r.offset === 0n),
        'the log end of every partition',
      );
      assert.equal(requests, 1, 'one ListOffsets to the one broker for all 1,000 partitions');
      // A handful of reads per item (classify, place, encode, map the answer); the quadratic placement read it
      // ~500,000 times here.
      assert.ok(reads() <= 10 * PARTS, `${reads()} reads of the item list for ${PARTS} items`);
    } finally {
      admin.cluster.request = request;
    }
  });
});
