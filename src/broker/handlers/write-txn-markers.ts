/**
 * WriteTxnMarkers v0-1 (KIP-98), the receiving side: a transaction coordinator asks the leader of each partition
 * of a transaction to write its COMMIT or ABORT marker. For each (marker, partition) the leader appends one
 * control batch — attributes transactional + control, the producer's id and epoch, one control record (key:
 * version 0, type 0 abort / 1 commit; value: version 0, the coordinator epoch) — through the partition's one
 * write path as leader (Partition.appendAsLeader), and answers once it is durable as an acks=all produce is.
 * The producer state checks it first (producer-state.ts checkMarker): a producer epoch older than the
 * partition knows is INVALID_PRODUCER_EPOCH, a coordinator epoch older than the producer's last marker
 * TRANSACTION_COORDINATOR_FENCED; nothing is written then. A partition that does not exist is
 * UNKNOWN_TOPIC_OR_PARTITION, one led elsewhere NOT_LEADER_OR_FOLLOWER (the coordinator looks its leader up again).
 * A marker written to a `__consumer_offsets` partition also settles the producer's transactional offset commits
 * in that partition's group coordinator (TxnOffsetCommit).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { type BatchHeader, readBatchHeader } from '../../protocol/records/batch.js';
import { buildMarkerBatch } from '../../storage/producer-state.js';
import type { Logger } from '../../util/logger.js';
import { clusterAllowed, Op } from '../acl/check.js';
import type { BrokerContext } from '../context.js';
import type { Partition } from '../partition.js';
import { defineHandler } from '../router.js';

type MarkerResult = Item<ResponseInput<typeof Api.WriteTxnMarkers>['markers']>;
/** The answer of one topic of a marker. */
export interface MarkerTopicResult {
  name: string;
  partitions: { partitionIndex: number; errorCode: number }[];
}
type PartitionResult = MarkerTopicResult['partitions'][number];

/** How long a marker waits for the ISR (Kafka uses the request timeout). */
const MARKER_TIMEOUT_MS = 30_000;

/** Append one marker to `p` as leader; resolves once durable. Throws a KafkaError when refused. */
function writeMarker(
  p: Partition,
  producerId: bigint,
  producerEpoch: number,
  commit: boolean,
  coordinatorEpoch: number,
): Promise<void> {
  const buf = buildMarkerBatch(producerId, producerEpoch, commit, coordinatorEpoch);
  const h = readBatchHeader(buf, 0) as BatchHeader;
  return p.appendAsLeader(buf, [h], { acks: -1, timeoutMs: MARKER_TIMEOUT_MS }).durable;
}

/**
 * Write one transaction's marker to `topics` (their partitions led here) and wait until each is durable: the
 * result of every partition (NONE once durable). The handler's work, also called directly by this node's
 * own transaction coordinator for the partitions it leads (txn-markers.ts), without a connection to itself.
 */
export async function writeMarkersAsLeader(
  node: BrokerContext,
  log: Logger,
  m: { producerId: bigint; producerEpoch: number; commit: boolean; coordinatorEpoch: number },
  topics: readonly { name: string; partitionIndexes: readonly number[] }[],
): Promise<MarkerTopicResult[]> {
  const waits: Promise<void>[] = [];
  const out: MarkerTopicResult[] = [];
  for (const t of topics) {
    const partitions: PartitionResult[] = [];
    out.push({ name: t.name, partitions });
    for (const index of t.partitionIndexes) {
      const res: PartitionResult = { partitionIndex: index, errorCode: 0 };
      partitions.push(res);
      const p = node.partition(t.name, index);
      if (!p?.isLeader) {
        const exists = p !== undefined || node.partitionExists(t.name, index);
        res.errorCode = exists ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      const fail = (e: unknown): void => {
        if (e instanceof KafkaError) res.errorCode = e.code;
        else {
          log.error('transaction marker append failed', { topic: t.name, partition: index, error: e });
          res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        }
      };
      try {
        const durable = writeMarker(p, m.producerId, m.producerEpoch, m.commit, m.coordinatorEpoch);
        waits.push(durable.then(() => node.transactionMarkerWritten(t.name, index, m.producerId, m.commit), fail));
      } catch (e) {
        fail(e);
      }
    }
  }
  if (waits.length > 0) await Promise.all(waits);
  return out;
}

export const writeTxnMarkers = defineHandler(Api.WriteTxnMarkers, {
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const { node, log } = ctx;
    // Brokers among themselves: CLUSTER_ACTION on the cluster, as Kafka asks.
    if (!clusterAllowed(ctx, Op.CLUSTER_ACTION))
      return {
        markers: req.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((partitionIndex) => ({
              partitionIndex,
              errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            })),
          })),
        })),
      };
    const markers: MarkerResult[] = await Promise.all(
      req.markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await writeMarkersAsLeader(
          node,
          log,
          {
            producerId: m.producerId,
            producerEpoch: m.producerEpoch,
            commit: m.transactionResult,
            coordinatorEpoch: m.coordinatorEpoch,
          },
          m.topics,
        ),
      })),
    );
    return { markers };
  },
});
