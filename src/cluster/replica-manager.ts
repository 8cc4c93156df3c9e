/**
 * Replication (DESIGN decision 5), on one node of a cluster:
 * - keeps a local log for every partition this node is a replica of, following the cluster view;
 * - as leader: tracks each follower's log end from its fetches, advances the high watermark to the minimum
 *   log end of the ISR, shrinks the ISR when a follower lags more than replica.lag.time.max.ms and expands it
 *   when it catches up (compare-and-set on the partition state);
 * - as follower: truncates to the leader's end offset for its last epoch (OffsetForLeaderEpoch), then fetches
 *   from the leader with Fetch (replica id set) and appends the batches as they are, offsets included.
 */
import type { Broker } from '../broker/broker.js';
import type { Partition } from '../broker/partition.js';
import { Backoff } from '../util/backoff.js';
import type { Logger } from '../util/logger.js';
import type { BrokerInfo, ClusterManager, PartitionDoc } from './cluster.js';
import { type FetcherHost, ReplicaFetcher } from './replica-fetcher.js';

export class ReplicaManager implements FetcherHost {
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();
  private readonly lagMaxMs: number;
  private stopped = false;
  /**
   * ISR changes are compare-and-sets in etcd: while they fail (etcd away) the next one, of any partition,
   * waits for a backoff instead of being tried every maintenance tick and every follower fetch.
   */
  private readonly isrBackoff = new Backoff();
  private isrRetryAt = 0;

  constructor(
    readonly broker: Broker,
    readonly cluster: ClusterManager,
    private readonly log: Logger,
  ) {
    this.lagMaxMs = Number(broker.config.props['replica.lag.time.max.ms'] ?? 30_000);
    this.timer = setInterval(() => this.maintainIsr(), Math.min(1000, this.lagMaxMs / 4));
    this.timer.unref();
  }

  get nodeId(): number {
    return this.broker.nodeId;
  }

  brokerInfo(id: number): BrokerInfo | undefined {
    return this.cluster.brokers.get(id);
  }

  /** Bring local replicas in line with the cluster view. Serialized: one sync at a time. */
  sync(): Promise<void> {
    // After stop() (a node shutting down) cluster changes must not start new fetchers.
    if (this.stopped) return this.syncing;
    this.syncing = this.syncing.then(
      () => this.doSync(),
      () => this.doSync(),
    );
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    if (this.stopped) return;
    for (const [name, t] of this.cluster.topics) {
      for (let i = 0; i < t.replicas.length; i++) {
        const replicas = t.replicas[i] as number[];
        const entry = this.cluster.partition(name, i);
        if (!entry || !replicas.includes(this.nodeId)) continue;
        const p = await this.broker.ensureReplica(name, t, i);
        this.applyState(p, replicas, entry.doc);
      }
    }
    await this.broker.dropReplicasNotIn(this.cluster);
  }

  private applyState(p: Partition, replicas: number[], d: PartitionDoc): void {
    const wasLeader = p.isLeader;
    const epochChanged = d.leaderEpoch !== p.leaderEpoch;
    const isLeader = d.leader === this.nodeId;
    const now = Date.now();
    if (isLeader && (!wasLeader || epochChanged)) {
      this.stopFollowing(p);
      p.becomeLeader(d.leaderEpoch, replicas, d.isr, now);
      this.log.info('became leader', {
        topic: p.topic,
        partition: p.index,
        epoch: d.leaderEpoch,
        isr: d.isr.join(','),
      });
      this.broker.onLeadershipChange(p, true);
    } else if (isLeader) {
      p.updateAsLeader(replicas, d.isr, now);
    } else {
      const follow = wasLeader || epochChanged || !p.fetcherLeader;
      p.becomeFollower(d.leader, d.leaderEpoch, replicas, d.isr);
      if (wasLeader) this.broker.onLeadershipChange(p, false);
      if (follow) {
        this.stopFollowing(p);
        if (d.leader !== -1) {
          p.needsTruncation = true;
          this.follow(p, d.leader);
        }
      }
    }
  }

  private follow(p: Partition, leader: number): void {
    if (this.stopped) return;
    let f = this.fetchers.get(leader);
    if (!f) {
      f = new ReplicaFetcher(leader, this, this.log);
      this.fetchers.set(leader, f);
    }
    f.partitions.add(p);
    p.fetcherLeader = leader;
  }

  stopFollowing(p: Partition): void {
    if (p.fetcherLeader === undefined) return;
    const f = this.fetchers.get(p.fetcherLeader);
    f?.partitions.delete(p);
    p.fetcherLeader = undefined;
  }

  /** Leader side of a follower's fetch: remember how far it got; maybe expand the ISR. */
  onFollowerFetch(p: Partition, replicaId: number, fetchOffset: bigint): void {
    if (p.followerFetched(replicaId, fetchOffset, Date.now())) {
      void this.changeIsr(
        p,
        [...p.isr, replicaId].sort((a, b) => a - b),
        'expand',
      );
    }
  }

  private maintainIsr(): void {
    const now = Date.now();
    for (const t of this.broker.topics.values()) {
      for (const p of t.partitions) {
        const lagging = p.laggingReplicas(now, this.lagMaxMs);
        if (lagging.length > 0) {
          void this.changeIsr(
            p,
            p.isr.filter((r) => !lagging.includes(r)),
            'shrink',
          );
        }
      }
    }
  }

  private async changeIsr(p: Partition, isr: number[], why: 'shrink' | 'expand'): Promise<void> {
    if (p.isrChanging || Date.now() < this.isrRetryAt) return;
    p.isrChanging = true;
    try {
      const d = await this.cluster.casPartition(p.topic, p.index, (cur) =>
        cur.leader !== this.nodeId || cur.leaderEpoch !== p.leaderEpoch
          ? null
          : { ...cur, isr, partitionEpoch: cur.partitionEpoch + 1 },
      );
      this.isrBackoff.succeeded(this.log, 'changing ISRs');
      if (d) {
        this.log.info(why === 'shrink' ? 'shrank ISR' : 'expanded ISR', {
          topic: p.topic,
          partition: p.index,
          isr: isr.join(','),
        });
        p.isrChanged(d.isr);
      }
    } catch (e) {
      const fields = { topic: p.topic, partition: p.index, isr: isr.join(',') };
      this.isrRetryAt = Date.now() + this.isrBackoff.failed(this.log, 'changing ISRs', e, fields);
    } finally {
      p.isrChanging = false;
    }
  }

  /**
   * Controlled shutdown: hand every partition this node leads to another live ISR member (new epoch) and
   * leave the ISRs, so clients move over at once instead of waiting for the lease to expire.
   */
  async moveLeadershipAway(): Promise<number> {
    const alive = (id: number) => id !== this.nodeId && this.cluster.brokers.has(id);
    const local = [...this.broker.topics.values()].flatMap((t) => t.partitions);
    // Leaders first, all at once (each is one compare-and-set in etcd): clients move over right away.
    const led = local.filter((p) => p.leader === this.nodeId);
    const results = await Promise.all(
      led.map((p) =>
        this.cluster
          .casPartition(p.topic, p.index, (cur) => {
            if (cur.leader !== this.nodeId) return null;
            const next = cur.isr.find(alive);
            if (next === undefined) return null;
            return {
              ...cur,
              leader: next,
              leaderEpoch: cur.leaderEpoch + 1,
              isr: cur.isr.filter((r) => r !== this.nodeId),
              partitionEpoch: cur.partitionEpoch + 1,
            };
          })
          .catch(() => null),
      ),
    );
    const moved = results.filter((d) => d !== null).length;
    if (moved > 0) this.log.info('controlled shutdown: moved leadership away', { partitions: moved });
    // Then, as a follower going away, leave the ISRs now rather than after replica.lag.time.max.ms.
    const followed = local.filter((p) => p.leader !== this.nodeId && p.isr.includes(this.nodeId) && p.isr.length > 1);
    await Promise.all(
      followed.map((p) => {
        this.stopFollowing(p);
        return this.cluster
          .casPartition(p.topic, p.index, (cur) =>
            cur.leader === this.nodeId || !cur.isr.includes(this.nodeId) || cur.isr.length < 2
              ? null
              : { ...cur, isr: cur.isr.filter((r) => r !== this.nodeId), partitionEpoch: cur.partitionEpoch + 1 },
          )
          .catch(() => null);
      }),
    );
    return moved;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
  }
}
