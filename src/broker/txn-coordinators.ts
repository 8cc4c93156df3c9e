/**
 * The transaction coordinators of this node: one per `__transaction_state` partition it leads (a single node
 * leads them all), started when it becomes the partition's leader (after replaying the partition, which
 * resumes the transactions left in a Prepare state) and stopped when leadership moves away, as in Kafka. The
 * topic is created on first use (FindCoordinator with key type 1, or a transactional request before it):
 * `transaction.state.log.num.partitions` partitions, compacted, `transaction.state.log.replication.factor`
 * replicas capped by the live brokers.
 */
import type { BrokerInfo, ClusterManager } from '../cluster/cluster.js';
import { partitionFor } from '../coordinator/records.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type TxnConfig, txnConfig } from '../txn/config.js';
import type { MarkerWriter, TransactionCoordinator } from '../txn/coordinator.js';
import { startTxnCoordinator, TXN_TOPIC } from '../txn/log.js';
import type { Logger } from '../util/logger.js';
import type { Partition } from './partition.js';
import type { TopicAdmin } from './topic-admin.js';

interface Slot {
  starting: Promise<TransactionCoordinator | null>;
  /** Undefined while loading; null when the load failed or was superseded. */
  ready: TransactionCoordinator | null | undefined;
}

/** Where the coordinator of a transactional id is, as handlers see it (context.ts). */
export interface TxnCoordinatorsView {
  /**
   * The coordinator of a transactional id on this node, creating `__transaction_state` first if there is
   * none; 'loading' while it replays its partition; null when this node cannot coordinate it (see errorFor).
   */
  coordinatorOf(transactionalId: string): Promise<TransactionCoordinator | 'loading' | null>;
  /** NOT_COORDINATOR when another node leads the id's partition, else COORDINATOR_NOT_AVAILABLE. */
  errorFor(transactionalId: string): number;
  /** The leader of the id's partition; null: not available yet. */
  findCoordinator(transactionalId: string): Promise<BrokerInfo | null>;
  /** Every coordinator of this node that has loaded (ListTransactions). */
  all(): TransactionCoordinator[];
}

export class TxnCoordinators implements TxnCoordinatorsView {
  private readonly byPartition = new Map<number, Slot>();
  private creatingTopic: Promise<void> | null = null;
  private stopped = false;
  /** Read once at start: a bad value stops the node starting, not a leadership change later. */
  private readonly cfg: TxnConfig;

  constructor(
    props: Record<string, string>,
    private readonly nodeId: number,
    private readonly metadata: ClusterManager,
    private readonly admin: TopicAdmin,
    private readonly markers: MarkerWriter,
    private readonly newProducerId: () => Promise<bigint>,
    private readonly log: Logger,
  ) {
    this.cfg = txnConfig(props);
  }

  /** A partition of this node changed leadership: its coordinator starts or stops with it. */
  onLeadershipChange(p: Partition, leader: boolean): void {
    if (p.topic !== TXN_TOPIC) return;
    const old = this.byPartition.get(p.index);
    if (old) {
      this.byPartition.delete(p.index);
      void old.starting.then((c) => c?.stop());
    }
    if (!leader || this.stopped) return;
    const slot: Slot = { starting: Promise.resolve(null), ready: undefined };
    slot.starting = startTxnCoordinator(this.cfg, p, this.markers, this.newProducerId, this.log).then(
      (c) => {
        if (this.byPartition.get(p.index) === slot && p.isLeader && !this.stopped) {
          slot.ready = c;
          return c;
        }
        c.stop();
        slot.ready = null;
        return null;
      },
      (e: unknown) => {
        this.log.error('loading transactions failed', { partition: p.index, error: e });
        slot.ready = null;
        return null;
      },
    );
    this.byPartition.set(p.index, slot);
  }

  async coordinatorOf(transactionalId: string): Promise<TransactionCoordinator | 'loading' | null> {
    const i = await this.partitionOf(transactionalId).catch(() => null);
    if (i === null) return null;
    const slot = this.byPartition.get(i);
    if (!slot) return null;
    if (slot.ready === undefined) return 'loading';
    return slot.ready;
  }

  errorFor(transactionalId: string): number {
    const doc = this.metadata.topics.get(TXN_TOPIC);
    if (!doc) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const leader = this.metadata.partition(TXN_TOPIC, partitionFor(transactionalId, doc.replicas.length))?.doc.leader;
    return leader !== undefined && leader !== this.nodeId
      ? ErrorCode.NOT_COORDINATOR
      : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  async findCoordinator(transactionalId: string): Promise<BrokerInfo | null> {
    const i = await this.partitionOf(transactionalId);
    const st = this.metadata.partition(TXN_TOPIC, i)?.doc;
    if (!st || st.leaderPending) return null;
    return this.metadata.brokers.get(st.leader) ?? null;
  }

  all(): TransactionCoordinator[] {
    const out: TransactionCoordinator[] = [];
    for (const s of this.byPartition.values()) if (s.ready) out.push(s.ready);
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.creatingTopic?.catch(() => {});
    const slots = [...this.byPartition.values()];
    this.byPartition.clear();
    for (const c of await Promise.all(slots.map((s) => s.starting))) c?.stop();
  }

  /** The id's __transaction_state partition, the topic created first if it does not exist. */
  private async partitionOf(transactionalId: string): Promise<number> {
    let doc = this.metadata.topics.get(TXN_TOPIC);
    if (!doc) {
      if (this.stopped) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the broker is shutting down');
      this.creatingTopic ??= this.createTopic().finally(() => {
        this.creatingTopic = null;
      });
      await this.creatingTopic;
      doc = this.metadata.topics.get(TXN_TOPIC);
      if (!doc) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${TXN_TOPIC} is not created yet`);
    }
    return partitionFor(transactionalId, doc.replicas.length);
  }

  private async createTopic(): Promise<void> {
    const cfg = this.cfg;
    const rf = Math.min(cfg.replicationFactor, this.metadata.liveBrokers.length);
    try {
      await this.admin.createTopic(TXN_TOPIC, cfg.partitions, rf, {
        'cleanup.policy': 'compact',
        'segment.bytes': String(cfg.segmentBytes),
        'min.insync.replicas': String(Math.min(cfg.minIsr, rf)),
      });
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS) return;
      this.log.error('cannot start the transaction coordinator', { error: e });
      throw e;
    }
  }
}
