/**
 * The group coordinators of this node: one per `__consumer_offsets` partition it leads (a single node leads
 * them all), started when it becomes the partition's leader (after replaying the partition) and stopped when
 * leadership moves away, as in Kafka. The topic itself is created on first use (FindCoordinator, or a group
 * request before it): `offsets.topic.num.partitions` partitions, compacted, `offsets.topic.replication.factor`
 * replicas capped by the live brokers.
 */
import type { BrokerInfo, ClusterManager } from '../cluster/cluster.js';
import { coordinatorConfig } from '../coordinator/config.js';
import type { GroupCoordinator } from '../coordinator/coordinator.js';
import { OFFSETS_TOPIC, startPartitionCoordinator } from '../coordinator/offsets-topic.js';
import { partitionFor } from '../coordinator/records.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Logger } from '../util/logger.js';
import type { Partition } from './partition.js';
import type { TopicAdmin } from './topic-admin.js';

export class GroupCoordinators {
  /** By partition: the coordinator being loaded or running (null: its load failed, or it was superseded). */
  private readonly byPartition = new Map<number, Promise<GroupCoordinator | null>>();
  private creatingTopic: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly props: Record<string, string>,
    private readonly nodeId: number,
    private readonly metadata: ClusterManager,
    private readonly admin: TopicAdmin,
    private readonly log: Logger,
  ) {}

  /** A partition of this node changed leadership: its coordinator starts or stops with it. */
  onLeadershipChange(p: Partition, leader: boolean): void {
    if (p.topic !== OFFSETS_TOPIC) return;
    const old = this.byPartition.get(p.index);
    if (old) {
      this.byPartition.delete(p.index);
      void old.then((c) => c?.stop());
    }
    if (!leader || this.stopped) return;
    const starting: Promise<GroupCoordinator | null> = startPartitionCoordinator(
      coordinatorConfig(this.props),
      p,
      this.log,
    ).then(
      (c) => {
        if (this.byPartition.get(p.index) === starting && p.isLeader && !this.stopped) return c;
        c.stop();
        return null;
      },
      (e: unknown) => {
        this.log.error('loading groups failed', { partition: p.index, error: e });
        return null;
      },
    );
    this.byPartition.set(p.index, starting);
  }

  /**
   * The coordinator of a group on this node (waiting for it to load), creating `__consumer_offsets` first if
   * there is none; null when this node cannot coordinate the group (see errorFor).
   */
  async coordinatorOf(groupId: string): Promise<GroupCoordinator | null> {
    const i = await this.partitionOf(groupId).catch(() => null);
    if (i === null) return null;
    return (await this.byPartition.get(i)) ?? null;
  }

  /**
   * The error for a group coordinatorOf() had no coordinator for: NOT_COORDINATOR when another node leads
   * the group's partition (the client finds the coordinator again), else COORDINATOR_NOT_AVAILABLE.
   */
  errorFor(groupId: string): number {
    const doc = this.metadata.topics.get(OFFSETS_TOPIC);
    if (!doc) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const leader = this.metadata.partition(OFFSETS_TOPIC, partitionFor(groupId, doc.replicas.length))?.doc.leader;
    return leader !== undefined && leader !== this.nodeId
      ? ErrorCode.NOT_COORDINATOR
      : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** Where a group's coordinator is: the leader of its __consumer_offsets partition; null: not available yet. */
  async findCoordinator(groupId: string): Promise<BrokerInfo | null> {
    const i = await this.partitionOf(groupId);
    const st = this.metadata.partition(OFFSETS_TOPIC, i)?.doc;
    // A new partition's leader that has not taken leadership yet is no coordinator yet.
    if (!st || st.leaderPending) return null;
    return this.metadata.brokers.get(st.leader) ?? null;
  }

  /** Every coordinator running on this node (ListGroups), once loaded. */
  async all(): Promise<GroupCoordinator[]> {
    const cs = await Promise.all(this.byPartition.values());
    return cs.filter((c): c is GroupCoordinator => c !== null);
  }

  /** A marker reached a `__consumer_offsets` partition: its coordinator settles the producer's offset commits. */
  async transactionMarkerWritten(topic: string, partition: number, producerId: bigint, commit: boolean): Promise<void> {
    if (topic !== OFFSETS_TOPIC) return;
    const c = await this.byPartition.get(partition);
    c?.completeTransaction(producerId, commit);
  }

  /** Deleted topics: their committed offsets are forgotten. */
  async forgetTopics(names: ReadonlySet<string>): Promise<void> {
    await Promise.all((await this.all()).map((c) => c.forgetTopics(names)));
  }

  /** Stop every coordinator (its timers; waiting JoinGroup/SyncGroup requests are answered). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.creatingTopic?.catch(() => {});
    const cs = await Promise.all(this.byPartition.values());
    this.byPartition.clear();
    for (const c of cs) c?.stop();
  }

  /** The group's __consumer_offsets partition, the topic created first if it does not exist. */
  private async partitionOf(groupId: string): Promise<number> {
    let doc = this.metadata.topics.get(OFFSETS_TOPIC);
    if (!doc) {
      if (this.stopped) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the broker is shutting down');
      this.creatingTopic ??= this.createTopic().finally(() => {
        this.creatingTopic = null;
      });
      await this.creatingTopic;
      doc = this.metadata.topics.get(OFFSETS_TOPIC);
      if (!doc) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} is not created yet`);
    }
    return partitionFor(groupId, doc.replicas.length);
  }

  private async createTopic(): Promise<void> {
    const cfg = coordinatorConfig(this.props);
    const rf = Math.min(Number(this.props['offsets.topic.replication.factor'] ?? 3), this.metadata.liveBrokers.length);
    try {
      await this.admin.createTopic(OFFSETS_TOPIC, cfg.offsetsTopicPartitions, rf, {
        'cleanup.policy': 'compact',
        'segment.bytes': String(cfg.offsetsTopicSegmentBytes),
      });
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS) return;
      // FindCoordinator answers COORDINATOR_NOT_AVAILABLE; the cause is here.
      this.log.error('cannot start the group coordinator', { error: e });
      throw e;
    }
  }
}
