/**
 * The broker node: owns the data dir (lock, meta.properties, metadata store, partition logs), the TCP
 * listener and the topic/partition state the handlers work on.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { assignReplicas, type BrokerInfo, ClusterManager, type TopicDoc } from '../cluster/cluster.js';
import { HwCheckpoint } from '../cluster/hw-checkpoint.js';
import { ReplicaManager } from '../cluster/replica-manager.js';
import { coordinatorConfig } from '../coordinator/config.js';
import type { GroupCoordinator } from '../coordinator/coordinator.js';
import { OFFSETS_TOPIC, startCoordinator, startPartitionCoordinator } from '../coordinator/offsets-topic.js';
import { partitionFor } from '../coordinator/records.js';
import { redactUrlCredentials } from '../protocol/config-names.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { isNoSpace } from '../storage/checkpoint.js';
import { LogCleaner } from '../storage/cleaner.js';
import { DEFAULT_LOG_CONFIG, type LogConfig, logConfigFromProps } from '../storage/config.js';
import { DataDirBusyError, DataDirLock, LOCK_FILE } from '../storage/data-dir-lock.js';
import { configureMaxOpenFiles } from '../storage/file-handles.js';
import { LogManager, logManagerOptionsFromProps, parsePartitionDirName } from '../storage/log-manager.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { Logger } from '../util/logger.js';
import { VERSION } from '../version.js';
import type { BrokerConfig } from './config.js';
import { Connection, type ConnectionLimits, connectionLimits, type Dispatch } from './connection.js';
import { allHandlers } from './handlers/index.js';
import { Partition } from './partition.js';
import { addToLoad, checkPartitionLimits, emptyLoad, type PartitionLoad } from './partition-limits.js';
import { Router } from './router.js';
import { brokerLogDefaults, TOPIC_CONFIG_KEYS } from './topic-config.js';
import { MetadataFileError, TopicStore } from './topic-store.js';

/** A single node's replica: it leads in epoch 0, alone in its ISR. */
function localPartition(topic: string, index: number, log: PartitionLog, nodeId: number): Partition {
  const p = new Partition(topic, index, log, nodeId);
  p.becomeLeader(0, [nodeId], [nodeId], Date.now());
  return p;
}

export interface TopicState {
  name: string;
  id: string;
  internal: boolean;
  /** Per-topic overrides, Kafka topic-level key names. */
  configs: Record<string, string>;
  logConfig: LogConfig;
  partitions: Partition[];
}

interface StoredTopic {
  id: string;
  partitions: number;
  configs: Record<string, string>;
  internal?: boolean;
}

export class BrokerStartError extends Error {}

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: string): string | null {
  if (name === '') return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name ${JSON.stringify(name)} is not allowed`;
  if (name.length > 249) return `topic name is longer than 249 characters`;
  if (!TOPIC_NAME.test(name)) return `topic name ${JSON.stringify(name)} has characters other than [a-zA-Z0-9._-]`;
  return null;
}

export class Broker {
  readonly topics = new Map<string, TopicState>();
  /** Consumer groups and committed offsets (src/coordinator); null until loaded. */
  coordinator: GroupCoordinator | null = null;
  /** Log compaction of topics with cleanup.policy=compact (src/storage/cleaner.ts). */
  private cleaner: LogCleaner | null = null;
  readonly router: Router;
  clusterId = '';
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  /** socket.request.max.bytes, queued.max.request.bytes (one budget for all connections), … */
  private connectionLimits: ConnectionLimits | null = null;
  private store!: TopicStore;
  private logs!: LogManager;
  /** The data dir lock (src/storage/data-dir-lock.ts), held from start to stop. */
  private lock: DataDirLock | null = null;
  private logDefaults: LogConfig = DEFAULT_LOG_CONFIG;
  /** Topic creations in flight, so concurrent auto-creates of one name create it once. */
  private creating = new Map<string, Promise<TopicState>>();
  private stopping: Promise<void> | null = null;
  /**
   * Cluster mode listens before it joins (to learn its port): requests wait on this until the node has the
   * cluster view and its replicas, else they would be answered as by an empty single node (no brokers, no
   * topics; a CreateTopics or an auto-created topic would even go to the local store). Null when serving.
   */
  private joining: Promise<void> | null = null;
  boundPort = 0;
  /** Cluster mode: one group coordinator per __consumer_offsets partition this node leads. */
  private readonly groupCoordinators = new Map<number, GroupCoordinator>();
  private creatingOffsetsTopic: Promise<void> | null = null;
  /** Single node: the group coordinator being started by the first FindCoordinator. */
  private startingCoordinator: Promise<void> | null = null;
  /** Cluster mode: the topics of the last view synced, to notice deletions. */
  private topicsSeen = new Set<string>();
  /** Cluster mode (--etcd): the cluster view and replication; null when running alone. */
  cluster: ClusterManager | null = null;
  replicas: ReplicaManager | null = null;
  /** Cluster mode: the high watermarks of local replicas, checkpointed (replication-offset-checkpoint). */
  private hwCheckpoint: HwCheckpoint | null = null;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.router = new Router(this, log).register(...allHandlers);
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  get nodeId(): number {
    return this.config.nodeId;
  }

  async start(): Promise<void> {
    const dir = resolve(this.config.dataDir);
    mkdirSync(dir, { recursive: true });
    try {
      this.lock = await DataDirLock.acquire(dir, (e) =>
        this.log.warn(`cannot write ${join(dir, LOCK_FILE)}`, { error: e }),
      );
    } catch (e) {
      if (e instanceof DataDirBusyError)
        throw new BrokerStartError(`${e.message}; stop it or choose another --data-dir`);
      throw new BrokerStartError((e as Error).message);
    }
    try {
      this.loadMetaProperties(dir);
      this.logDefaults = brokerLogDefaults(this.config.props);
      configureMaxOpenFiles(this.config.props['log.max.open.files']);
      const alone = this.config.etcd.length === 0;
      // A cluster node's topics live in etcd; the local store is only a single node's.
      if (alone) this.store = this.openStore(dir);
      // log.retention.check.interval.ms, log.flush.offset.checkpoint.interval.ms, num.recovery.threads.per.data.dir
      this.logs = new LogManager(dir, this.logDefaults, this.log, logManagerOptionsFromProps(this.config.props));
      // Creations and deletions a crash cut short are finished or rolled back against the store first.
      await this.logs.loadAll(
        alone
          ? {
              creationCommitted: (id) => this.storedTopicById(id) !== null,
              deletionFinished: (id) => {
                const key = this.storedTopicById(id);
                if (key) this.store.delete(key);
              },
            }
          : {},
      );
      if (!alone) {
        await this.startCluster();
        return;
      }
      for (const [key, t] of this.store.list<StoredTopic>('topics/')) {
        if (this.logs.isBeingDeleted(t.id)) continue;
        await this.openTopic(key.slice('topics/'.length), t);
      }
      // Logs the store does not know (a damaged or replaced store, a dir copied in), or partitions past the
      // topic's count: set aside, never deleted. (A deletion cut short is finished through its intent above.)
      for (const topic of this.logs.topics()) {
        const t = this.topics.get(topic);
        for (const i of this.logs.partitionsOf(topic)) {
          if (t?.partitions.some((p) => p.index === i)) continue;
          await this.logs.setAside(
            topic,
            i,
            t
              ? `topic ${topic} has ${t.partitions.length} partitions in ${this.store.file}`
              : `the metadata (${this.store.file}) has no topic ${topic}`,
          );
        }
      }
      this.logs.startRetention();
      // Group coordinator: loads an existing __consumer_offsets before clients can connect; a node that never
      // had groups creates it on the first FindCoordinator (as Kafka does), so it does not open, flush and
      // close 50 empty partitions on every start and stop.
      if (this.topics.has(OFFSETS_TOPIC)) this.coordinator = await startCoordinator(this, this.log);
      this.startCleaner();
      await this.listen();
    } catch (e) {
      this.replicas?.stop();
      await this.cluster?.stop().catch(() => {});
      this.coordinator?.stop();
      await this.cleaner?.stop();
      await this.logs?.closeAll().catch(() => {});
      this.lock?.release();
      throw e;
    }
  }

  /**
   * Log cleaner: compacts every local log whose cleanup.policy includes compact (log.cleaner.* keys). In a
   * cluster each replica compacts its own copy, as in Kafka (only closed segments, and only below the
   * partition's high watermark, are rewritten).
   */
  private startCleaner(): void {
    if ((this.config.props['log.cleaner.enable'] ?? 'true') === 'false') return;
    const backoffMs = Number(this.config.props['log.cleaner.backoff.ms'] ?? 15000);
    const logs = () => [...this.topics.values()].flatMap((t) => t.partitions.map((p) => p.log));
    this.cleaner = new LogCleaner(logs, { backoffMs }, this.log);
    this.cleaner.start();
  }

  /**
   * The single-node metadata store, checked: a damaged file, or a missing one while the data dir holds
   * partition logs, stops the start (starting without it would set every log aside). A fresh data dir gets
   * an empty store written, so that from then on a missing file means a lost one.
   */
  private openStore(dir: string): TopicStore {
    const file = join(dir, '.metadata', 'store.json');
    const withoutIt =
      'or, to start without the topics it held, write {} into it (their logs are then set aside as *-stray ' +
      'dirs, kept but not served)';
    let store: TopicStore;
    try {
      store = new TopicStore(file);
    } catch (e) {
      if (!(e instanceof MetadataFileError)) throw e;
      throw new BrokerStartError(`${e.message}: restore it from a backup; ${withoutIt}`);
    }
    if (!store.missing) return store;
    const logs = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && parsePartitionDirName(e.name) !== null)
      .map((e) => e.name)
      .sort();
    if (logs.length > 0) {
      const shown = logs.length > 3 ? `${logs.slice(0, 3).join(', ')}, …` : logs.join(', ');
      throw new BrokerStartError(
        `the metadata file ${file} is missing but ${dir} holds ${logs.length} partition log${logs.length === 1 ? '' : 's'} ` +
          `(${shown}): restore it from a backup (a data dir of a cluster node is started with --etcd); ${withoutIt}`,
      );
    }
    try {
      store.save();
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      this.log.warn(`cannot write ${file} of a new data dir (written with the first topic)`, { error: e });
    }
    return store;
  }

  /** The store key (`topics/<name>`) of the topic with id `id`, or null. */
  private storedTopicById(id: string): string | null {
    for (const [key, t] of this.store.list<StoredTopic>('topics/')) if (t.id === id) return key;
    return null;
  }

  private loadMetaProperties(dir: string): void {
    const file = join(dir, 'meta.properties');
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      const id = /^cluster\.id=(.*)$/m.exec(text)?.[1];
      const node = /^node\.id=(.*)$/m.exec(text)?.[1];
      if (node !== undefined && Number(node) !== this.config.nodeId) {
        throw new BrokerStartError(
          `data dir ${dir} belongs to node ${node}, not node ${this.config.nodeId}; pass --node-id ${node} or use another --data-dir`,
        );
      }
      this.clusterId = id ?? '';
    }
    if (!this.clusterId) {
      this.clusterId = randomBytes(16).toString('base64url');
      try {
        writeFileSync(file, `version=1\ncluster.id=${this.clusterId}\nnode.id=${this.config.nodeId}\n`);
      } catch (e) {
        if (!isNoSpace(e)) throw e;
        this.log.warn(`cannot write ${file}: the cluster id is made again at the next start`, { error: e });
      }
    }
  }

  private async listen(): Promise<void> {
    const server = createServer((socket: Socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        rej(
          new BrokerStartError(
            e.code === 'EADDRINUSE'
              ? `port ${this.config.port} on ${this.config.host} is already in use`
              : `cannot listen on ${this.config.host}:${this.config.port}: ${e.message}`,
          ),
        );
      });
      server.listen(this.config.port, this.config.host, () => res());
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.config.port;
    if (this.config.advertisedPort === 0) this.config.advertisedPort = this.boundPort;
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const joining = this.joining;
    const dispatch: Dispatch = joining ? (ctx) => joining.then(() => this.router.dispatch(ctx)) : this.router.dispatch;
    this.connectionLimits ??= connectionLimits(this.config);
    const c = new Connection(socket, dispatch, this.connectionLimits, this.log, (x) => this.connections.delete(x));
    this.connections.add(c);
  }

  /** Stop accepting, close connections, flush and checkpoint every log, release the lock. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    // Cluster steps talk to etcd, which may be slow or unreachable: each is bounded, so a stop never hangs
    // (leases then expire by themselves and the controller fails over as for a crash).
    if (this.replicas) {
      await bounded(this.replicas.moveLeadershipAway(), 10_000, 'controlled shutdown', this.log);
    }
    // Group coordinators: stop their timers and answer waiting JoinGroup/SyncGroup requests.
    await this.startingCoordinator?.catch(() => {});
    this.coordinator?.stop();
    for (const c of this.groupCoordinators.values()) c.stop();
    this.replicas?.stop();
    if (this.cluster) await bounded(this.cluster.stop(), 5000, 'leaving the cluster', this.log);
    const server = this.server;
    // Stop accepting, then close open connections (server.close waits for them: replica fetchers never leave).
    const closed = server ? new Promise<void>((res) => server.close(() => res())) : Promise.resolve();
    for (const c of this.connections) c.close();
    await closed;
    for (const t of this.topics.values()) for (const p of t.partitions) p.wakeReaders();
    this.logs?.stopRetention();
    // Topic creations in progress stop at their next partition (throwIfStopping): let them, then close logs.
    await Promise.allSettled([...this.creating.values()]);
    await this.cleaner?.stop();
    if (this.hwCheckpoint) {
      // Clean shutdown: the last high watermarks, so a restart does not fall back to the log start.
      this.hwCheckpoint.stop();
      await this.hwCheckpoint
        .write(this.highWatermarks())
        .catch((e: unknown) => this.log.warn('high watermark checkpoint failed', { error: e }));
    }
    await this.logs?.closeAll();
    this.lock?.release();
  }

  describe(): string {
    return `kstream ${VERSION} node ${this.nodeId} listening on ${this.config.host}:${this.boundPort} (advertised ${this.config.advertisedHost}:${this.config.advertisedPort}), data dir ${resolve(this.config.dataDir)}`;
  }

  // ---- topics -------------------------------------------------------------------------------------------

  topicLogConfig(configs: Record<string, string>): LogConfig {
    return logConfigFromProps(configs, this.logDefaults, { mode: 'strict-topic' });
  }

  /**
   * The log of partition i of the topic with id `topicId`: a log left by an older topic of the same name
   * (deleted while this node was away, or deleted and recreated between two cluster syncs) is set aside
   * first, never taken for the new topic's. `replaced` says whether that happened.
   */
  private async openLog(
    name: string,
    i: number,
    config: LogConfig,
    topicId: string,
  ): Promise<{ log: PartitionLog; replaced: boolean }> {
    const replaced = topicId !== '' && (await this.logs.setAsideIfOtherTopic(name, i, topicId));
    const log = await this.logs.getOrCreate(name, i, config, topicId || undefined);
    return { log, replaced };
  }

  /** Open (creating what is missing) every partition of a stored topic; `register` makes it served. */
  private async openTopic(name: string, t: StoredTopic, register = true): Promise<TopicState> {
    const logConfig = this.topicLogConfig(t.configs);
    const partitions: Partition[] = [];
    for (let i = 0; i < t.partitions; i++) {
      this.throwIfStopping(name);
      const { log } = await this.openLog(name, i, logConfig, t.id);
      partitions.push(localPartition(name, i, log, this.nodeId));
    }
    const state: TopicState = {
      name,
      id: t.id,
      internal: t.internal ?? false,
      configs: t.configs,
      logConfig,
      partitions,
    };
    if (register) this.topics.set(name, state);
    return state;
  }

  /**
   * A failed file system operation on a topic, for the client: logged here (with the cause), answered as
   * KAFKA_STORAGE_ERROR with a message that says what happened to the topic.
   */
  private storageFailure(what: string, e: unknown, outcome: string): KafkaError {
    if (e instanceof KafkaError) return e;
    const cause = isNoSpace(e) ? 'no space left on the data dir' : (e as Error).message;
    this.log.error(`${what}: ${cause}; ${outcome}`, { error: e });
    return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${what}: ${cause}; ${outcome}`);
  }

  /**
   * Create a topic. Throws KafkaError with the protocol error code on invalid input.
   * `validateOnly` checks everything and creates nothing.
   */
  async createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly = false,
    /** Manual replica assignment (CreateTopics assignments): replicas per partition; overrides the counts. */
    assignment: number[][] | null = null,
  ): Promise<TopicState> {
    const bad = validateTopicName(name);
    if (bad) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
    if (this.hasTopic(name) || this.creating.has(name)) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    }
    if (assignment) this.validateAssignment(assignment, null);
    const n = assignment ? assignment.length : partitions === -1 ? this.config.numPartitions : partitions;
    if (!Number.isInteger(n) || n < 1 || n > 100000) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be 1..100000, got ${partitions}`);
    }
    const rf = assignment
      ? (assignment[0] as number[]).length
      : replicationFactor === -1
        ? this.config.defaultReplicationFactor
        : replicationFactor;
    const live = this.liveBrokers();
    if (!Number.isInteger(rf) || rf < 1 || rf > live.length) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `replication factor ${rf} is larger than the ${live.length} available broker${live.length === 1 ? '' : 's'}`,
      );
    }
    for (const key of Object.keys(configs)) {
      if (!(key in TOPIC_CONFIG_KEYS)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`);
    }
    try {
      this.topicLogConfig(configs);
    } catch (e) {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, (e as Error).message);
    }
    if (name !== OFFSETS_TOPIC) this.checkPartitionLimits(assignment ?? this.plannedReplicas(name, 0, n, rf));
    if (validateOnly) {
      return { name, id: '', internal: false, configs, logConfig: this.topicLogConfig(configs), partitions: [] };
    }
    const id = randomUUID().replaceAll('-', '');
    if (this.cluster) return this.createClusterTopic(name, n, rf, configs, id, assignment);
    const stored: StoredTopic = { id, partitions: n, configs, ...(name === OFFSETS_TOPIC ? { internal: true } : {}) };
    // All or nothing: an intent, every partition's log, then the store (the commit), then the intent goes.
    // A failure midway removes what was made; a crash midway is finished or rolled back at the next start.
    const p = (async () => {
      try {
        await this.logs.beginCreate(name, id);
      } catch (e) {
        throw this.storageFailure(`cannot create topic ${name}`, e, 'nothing was created');
      }
      let state: TopicState;
      try {
        state = await this.openTopic(name, stored, false);
        this.store.put(`topics/${name}`, stored);
      } catch (e) {
        const failure = this.storageFailure(`cannot create topic ${name}`, e, 'nothing was created');
        await this.logs.abortCreate(name, id).catch((e2: unknown) => {
          this.log.error('rolling back a topic creation failed; it is rolled back at the next start', {
            topic: name,
            error: e2,
          });
        });
        throw failure;
      }
      this.topics.set(name, state);
      await this.logs.commitCreate(id);
      this.log.info('created topic', { topic: name, partitions: n });
      return state;
    })();
    this.creating.set(name, p);
    try {
      return await p;
    } finally {
      this.creating.delete(name);
    }
  }

  /** The topic, auto-creating it (when enabled) if missing; null if missing and not created. */
  async topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<TopicState | null> {
    const t = this.topics.get(name);
    if (t) return t;
    if (this.cluster?.topics.has(name)) return null;
    const inflight = this.creating.get(name);
    if (inflight) return inflight;
    if (name === OFFSETS_TOPIC) {
      // Made by the group coordinator with its own partition count and compaction, never as a plain topic.
      if (!allowAutoCreate) return null;
      await this.findCoordinator('');
      return this.topics.get(name) ?? null;
    }
    if (!allowAutoCreate || !this.config.autoCreateTopicsEnable || validateTopicName(name) !== null) return null;
    try {
      return await this.createTopic(name, -1, -1, {});
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.topics.get(name) ?? null;
      if (e instanceof KafkaError && e.code === ErrorCode.POLICY_VIOLATION) {
        this.log.warn('auto-creation refused', { topic: name, reason: e.detail });
      }
      throw e;
    }
  }

  private async createClusterTopic(
    name: string,
    n: number,
    rf: number,
    configs: Record<string, string>,
    id: string,
    assignment: number[][] | null,
  ): Promise<TopicState> {
    const cluster = this.cluster as ClusterManager;
    if (cluster.topics.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    const replicas = assignment ?? assignReplicas(this.liveBrokers(), n, rf, assignmentShift(name));
    if (!(await cluster.createTopic(name, replicas, configs, id))) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    }
    this.log.info('created topic', { topic: name, partitions: n, replicationFactor: rf });
    await this.awaitPartitionInView(name, n - 1);
    return { name, id, internal: false, configs, logConfig: this.topicLogConfig(configs), partitions: [] };
  }

  /** Creating a topic's partitions one by one stops when the node is asked to stop (SIGTERM). */
  private throwIfStopping(topic: string): void {
    if (this.stopping) {
      throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `the broker is shutting down; creating ${topic} stopped`);
    }
  }

  /**
   * Partitions and replicas per node now: the cluster's topic records, or alone the stored topics (a topic
   * is stored before its partitions are opened, so one being created counts).
   */
  private partitionLoad(): PartitionLoad {
    const load = emptyLoad();
    if (this.cluster) {
      for (const doc of this.cluster.topics.values()) addToLoad(load, doc.replicas);
    } else {
      for (const [, t] of this.store.list<StoredTopic>('topics/')) load.partitions += t.partitions;
      load.replicasPerNode.set(this.nodeId, load.partitions);
    }
    return load;
  }

  /** max.partitions / max.broker.partitions for partitions about to be added (replicas of each). */
  private checkPartitionLimits(added: number[][]): void {
    checkPartitionLimits(this.config, this.partitionLoad(), added);
  }

  /** Replicas of a topic's new partitions from..count-1 as creation places them (alone: all here). */
  private plannedReplicas(name: string, from: number, count: number, rf: number): number[][] {
    if (!this.cluster) return Array.from({ length: count - from }, () => [this.nodeId]);
    return assignReplicas(this.liveBrokers(), count, rf, assignmentShift(name)).slice(from);
  }

  /** Whether a topic exists (anywhere in the cluster). */
  hasTopic(name: string): boolean {
    return this.cluster ? this.cluster.topics.has(name) : this.topics.has(name);
  }

  async deleteTopic(name: string): Promise<void> {
    if (this.cluster) {
      if (!this.cluster.topics.has(name)) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
      }
      if (!this.config.deleteTopicEnable) throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED);
      await this.cluster.deleteTopic(name);
      this.log.info('deleted topic', { topic: name });
      return;
    }
    // A topic still being created is not unknown: its creation finishes (or fails) first, then it is deleted.
    await this.creating.get(name)?.catch(() => {});
    const t = this.topics.get(name);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    if (!this.config.deleteTopicEnable) throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED);
    if (t.internal) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `${name} is an internal topic`);
    // Needs no free space (a full disk is when topics get deleted): the intent is an empty file; the logs go
    // before the store is rewritten. Once the intent is written the topic is gone for clients; whatever
    // fails after that is logged and finished at the next start.
    let started = false;
    try {
      await this.logs.deleteTopic(name, {
        topicId: t.id,
        whenStarted: () => {
          started = true;
          this.topics.delete(name);
          for (const p of t.partitions) p.wakeReaders();
        },
        whenRemoved: () => this.store.delete(`topics/${name}`),
      });
    } catch (e) {
      if (!started) throw this.storageFailure(`cannot delete topic ${name}`, e, 'the topic is unchanged');
      this.log.error(`deleting topic ${name} did not finish; it is finished at the next start`, {
        topic: name,
        error: e,
      });
    }
    await this.coordinator?.forgetTopics(new Set([name]));
    this.log.info('deleted topic', { topic: name });
  }

  /**
   * Grow a topic to `count` partitions (CreatePartitions). Partitions are never removed. `assignment` (the
   * replicas of each NEW partition) is optional; without it the new partitions are assigned like creation's.
   */
  async addPartitions(
    name: string,
    count: number,
    validateOnly = false,
    assignment: number[][] | null = null,
  ): Promise<void> {
    const current = this.cluster
      ? this.cluster.topics.get(name)?.replicas.length
      : this.topics.get(name)?.partitions.length;
    if (current === undefined)
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    if (!Number.isInteger(count) || count <= current) {
      throw new KafkaError(
        ErrorCode.INVALID_PARTITIONS,
        `topic ${name} has ${current} partitions; the new count ${count} must be larger`,
      );
    }
    if (count > 100000) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `at most 100000 partitions, got ${count}`);
    if (assignment) {
      if (assignment.length !== count - current) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `${assignment.length} assignments for ${count - current} new partitions`,
        );
      }
    }
    if (this.cluster) return this.addClusterPartitions(name, current, count, validateOnly, assignment);
    const t = this.topics.get(name) as TopicState;
    if (assignment) this.validateAssignment(assignment, 1);
    this.checkPartitionLimits(assignment ?? this.plannedReplicas(name, current, count, 1));
    if (validateOnly) return;
    const stored = this.store.get<StoredTopic>(`topics/${name}`) as StoredTopic;
    try {
      this.store.put(`topics/${name}`, { ...stored, partitions: count });
    } catch (e) {
      throw this.storageFailure(`cannot add partitions to topic ${name}`, e, 'the topic is unchanged');
    }
    try {
      for (let i = t.partitions.length; i < count; i++) {
        this.throwIfStopping(name);
        const { log } = await this.openLog(name, i, t.logConfig, t.id);
        t.partitions.push(localPartition(name, i, log, this.nodeId));
      }
    } catch (e) {
      throw this.storageFailure(
        `cannot create the new partitions of topic ${name}`,
        e,
        `${t.partitions.length} of ${count} exist; the others are created at the next start`,
      );
    }
    this.log.info('added partitions', { topic: name, partitions: count });
  }

  /**
   * Cluster mode: the new partitions' replicas are assigned here (rack-aware and even, continuing creation's
   * sequence) and committed by compare-and-set on the topic record, so concurrent requests on different nodes
   * cannot both add partitions; every node then creates its replicas through its watch.
   */
  private async addClusterPartitions(
    name: string,
    current: number,
    count: number,
    validateOnly: boolean,
    assignment: number[][] | null,
  ): Promise<void> {
    const cluster = this.cluster as ClusterManager;
    const rf = (cluster.topics.get(name)?.replicas[0] ?? []).length;
    if (assignment) this.validateAssignment(assignment, rf);
    else if (rf > cluster.liveBrokers.length) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `topic ${name} has replication factor ${rf} but only ${cluster.liveBrokers.length} brokers are alive`,
      );
    }
    this.checkPartitionLimits(assignment ?? this.plannedReplicas(name, current, count, rf));
    if (validateOnly) return;
    const added = assignment ?? assignReplicas(cluster.liveBrokers, count, rf, assignmentShift(name)).slice(current);
    let code: number = ErrorCode.NONE;
    const done = await cluster.addPartitions(name, current, added, (c) => {
      code = c;
    });
    if (!done) {
      throw new KafkaError(
        code === ErrorCode.NONE ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : code,
        code === ErrorCode.INVALID_PARTITIONS
          ? `topic ${name} changed its partition count meanwhile; retry`
          : `topic ${name} does not exist`,
      );
    }
    this.log.info('added partitions', { topic: name, partitions: count });
    await this.awaitPartitionInView(name, count - 1);
  }

  /**
   * A manual assignment (replicas per partition): every broker exists, no broker twice in a partition, the
   * same number of replicas everywhere (`rf`, when given: the topic's). INVALID_REPLICA_ASSIGNMENT otherwise.
   */
  validateAssignment(assignment: number[][], rf: number | null): void {
    const bad = (why: string) => new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, why);
    const live = new Set(this.liveBrokers().map((b) => b.nodeId));
    const want = rf ?? assignment[0]?.length ?? 0;
    for (const [i, replicas] of assignment.entries()) {
      if (replicas.length === 0) throw bad(`partition ${i} has no replicas`);
      if (replicas.length !== want) {
        throw bad(`partition ${i} has ${replicas.length} replicas, expected ${want} like the others`);
      }
      if (new Set(replicas).size !== replicas.length) throw bad(`partition ${i} lists a broker twice: ${replicas}`);
      const unknown = replicas.filter((r) => !live.has(r));
      if (unknown.length > 0) throw bad(`partition ${i}: unknown or dead broker(s) ${unknown.join(',')}`);
    }
  }

  /** Wait (briefly) until this node's cluster view has `topic` partition `p`, so a client's next Metadata sees it. */
  private async awaitPartitionInView(topic: string, p: number): Promise<void> {
    const cluster = this.cluster;
    for (let i = 0; i < 100 && cluster && !cluster.partition(topic, p); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A topic's config overrides (in a cluster: from the cluster metadata, hosted here or not); null if unknown. */
  topicConfigs(name: string): Record<string, string> | null {
    if (this.cluster) return this.cluster.topics.get(name)?.configs ?? null;
    return this.topics.get(name)?.configs ?? null;
  }

  /**
   * Replace a topic's config overrides with `next(current)` (AlterConfigs gives the whole set,
   * IncrementalAlterConfigs computes it from the current one). Validates every key and value before changing
   * anything. In a cluster the configs live in the topic record (compare-and-set, so concurrent alters do not
   * lose each other's changes) and every node applies them to its replicas through its watch.
   */
  async alterTopicConfigs(
    name: string,
    next: (current: Record<string, string>) => Record<string, string>,
    validateOnly = false,
  ): Promise<void> {
    const current = this.topicConfigs(name);
    if (!current) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    const check = (configs: Record<string, string>): LogConfig => {
      for (const key of Object.keys(configs)) {
        if (!(key in TOPIC_CONFIG_KEYS)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`);
      }
      let logConfig: LogConfig;
      try {
        logConfig = this.topicLogConfig(configs);
      } catch (e) {
        throw new KafkaError(ErrorCode.INVALID_CONFIG, (e as Error).message);
      }
      const internal = this.cluster ? name === OFFSETS_TOPIC : (this.topics.get(name)?.internal ?? false);
      if (internal && !(configs['cleanup.policy'] ?? '').includes('compact')) {
        throw new KafkaError(ErrorCode.INVALID_CONFIG, `${name} is internal and must stay compacted`);
      }
      return logConfig;
    };
    if (validateOnly) {
      check(next({ ...current }));
      return;
    }
    let configs = current;
    if (this.cluster) {
      let failure: unknown = null;
      const doc = await this.cluster.casTopic(name, (d) => {
        try {
          configs = next({ ...d.configs });
          check(configs);
        } catch (e) {
          failure = e;
          return null;
        }
        return { ...d, configs };
      });
      if (failure) throw failure;
      if (!doc) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
      // This node's own replicas take the new configs now; the others through their watch.
      const t = this.topics.get(name);
      if (t && t.id === doc.id) this.applyTopicConfigs(t, doc.configs);
    } else {
      const t = this.topics.get(name) as TopicState;
      configs = next({ ...current });
      const logConfig = check(configs);
      const stored = this.store.get<StoredTopic>(`topics/${name}`) as StoredTopic;
      this.store.put(`topics/${name}`, { ...stored, configs });
      t.configs = configs;
      t.logConfig = logConfig;
      for (const p of t.partitions) p.log.setConfig(logConfig);
    }
    this.log.info('altered topic configs', { topic: name, configs: JSON.stringify(configs) });
  }

  /** Apply a topic's (changed) config overrides to its local replicas. */
  private applyTopicConfigs(t: TopicState, configs: Record<string, string>): void {
    if (JSON.stringify(t.configs) === JSON.stringify(configs)) return;
    let logConfig: LogConfig;
    try {
      logConfig = this.topicLogConfig(configs);
    } catch (e) {
      this.log.warn('ignoring invalid topic configs from the cluster metadata', { topic: t.name, error: e });
      return;
    }
    t.configs = configs;
    t.logConfig = logConfig;
    for (const p of t.partitions) p.log.setConfig(logConfig);
    this.log.info('applied topic configs', { topic: t.name, configs: JSON.stringify(configs) });
  }

  /** The local replica of a partition (every partition when alone; this node's replicas in a cluster). */
  partition(topic: string, index: number): Partition | undefined {
    const t = this.topics.get(topic);
    if (!t) return undefined;
    const p = t.partitions[index];
    return p && p.index === index ? p : t.partitions.find((x) => x.index === index);
  }

  // ---- cluster mode ---------------------------------------------------------------------------------------

  private async startCluster(): Promise<void> {
    let joined = (): void => {};
    this.joining = new Promise<void>((res) => {
      joined = res;
    });
    await this.listen();
    const self: BrokerInfo = {
      nodeId: this.nodeId,
      host: this.config.advertisedHost,
      port: this.config.advertisedPort,
      rack: this.config.rack,
    };
    // Loaded only in cluster mode: etcd3 (grpc, protobuf) costs ~60 ms at start-up.
    const { EtcdStore } = await import('../cluster/etcd-store.js');
    const store = new EtcdStore(this.config.etcd, this.config.clusterId, this.log);
    const unclean = (topic: string) => {
      const doc = this.cluster?.topics.get(topic);
      return doc?.configs['unclean.leader.election.enable'] === 'true';
    };
    this.cluster = new ClusterManager(store, self, this.log, () => void this.replicas?.sync(), unclean);
    this.clusterId = this.config.clusterId;
    this.replicas = new ReplicaManager(this, this.cluster, this.log);
    this.hwCheckpoint = new HwCheckpoint(resolve(this.config.dataDir));
    await this.hwCheckpoint.load();
    await this.cluster.start();
    await this.setAsideStrayLogs(this.cluster);
    await this.replicas.sync();
    this.joining = null;
    joined();
    this.hwCheckpoint.start(
      Math.max(1, Number(this.config.props['replica.high.watermark.checkpoint.interval.ms'] ?? 5000)),
      () => this.highWatermarks(),
      (e) => this.log.warn('high watermark checkpoint failed', { error: e }),
    );
    this.cluster.startReassignmentChecks(500);
    if ((this.config.props['auto.leader.rebalance.enable'] ?? 'true') === 'true') {
      const seconds = Number(this.config.props['leader.imbalance.check.interval.seconds'] ?? 300);
      this.cluster.startLeaderRebalance(Math.max(1, seconds) * 1000);
    }
    this.logs.startRetention();
    this.startCleaner();
    this.log.info('joined cluster', {
      cluster: this.config.clusterId,
      etcd: redactUrlCredentials(this.config.etcd.join(',')),
    });
  }

  /**
   * Cluster start: logs on disk of topics the cluster does not have (deleted while this node was away), or
   * of an older topic of the same name (deleted and recreated meanwhile), are set aside, not served. Logs of
   * the right topic that are not assigned here any more stay, as dropReplicasNotIn() leaves them.
   */
  private async setAsideStrayLogs(cluster: ClusterManager): Promise<void> {
    for (const topic of this.logs.topics()) {
      const doc = cluster.topics.get(topic);
      for (const i of this.logs.partitionsOf(topic)) {
        let setAside = true;
        if (!doc)
          await this.logs.setAside(topic, i, 'the cluster has no such topic (deleted while this node was away)');
        else setAside = await this.logs.setAsideIfOtherTopic(topic, i, doc.id);
        // Its checkpointed high watermark is not the new topic's.
        if (setAside) this.hwCheckpoint?.takeRestored(topic, i);
      }
    }
  }

  /** The high watermark of every open local replica (for the checkpoint). */
  private highWatermarks(): { topic: string; partition: number; hw: bigint }[] {
    const out: { topic: string; partition: number; hw: bigint }[] = [];
    for (const t of this.topics.values())
      for (const p of t.partitions)
        if (!p.log.isClosed) out.push({ topic: t.name, partition: p.index, hw: p.log.highWatermark });
    return out;
  }

  /** Open (or update) the local replica of partition i of a cluster topic. */
  async ensureReplica(name: string, doc: TopicDoc, i: number): Promise<Partition> {
    let t = this.topics.get(name);
    if (!t || t.id !== doc.id) {
      // An older topic of the same name (deleted and recreated between two syncs): its replicas stop here.
      for (const old of t?.partitions ?? []) this.retireReplica(old);
      const logConfig = this.topicLogConfig(doc.configs);
      t = { name, id: doc.id, internal: name === OFFSETS_TOPIC, configs: doc.configs, logConfig, partitions: [] };
      this.topics.set(name, t);
    } else this.applyTopicConfigs(t, doc.configs);
    let p = this.partition(name, i);
    if (!p) {
      const { log, replaced } = await this.openLog(name, i, t.logConfig, doc.id);
      // The high watermark checkpointed before a restart (never above what was committed; clamped to the log
      // end), else the log start: it is learnt again from the ISR; never expose more than was replicated.
      // A checkpoint of a log that was just removed as an older topic's is not this topic's.
      const restored = this.hwCheckpoint?.takeRestored(name, i) ?? null;
      log.setHighWatermark(restored !== null && !replaced ? restored : log.logStartOffset);
      p = new Partition(name, i, log, this.nodeId);
      t.partitions.push(p);
      t.partitions.sort((a, b) => a.index - b.index);
    }
    return p;
  }

  /** A local replica this node no longer serves: no fetcher, and every request waiting on it woken. */
  private retireReplica(p: Partition): void {
    this.replicas?.stopFollowing(p);
    p.retire();
  }

  /** Close and delete local replicas the cluster no longer assigns here (deleted topics, moved partitions). */
  async dropReplicasNotIn(cluster: ClusterManager): Promise<void> {
    // Topics that left the view were deleted: this node's group coordinators forget their committed offsets.
    const gone = new Set([...this.topicsSeen].filter((n) => !cluster.topics.has(n)));
    this.topicsSeen = new Set(cluster.topics.keys());
    if (gone.size > 0) await Promise.all(this.allCoordinators().map((c) => c.forgetTopics(gone)));
    for (const [name, t] of [...this.topics]) {
      const doc = cluster.topics.get(name);
      const keep = t.partitions.filter(
        (p) => doc && doc.id === t.id && (doc.replicas[p.index] ?? []).includes(this.nodeId),
      );
      if (keep.length === t.partitions.length) continue;
      for (const p of t.partitions) if (!keep.includes(p)) this.retireReplica(p);
      if (keep.length === 0) {
        this.topics.delete(name);
        await this.logs.deleteTopic(name, { topicId: t.id });
        this.log.info('removed local replicas of topic', { topic: name });
      } else t.partitions = keep;
    }
  }

  /**
   * The coordinator of a group, starting it first on a single node that has none yet (it is created on first
   * use: a client that sends a group request before FindCoordinator still gets an answer, not an error).
   */
  async coordinatorOf(groupId: string): Promise<GroupCoordinator | null> {
    if (!this.cluster) await this.startLocalCoordinator();
    return this.coordinatorFor(groupId);
  }

  /** The coordinator of a group on this node, or null (not this node's group, or not loaded yet). */
  coordinatorFor(groupId: string): GroupCoordinator | null {
    if (!this.cluster) return this.coordinator;
    const doc = this.cluster.topics.get(OFFSETS_TOPIC);
    if (!doc) return null;
    return this.groupCoordinators.get(partitionFor(groupId, doc.replicas.length)) ?? null;
  }

  /** Every coordinator on this node (ListGroups). */
  allCoordinators(): GroupCoordinator[] {
    if (!this.cluster) return this.coordinator ? [this.coordinator] : [];
    return [...this.groupCoordinators.values()];
  }

  /** Single node: start the group coordinator (creating __consumer_offsets) once, on first use. */
  private async startLocalCoordinator(): Promise<void> {
    if (this.coordinator || this.stopping) return;
    this.startingCoordinator ??= startCoordinator(this, this.log)
      .then(
        (c) => {
          if (this.stopping) c.stop();
          else this.coordinator = c;
        },
        (e: unknown) => {
          // FindCoordinator answers COORDINATOR_NOT_AVAILABLE; the cause is here.
          this.log.error('cannot start the group coordinator', { error: e });
          throw e;
        },
      )
      .finally(() => {
        this.startingCoordinator = null;
      });
    await this.startingCoordinator;
  }

  /**
   * Where a group's coordinator is: this node alone, or in a cluster the leader of the group's
   * __consumer_offsets partition (created on first use, replicated like any topic). null: not available yet.
   */
  async findCoordinator(groupId: string): Promise<BrokerInfo | null> {
    const cluster = this.cluster;
    if (!cluster) {
      await this.startLocalCoordinator();
      return this.coordinator ? (this.liveBrokers()[0] ?? null) : null;
    }
    let doc = cluster.topics.get(OFFSETS_TOPIC);
    if (!doc) {
      this.creatingOffsetsTopic ??= this.createOffsetsTopic().finally(() => {
        this.creatingOffsetsTopic = null;
      });
      await this.creatingOffsetsTopic;
      doc = cluster.topics.get(OFFSETS_TOPIC);
      if (!doc) return null;
    }
    const leader = cluster.partition(OFFSETS_TOPIC, partitionFor(groupId, doc.replicas.length))?.doc.leader ?? -1;
    return cluster.brokers.get(leader) ?? null;
  }

  private async createOffsetsTopic(): Promise<void> {
    const cfg = coordinatorConfig(this.config.props);
    const rf = Math.min(Number(this.config.props['offsets.topic.replication.factor'] ?? 3), this.liveBrokers().length);
    try {
      await this.createTopic(OFFSETS_TOPIC, cfg.offsetsTopicPartitions, rf, {
        'cleanup.policy': 'compact',
        'segment.bytes': String(cfg.offsetsTopicSegmentBytes),
      });
    } catch (e) {
      if (!(e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw e;
    }
  }

  /** Whether a topic partition exists anywhere (this node's or, in a cluster, another's). */
  partitionExists(topic: string, index: number): boolean {
    if (this.cluster) return (this.cluster.topics.get(topic)?.replicas.length ?? 0) > index;
    return this.partition(topic, index) !== undefined;
  }

  /** Cluster mode: start or stop the group coordinator of a __consumer_offsets partition with its leadership. */
  onLeadershipChange(p: Partition, leader: boolean): void {
    if (p.topic !== OFFSETS_TOPIC) return;
    const t = this.topics.get(OFFSETS_TOPIC);
    if (t) t.internal = true;
    const old = this.groupCoordinators.get(p.index);
    if (old) {
      old.stop();
      this.groupCoordinators.delete(p.index);
    }
    if (!leader || !t) return;
    startPartitionCoordinator(this, t, p, this.log).then(
      (c) => {
        if (p.leader === this.nodeId && !this.groupCoordinators.has(p.index) && !this.stopping) {
          this.groupCoordinators.set(p.index, c);
        } else c.stop();
      },
      (e: unknown) => this.log.error('loading groups failed', { partition: p.index, error: e }),
    );
  }

  /** Live brokers: the cluster's, or this node alone. */
  liveBrokers(): BrokerInfo[] {
    if (this.cluster) return this.cluster.liveBrokers;
    return [
      {
        nodeId: this.nodeId,
        host: this.config.advertisedHost,
        port: this.config.advertisedPort,
        rack: this.config.rack,
      },
    ];
  }

  controllerId(): number {
    return this.cluster ? this.cluster.controllerId : this.nodeId;
  }
}

/** Where a topic's replica assignment starts (a hash of its name), so topics do not all start on one broker. */
function assignmentShift(name: string): number {
  let shift = 0;
  for (const ch of name) shift = (shift * 31 + ch.charCodeAt(0)) >>> 0;
  return shift;
}

/** Wait for `work` at most `ms`; a failure or a time-out is logged, never thrown. */
async function bounded(work: Promise<unknown>, ms: number, what: string, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), ms);
  });
  try {
    const r = await Promise.race([work.then(() => 'done' as const), timeout]);
    if (r === 'timeout') log.warn(`${what} did not finish in ${ms} ms; going on`);
  } catch (e) {
    log.warn(`${what} failed`, { error: e });
  } finally {
    clearTimeout(timer);
  }
}
