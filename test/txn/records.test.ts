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
