/**
 * The Java client's murmur2 partitioner (Kafka's own UtilsTest.testMurmur2 vectors), sticky partitioning of
 * null keys, and bootstrap address parsing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatAddress, parseBrokers, resolveBrokers } from '../../src/client/brokers.js';
import { DefaultPartitioner, murmur2, murmur2Partition, toPositive } from '../../src/client/partitioner.js';

describe('murmur2', () => {
  test("Kafka's UtilsTest.testMurmur2 vectors", () => {
    const cases: [string | number[], number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      [[0x61, 0x62, 0x63], 479470107],
    ];
    for (const [input, expected] of cases) {
      const bytes = typeof input === 'string' ? Buffer.from(input) : Uint8Array.from(input);
      assert.equal(murmur2(bytes), expected, `murmur2(${JSON.stringify(input)})`);
    }
  });

  test('every tail length (0-3 trailing bytes) and the empty key', () => {
    // Values of the Java implementation for "1", "12", "123", "1234", "12345" and "".
    const cases: [string, number][] = [
      ['', 275646681],
      ['1', -1993445489],
      ['12', 126087238],
      ['123', -267702483],
      ['1234', -1614185708],
      ['12345', -1188365604],
    ];
    for (const [s, expected] of cases) assert.equal(murmur2(Buffer.from(s)), expected, JSON.stringify(s));
  });

  test('toPositive clears the sign bit (not Math.abs), as Utils.toPositive', () => {
    assert.equal(toPositive(-1), 0x7fffffff);
    assert.equal(toPositive(-2147483648), 0);
    assert.equal(toPositive(5), 5);
    assert.equal(murmur2Partition('21', 6), toPositive(-973932308) % 6);
    assert.equal(murmur2Partition(Buffer.from('foobar'), 10), toPositive(-790332482) % 10);
  });

  test('string keys hash as their UTF-8 bytes', () => {
    assert.equal(murmur2Partition('é✓', 7), murmur2Partition(Buffer.from('é✓', 'utf8'), 7));
  });
});

describe('DefaultPartitioner', () => {
  test('keyed records: murmur2, whatever the availability', () => {
    const p = new DefaultPartitioner();
    for (let i = 0; i < 100; i++) {
      const key = `key-${i}`;
      assert.equal(
        p.partition({ topic: 't', key, partitionCount: 12, availablePartitions: [0] }),
        murmur2Partition(key, 12),
      );
    }
  });

  test('null keys stick to one available partition until its batch closes, then move', () => {
    const p = new DefaultPartitioner();
    const ctx = { topic: 't', key: null, partitionCount: 8, availablePartitions: [1, 3, 5, 7] };
    const first = p.partition(ctx);
    assert.ok([1, 3, 5, 7].includes(first));
    for (let i = 0; i < 50; i++) assert.equal(p.partition(ctx), first, 'sticky');
    const seen = new Set<number>([first]);
    let prev = first;
    for (let i = 0; i < 200; i++) {
      p.onBatchClosed('t', prev, 8, [1, 3, 5, 7]);
      const next = p.partition(ctx);
      assert.notEqual(next, prev, 'a closed batch moves the sticky partition');
      assert.ok([1, 3, 5, 7].includes(next));
      seen.add(next);
      prev = next;
    }
    assert.equal(seen.size, 4, 'all available partitions get used');
    // A batch closing on another partition does not move it.
    p.onBatchClosed('t', prev === 1 ? 3 : 1, 8, [1, 3, 5, 7]);
    assert.equal(p.partition(ctx), prev);
  });

  test('topics are sticky independently; no available list falls back to all partitions', () => {
    const p = new DefaultPartitioner();
    const a = p.partition({ topic: 'a', key: undefined, partitionCount: 3, availablePartitions: [] });
    assert.ok(a >= 0 && a < 3);
    const b = p.partition({ topic: 'b', key: null, partitionCount: 1, availablePartitions: [0] });
    assert.equal(b, 0);
    assert.equal(p.partition({ topic: 'a', key: null, partitionCount: 3, availablePartitions: [] }), a);
  });
});

describe('parseBrokers', () => {
  test('host:port lists, default port 9092, IPv6, spaces and scheme prefixes', () => {
    assert.deepEqual(parseBrokers('a:1,b:2'), [
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    assert.deepEqual(parseBrokers('localhost'), [{ host: 'localhost', port: 9092 }]);
    assert.deepEqual(parseBrokers(' a:9093 , b '), [
      { host: 'a', port: 9093 },
      { host: 'b', port: 9092 },
    ]);
    assert.deepEqual(parseBrokers(['[::1]:9094', '[fe80::1]']), [
      { host: '::1', port: 9094 },
      { host: 'fe80::1', port: 9092 },
    ]);
    assert.deepEqual(parseBrokers('PLAINTEXT://k1:19092'), [{ host: 'k1', port: 19092 }]);
    assert.equal(formatAddress({ host: '::1', port: 9092 }), '[::1]:9092');
    assert.equal(formatAddress({ host: 'a', port: 1 }), 'a:1');
  });

  test('bad entries are named in the error', () => {
    assert.throws(() => parseBrokers(''), /no broker address/);
    assert.throws(() => parseBrokers('a:xyz'), /invalid broker address "a:xyz": bad port "xyz"/);
    assert.throws(() => parseBrokers('a:70000'), /bad port "70000"/);
    assert.throws(() => parseBrokers(':9092'), /empty host/);
  });

  test('resolveBrokers: flag, then KSTREAM_BROKERS, then 127.0.0.1:9092', () => {
    assert.equal(resolveBrokers('a:1', { KSTREAM_BROKERS: 'b:2' }), 'a:1');
    assert.equal(resolveBrokers(undefined, { KSTREAM_BROKERS: ' b:2,c ' }), 'b:2,c');
    assert.equal(resolveBrokers('', {}), '127.0.0.1:9092');
    assert.equal(resolveBrokers(null, { KSTREAM_BROKERS: '' }), '127.0.0.1:9092');
  });
});
