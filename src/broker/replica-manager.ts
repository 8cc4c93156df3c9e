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
import type { BrokerInfo, ClusterManager, PartitionChange, PartitionDoc, TopicDoc } from '../cluster/cluster.js';
import type { HwCheckpoint } from '../cluster/hw-checkpoint.js';
import { type InterBrokerSecurity, PLAINTEXT_INTER_BROKER } from '../cluster/inter-broker.js';
import { type FetcherHost, ReplicaFetcher } from '../cluster/replica-fetcher.js';
import type { LogConfig } from '../storage/config.js';
import type { LogManager } from '../storage/log-manager.js';
import { Backoff } from '../util/backoff.js';
import { forEachLimited } from '../util/concurrency.js';
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
  /** How fetchers reach leaders (inter.broker.listener.name with its TLS and SASL); default plaintext. */
  interBroker?: InterBrokerSecurity;
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
  /** Controlled shutdown began: this node follows no leader any more (it is leaving every ISR). */
  private leaving = false;
  /** Partitions whose leaderPending flag this node is to clear, and the run clearing them (one at a time). */
  private readonly toAnnounce = new Set<Partition>();
  private announcing: Promise<void> | null = null;
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

  get interBroker(): InterBrokerSecurity {
    return this.opts.interBroker ?? PLAINTEXT_INTER_BROKER;
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
    // Replicas to open first, all of them together (bounded): a topic with few partitions is not held up
    // behind one with many (the 50 of __consumer_offsets created at the same time).
    const missing: { name: string; doc: TopicDoc; i: number }[] = [];
    for (const [name, doc] of this.metadata.topics) {
      if (this.held.has(name) || this.logs.isBeingDeleted(doc.id)) continue;
      const t = this.topics.get(name);
      const open = t?.id === doc.id ? t.partitions : undefined;
      for (let i = 0; i < doc.replicas.length; i++) {
        if (!(doc.replicas[i] as number[]).includes(this.nodeId) || !this.metadata.partition(name, i)) continue;
        if (!open?.has(i)) missing.push({ name, doc, i });
      }
    }
    // The local topics first (an older topic of the same name replaced), then the replicas in parallel.
    for (const m of missing) this.localTopic(m.name, m.doc);
    // Small topics first, so their leaders take over at once.
    missing.sort((a, b) => a.doc.replicas.length - b.doc.replicas.length);
    let failure: unknown = null;
    await forEachLimited(missing, 8, async ({ name, doc, i }) => {
      if (this.stopped) return;
      let p: Partition;
      try {
        p = await this.openReplica(name, doc, i);
      } catch (e) {
        failure ??= e;
        return;
      }
      const entry = this.metadata.partition(name, i);
      const t = this.topics.get(name);
      if (!entry || t?.id !== doc.id) return;
      // Its state now, so it leads (or follows) as soon as it is open.
      if (this.applyState(p, doc.replicas[i] as number[], entry.doc)) this.announceLeadership([p]);
    });
    const led: Partition[] = [];
    for (const [name, doc] of this.metadata.topics) {
      if (this.stopped) return;
      if (this.held.has(name) || this.logs.isBeingDeleted(doc.id)) continue;
      const t = this.topics.get(name);
      if (!t || t.id !== doc.id) continue;
      this.applyConfigs(t, doc.configs);
      for (let i = 0; i < doc.replicas.length; i++) {
        const replicas = doc.replicas[i] as number[];
        const entry = this.metadata.partition(name, i);
        const p = t.partitions.get(i);
        if (!entry || !p || !replicas.includes(this.nodeId)) continue;
        if (this.applyState(p, replicas, entry.doc)) led.push(p);
      }
    }
    this.announceLeadership(led);
    if (led.length > 0) {
      const names = led.slice(0, 10).map((p) => p.name);
      if (led.length > 10) names.push('…');
      this.log.info('became leader', { partitions: led.length, of: names.join(',') });
    }
    // The replicas that could be opened serve; the first failure is this sync's (retried at the next change).
    if (failure) throw failure;
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

  /** The local topic of `doc` (made if new; an older topic of the same name is replaced, its replicas stopped). */
  private localTopic(name: string, doc: TopicDoc): LocalTopic {
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
    return t;
  }

  /** Open the local replica of partition i (its log created if missing). */
  private async openReplica(name: string, doc: TopicDoc, i: number): Promise<Partition> {
    const t = this.localTopic(name, doc);
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
    if (this.stopped || this.leaving) return;
    let f = this.fetchers.get(leader);
    if (!f) {
      f = new ReplicaFetcher(leader, this, this.log);
      this.fetchers.set(leader, f);
    }
    f.partitions.add(p);
    p.fetcherLeader = leader;
    p.followedSinceMs = Date.now();
  }

  /**
   * The high watermark a consumer group's lag is measured against on this node (metrics.ts): what the leader's
   * is, as Kafka's lag exporters ask the leader (ListOffsets latest). A leader's own; a follower's copy only
   * while it is fresh: the replica is in the ISR (the leader has not judged it behind) and the leader answered
   * a fetch its fetcher sent after it began following the leader and within replica.lag.time.max.ms. An
   * in-sync follower then holds the high watermark of the leader's last answer, at most one fetch wait (500 ms)
   * older than the leader's. Null otherwise: the lag is unknown here rather than a stale value hiding lag.
   */
  lagHighWatermark(p: Partition, nowMs: number): bigint | null {
    if (p.isLeader) return p.log.highWatermark;
    if (p.fetcherLeader === undefined || p.fetcherLeader !== p.leader || !p.isr.includes(this.nodeId)) return null;
    const f = this.fetchers.get(p.fetcherLeader);
    if (f === undefined || !f.partitions.has(p)) return null;
    if (f.answeredSentMs <= p.followedSinceMs || nowMs - f.answeredSentMs > this.opts.lagMaxMs) return null;
    return p.log.highWatermark;
  }

  private stopFollowing(p: Partition): void {
    if (p.fetcherLeader === undefined) return;
    this.fetchers.get(p.fetcherLeader)?.partitions.delete(p);
    p.fetcherLeader = undefined;
  }

  // ---- leading: the ISR -----------------------------------------------------------------------------------

  /**
   * Leader side of a follower's fetch: remember how far it got; maybe expand the ISR — never with a broker
   * that is not registered or is in controlled shutdown (KIP-841): a leaving node's last fetches must not
   * put it back.
   */
  followerFetched(p: Partition, replicaId: number, fetchOffset: bigint): void {
    if (p.followerFetched(replicaId, fetchOffset, Date.now()) && this.metadata.isEligible(replicaId)) {
      void this.changeIsr(
        p,
        (isr) =>
          isr.includes(replicaId) || !this.metadata.isEligible(replicaId)
            ? null
            : [...isr, replicaId].sort((a, b) => a - b),
        'expand',
      );
    }
  }

  private maintainIsr(): void {
    const now = Date.now();
    const pending: Partition[] = [];
    for (const p of this.partitions()) {
      const lagging = p.laggingReplicas(now, this.opts.lagMaxMs);
      if (lagging.length > 0) {
        void this.changeIsr(
          p,
          (isr) => {
            const next = isr.filter((r) => !lagging.includes(r));
            return next.length === isr.length ? null : next;
          },
          'shrink',
        );
      }
      if (p.isLeader && this.metadata.partition(p.topic, p.index)?.doc.leaderPending) pending.push(p);
    }
    // Leaderships whose announcement failed (etcd away): tried again.
    this.announceLeadership(pending);
  }

  /**
   * Change the ISR of a partition this node leads: `next` gets the ISR of the current state (read at the
   * write, so a concurrent change — the controller removing a broker that left — is never undone) and
   * returns the new one, or null for no change.
   */
  private async changeIsr(
    p: Partition,
    next: (isr: number[]) => number[] | null,
    why: 'shrink' | 'expand',
  ): Promise<void> {
    if (p.isrChanging || Date.now() < this.isrRetryAt) return;
    p.isrChanging = true;
    try {
      const d = await this.metadata.casPartition(p.topic, p.index, (cur) => {
        if (cur.leader !== this.nodeId || cur.leaderEpoch !== p.leaderEpoch) return null;
        const isr = next(cur.isr);
        return isr && isr.length > 0 ? { ...cur, isr, partitionEpoch: cur.partitionEpoch + 1 } : null;
      });
      this.isrBackoff.succeeded(this.log, 'changing ISRs');
      if (d) {
        this.log.info(why === 'shrink' ? 'shrank ISR' : 'expanded ISR', {
          topic: p.topic,
          partition: p.index,
          isr: d.isr.join(','),
        });
        p.isrChanged(d.isr);
      }
    } catch (e) {
      const fields = { topic: p.topic, partition: p.index };
      this.isrRetryAt = Date.now() + this.isrBackoff.failed(this.log, 'changing ISRs', e, fields);
    } finally {
      p.isrChanging = false;
    }
  }

  /**
   * Partitions this node just took leadership of: clear their new-partition flag (leaderPending) in the
   * metadata, so every node's Metadata names this leader from now on. Not awaited by the sync; what comes in
   * while a batch is written goes in the next one (one etcd transaction per 100 partitions).
   */
  private announceLeadership(led: readonly Partition[]): void {
    for (const p of led) {
      if (p.isLeader && this.metadata.partition(p.topic, p.index)?.doc.leaderPending) this.toAnnounce.add(p);
    }
    if (this.toAnnounce.size === 0 || this.announcing || this.stopped) return;
    this.announcing = (async () => {
      while (this.toAnnounce.size > 0 && !this.stopped) {
        // The rest of this turn's leaderships join the batch.
        await new Promise((r) => setImmediate(r));
        const todo = [...this.toAnnounce];
        this.toAnnounce.clear();
        await this.metadata.casPartitions(
          todo.map((p) => ({
            topic: p.topic,
            partition: p.index,
            change: (cur: PartitionDoc) => {
              if (!cur.leaderPending || cur.leader !== this.nodeId || cur.leaderEpoch !== p.leaderEpoch || !p.isLeader)
                return null;
              const { leaderPending: _, ...rest } = cur;
              return { ...rest, partitionEpoch: cur.partitionEpoch + 1 };
            },
          })),
        );
      }
    })()
      .catch((e: unknown) => this.log.warn('announcing leaderships failed; retried', { error: e }))
      .finally(() => {
        this.announcing = null;
        if (this.toAnnounce.size > 0) this.announceLeadership([]);
      });
  }

  /**
   * Controlled shutdown, before the node stops serving: it announces that it is leaving (leaders stop adding
   * it to ISRs, the controller stops electing it), stops following, hands every partition it leads to another
   * ISR member (a new epoch) and leaves the ISRs it is in — each in batches of etcd transactions — so
   * producers move over at once instead of waiting for the lease to expire. Returns how many leaderships moved.
   */
  async moveLeadershipAway(): Promise<number> {
    const started = Date.now();
    this.leaving = true;
    for (const p of this.partitions()) this.stopFollowing(p);
    for (const f of this.fetchers.values()) f.stop();
    this.fetchers.clear();
    // (Without the announcement the moves still go ahead: leaders then drop this node after its lease.)
    await this.metadata
      .announceShutdown()
      .catch((e: unknown) => this.log.warn('controlled shutdown: announcing it failed', { error: e }));
    const self = this.nodeId;
    const eligible = (id: number) => id !== self && this.metadata.isEligible(id);
    const alive = (id: number) => id !== self && this.metadata.brokers.has(id);
    const changes: PartitionChange[] = [];
    const led: boolean[] = [];
    for (const p of this.partitions()) {
      const st = this.metadata.partition(p.topic, p.index)?.doc;
      if (!st?.isr.includes(self)) continue;
      led.push(st.leader === self);
      changes.push({
        topic: p.topic,
        partition: p.index,
        change: (cur) => {
          if (!cur.isr.includes(self)) return null;
          const isr = cur.isr.filter((r) => r !== self);
          if (cur.leader !== self) {
            // A follower leaves the ISR (never the last member).
            return isr.length === 0 ? null : { ...cur, isr, partitionEpoch: cur.partitionEpoch + 1 };
          }
          const next = isr.find(eligible) ?? isr.find(alive);
          if (next === undefined) return null; // nowhere to go: it leads until it stops
          return {
            ...cur,
            leader: next,
            leaderEpoch: cur.leaderEpoch + 1,
            isr,
            partitionEpoch: cur.partitionEpoch + 1,
          };
        },
      });
    }
    const written = await this.metadata.casPartitions(changes);
    // Serve on until the new states are in this node's view (the other nodes' watches bring them at the
    // same time): clients told NOT_LEADER_OR_FOLLOWER meanwhile find the new leaders in any node's Metadata.
    const seen = () =>
      written.every((d, i) => {
        const c = changes[i] as PartitionChange;
        return (
          d === null || (this.metadata.partition(c.topic, c.partition)?.doc.partitionEpoch ?? -1) >= d.partitionEpoch
        );
      });
    for (let i = 0; i < 100 && !seen(); i++) await new Promise((r) => setTimeout(r, 20));
    const moved = written.filter((d, i) => d !== null && led[i] && d.leader !== self).length;
    const left = written.filter((d) => d !== null).length;
    this.log.info('controlled shutdown: moved leadership away and left the ISRs', {
      leaderships: moved,
      isrsLeft: left,
      ms: Date.now() - started,
    });
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
