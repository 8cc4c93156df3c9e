/**
 * The partitions this node holds (DESIGN decisions 5 and 13; Kafka's ReplicaManager): one Partition per local
 * replica, kept in line with the cluster metadata (src/cluster/cluster.ts), for a single node (a one-node
 * cluster over the local store) as for a node of a cluster:
 * - opens the replicas the metadata assigns to this node and drops the ones it no longer does (a deleted
 *   topic, a partition moved away);
 * - applies leader and ISR changes: becoming leader (a new epoch) or follower (a fetcher per leader,
 *   src/cluster/replica-fetcher.ts);
 * - as leader: records followers' fetches, shrinks the ISR of a follower lagging more than
 *   replica.lag.time.max.ms and expands it when it caught up (compare-and-set on the partition state);
 * - controlled shutdown (leadership handed to another ISR member), and the high watermarks to checkpoint.
 */
import type { BrokerInfo, ClusterManager, PartitionDoc, TopicDoc } from '../cluster/cluster.js';
import type { HwCheckpoint } from '../cluster/hw-checkpoint.js';
import { type FetcherHost, ReplicaFetcher } from '../cluster/replica-fetcher.js';
import type { LogConfig } from '../storage/config.js';
import type { LogManager } from '../storage/log-manager.js';
import { Backoff } from '../util/backoff.js';
import type { Logger } from '../util/logger.js';
import { Partition } from './partition.js';

/** A topic this node holds replicas of. */
export interface LocalTopic {
  readonly name: string;
  readonly id: string;
  /** Per-topic overrides, Kafka topic-level key names, and the log config they make. */
  configs: Record<string, string>;
  logConfig: LogConfig;
  readonly partitions: Map<number, Partition>;
}

/** What the replica manager tells the rest of the node. */
export interface ReplicaListener {
  /** This node became (or stopped being) a partition's leader. */
  onLeadershipChange(p: Partition, leader: boolean): void;
  /** Topics left the cluster (deleted). */
  onTopicsDeleted(names: ReadonlySet<string>): Promise<void>;
}

export interface ReplicaManagerOptions {
  nodeId: number;
  /** replica.lag.time.max.ms */
  lagMaxMs: number;
  /** A topic's log config from its overrides (throws on invalid ones). */
  logConfig: (configs: Record<string, string>) => LogConfig;
}

export class ReplicaManager implements FetcherHost {
  readonly nodeId: number;
  private readonly topics = new Map<string, LocalTopic>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private readonly timer: NodeJS.Timeout;
  /** Syncs run one at a time; one queued sync covers every change seen until it starts. */
  private syncTail: Promise<void> = Promise.resolve();
  private queuedSync: Promise<void> | null = null;
  /** The topics of the last view synced, to notice deletions. */
  private topicsSeen = new Set<string>();
  /** Topics whose local replicas an admin deletion is removing: syncs leave them alone. */
  private readonly held = new Set<string>();
  private stopped = false;
  /**
   * ISR changes are compare-and-sets in the metadata store: while they fail (etcd away) the next one, of any
   * partition, waits for a backoff instead of being tried every maintenance tick and every follower fetch.
   */
  private readonly isrBackoff = new Backoff();
  private isrRetryAt = 0;

  constructor(
    private readonly opts: ReplicaManagerOptions,
    private readonly metadata: ClusterManager,
    private readonly logs: LogManager,
    private readonly hwCheckpoint: HwCheckpoint,
    private readonly listener: ReplicaListener,
    private readonly log: Logger,
  ) {
    this.nodeId = opts.nodeId;
    this.timer = setInterval(() => this.maintainIsr(), Math.min(1000, opts.lagMaxMs / 4));
    this.timer.unref();
  }

  // ---- what is here ---------------------------------------------------------------------------------------

  /** The local replica of a partition, or undefined. */
  partition(topic: string, index: number): Partition | undefined {
    return this.topics.get(topic)?.partitions.get(index);
  }

  /** A topic this node holds replicas of. */
  topic(name: string): LocalTopic | undefined {
    return this.topics.get(name);
  }

  /** Every local topic. */
  localTopics(): IterableIterator<LocalTopic> {
    return this.topics.values();
  }

  /** Every local replica. */
  *partitions(): Generator<Partition> {
    for (const t of this.topics.values()) yield* t.partitions.values();
  }

  brokerInfo(id: number): BrokerInfo | undefined {
    return this.metadata.brokers.get(id);
  }

  /** The high watermark of every open local replica (for the checkpoint). */
  highWatermarks(): { topic: string; partition: number; hw: bigint }[] {
    const out: { topic: string; partition: number; hw: bigint }[] = [];
    for (const p of this.partitions()) {
      if (!p.log.isClosed) out.push({ topic: p.topic, partition: p.index, hw: p.log.highWatermark });
    }
    return out;
  }

  // ---- following the cluster metadata ---------------------------------------------------------------------

  /** Bring local replicas in line with the cluster view. Rejects when a replica cannot be opened. */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.queuedSync) return this.queuedSync;
    const run = this.syncTail.then(() => {
      this.queuedSync = null;
      return this.doSync();
    });
    this.queuedSync = run;
    this.syncTail = run.catch(() => {});
    return run;
  }

  /** sync() on a change of the view: a failure is logged (and retried by the next change). */
  syncSoon(): void {
    this.sync().catch((e: unknown) =>
      this.log.error('bringing local replicas in line with the metadata failed', { error: e }),
    );
  }

  private async doSync(): Promise<void> {
    const led: Partition[] = [];
    for (const [name, doc] of this.metadata.topics) {
      if (this.stopped) return;
      if (this.held.has(name) || this.logs.isBeingDeleted(doc.id)) continue;
      let configured = false;
      for (let i = 0; i < doc.replicas.length; i++) {
        const replicas = doc.replicas[i] as number[];
        const entry = this.metadata.partition(name, i);
        if (!entry || !replicas.includes(this.nodeId)) continue;
        let t = this.topics.get(name);
        if (t && t.id === doc.id && !configured) {
          this.applyConfigs(t, doc.configs);
          configured = true;
        }
        let p = t?.id === doc.id ? t.partitions.get(i) : undefined;
        if (!p) {
          p = await this.openReplica(name, doc, i);
          t = this.topics.get(name);
        }
        if (this.applyState(p, replicas, entry.doc)) led.push(p);
      }
    }
    if (led.length > 0) {
      const names = led.slice(0, 10).map((p) => p.name);
      if (led.length > 10) names.push('…');
      this.log.info('became leader', { partitions: led.length, of: names.join(',') });
    }
    await this.dropReplicasNotIn();
  }

  /**
   * At start, before the first sync: logs on disk the metadata does not have are set aside (kept, never
   * served, never deleted): a topic it does not know (deleted while this node was away; a damaged or replaced
   * metadata file; a dir copied in), partitions past the topic's count, or a log of an older topic of the
   * same name (deleted and recreated meanwhile). Logs of the right topic not assigned here any more stay.
   */
  async setAsideStrayLogs(where: string): Promise<void> {
    const logs = this.logs;
    for (const topic of logs.topics()) {
      const doc = this.metadata.topics.get(topic);
      for (const i of logs.partitionsOf(topic)) {
        let setAside = true;
        if (!doc) await logs.setAside(topic, i, `the metadata (${where}) has no topic ${topic}`);
        else if (i >= doc.replicas.length) {
          await logs.setAside(
            topic,
            i,
            `topic ${topic} has ${doc.replicas.length} partitions in the metadata (${where})`,
          );
        } else setAside = await logs.setAsideIfOtherTopic(topic, i, doc.id);
        // Its checkpointed high watermark is not the new topic's.
        if (setAside) this.hwCheckpoint.takeRestored(topic, i);
      }
    }
  }

  /** Open the local replica of partition i (its log created if missing). */
  private async openReplica(name: string, doc: TopicDoc, i: number): Promise<Partition> {
    let t = this.topics.get(name);
    if (!t || t.id !== doc.id) {
      // An older topic of the same name (deleted and recreated between two syncs): its replicas stop here.
      for (const old of t?.partitions.values() ?? []) this.retire(old);
      t = {
        name,
        id: doc.id,
        configs: doc.configs,
        logConfig: this.opts.logConfig(doc.configs),
        partitions: new Map(),
      };
      this.topics.set(name, t);
    }
    // A log left by an older topic of the same name (deleted while this node was away, or deleted and
    // recreated between two syncs) is set aside first, never taken for the new topic's.
    const replaced = await this.logs.setAsideIfOtherTopic(name, i, doc.id);
    const log = await this.logs.getOrCreate(name, i, t.logConfig, doc.id);
    // The high watermark checkpointed before a restart (never above what was committed; clamped to the log
    // end), else the log start. A checkpoint of a log just removed as an older topic's is not this topic's.
    const restored = this.hwCheckpoint.takeRestored(name, i);
    const p = new Partition(name, i, log, this.nodeId, restored !== null && !replaced ? restored : log.logStartOffset);
    t.partitions.set(i, p);
    return p;
  }

  /** Take a partition's state from the metadata; returns whether this node just became its leader. */
  private applyState(p: Partition, replicas: number[], d: PartitionDoc): boolean {
    const wasLeader = p.isLeader;
    const epochChanged = d.leaderEpoch !== p.leaderEpoch;
    const now = Date.now();
    if (d.leader === this.nodeId) {
      if (wasLeader && !epochChanged) {
        p.updateAsLeader(replicas, d.isr, now);
        return false;
      }
      this.stopFollowing(p);
      p.becomeLeader(d.leaderEpoch, replicas, d.isr, now);
      this.log.debug('became leader', {
        topic: p.topic,
        partition: p.index,
        epoch: d.leaderEpoch,
        isr: d.isr.join(','),
      });
      this.listener.onLeadershipChange(p, true);
      return true;
    }
    const follow = wasLeader || epochChanged || p.fetcherLeader === undefined;
    p.becomeFollower(d.leader, d.leaderEpoch, replicas, d.isr);
    if (wasLeader) this.listener.onLeadershipChange(p, false);
    if (!follow) return false;
    this.stopFollowing(p);
    if (d.leader !== -1) {
      p.needsTruncation = true;
      this.follow(p, d.leader);
    }
    return false;
  }

  /** Close and delete local replicas the cluster no longer assigns here (deleted topics, moved partitions). */
  private async dropReplicasNotIn(): Promise<void> {
    const metadata = this.metadata;
    // Topics that left the view were deleted: the group coordinators forget their committed offsets.
    const gone = new Set([...this.topicsSeen].filter((n) => !metadata.topics.has(n)));
    this.topicsSeen = new Set(metadata.topics.keys());
    if (gone.size > 0) await this.listener.onTopicsDeleted(gone);
    for (const [name, t] of [...this.topics]) {
      if (this.held.has(name)) continue;
      const doc = metadata.topics.get(name);
      const dropped = [...t.partitions.values()].filter(
        (p) => !doc || doc.id !== t.id || !(doc.replicas[p.index] ?? []).includes(this.nodeId),
      );
      if (dropped.length === 0) continue;
      for (const p of dropped) {
        this.retire(p);
        t.partitions.delete(p.index);
      }
      // Logs of partitions moved away while others stay are left on disk (as Kafka leaves them until the
      // topic goes); a topic with no replica here any more goes whole.
      if (t.partitions.size > 0) continue;
      this.topics.delete(name);
      await this.logs.deleteTopic(name, { topicId: t.id, replicasOnly: true });
      this.log.info('removed local replicas of topic', { topic: name });
    }
  }

  /** A local replica this node no longer serves: no fetcher, and every request waiting on it answered. */
  private retire(p: Partition): void {
    const wasLeader = p.isLeader;
    this.stopFollowing(p);
    p.retire();
    if (wasLeader) this.listener.onLeadershipChange(p, false);
  }

  /** Syncs leave the topic's local replicas alone until release() (an admin deletion removes them itself). */
  hold(name: string): void {
    this.held.add(name);
  }

  release(name: string): void {
    this.held.delete(name);
  }

  /** Stop serving a topic's local replicas now (their logs are the caller's to delete). */
  removeTopic(name: string): void {
    const t = this.topics.get(name);
    if (!t) return;
    this.topics.delete(name);
    for (const p of t.partitions.values()) this.retire(p);
  }

  /** A topic's (changed) config overrides, applied to its local replicas. */
  applyConfigs(t: LocalTopic, configs: Record<string, string>): void {
    if (JSON.stringify(t.configs) === JSON.stringify(configs)) return;
    let logConfig: LogConfig;
    try {
      logConfig = this.opts.logConfig(configs);
    } catch (e) {
      this.log.warn('ignoring invalid topic configs from the cluster metadata', { topic: t.name, error: e });
      return;
    }
    t.configs = configs;
    t.logConfig = logConfig;
    for (const p of t.partitions.values()) p.log.setConfig(logConfig);
    this.log.info('applied topic configs', { topic: t.name, configs: JSON.stringify(configs) });
  }

  // ---- following leaders ----------------------------------------------------------------------------------

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

  private stopFollowing(p: Partition): void {
    if (p.fetcherLeader === undefined) return;
    this.fetchers.get(p.fetcherLeader)?.partitions.delete(p);
    p.fetcherLeader = undefined;
  }

  // ---- leading: the ISR -----------------------------------------------------------------------------------

  /** Leader side of a follower's fetch: remember how far it got; maybe expand the ISR. */
  followerFetched(p: Partition, replicaId: number, fetchOffset: bigint): void {
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
    for (const p of this.partitions()) {
      const lagging = p.laggingReplicas(now, this.opts.lagMaxMs);
      if (lagging.length > 0) {
        void this.changeIsr(
          p,
          p.isr.filter((r) => !lagging.includes(r)),
          'shrink',
        );
      }
    }
  }

  private async changeIsr(p: Partition, isr: number[], why: 'shrink' | 'expand'): Promise<void> {
    if (p.isrChanging || Date.now() < this.isrRetryAt) return;
    p.isrChanging = true;
    try {
      const d = await this.metadata.casPartition(p.topic, p.index, (cur) =>
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
    const alive = (id: number) => id !== this.nodeId && this.metadata.brokers.has(id);
    const local = [...this.partitions()];
    // Leaders with somewhere to go, all at once (each is one compare-and-set): clients move over right away.
    const led = local.filter((p) => p.isLeader && p.replicas.some(alive));
    const results = await Promise.all(
      led.map((p) =>
        this.metadata
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
    const followed = local.filter((p) => !p.isLeader && p.isr.includes(this.nodeId) && p.isr.length > 1);
    await Promise.all(
      followed.map((p) => {
        this.stopFollowing(p);
        return this.metadata
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

  /** No more syncs, fetchers or ISR checks; every request waiting on a replica is answered. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    for (const p of this.partitions()) p.wakeReaders();
  }
}
