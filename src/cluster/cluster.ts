/**
 * A node's view of the cluster, kept in sync with the metadata store (etcd), and the controller role.
 *
 * Keys (under /kstream/<cluster-id>/): brokers/<id> (leased: liveness), controller (the elected node's id),
 * topics/<name> ({id, replicas per partition, configs}), partitions/<topic>/<p> ({leader, leaderEpoch, isr,
 * partitionEpoch, controllerEpoch}, changed only by compare-and-set on its revision), controller_epoch (a
 * counter each newly elected controller increments; its writes are fenced on it).
 *
 * Every node watches all of it. When a broker's lease expires (its brokers/<id> key goes) the elected
 * controller removes it from the ISR of every partition it was in and elects new leaders where it led (never
 * outside the ISR unless unclean.leader.election.enable), all in batches of etcd transactions; it brings
 * offline partitions back when an ISR member returns. Leaders change their partition's ISR themselves
 * (shrink/expand), by CAS. A broker in controlled shutdown says so in its brokers/<id> document
 * (`shuttingDown`): from then on no leader adds it to an ISR and no election picks it (KIP-841's rule for
 * fenced and shutting-down brokers), while it hands its leaderships over and leaves the ISRs itself.
 *
 * A new partition's state says `leaderPending` until its leader has taken leadership (opened the replica as
 * leader of that epoch) and cleared it: Metadata names no leader before then (LEADER_NOT_AVAILABLE), so a
 * client never sends a write to a leader that would refuse it.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { Backoff } from '../util/backoff.js';
import { forEachLimited } from '../util/concurrency.js';
import type { Logger } from '../util/logger.js';
import { type CasWrite, MAX_TXN_WRITES, type MetadataStore, type WatchEvent } from './metadata-store.js';

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  /** Advertised address per listener name (a node without listeners: host/port for every listener). */
  listeners?: Record<string, { host: string; port: number }>;
}

export interface TopicDoc {
  id: string;
  /** Replica node ids per partition; the first is the preferred leader. */
  replicas: number[][];
  configs: Record<string, string>;
  /** Reassignments in progress, by partition: the target replicas and the replicas before it started. */
  reassign?: Record<string, { target: number[]; original: number[] }>;
}

export interface PartitionDoc {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
  /**
   * A new partition whose leader has not yet taken leadership (only with a shared store: etcd). The leader
   * clears it once it leads at this epoch; until then Metadata answers LEADER_NOT_AVAILABLE for it.
   */
  leaderPending?: boolean;
  /**
   * Epoch of the controller that last wrote this state (absent: 0). Controller writes are fenced on it: a
   * deposed controller's write fails (see casPartition), and nodes ignore a state whose controller epoch is
   * older than the one they have.
   */
  controllerEpoch?: number;
}

/** Key of the controller epoch: bumped by compare-and-set by each newly elected controller. */
export const CONTROLLER_EPOCH_KEY = 'controller_epoch';

export interface PartitionEntry {
  doc: PartitionDoc;
  rev: number;
}

/** broker.session.timeout.ms by default: the TTL of a node's lease. */
export const DEFAULT_SESSION_TIMEOUT_MS = 3000;

/** The lease TTL for a session timeout: etcd leases are whole seconds (rounded up, at least 1). */
export function leaseTtlSeconds(sessionTimeoutMs: number): number {
  return Math.max(1, Math.ceil(sessionTimeoutMs / 1000));
}

/** What a broker writes under brokers/<id>: where it listens and, in controlled shutdown, that it is leaving. */
export interface BrokerRegistration extends BrokerInfo {
  shuttingDown?: boolean;
}

/** A change of one partition's state, decided against its current state (null: nothing to change). */
export interface PartitionChange {
  topic: string;
  partition: number;
  change: (d: PartitionDoc) => PartitionDoc | null;
}

export function partitionKey(topic: string, p: number): string {
  return `partitions/${topic}/${p}`;
}

/**
 * Replica assignment: partition p's replicas start at broker index (p + shift) and take rf consecutive brokers
 * (sorted by id), so replicas and preferred leaders spread evenly. With racks, brokers are interleaved by rack
 * first so consecutive replicas land on different racks.
 */
export function assignReplicas(brokers: BrokerInfo[], partitions: number, rf: number, shift = 0): number[][] {
  const byRack = new Map<string, BrokerInfo[]>();
  for (const b of [...brokers].sort((x, y) => x.nodeId - y.nodeId)) {
    const r = b.rack ?? '';
    byRack.set(r, [...(byRack.get(r) ?? []), b]);
  }
  const racks = [...byRack.values()];
  const ordered: number[] = [];
  for (let i = 0; ordered.length < brokers.length; i++) {
    for (const r of racks) if (r[i]) ordered.push((r[i] as BrokerInfo).nodeId);
  }
  const n = ordered.length;
  const out: number[][] = [];
  for (let p = 0; p < partitions; p++) {
    const replicas: number[] = [];
    for (let k = 0; k < rf; k++) replicas.push(ordered[(p + shift + k) % n] as number);
    out.push(replicas);
  }
  return out;
}

export class ClusterManager {
  readonly brokers = new Map<number, BrokerInfo>();
  /** Registered brokers in controlled shutdown: alive, but no longer eligible for ISRs or leadership. */
  readonly shuttingDown = new Set<number>();
  readonly topics = new Map<string, TopicDoc>();
  readonly partitions = new Map<string, PartitionEntry>();
  controllerId = -1;
  isController = false;
  /** The highest controller epoch seen in the store. */
  controllerEpoch = 0;
  /** While this node is the controller: its epoch and the revision of the controller_epoch key it wrote. */
  private myEpoch: { epoch: number; rev: number } | null = null;
  private unwatch: (() => Promise<void>)[] = [];
  private stopped = false;
  private electing = false;
  private electAgain = false;
  /** Retries of taking the controller epoch and of leader elections: one pending timer each, with backoff. */
  private readonly epochBackoff = new Backoff();
  private epochRetry: NodeJS.Timeout | null = null;
  private readonly electBackoff = new Backoff();
  private electRetry: NodeJS.Timeout | null = null;
  /** Taking office after winning the election (see start). */
  private becoming: Promise<void> | null = null;
  /**
   * Changes seen in partition states (metrics): ISR shrinks and expansions of partitions this node leads, and
   * new leader epochs while this node is the controller. Counted as the watch applies them, nothing kept else.
   */
  readonly stats = { isrShrinks: 0, isrExpands: 0, leaderElections: 0 };

  constructor(
    readonly store: MetadataStore,
    readonly self: BrokerInfo,
    private readonly log: Logger,
    /** Called (synchronously, possibly often) whenever the view changed. */
    private readonly onChange: () => void,
    private readonly uncleanElection: (topic: string) => boolean = () => false,
    /** broker.session.timeout.ms: the TTL of this node's lease. */
    private readonly sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS,
  ) {}

  private rebalanceTimer: NodeJS.Timeout | null = null;

  /** Preferred-leader rebalancing every `intervalMs` while controller (auto.leader.rebalance.enable). */
  startLeaderRebalance(intervalMs: number): void {
    this.rebalanceTimer = setInterval(() => void this.rebalanceLeaders(), intervalMs);
    this.rebalanceTimer.unref();
  }

  private reassignTimer: NodeJS.Timeout | null = null;

  /** Check reassignments in progress every `intervalMs` (controller only). */
  startReassignmentChecks(intervalMs: number): void {
    this.reassignTimer = setInterval(
      () =>
        void this.progressReassignments().catch((e: unknown) =>
          this.log.warn('reassignment step failed', { error: e }),
        ),
      intervalMs,
    );
    this.reassignTimer.unref();
  }

  async start(): Promise<void> {
    for (const prefix of ['brokers/', 'topics/', 'partitions/', 'controller']) {
      this.unwatch.push(await this.store.watch(prefix, (e) => this.apply(e)));
    }
    for (const kv of await this.store.list(''))
      this.apply({ type: 'put', key: kv.key, value: kv.value }, kv.modRevision);
    await this.store.putLeased(
      `brokers/${this.self.nodeId}`,
      JSON.stringify(this.self),
      leaseTtlSeconds(this.sessionTimeoutMs),
    );
    // Registered: in the view now (the watch brings the same put later), so the first Metadata lists this node.
    this.brokers.set(this.self.nodeId, { ...this.self });
    await this.store.campaign(
      'controller-election',
      String(this.self.nodeId),
      () => {
        this.becoming = this.becomeController().finally(() => {
          this.becoming = null;
        });
      },
      () => {
        if (this.isController) this.log.warn('no longer the controller');
        this.isController = false;
        this.myEpoch = null;
      },
    );
    // Elected at once (the local store of a single node: there is no one else): in office before the node
    // serves, so its first Metadata names the controller.
    await this.becoming;
    this.onChange();
  }

  /** Won the election: take the next controller epoch (compare-and-set), then act as controller. */
  private async becomeController(): Promise<void> {
    try {
      for (let attempt = 0; attempt < 10 && !this.stopped; attempt++) {
        const kv = await this.store.get(CONTROLLER_EPOCH_KEY);
        const epoch = (kv ? Number(kv.value) : 0) + 1;
        if (!(await this.store.compareAndSet(CONTROLLER_EPOCH_KEY, String(epoch), kv?.modRevision ?? 0))) continue;
        const now = await this.store.get(CONTROLLER_EPOCH_KEY);
        this.epochBackoff.succeeded(this.log, 'taking the controller epoch');
        if (!now || Number(now.value) !== epoch) return; // another controller already followed
        this.myEpoch = { epoch, rev: now.modRevision };
        if (epoch > this.controllerEpoch) this.controllerEpoch = epoch;
        this.isController = true;
        this.log.info('elected controller', { controllerEpoch: epoch });
        await this.store.put('controller', String(this.self.nodeId));
        await this.electLeaders();
        return;
      }
      this.retryBecomeController(null);
    } catch (e) {
      this.retryBecomeController(e);
    }
  }

  /**
   * Still holding the election but without an epoch (etcd unreachable, or many concurrent attempts): after a
   * backoff, take the controller epoch if this node still holds the election (and does not act yet), so the
   * cluster is not left without an acting controller. One retry pending at a time.
   */
  private retryBecomeController(error: unknown): void {
    if (this.isController || this.stopped || this.epochRetry) return;
    const delay = this.epochBackoff.failed(this.log, 'taking the controller epoch', error ?? 'concurrent attempts');
    this.epochRetry = setTimeout(() => {
      this.epochRetry = null;
      if (this.stopped || this.isController) return;
      this.store.leader('controller-election').then(
        (leader) => {
          if (leader === String(this.self.nodeId) && !this.isController) void this.becomeController();
          else this.epochBackoff.reset();
        },
        (e: unknown) => this.retryBecomeController(e),
      );
    }, delay);
    this.epochRetry.unref();
  }

  /** The epoch this node controls with, or null when it is not (or no longer) the controller. */
  get ownControllerEpoch(): number | null {
    return this.myEpoch?.epoch ?? null;
  }

  /** A controller write was refused because a newer controller took over: stop acting as controller. */
  private deposed(why: string): void {
    if (this.myEpoch)
      this.log.warn('deposed: a newer controller took over; stepping down', {
        controllerEpoch: this.myEpoch.epoch,
        why,
      });
    this.myEpoch = null;
    this.isController = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.epochRetry) clearTimeout(this.epochRetry);
    if (this.electRetry) clearTimeout(this.electRetry);
    if (this.rebalanceTimer) clearInterval(this.rebalanceTimer);
    if (this.reassignTimer) clearInterval(this.reassignTimer);
    await Promise.all(this.unwatch.map((u) => u().catch(() => {})));
    await this.store.close();
  }

  /**
   * Controlled shutdown begins: this node's registration says it is leaving, so leaders stop adding it to ISRs
   * and the controller stops electing it, at once (the registration stays until the node stops).
   */
  async announceShutdown(): Promise<void> {
    const doc: BrokerRegistration = { ...this.self, shuttingDown: true };
    this.shuttingDown.add(this.self.nodeId);
    await this.store.putLeased(
      `brokers/${this.self.nodeId}`,
      JSON.stringify(doc),
      leaseTtlSeconds(this.sessionTimeoutMs),
    );
  }

  /** Registered and not in controlled shutdown: may join an ISR or be elected (KIP-841). */
  isEligible(id: number): boolean {
    return this.brokers.has(id) && !this.shuttingDown.has(id);
  }

  get liveBrokers(): BrokerInfo[] {
    return [...this.brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  partition(topic: string, p: number): PartitionEntry | undefined {
    return this.partitions.get(partitionKey(topic, p));
  }

  private apply(e: WatchEvent, rev?: number): void {
    const [kind, a, b] = e.key.split('/');
    if (kind === 'brokers' && a !== undefined) {
      const id = Number(a);
      if (e.type === 'delete') {
        this.brokers.delete(id);
        this.shuttingDown.delete(id);
        this.log.info('broker left', { broker: id });
      } else {
        const { shuttingDown, ...info } = JSON.parse(e.value as string) as BrokerRegistration;
        this.brokers.set(id, info);
        if (shuttingDown) {
          if (!this.shuttingDown.has(id)) this.log.info('broker in controlled shutdown', { broker: id });
          this.shuttingDown.add(id);
        } else this.shuttingDown.delete(id);
      }
      if (this.isController) void this.electLeaders();
    } else if (kind === 'topics' && a !== undefined) {
      if (e.type === 'delete') this.topics.delete(a);
      else this.topics.set(a, JSON.parse(e.value as string) as TopicDoc);
    } else if (kind === 'partitions' && a !== undefined && b !== undefined) {
      const key = partitionKey(a, Number(b));
      if (e.type === 'delete') this.partitions.delete(key);
      else {
        const doc = JSON.parse(e.value as string) as PartitionDoc;
        const cur = this.partitions.get(key)?.doc;
        if (cur && (doc.controllerEpoch ?? 0) < (cur.controllerEpoch ?? 0)) {
          // Leader/ISR from a deposed controller (cannot land through the fenced write; never applied).
          this.log.warn('ignoring partition state from a stale controller epoch', {
            topic: a,
            partition: b,
            controllerEpoch: doc.controllerEpoch ?? 0,
            current: cur.controllerEpoch ?? 0,
          });
          return;
        }
        // An older state than the one we have (a watch event overtaken by the initial listing): skip it.
        if (cur && doc.partitionEpoch < cur.partitionEpoch) return;
        // Without a revision (a store that gives none), batched writes re-read it first.
        this.partitions.set(key, { doc, rev: rev ?? e.modRevision ?? -1 });
        if (cur) this.count(cur, doc);
        // A state written meanwhile can still name a broker that left (the controller decided on an older one).
        if (this.isController && this.needsFailover(doc)) void this.electLeaders();
      }
    } else if (kind === CONTROLLER_EPOCH_KEY && e.type === 'put') {
      const epoch = Number(e.value);
      if (epoch > this.controllerEpoch) this.controllerEpoch = epoch;
    } else if (kind === 'controller') {
      this.controllerId = e.type === 'delete' ? -1 : Number(e.value);
    }
    if (!this.stopped) this.onChange();
  }

  private count(cur: PartitionDoc, doc: PartitionDoc): void {
    if (doc.leaderEpoch > cur.leaderEpoch && this.isController) this.stats.leaderElections++;
    if (doc.leader !== this.self.nodeId || doc.leaderEpoch !== cur.leaderEpoch) return;
    if (doc.isr.length < cur.isr.length) this.stats.isrShrinks++;
    else if (doc.isr.length > cur.isr.length) this.stats.isrExpands++;
  }

  /** Create a topic: assignment, topic doc (CAS: must not exist), then one partition doc each. */
  async createTopic(name: string, replicas: number[][], configs: Record<string, string>, id: string): Promise<boolean> {
    const doc: TopicDoc = { id, replicas, configs };
    if (!(await this.store.compareAndSet(`topics/${name}`, JSON.stringify(doc), 0))) return false;
    await this.createPartitionStates(name, 0, replicas);
    return true;
  }

  /**
   * The first state of new partitions `first`.. (leader = first replica, ISR = all), each created only if absent:
   * MAX_TXN_WRITES of them per etcd transaction (a topic of 10,000 partitions is 100 round trips, not 10,000
   * concurrent requests), four transactions at a time. A transaction refused because one of its keys exists
   * (left by an earlier attempt) is done again key by key, so the others are still created.
   */
  private async createPartitionStates(name: string, first: number, replicas: number[][]): Promise<void> {
    const writes: CasWrite[] = replicas.map((r, i) => ({
      key: partitionKey(name, first + i),
      value: JSON.stringify({
        leader: r[0] as number,
        leaderEpoch: 0,
        isr: r,
        partitionEpoch: 0,
        controllerEpoch: this.controllerEpoch,
        // Other nodes serve Metadata too: they name no leader until it has taken leadership.
        ...(this.store.shared ? { leaderPending: true } : {}),
      } satisfies PartitionDoc),
      expected: 0,
    }));
    const chunks: CasWrite[][] = [];
    for (let k = 0; k < writes.length; k += MAX_TXN_WRITES) chunks.push(writes.slice(k, k + MAX_TXN_WRITES));
    await forEachLimited(chunks, 4, async (chunk) => {
      if (chunk.length > 1 && (await this.store.compareAndSetMany(chunk))) return;
      await Promise.all(chunk.map((w) => this.store.compareAndSet(w.key, w.value, 0)));
    });
  }

  /**
   * Add partitions `current`.. with the `added` replica lists: the topic record is changed by compare-and-set
   * only while it still has `current` partitions (else `onCode(INVALID_PARTITIONS)`: someone else added
   * partitions meanwhile), then each new partition's state is created. Returns whether it was added.
   */
  async addPartitions(
    name: string,
    current: number,
    added: number[][],
    onCode: (code: number) => void = () => {},
  ): Promise<boolean> {
    const doc = await this.casTopic(name, (d) => {
      if (d.replicas.length !== current) {
        onCode(ErrorCode.INVALID_PARTITIONS);
        return null;
      }
      return { ...d, replicas: [...d.replicas, ...added] };
    });
    if (!doc) return false;
    await this.createPartitionStates(name, current, added);
    return true;
  }

  async deleteTopic(name: string): Promise<void> {
    await this.store.delete(`topics/${name}`);
    // Every partition state in one request (topic names cannot hold '/': no other topic's keys share it).
    await this.store.deletePrefix(`partitions/${name}/`);
  }

  async updateTopic(name: string, doc: TopicDoc): Promise<void> {
    await this.store.put(`topics/${name}`, JSON.stringify(doc));
  }

  /**
   * Change a partition's state by compare-and-set; `change` gets the current doc and returns the new one (or
   * null to give up). Retries on a concurrent change. Returns the doc written, or null.
   *
   * `asController`: a controller decision, fenced by the controller epoch. The doc written carries this
   * node's epoch, and the write is one etcd transaction that also requires the controller_epoch key to be
   * unchanged since this node took it: once another node was elected (and took the next epoch) the write
   * fails, whatever this node still believes; it then steps down. A state already written by a newer
   * controller is refused too. Other writers (a leader changing its ISR, controlled shutdown) keep the
   * doc's controller epoch.
   */
  async casPartition(
    topic: string,
    p: number,
    change: (d: PartitionDoc) => PartitionDoc | null,
    asController = false,
  ): Promise<PartitionDoc | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const mine = this.myEpoch;
      if (asController && !mine) return null;
      const kv = await this.store.get(partitionKey(topic, p));
      if (!kv) return null;
      const cur = JSON.parse(kv.value) as PartitionDoc;
      if (mine && asController && (cur.controllerEpoch ?? 0) > mine.epoch) {
        this.deposed(`${topic}-${p} was written by controller epoch ${cur.controllerEpoch}`);
        return null;
      }
      const changed = change(cur);
      if (!changed) return null;
      if (mine && asController) {
        const next = { ...changed, controllerEpoch: mine.epoch };
        const guard = { key: CONTROLLER_EPOCH_KEY, modRevision: mine.rev };
        if (await this.store.compareAndSetGuarded(partitionKey(topic, p), JSON.stringify(next), kv.modRevision, guard))
          return next;
        const epochNow = await this.store.get(CONTROLLER_EPOCH_KEY);
        if (epochNow?.modRevision !== mine.rev) {
          this.deposed(`controller epoch is now ${epochNow?.value ?? 'unknown'}`);
          return null;
        }
      } else if (await this.store.compareAndSet(partitionKey(topic, p), JSON.stringify(changed), kv.modRevision)) {
        return changed;
      }
    }
    throw new Error(`partition ${topic}-${p}: too many concurrent changes`);
  }

  /**
   * Change many partitions' states, in batches of one etcd transaction each (up to MAX_TXN_WRITES
   * compare-and-sets, decided against this node's view; `asController`: fenced on the controller epoch as
   * casPartition). A batch refused because a state changed meanwhile is done again partition by partition
   * (casPartition: read, decide, write). Returns the docs written (null: nothing written for that partition).
   */
  async casPartitions(changes: readonly PartitionChange[], asController = false): Promise<(PartitionDoc | null)[]> {
    const out: (PartitionDoc | null)[] = changes.map(() => null);
    let failed = 0;
    let firstError: unknown = null;
    const one = async (i: number) => {
      const c = changes[i] as PartitionChange;
      out[i] = await this.casPartition(c.topic, c.partition, c.change, asController).catch((e: unknown) => {
        failed++;
        firstError ??= e;
        return null;
      });
    };
    const batched: { i: number; write: CasWrite; doc: PartitionDoc }[] = [];
    const single: number[] = [];
    const mine = this.myEpoch;
    if (asController && !mine) return out;
    for (const [i, c] of changes.entries()) {
      const entry = this.partition(c.topic, c.partition);
      if (!entry || entry.rev <= 0 || (mine && asController && (entry.doc.controllerEpoch ?? 0) > mine.epoch)) {
        single.push(i);
        continue;
      }
      const changed = c.change(entry.doc);
      if (!changed) continue;
      const doc = mine && asController ? { ...changed, controllerEpoch: mine.epoch } : changed;
      batched.push({
        i,
        doc,
        write: { key: partitionKey(c.topic, c.partition), value: JSON.stringify(doc), expected: entry.rev },
      });
    }
    const chunks: (typeof batched)[] = [];
    for (let k = 0; k < batched.length; k += MAX_TXN_WRITES) chunks.push(batched.slice(k, k + MAX_TXN_WRITES));
    const guard = mine && asController ? { key: CONTROLLER_EPOCH_KEY, modRevision: mine.rev } : undefined;
    await forEachLimited(chunks, 4, async (chunk) => {
      const ok = await this.store
        .compareAndSetMany(
          chunk.map((b) => b.write),
          guard,
        )
        .catch(() => false);
      if (ok) for (const b of chunk) out[b.i] = b.doc;
      else single.push(...chunk.map((b) => b.i));
    });
    await forEachLimited(single, 16, one);
    if (failed > 0) this.log.warn('changing partition states failed', { partitions: failed, error: firstError });
    return out;
  }

  /**
   * Elect a partition's leader on demand (ElectLeaders): 'preferred' moves leadership to the first replica if
   * it is alive and in the ISR; 'unclean' picks any live replica when the partition has no live leader.
   * Returns a Kafka error code (0, ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ...).
   */
  async electLeader(topic: string, p: number, type: 'preferred' | 'unclean'): Promise<number> {
    const t = this.topics.get(topic);
    const replicas = t?.replicas[p];
    if (!t || !replicas) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const alive = (id: number) => this.brokers.has(id);
    let code: number = ErrorCode.NONE;
    const asController = this.isController;
    const written = await this.casPartition(
      topic,
      p,
      (d) => {
        if (type === 'preferred') {
          const preferred = replicas[0] as number;
          if (d.leader === preferred) {
            code = ErrorCode.ELECTION_NOT_NEEDED;
            return null;
          }
          if (!this.isEligible(preferred) || !d.isr.includes(preferred)) {
            code = ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
            return null;
          }
          code = ErrorCode.NONE;
          return { ...d, leader: preferred, leaderEpoch: d.leaderEpoch + 1, partitionEpoch: d.partitionEpoch + 1 };
        }
        if (d.leader !== -1 && alive(d.leader)) {
          code = ErrorCode.ELECTION_NOT_NEEDED;
          return null;
        }
        const eligible = (id: number) => this.isEligible(id);
        const leader = d.isr.find(eligible) ?? d.isr.find(alive) ?? replicas.find(eligible) ?? replicas.find(alive);
        if (leader === undefined) {
          code = ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE;
          return null;
        }
        code = ErrorCode.NONE;
        const isr = d.isr.includes(leader) ? d.isr.filter(alive) : [leader];
        return { ...d, leader, leaderEpoch: d.leaderEpoch + 1, isr, partitionEpoch: d.partitionEpoch + 1 };
      },
      asController,
    );
    // Refused without a reason from `change`: this node was a deposed controller.
    if (!written && code === ErrorCode.NONE) code = ErrorCode.NOT_CONTROLLER;
    if (code === ErrorCode.NONE) this.log.info(`${type} leader election`, { topic, partition: p });
    return code;
  }

  /** Controller, periodically: move leadership back to preferred replicas that are in sync again. */
  async rebalanceLeaders(): Promise<void> {
    if (!this.isController || this.stopped) return;
    for (const [name, t] of this.topics) {
      for (let p = 0; p < t.replicas.length; p++) {
        const cur = this.partition(name, p)?.doc;
        const preferred = t.replicas[p]?.[0];
        if (
          cur &&
          preferred !== undefined &&
          cur.leader !== preferred &&
          cur.isr.includes(preferred) &&
          this.isEligible(preferred)
        ) {
          await this.electLeader(name, p, 'preferred').catch(() => {});
        }
      }
    }
  }

  /** Read-modify-write of a topic document by compare-and-set; `change` returns null to give up. */
  async casTopic(name: string, change: (d: TopicDoc) => TopicDoc | null): Promise<TopicDoc | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const kv = await this.store.get(`topics/${name}`);
      if (!kv) return null;
      const next = change(JSON.parse(kv.value) as TopicDoc);
      if (!next) return null;
      if (await this.store.compareAndSet(`topics/${name}`, JSON.stringify(next), kv.modRevision)) return next;
    }
    throw new Error(`topic ${name}: too many concurrent changes`);
  }

  /**
   * Start (target) or cancel (null) moving a partition to other replicas, online: the new replicas are added
   * and catch up as followers; once all of them are in the ISR the controller switches leadership if needed
   * and drops the replicas that are not in the target (see progressReassignments).
   */
  async reassign(topic: string, p: number, target: number[] | null): Promise<number> {
    if (!this.store.shared) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'reassignment needs a cluster (--etcd)');
    const t = this.topics.get(topic);
    if (!t || p < 0 || p >= t.replicas.length) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (target !== null) {
      if (target.length === 0 || new Set(target).size !== target.length) return ErrorCode.INVALID_REPLICA_ASSIGNMENT;
      if (target.some((b) => !this.brokers.has(b))) return ErrorCode.INVALID_REPLICA_ASSIGNMENT;
    }
    let code: number = ErrorCode.NONE;
    await this.casTopic(topic, (d) => {
      const key = String(p);
      const cur = d.reassign?.[key];
      const reassign = { ...(d.reassign ?? {}) };
      const replicas = d.replicas.map((r) => [...r]);
      if (target === null) {
        if (!cur) {
          code = ErrorCode.NO_REASSIGNMENT_IN_PROGRESS;
          return null;
        }
        replicas[p] = cur.original;
        delete reassign[key];
      } else {
        const original = cur ? cur.original : (d.replicas[p] as number[]);
        reassign[key] = { target, original };
        replicas[p] = [...target, ...original.filter((r) => !target.includes(r))];
      }
      return { ...d, replicas, reassign };
    });
    if (code === ErrorCode.NONE)
      this.log.info(target ? 'reassignment started' : 'reassignment cancelled', {
        topic,
        partition: p,
        target: target?.join(','),
      });
    return code;
  }

  /** Controller: finish reassignments whose target replicas are all in the ISR. */
  async progressReassignments(): Promise<void> {
    if (!this.isController || this.stopped) return;
    for (const [name, t] of this.topics) {
      for (const [key, r] of Object.entries(t.reassign ?? {})) {
        const p = Number(key);
        const st = this.partition(name, p)?.doc;
        if (!st || !r.target.every((b) => st.isr.includes(b))) continue;
        const done = await this.casPartition(
          name,
          p,
          (d) => {
            if (!r.target.every((b) => d.isr.includes(b))) return null;
            const leader = r.target.includes(d.leader) ? d.leader : (r.target.find((b) => d.isr.includes(b)) as number);
            return {
              ...d,
              leader,
              leaderEpoch: d.leaderEpoch + 1,
              isr: d.isr.filter((b) => r.target.includes(b)),
              partitionEpoch: d.partitionEpoch + 1,
            };
          },
          true,
        );
        if (!done) continue;
        await this.casTopic(name, (d) => {
          if (!d.reassign?.[key]) return null;
          const replicas = d.replicas.map((x) => [...x]);
          replicas[p] = r.target;
          const reassign = { ...d.reassign };
          delete reassign[key];
          return { ...d, replicas, reassign };
        });
        this.log.info('reassignment completed', {
          topic: name,
          partition: p,
          replicas: r.target.join(','),
          leader: done.leader,
        });
      }
    }
  }

  /**
   * Whether a partition's state still names a broker that left (its lease expired or it stopped): a leader
   * to replace, an ISR member to remove, or an offline partition whose ISR member is back.
   */
  private needsFailover(d: PartitionDoc): boolean {
    const gone = (id: number) => !this.brokers.has(id);
    if (d.leader === -1) return d.isr.some((r) => !gone(r));
    return gone(d.leader) || d.isr.some(gone);
  }

  /**
   * The controller's change of one partition after brokers left: elect a new leader where the leader is gone
   * (from the live ISR, preferring brokers not in controlled shutdown; unclean only if the topic allows it)
   * and remove the brokers that are gone from the ISR, so acks=all stops waiting for them at once. The ISR
   * never becomes empty: with no live member the partition goes offline, keeping its last ISR so one of them
   * can lead again when it returns (nothing acknowledged is lost).
   */
  private failover(topic: string, replicas: number[]): (d: PartitionDoc) => PartitionDoc | null {
    const alive = (id: number) => this.brokers.has(id);
    return (d) => {
      if (d.leader !== -1 && alive(d.leader)) {
        const isr = d.isr.filter(alive);
        if (isr.length === d.isr.length || isr.length === 0) return null;
        return { ...d, isr, partitionEpoch: d.partitionEpoch + 1 };
      }
      const live = d.isr.filter(alive);
      let leader = live.find((r) => this.isEligible(r)) ?? live[0] ?? -1;
      let isr = live;
      if (leader === -1 && this.uncleanElection(topic)) {
        leader = replicas.find((r) => this.isEligible(r)) ?? replicas.find(alive) ?? -1;
        if (leader !== -1) {
          this.log.warn('unclean leader election: data not in the new leader is lost', { topic, leader });
          isr = [leader];
        }
      }
      if (leader === -1) return d.leader === -1 ? null : { ...d, leader: -1, partitionEpoch: d.partitionEpoch + 1 };
      return { ...d, leader, leaderEpoch: d.leaderEpoch + 1, isr, partitionEpoch: d.partitionEpoch + 1 };
    };
  }

  /**
   * Controller: after brokers left (or came back), every partition that names one that is gone — as leader or
   * in its ISR — changes at once, in batches of etcd transactions (see failover and casPartitions).
   */
  async electLeaders(): Promise<void> {
    if (!this.isController || this.stopped) return;
    if (this.electing) {
      this.electAgain = true;
      return;
    }
    this.electing = true;
    this.electAgain = false;
    try {
      // Fencing: act only while etcd's election still names this node (a node cut off past its lease may
      // believe it still leads).
      if ((await this.store.leader('controller-election')) !== String(this.self.nodeId)) {
        this.log.warn('not the elected controller any more; stepping down');
        this.isController = false;
        return;
      }
      const changes: PartitionChange[] = [];
      const leaders: number[] = [];
      for (const [name, t] of this.topics) {
        for (let p = 0; p < t.replicas.length; p++) {
          const cur = this.partition(name, p)?.doc;
          if (!cur) continue;
          if (!this.needsFailover(cur) && !(cur.leader === -1 && this.uncleanElection(name))) continue;
          changes.push({ topic: name, partition: p, change: this.failover(name, t.replicas[p] as number[]) });
          leaders.push(cur.leader);
        }
      }
      if (changes.length > 0) {
        const started = Date.now();
        const written = await this.casPartitions(changes, true);
        const counts = { elected: 0, offline: 0, isrShrunk: 0 };
        for (const [i, d] of written.entries()) {
          if (!d) continue;
          const c = changes[i] as PartitionChange;
          if (d.leader === -1) counts.offline++;
          else if (d.leader !== leaders[i]) counts.elected++;
          else counts.isrShrunk++;
          this.log.debug('partition failover', {
            topic: c.topic,
            partition: c.partition,
            leader: d.leader,
            epoch: d.leaderEpoch,
            isr: d.isr.join(','),
          });
        }
        this.log.info('failover: partition states changed', { ...counts, ms: Date.now() - started });
      }
      this.electBackoff.succeeded(this.log, 'leader election');
    } catch (e) {
      // One retry pending at a time, with backoff (each failed run used to add another timer).
      if (!this.electRetry && !this.stopped) {
        this.electRetry = setTimeout(
          () => {
            this.electRetry = null;
            void this.electLeaders();
          },
          this.electBackoff.failed(this.log, 'leader election', e),
        );
        this.electRetry.unref();
      }
    } finally {
      this.electing = false;
      if (this.electAgain) void this.electLeaders();
    }
  }
}
