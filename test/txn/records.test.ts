/**
 * `__transaction_state` records (issue 17): Kafka's TransactionLogKey v0 / TransactionLogValue v0 layout, so
 * Kafka tooling reads ours, round-tripped; damaged records are refused with BadTxnRecordError, never half-read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadTxnRecordError, decodeTxnKey, decodeTxnValue, TxnState, txnKey, txnValue } from '../../src/txn/records.js';

test('key and value have Kafka v0 layout and round-trip', () => {
  const key = txnKey('tx-1');
  // int16 version 0, int16 length 4, "tx-1"
  assert.deepEqual([...key], [0, 0, 0, 4, 0x74, 0x78, 0x2d, 0x31]);
  assert.equal(decodeTxnKey(key), 'tx-1');
  const v = {
    producerId: 4001n,
    producerEpoch: 3,
    timeoutMs: 60_000,
    state: TxnState.Ongoing,
    partitions: new Map([
      ['out', [0, 2]],
      ['__consumer_offsets', [7]],
    ]),
    lastUpdateMs: 1_700_000_000_123,
    startMs: 1_700_000_000_000,
  };
  const buf = txnValue(v);
  // version 0, producer id int64, epoch int16, timeout int32, status int8
  assert.equal(buf.readInt16BE(0), 0);
  assert.equal(buf.readBigInt64BE(2), 4001n);
  assert.equal(buf.readInt16BE(10), 3);
  assert.equal(buf.readInt32BE(12), 60_000);
  assert.equal(buf.readInt8(16), TxnState.Ongoing);
  assert.deepEqual(decodeTxnValue(buf), v);
});

test('damaged or unknown records are refused', () => {
  const good = txnValue({
    producerId: 1n,
    producerEpoch: 0,
    timeoutMs: 1000,
    state: TxnState.Empty,
    partitions: new Map(),
    lastUpdateMs: 1,
    startMs: -1,
  });
  assert.throws(() => decodeTxnValue(good.subarray(0, good.length - 3)), BadTxnRecordError);
  const badStatus = Buffer.from(good);
  badStatus.writeInt8(42, 16);
  assert.throws(() => decodeTxnValue(badStatus), BadTxnRecordError);
  const v9 = Buffer.from(good);
  v9.writeInt16BE(9, 0);
  assert.throws(() => decodeTxnValue(v9), BadTxnRecordError);
  assert.throws(() => decodeTxnKey(Buffer.from([0, 1, 0, 0])), BadTxnRecordError);
});

test('keys and values of many shapes round-trip', () => {
  // A small deterministic generator: ids and topics of many lengths (unicode too), empty and large
  // partition lists, every state, negative and large numbers at the edges of their types.
  let seed = 17;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const names = ['', 't', 'tx-1', 'ü-topic-é', '__consumer_offsets', 'x'.repeat(249), '日本語'];
  for (let i = 0; i < 500; i++) {
    const id = i < names.length ? names[i]! : `${names[rnd(names.length)]}-${i}`;
    assert.equal(decodeTxnKey(txnKey(id)), id, `key ${JSON.stringify(id)}`);
    const partitions = new Map<string, number[]>();
    const topics = i % 5 === 0 ? 0 : 1 + rnd(4);
    for (let k = 0; k < topics; k++) {
      const ids = Array.from({ length: rnd(3) === 0 ? 0 : 1 + rnd(40) }, () => rnd(1 << 20));
      partitions.set(`${names[rnd(names.length)]}${k}`, ids);
    }
    const v = {
      producerId: i % 7 === 0 ? -1n : BigInt(rnd(1 << 30)) * 1_000_003n,
      producerEpoch: i % 11 === 0 ? 32767 : i % 13 === 0 ? -1 : rnd(32767),
      timeoutMs: i % 3 === 0 ? 2147483647 : rnd(900_000),
      state: rnd(8) as TxnState,
      partitions,
      lastUpdateMs: 1_700_000_000_000 + rnd(1 << 30),
      startMs: i % 4 === 0 ? -1 : 1_700_000_000_000 + rnd(1 << 30),
    };
    assert.deepEqual(decodeTxnValue(txnValue(v)), v, `value ${i}`);
  }
});
