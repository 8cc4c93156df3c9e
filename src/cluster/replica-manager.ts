/**
 * Replication (DESIGN decision 5), on one node of a cluster:
 * - keeps a local log for every partition this node is a replica of, following the cluster view;
 * - as leader: tracks each follower's log end from its fetches, advances the high watermark to the minimum
 *   log end of the ISR, shrinks the ISR when a follower lags more than replica.lag.time.max.ms and expands it
 *   when it catches up (compare-and-set on the partition state);
 * - as follower: truncates to the leader's end offset for its last epoch (OffsetForLeaderEpoch), then fetches
 *   from the leader with Fetch (replica id set) and appends the batches as they are, offsets included.
 */
import type { Broker, PartitionState } from '../broker/broker.js';
import { waitForHighWatermark } from '../broker/hw-wait.js';
import { Connection } from '../client/connection.js';
import type { Struct } from '../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import { Backoff, sleep } from '../util/backoff.js';
import type { Logger } from '../util/logger.js';
import type { ClusterManager, PartitionDoc } from './cluster.js';

export interface FollowerState {
  /** The follower's log end offset, from its last fetch. */
  leo: bigint;
  /** Last time the follower had fetched up to the leader's log end. */
  caughtUpMs: number;
}

const EMPTY = Buffer.alloc(0);

class Fetcher {
  private conn: Connection | null = null;
  private running = true;
  readonly partitions = new Set<PartitionState>();

  constructor(
    private readonly leaderId: number,
    private readonly rm: ReplicaManager,
    private readonly log: Logger,
  ) {
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.conn?.close();
  }

  private async connection(): Promise<Connection> {
    if (this.conn && !this.conn.closed) return this.conn;
    const b = this.rm.cluster.brokers.get(this.leaderId);
    if (!b) throw new Error(`leader ${this.leaderId} is not registered`);
    const conn = await Connection.connect({
      host: b.host,
      port: b.port,
      nodeId: b.nodeId,
      clientId: `kstream-replica-${this.rm.nodeId}`,
      connectTimeoutMs: 3000,
      requestTimeoutMs: 10_000,
    });
    if (!this.running) {
      // Stopped while connecting: an open connection would keep the process from exiting.
      conn.close();
      throw new Error('fetcher stopped');
    }
    this.conn = conn;
    return conn;
  }

  private async loop(): Promise<void> {
    // A leader that is away (stopped, restarting) is retried with backoff: 100 ms doubling up to 1 s.
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
    while (this.running) {
      try {
        const parts = [...this.partitions];
        if (parts.length === 0) {
          await sleep(100);
          continue;
        }
        const conn = await this.connection();
        for (const p of parts) if (p.needsTruncation) await this.truncate(conn, p);
        const byTopic = new Map<string, PartitionState[]>();
        for (const p of parts) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
        const res = await conn.request(
          ApiKey.Fetch,
          {
            replicaId: this.rm.nodeId,
            maxWaitMs: 500,
            minBytes: 1,
            maxBytes: 16 * 1024 * 1024,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [...byTopic].map(([topic, ps]) => ({
              topic,
              partitions: ps.map((p) => ({
                partition: p.index,
                currentLeaderEpoch: p.leaderEpoch,
                fetchOffset: p.log.logEndOffset,
                logStartOffset: p.log.logStartOffset,
                partitionMaxBytes: 4 * 1024 * 1024,
                lastFetchedEpoch: -1,
              })),
            })),
            forgottenTopicsData: [],
            rackId: '',
          },
          { timeoutMs: 15_000 },
        );
        for (const t of res.responses as Struct[]) {
          for (const r of t.partitions as Struct[]) {
            const p = parts.find((x) => x.topic === t.topic && x.index === r.partitionIndex);
            if (!p || !this.partitions.has(p)) continue;
            if (r.errorCode !== 0) {
              if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) p.needsTruncation = true;
              continue;
            }
            const records = (r.records as Buffer | null) ?? EMPTY;
            if (records.length > 0) {
              p.log.appendAsFollower(records);
              this.rm.broker.notifyAppend(p);
            }
            const hw = r.highWatermark as bigint;
            p.log.setHighWatermark(hw < p.log.logEndOffset ? hw : p.log.logEndOffset);
          }
        }
        backoff.reset();
      } catch (e) {
        if (!this.running) return;
        this.log.debug('replica fetch failed; retrying', { leader: this.leaderId, error: e });
        this.conn?.close();
        this.conn = null;
        await sleep(backoff.next());
      }
    }
  }

  /** Truncate to the leader's end offset for our latest epoch, so a diverged tail is dropped. */
  private async truncate(conn: Connection, p: PartitionState): Promise<void> {
    const epoch = p.log.latestEpoch;
    if (epoch < 0) {
      p.needsTruncation = false;
      return;
    }
    const res = await conn.request(ApiKey.OffsetForLeaderEpoch, {
      replicaId: this.rm.nodeId,
      topics: [
        { topic: p.topic, partitions: [{ partition: p.index, currentLeaderEpoch: p.leaderEpoch, leaderEpoch: epoch }] },
      ],
    });
    const r = res.topics[0]?.partitions[0] as Struct | undefined;
    if (r?.errorCode !== 0) throw new Error(`OffsetForLeaderEpoch failed with error ${r?.errorCode}`);
    const end = r.endOffset as bigint;
    if (end >= 0n && end < p.log.logEndOffset) {
      this.log.info('truncating diverged log tail', {
        topic: p.topic,
        partition: p.index,
        from: p.log.logEndOffset,
        to: end,
      });
      await p.log.truncateTo(end);
      if (p.log.highWatermark > p.log.logEndOffset) p.log.setHighWatermark(p.log.logEndOffset);
    }
    p.needsTruncation = false;
  }
}

export class ReplicaManager {
  private readonly fetchers = new Map<number, Fetcher>();
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

  private applyState(p: PartitionState, replicas: number[], d: PartitionDoc): void {
    const wasLeader = p.leader === this.nodeId;
    const epochChanged = d.leaderEpoch !== p.leaderEpoch;
    p.replicas = replicas;
    p.isr = d.isr;
    p.leader = d.leader;
    p.leaderEpoch = d.leaderEpoch;
    const isLeader = d.leader === this.nodeId;
    if (!isLeader && wasLeader) {
      this.broker.onLeadershipChange(p, false);
      p.hwWaitersClosed = true;
      const waiters = [...p.hwWaiters];
      p.hwWaiters.clear();
      for (const w of waiters) w();
    }
    if (isLeader && (!wasLeader || epochChanged)) {
      p.hwWaitersClosed = false;
      this.stopFollowing(p);
      p.log.assignEpochStart(d.leaderEpoch, p.log.logEndOffset);
      const now = Date.now();
      p.followers = new Map(replicas.filter((r) => r !== this.nodeId).map((r) => [r, { leo: 0n, caughtUpMs: now }]));
      this.log.info('became leader', {
        topic: p.topic,
        partition: p.index,
        epoch: d.leaderEpoch,
        isr: d.isr.join(','),
      });
      this.updateHighWatermark(p);
      this.broker.onLeadershipChange(p, true);
    } else if (!isLeader) {
      if (wasLeader || epochChanged || !p.fetcherLeader) {
        this.stopFollowing(p);
        p.followers = new Map();
        if (d.leader !== -1) {
          p.needsTruncation = true;
          this.follow(p, d.leader);
        }
      }
    } else {
      // Still the leader: track replicas added since (a reassignment), forget removed ones.
      const now = Date.now();
      for (const r of replicas)
        if (r !== this.nodeId && !p.followers.has(r)) p.followers.set(r, { leo: 0n, caughtUpMs: now });
      for (const r of [...p.followers.keys()]) if (!replicas.includes(r)) p.followers.delete(r);
      this.updateHighWatermark(p);
    }
  }

  private follow(p: PartitionState, leader: number): void {
    if (this.stopped) return;
    let f = this.fetchers.get(leader);
    if (!f) {
      f = new Fetcher(leader, this, this.log);
      this.fetchers.set(leader, f);
    }
    f.partitions.add(p);
    p.fetcherLeader = leader;
  }

  stopFollowing(p: PartitionState): void {
    if (p.fetcherLeader === undefined) return;
    const f = this.fetchers.get(p.fetcherLeader);
    f?.partitions.delete(p);
    p.fetcherLeader = undefined;
  }

  /** Leader side of a follower's fetch: remember how far it got; maybe advance the HW and expand the ISR. */
  onFollowerFetch(p: PartitionState, replicaId: number, fetchOffset: bigint): void {
    if (p.leader !== this.nodeId) return;
    const f = p.followers.get(replicaId);
    if (!f) return;
    f.leo = fetchOffset;
    if (fetchOffset >= p.log.logEndOffset) f.caughtUpMs = Date.now();
    if (!p.isr.includes(replicaId) && fetchOffset >= p.log.highWatermark && fetchOffset >= p.log.logEndOffset) {
      void this.changeIsr(
        p,
        [...p.isr, replicaId].sort((a, b) => a - b),
        'expand',
      );
    }
    this.updateHighWatermark(p);
  }

  /** HW = the minimum log end offset over the ISR (the leader's own included). */
  updateHighWatermark(p: PartitionState): void {
    if (p.leader !== this.nodeId) return;
    let hw = p.log.logEndOffset;
    for (const r of p.isr) {
      if (r === this.nodeId) continue;
      const f = p.followers.get(r);
      const leo = f ? f.leo : 0n;
      if (leo < hw) hw = leo;
    }
    if (hw > p.log.highWatermark) {
      p.log.setHighWatermark(hw);
      this.broker.notifyAppend(p);
      // Waiters not yet satisfied re-register themselves: clear before calling.
      const waiters = [...p.hwWaiters];
      p.hwWaiters.clear();
      for (const w of waiters) w();
    }
  }

  /** Resolve once the high watermark reaches `end`; reject if leadership is lost or `timeoutMs` passes. */
  async awaitReplicated(p: PartitionState, end: bigint, timeoutMs: number): Promise<void> {
    const r = await waitForHighWatermark(p, end, timeoutMs, this.nodeId);
    if (r === 'closed') {
      throw new KafkaError(ErrorCode.NOT_COORDINATOR, `leadership of ${p.topic}-${p.index} moved`);
    }
    if (r === 'timeout') {
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${p.topic}-${p.index} not replicated in ${timeoutMs} ms`);
    }
  }

  private maintainIsr(): void {
    const now = Date.now();
    for (const t of this.broker.topics.values()) {
      for (const p of t.partitions) {
        if (p.leader !== this.nodeId) continue;
        const lagging = p.isr.filter((r) => {
          if (r === this.nodeId) return false;
          const f = p.followers.get(r);
          return !f || now - f.caughtUpMs > this.lagMaxMs;
        });
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

  private async changeIsr(p: PartitionState, isr: number[], why: 'shrink' | 'expand'): Promise<void> {
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
        p.isr = d.isr;
        this.updateHighWatermark(p);
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
