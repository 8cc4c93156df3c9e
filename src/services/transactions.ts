/**
 * Transactions for the CLI and the TUI (issue 17): `kstream txn list` (ListTransactions on every broker) and
 * `kstream txn describe ID` (DescribeTransactions at the id's coordinator). Plain async functions over an Admin.
 */
import type { Admin } from '../client/index.js';
import { errorText } from './connect.js';

/** Kafka's error code for a transactional id its coordinator does not know. */
const TRANSACTIONAL_ID_NOT_FOUND = 105;

export interface TransactionSummary {
  transactionalId: string;
  state: string;
  producerId: bigint;
  coordinator: number;
}

export interface TransactionFilter {
  /** Only these states (Kafka's names: Ongoing, PrepareCommit, …). */
  states?: readonly string[];
  /** Only these producer ids. */
  producerIds?: readonly bigint[];
}

export async function listTransactions(admin: Admin, filter: TransactionFilter = {}): Promise<TransactionSummary[]> {
  const ts = await admin.listTransactions({
    ...(filter.states ? { states: filter.states } : {}),
    ...(filter.producerIds ? { producerIds: filter.producerIds } : {}),
  });
  return ts.map((t) => ({
    transactionalId: t.transactionalId,
    state: t.state,
    producerId: t.producerId,
    coordinator: t.coordinator,
  }));
}

export interface TransactionDetail {
  transactionalId: string;
  state: string;
  producerId: bigint;
  producerEpoch: number;
  coordinator: number;
  timeoutMs: number;
  /** When the open transaction started (ms since the epoch); null when none is open. */
  startTimeMs: bigint | null;
  /** How long the open transaction has been running (ms); null when none is open. */
  durationMs: number | null;
  partitions: { topic: string; partition: number }[];
}

/** A transactional id's state, producer, timeout, start time and partitions; throws for an unknown id. */
export async function describeTransaction(
  admin: Admin,
  transactionalId: string,
  now = Date.now(),
): Promise<TransactionDetail> {
  const [d] = await admin.describeTransactions([transactionalId]);
  if (!d) throw new Error(`transactional id ${transactionalId}: no answer`);
  if (d.error) {
    if (d.error.code === TRANSACTIONAL_ID_NOT_FOUND)
      throw new Error(`transactional id ${transactionalId} does not exist`);
    throw new Error(`transactional id ${transactionalId}: ${errorText(d.error)}`);
  }
  const start = d.transactionStartTimeMs >= 0n ? d.transactionStartTimeMs : null;
  return {
    transactionalId: d.transactionalId,
    state: d.state,
    producerId: d.producerId,
    producerEpoch: d.producerEpoch,
    coordinator: d.coordinator,
    timeoutMs: d.transactionTimeoutMs,
    startTimeMs: start,
    durationMs: start === null ? null : Math.max(0, now - Number(start)),
    partitions: [...d.partitions].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    ),
  };
}
