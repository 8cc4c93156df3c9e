/**
 * ListOffsets over many partitions (issue 22): placing the items into per-leader requests must be linear in
 * the number of partitions. The old placement compared each item with every item already placed (n²/2 reads
 * of the item list: 50 million for one 10,000-partition topic, 40 s of client CPU per `kstream top` poll).
 * The tests count reads of the item list through a Proxy — the mechanism, not a time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  EARLIEST_TIMESTAMP,
  groupRequests,
  LATEST_TIMESTAMP,
  type ListOffsetsItem,
} from '../../src/client/list-offsets.js';

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

describe('groupRequests: items into per-leader ListOffsets requests', () => {
  test('10,000 partitions over 3 leaders: each item read once, one request per leader', () => {
    const n = 10_000;
    const items: ListOffsetsItem[] = Array.from({ length: n }, (_, p) => ({
      topic: 'big',
      partition: p,
      timestamp: LATEST_TIMESTAMP,
    }));
    const { list, reads } = counted(items);
    const asked = items.map((_, i) => i);
    const leaders = items.map((it) => (it.partition % 3) + 1);
    const requests = groupRequests(list, asked, leaders);
    assert.ok(reads() <= n, `${reads()} reads of the item list for ${n} items (linear: at most one each)`);
    assert.deepEqual([...requests.keys()].sort(), [1, 2, 3]);
    for (const [leader, groups] of requests) {
      assert.equal(groups.length, 1, `leader ${leader}: one request for all its partitions`);
      const parts = groups[0]!.map((i) => items[i]!.partition);
      assert.ok(parts.every((p) => p % 3 === leader - 1));
      assert.equal(parts.length, leader === 1 ? 3334 : 3333);
    }
  });

  test('a partition asked several times goes into as many requests, each partition once per request', () => {
    // 2,000 partitions of two topics on 2 leaders; partition 7 of "a" asked 3 times, partition 5 of "b" twice.
    const items: ListOffsetsItem[] = [];
    for (const topic of ['a', 'b'])
      for (let p = 0; p < 1000; p++) items.push({ topic, partition: p, timestamp: EARLIEST_TIMESTAMP });
    items.push({ topic: 'a', partition: 7, timestamp: LATEST_TIMESTAMP });
    items.push({ topic: 'b', partition: 5, timestamp: LATEST_TIMESTAMP });
    items.push({ topic: 'a', partition: 7, timestamp: 1_700_000_000_000n });
    const { list, reads } = counted(items);
    const asked = items.map((_, i) => i);
    const leaders = items.map((it) => (it.partition % 2 === 0 ? 10 : 11));
    const requests = groupRequests(list, asked, leaders);
    assert.ok(reads() <= items.length, `${reads()} reads for ${items.length} items`);
    const placed = [...requests.values()].flat(2).sort((x, y) => x - y);
    assert.deepEqual(placed, asked, 'every item in exactly one request');
    for (const groups of requests.values()) {
      for (const g of groups) {
        const keys = g.map((i) => `${items[i]!.topic}/${items[i]!.partition}`);
        assert.equal(new Set(keys).size, keys.length, 'no partition twice in one request');
      }
    }
    // a/7 (odd: leader 11) three times → 3 requests there; b/5 (leader 11) twice fits in those; leader 10: 1.
    assert.equal(requests.get(10)?.length, 1);
    assert.equal(requests.get(11)?.length, 3);
    assert.deepEqual(
      requests
        .get(11)!
        .slice(1)
        .map((g) => g.map((i) => `${items[i]!.topic}/${items[i]!.partition}`)),
      [['a/7', 'b/5'], ['a/7']],
    );
  });
});
