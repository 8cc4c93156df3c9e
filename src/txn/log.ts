/**
 * The transaction coordinator's storage in the broker: the internal, compacted topic `__transaction_state`
 * (`transaction.state.log.num.partitions` partitions; a transactional id lives in partition
 * abs(hash(id)) % n, as in Kafka). Each partition this node leads has its coordinator over that partition
 * alone (src/broker/txn-coordinators.ts).
 *
 * Each transition is one uncompressed record appended through the partition's one write path as leader and
 * acknowledged once durable as an acks=all produce is (replicated to the ISR, at least
 * `transaction.state.log.min.isr` of it; alone in it, fsynced); a Complete state once appended (the next
 * transition's durability covers it: src/txn/coordinator.ts). A coordinator that starts replays its
 * partition from the log start, then resumes the transactions it finds in a Prepare state.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type BatchHeader, readBatchHeader } from '../protocol/records/batch.js';
import { BatchBuilder, decodeBatch } from '../protocol/records/record.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { replayBatches } from '../storage/replay.js';
import type { Logger } from '../util/logger.js';
import type { TxnConfig } from './config.js';
import { type MarkerWriter, TransactionCoordinator, type TxnStore } from './coordinator.js';
import { decodeTxnKey, decodeTxnValue, type TxnLogValue, txnKey, txnValue } from './records.js';

export const TXN_TOPIC = '__transaction_state';

/** A partition of `__transaction_state` as the coordinator uses it (the broker's Partition). */
export interface TxnPartition {
  readonly index: number;
  readonly log: PartitionLog;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  /** Throws (synchronously) when the append is refused or fails; `durable` says when acks=all is met. */
  appendAsLeader(
    records: Buffer,
    batches: BatchHeader[],
    opts: { acks: number; timeoutMs: number; minInsyncReplicas?: number },
  ): { durable: Promise<void> };
}

/** How long a transition waits for the ISR. */
const WRITE_TIMEOUT_MS = 30_000;
/** Bytes read per step when loading a partition. */
const LOAD_CHUNK = 4 * 1024 * 1024;

export class TxnLogStore implements TxnStore {
  readonly coordinatorEpoch: number;

  constructor(
    private readonly p: TxnPartition,
    private readonly minIsr: number,
  ) {
    this.coordinatorEpoch = p.leaderEpoch;
  }

  append(transactionalId: string, value: TxnLogValue | null, lazy = false): { durable: Promise<void> } {
    const p = this.p;
    const b = new BatchBuilder({}, 256);
    b.append({ key: txnKey(transactionalId), value: value === null ? null : txnValue(value) });
    const buf = b.buildUncompressed();
    const h = readBatchHeader(buf, 0) as BatchHeader;
    const lost = () => new KafkaError(ErrorCode.NOT_COORDINATOR, `this node no longer leads ${TXN_TOPIC}-${p.index}`);
    const minInsyncReplicas = Math.min(this.minIsr, p.replicas.length);
    let durable: Promise<void>;
    try {
      // Lazy: acks=1, answered once appended; the next acks=all write (or the log's flush) covers it.
      durable = p.appendAsLeader(buf, [h], {
        acks: lazy ? 1 : -1,
        timeoutMs: WRITE_TIMEOUT_MS,
        minInsyncReplicas,
      }).durable;
    } catch (e) {
      throw e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? lost() : e;
    }
    return {
      durable: durable.catch((e: unknown) => {
        throw e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? lost() : e;
      }),
    };
  }

  /** Replay every record of the partition into the coordinator, oldest first. */
  async load(c: TransactionCoordinator, log: Logger): Promise<void> {
    let records = 0;
    let skipped = 0;
    await replayBatches(this.p.log, LOAD_CHUNK, async (buf, pos, _h, from) => {
      const batch = await decodeBatch(buf, pos);
      for (const rec of batch.records) {
        if (rec.offset < from || rec.key === null) continue;
        try {
          c.loadRecord(decodeTxnKey(rec.key), rec.value === null ? null : decodeTxnValue(rec.value));
          records++;
        } catch (e) {
          skipped++;
          log.warn('skipped a record of __transaction_state it cannot read', { offset: rec.offset, error: e });
        }
      }
    });
    const stats = c.finishLoad();
    log[records > 0 ? 'info' : 'debug']('loaded transactions from __transaction_state', {
      records,
      skipped,
      transactionalIds: stats.ids,
      resumed: stats.resumed,
    });
  }
}

/**
 * A coordinator for the transactional ids of one `__transaction_state` partition, started when this node
 * becomes its leader (it replays the partition first) and stopped when leadership moves away.
 */
export async function startTxnCoordinator(
  cfg: TxnConfig,
  p: TxnPartition,
  markers: MarkerWriter,
  newProducerId: () => Promise<bigint>,
  log: Logger,
): Promise<TransactionCoordinator> {
  const clog = log.child({ component: 'txn-coordinator', partition: p.index });
  const store = new TxnLogStore(p, cfg.minIsr);
  const c = new TransactionCoordinator(cfg, store, markers, newProducerId, clog);
  await store.load(c, clog);
  c.start();
  return c;
}
