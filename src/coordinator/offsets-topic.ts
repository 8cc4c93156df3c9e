/**
 * The coordinator's storage in the broker: the internal, compacted topic `__consumer_offsets`
 * (`offsets.topic.num.partitions` partitions; a group lives in partition abs(hash(group)) % n, as in Kafka).
 * Each partition this node leads has its coordinator, over that partition alone (src/broker/group-coordinators.ts).
 *
 * Writes are uncompressed RecordBatch v2 batches appended through the partition's one write path as leader
 * (built and appended synchronously, so records reach the log in the order the coordinator decided them),
 * acknowledged once durable as an acks=all produce is (replicated to the ISR; alone in it, fsynced). When a
 * coordinator starts its partition is read from its log start and replayed into it, so groups and offsets
 * survive a restart and a change of leader.
 *
 * Transactional offset commits (TxnOffsetCommit) are written as a transactional batch of the producer (its id and
 * epoch, sequence 0, as Kafka's coordinator writes them); the replay holds them pending until the producer's
 * COMMIT marker (applied) or ABORT marker (dropped) in this partition.
 */

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, type BatchHeader, readBatchHeader } from '../protocol/records/batch.js';
import { BatchBuilder, decodeBatch } from '../protocol/records/record.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { CONTROL_COMMIT, readControlRecord } from '../storage/producer-state.js';
import { replayBatches } from '../storage/replay.js';
import type { Logger } from '../util/logger.js';
import type { CoordinatorConfig } from './config.js';
import { GroupCoordinator, type GroupRecord, type GroupStore, type ProducerOfTxn } from './coordinator.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** A partition of `__consumer_offsets` as the coordinator uses it (the broker's Partition). */
export interface OffsetsPartition {
  readonly index: number;
  readonly log: PartitionLog;
  /** Throws (synchronously) when the append is refused or fails; `durable` says when acks=all is met. */
  appendAsLeader(
    records: Buffer,
    batches: BatchHeader[],
    opts: { acks: number; timeoutMs: number; origin?: 'client' | 'coordinator' },
  ): { durable: Promise<void> };
}

/** How long a group write waits for the ISR. */
const WRITE_TIMEOUT_MS = 30_000;

/** Bytes read per step when loading a partition. */
const LOAD_CHUNK = 4 * 1024 * 1024;

/** The records of the groups of one `__consumer_offsets` partition, which this node leads. */
export class OffsetsTopicStore implements GroupStore {
  constructor(private readonly p: OffsetsPartition) {}

  append(groupId: string, records: GroupRecord[], txn?: ProducerOfTxn): Promise<void> {
    const p = this.p;
    const b = new BatchBuilder(
      txn
        ? {
            producerId: txn.producerId,
            producerEpoch: txn.producerEpoch,
            baseSequence: 0,
            attributesExtra: ATTR_TRANSACTIONAL,
          }
        : {},
      256,
    );
    for (const r of records) b.append({ key: r.key, value: r.value });
    const buf = b.buildUncompressed();
    const h = readBatchHeader(buf, 0) as BatchHeader;
    if (buf.length > p.log.config.maxMessageBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `${buf.length} bytes of group records for ${groupId}`);
    }
    const lost = () =>
      new KafkaError(ErrorCode.NOT_COORDINATOR, `this node no longer leads ${OFFSETS_TOPIC}-${p.index}`);
    let durable: Promise<void>;
    try {
      durable = p.appendAsLeader(buf, [h], {
        acks: -1,
        timeoutMs: WRITE_TIMEOUT_MS,
        origin: txn ? 'coordinator' : 'client',
      }).durable;
    } catch (e) {
      throw e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? lost() : e;
    }
    return durable.catch((e: unknown) => {
      throw e instanceof KafkaError && e.code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? lost() : e;
    });
  }

  /** Replay every record of the partition into the coordinator, oldest first. */
  async load(c: GroupCoordinator, log: Logger): Promise<void> {
    let batches = 0;
    let records = 0;
    await replayBatches(this.p.log, LOAD_CHUNK, async (buf, pos, h, from) => {
      batches++;
      if ((h.attributes & ATTR_CONTROL) !== 0) {
        // A transaction marker: the producer's pending offset commits are applied or dropped.
        const m = h.baseOffset >= from ? readControlRecord(buf, pos) : null;
        if (m !== null) c.loadMarker(h.producerId, m.type === CONTROL_COMMIT);
        return;
      }
      const txn = (h.attributes & ATTR_TRANSACTIONAL) !== 0 ? h.producerId : null;
      const batch = await decodeBatch(buf, pos);
      for (const rec of batch.records) {
        if (rec.offset < from) continue;
        c.loadRecord(rec.key, rec.value, txn);
        records++;
      }
    });
    const stats = c.finishLoad();
    // (An empty partition, most of the 50 on a start, is no news.)
    log[records > 0 ? 'info' : 'debug']('loaded consumer groups from __consumer_offsets', {
      batches,
      records,
      groups: stats.groups,
      offsets: stats.offsets,
      skipped: stats.skipped,
    });
  }
}

/**
 * A coordinator for the groups of one `__consumer_offsets` partition, started when this node becomes its
 * leader (it replays the partition first) and stopped when leadership moves away.
 */
export async function startPartitionCoordinator(
  cfg: CoordinatorConfig,
  p: OffsetsPartition,
  log: Logger,
): Promise<GroupCoordinator> {
  const clog = log.child({ component: 'group-coordinator', partition: p.index });
  const store = new OffsetsTopicStore(p);
  const c = new GroupCoordinator(cfg, store, clog);
  await store.load(c, clog);
  c.start();
  return c;
}
