/**
 * The coordinator's storage in the broker: the internal, compacted topic `__consumer_offsets`
 * (`offsets.topic.num.partitions` partitions; a group lives in partition abs(hash(group)) % n, as in Kafka).
 *
 * Writes go through the normal partition-log append path as uncompressed RecordBatch v2 batches (built
 * synchronously, so records reach the log in the order the coordinator decided them) and are acknowledged
 * after an fsync, like an acks=all produce on a single node. On start every partition is read from its log
 * start and replayed into the coordinator, so groups and offsets survive a restart.
 */

import type { Broker, PartitionState, TopicState } from '../broker/broker.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type BatchHeader, readBatchHeader } from '../protocol/records/batch.js';
import { BatchBuilder, decodeBatch } from '../protocol/records/record.js';
import type { Logger } from '../util/logger.js';
import { type CoordinatorConfig, coordinatorConfig } from './config.js';
import { GroupCoordinator, type GroupRecord, type GroupStore } from './coordinator.js';
import { partitionFor } from './records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Bytes read per step when loading a partition. */
const LOAD_CHUNK = 4 * 1024 * 1024;

export class OffsetsTopicStore implements GroupStore {
  constructor(
    private readonly broker: Broker,
    private readonly topic: TopicState,
    /** Cluster mode: the one partition this store's coordinator owns (this node leads it). */
    private readonly only: PartitionState | null = null,
  ) {}

  partitionOf(groupId: string): PartitionState {
    if (this.only) return this.only;
    return this.topic.partitions[partitionFor(groupId, this.topic.partitions.length)]!;
  }

  append(groupId: string, records: GroupRecord[]): Promise<void> {
    const p = this.partitionOf(groupId);
    const b = new BatchBuilder({}, 256);
    for (const r of records) b.append({ key: r.key, value: r.value });
    const buf = b.buildUncompressed();
    const h = readBatchHeader(buf, 0) as BatchHeader;
    if (buf.length > this.topic.logConfig.maxMessageBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `${buf.length} bytes of group records for ${groupId}`);
    }
    if (p.leader !== this.broker.nodeId) {
      throw new KafkaError(ErrorCode.NOT_COORDINATOR, `this node no longer leads ${OFFSETS_TOPIC}-${p.index}`);
    }
    const info = p.log.append(buf, [h], p.leaderEpoch, null);
    this.broker.notifyAppend(p);
    // In a cluster, durable = replicated to the ISR (the high watermark passed it), like an acks=all produce.
    if (this.broker.replicas) return this.broker.replicas.awaitReplicated(p, info.lastOffset + 1n, 30_000);
    return p.log.flush();
  }

  /** Replay every record of every partition into the coordinator, oldest first. */
  async load(c: GroupCoordinator, log: Logger): Promise<void> {
    let batches = 0;
    let records = 0;
    for (const p of this.only ? [this.only] : this.topic.partitions) {
      let offset = p.log.logStartOffset;
      const end = p.log.logEndOffset;
      while (offset < end) {
        const r = await p.log.read(offset, LOAD_CHUNK, end, true);
        if (!r.records || r.records.length === 0) break;
        let pos = 0;
        let next = offset;
        while (pos < r.records.length) {
          const h = readBatchHeader(r.records, pos);
          if (!h || pos + h.size > r.records.length) break;
          const batch = await decodeBatch(r.records, pos);
          batches++;
          for (const rec of batch.records) {
            if (rec.offset < offset) continue;
            c.loadRecord(rec.key, rec.value);
            records++;
          }
          next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
          pos += h.size;
        }
        if (next <= offset) break;
        offset = next;
      }
    }
    const stats = c.finishLoad();
    log.info('loaded consumer groups from __consumer_offsets', {
      partitions: this.topic.partitions.length,
      batches,
      records,
      groups: stats.groups,
      offsets: stats.offsets,
      skipped: stats.skipped,
    });
  }
}

/**
 * Create (if missing) the internal topic, load it and start a coordinator on it. `__consumer_offsets` keeps
 * its partition count once created, as in Kafka.
 */
export async function startCoordinator(broker: Broker, log: Logger): Promise<GroupCoordinator> {
  const cfg: CoordinatorConfig = coordinatorConfig(broker.config.props);
  const clog = log.child({ component: 'group-coordinator' });
  let topic = broker.topics.get(OFFSETS_TOPIC);
  if (!topic) {
    topic = await broker.createTopic(OFFSETS_TOPIC, cfg.offsetsTopicPartitions, 1, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(cfg.offsetsTopicSegmentBytes),
    });
  }
  topic.internal = true;
  const store = new OffsetsTopicStore(broker, topic);
  const c = new GroupCoordinator(cfg, store, clog);
  await store.load(c, clog);
  c.start();
  return c;
}

/**
 * Cluster mode: a coordinator for the groups of one `__consumer_offsets` partition, started when this node
 * becomes its leader (it replays the partition first) and stopped when leadership moves away.
 */
export async function startPartitionCoordinator(
  broker: Broker,
  topic: TopicState,
  p: PartitionState,
  log: Logger,
): Promise<GroupCoordinator> {
  const cfg: CoordinatorConfig = coordinatorConfig(broker.config.props);
  const clog = log.child({ component: 'group-coordinator', partition: p.index });
  const store = new OffsetsTopicStore(broker, topic, p);
  const c = new GroupCoordinator(cfg, store, clog);
  await store.load(c, clog);
  c.start();
  return c;
}
