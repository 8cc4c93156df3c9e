/**
 * The key and value formats of records in `__transaction_state`, the same as Kafka's (so Kafka tooling that
 * decodes the topic understands ours). Each key and value starts with an int16 version, then a struct:
 *
 *   TransactionLogKey   v0 => transactional_id STRING
 *   TransactionLogValue v0 => producer_id INT64, producer_epoch INT16, transaction_timeout_ms INT32,
 *                             transaction_status INT8, transaction_partitions NULLABLE [topic STRING,
 *                             partition_ids [INT32]], transaction_last_update_timestamp_ms INT64,
 *                             transaction_start_timestamp_ms INT64                                  (written)
 *                       v1 => the same, flexible, with tagged previous/next producer ids (not written)
 *
 * A null value is a tombstone: the transactional id expired. The status numbers are Kafka's.
 */
import { Reader } from '../protocol/codec/reader.js';
import { compile, type MessageDef } from '../protocol/codec/schema.js';
import { Writer } from '../protocol/codec/writer.js';

/** Transaction states with Kafka's status numbers (TransactionState.id). */
export const TxnState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnState = (typeof TxnState)[keyof typeof TxnState];

/** The state names DescribeTransactions and ListTransactions use (Kafka's). */
export const STATE_NAMES: Record<TxnState, string> = {
  0: 'Empty',
  1: 'Ongoing',
  2: 'PrepareCommit',
  3: 'PrepareAbort',
  4: 'CompleteCommit',
  5: 'CompleteAbort',
  6: 'Dead',
  7: 'PrepareEpochFence',
};

const TransactionLogKey = {
  name: 'TransactionLogKey',
  apiKey: -1,
  type: 'request',
  validVersions: '0',
  flexibleVersions: 'none',
  fields: [{ name: 'transactionalId', type: 'string', versions: '0' }],
} as const satisfies MessageDef;

const TransactionLogValue = {
  name: 'TransactionLogValue',
  apiKey: -1,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: '1+',
  fields: [
    { name: 'producerId', type: 'int64', versions: '0+' },
    { name: 'previousProducerId', type: 'int64', versions: '1+', taggedVersions: '1+', tag: 0, default: -1 },
    { name: 'nextProducerId', type: 'int64', versions: '1+', taggedVersions: '1+', tag: 1, default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
    { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'transactionStatus', type: 'int8', versions: '0+' },
    {
      name: 'transactionPartitions',
      type: '[]struct',
      versions: '0+',
      nullableVersions: '0+',
      fields: [
        { name: 'topic', type: 'string', versions: '0+' },
        { name: 'partitionIds', type: '[]int32', versions: '0+' },
      ],
    },
    { name: 'transactionLastUpdateTimestampMs', type: 'int64', versions: '0+' },
    { name: 'transactionStartTimestampMs', type: 'int64', versions: '0+' },
    { name: 'clientTransactionVersion', type: 'int16', versions: '1+', taggedVersions: '1+', tag: 2, default: 0 },
  ],
} as const satisfies MessageDef;

/** What one `__transaction_state` record says of a transactional id. */
export interface TxnLogValue {
  producerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** Topic → partitions in the transaction. */
  partitions: Map<string, number[]>;
  lastUpdateMs: number;
  /** -1: no transaction running. */
  startMs: number;
}

export class BadTxnRecordError extends Error {}

export function txnKey(transactionalId: string): Buffer {
  const w = new Writer(32);
  w.int16(0);
  compile(TransactionLogKey, 0).encode(w, { transactionalId });
  return w.finish();
}

export function txnValue(v: TxnLogValue): Buffer {
  const w = new Writer(128);
  w.int16(0);
  compile(TransactionLogValue, 0).encode(w, {
    producerId: v.producerId,
    producerEpoch: v.producerEpoch,
    transactionTimeoutMs: v.timeoutMs,
    transactionStatus: v.state,
    // Kafka writes no partitions for Empty and the Complete states.
    transactionPartitions: [...v.partitions].map(([topic, partitionIds]) => ({ topic, partitionIds })),
    transactionLastUpdateTimestampMs: BigInt(v.lastUpdateMs),
    transactionStartTimestampMs: BigInt(v.startMs),
  });
  return w.finish();
}

export function decodeTxnKey(buf: Buffer): string {
  const r = new Reader(buf);
  const version = r.int16();
  if (r.bad || version !== 0) throw new BadTxnRecordError(`transaction log key: version ${version}`);
  const body = compile(TransactionLogKey, 0).decode(r) as { transactionalId: string };
  if (r.bad) throw new BadTxnRecordError(`transaction log key: ${r.reason}`);
  return body.transactionalId;
}

export function decodeTxnValue(buf: Buffer): TxnLogValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (r.bad || (version !== 0 && version !== 1)) {
    throw new BadTxnRecordError(`transaction log value: version ${version}`);
  }
  const body = compile(TransactionLogValue, version).decode(r) as {
    producerId: bigint;
    producerEpoch: number;
    transactionTimeoutMs: number;
    transactionStatus: number;
    transactionPartitions: { topic: string; partitionIds: number[] }[] | null;
    transactionLastUpdateTimestampMs: bigint;
    transactionStartTimestampMs: bigint;
  };
  if (r.bad) throw new BadTxnRecordError(`transaction log value: ${r.reason}`);
  if (body.transactionStatus < 0 || body.transactionStatus > 7) {
    throw new BadTxnRecordError(`transaction log value: status ${body.transactionStatus}`);
  }
  return {
    producerId: body.producerId,
    producerEpoch: body.producerEpoch,
    timeoutMs: body.transactionTimeoutMs,
    state: body.transactionStatus as TxnState,
    partitions: new Map((body.transactionPartitions ?? []).map((t) => [t.topic, t.partitionIds])),
    lastUpdateMs: Number(body.transactionLastUpdateTimestampMs),
    startMs: Number(body.transactionStartTimestampMs),
  };
}
