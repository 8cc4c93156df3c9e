/**
 * The broker node (DESIGN decision 13: one path). A single node is a one-node cluster: the only difference is
 * the metadata store it opens (the data dir's file, or etcd with --etcd; data-dir.ts). Over either it runs
 * the same parts:
 *
 *   ClusterManager (src/cluster)  the view of the metadata store: brokers, topics, partition states; controller
 *   ReplicaManager                the local replicas (Partition each), kept in line with that view
 *   TopicAdmin                    create / delete topics, add partitions, alter configs, through the store
 *   GroupCoordinators             one per __consumer_offsets partition this node leads
 *   Router + handlers             requests, each handler given this node as a BrokerContext (context.ts)
 *
 * The node owns the data dir (lock, meta.properties, the partition logs' LogManager), the TCP listener and
 * the start and stop sequences; it holds no topic or partition state of its own.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { type BrokerInfo, ClusterManager, type PartitionDoc, type TopicDoc } from '../cluster/cluster.js';
import { HwCheckpoint } from '../cluster/hw-checkpoint.js';
import { ProducerIdManager } from '../cluster/producer-ids.js';
import type { GroupCoordinator } from '../coordinator/coordinator.js';
import { OFFSETS_TOPIC } from '../coordinator/offsets-topic.js';
import { LogCleaner } from '../storage/cleaner.js';
import type { DataDirLock } from '../storage/data-dir-lock.js';
import { configureMaxOpenFiles } from '../storage/file-handles.js';
import { LogManager, logManagerOptionsFromProps } from '../storage/log-manager.js';
import { TXN_TOPIC } from '../txn/log.js';
import type { Logger } from '../util/logger.js';
import { VERSION } from '../version.js';
import { Authorizer } from './acl/authorizer.js';
import { AdminHttpServer, type Readiness } from './admin-http.js';
import type { BrokerConfig } from './config.js';
import { Connection, type ConnectionLimits, connectionLimits, type Dispatch } from './connection.js';
import type { BrokerContext } from './context.js';
import { Credentials } from './credentials.js';
import { BrokerStartError, loadMetaProperties, lockDataDir, openMetadataStore } from './data-dir.js';
import { FetchSessionCache } from './fetch-sessions.js';
import { GroupCoordinators } from './group-coordinators.js';
import { allHandlers } from './handlers/index.js';
import { writeMarkersAsLeader } from './handlers/write-txn-markers.js';
import {
  applyPrincipalRules,
  interBrokerListener,
  type Listener,
  listenerProp,
  listenerTls,
  parsePrincipalRules,
  peerDistinguishedName,
  usesTls,
} from './listeners.js';
import { BrokerMetrics } from './metrics.js';
import type { Partition } from './partition.js';
import { ClientQuotas } from './quota/quotas.js';
import { type LocalTopic, ReplicaManager } from './replica-manager.js';
import { Router } from './router.js';
import { enabledMechanisms, type PlainUsersFile, plainUsersFromConfig, type SaslMechanism } from './sasl.js';
import { ThrottleStats } from './throttle-stats.js';
import { type CreatedTopic, intentHooks, TopicAdmin } from './topic-admin.js';
import { brokerLogDefaults } from './topic-config.js';
import { TxnCoordinators, type TxnCoordinatorsView } from './txn-coordinators.js';
import { TxnMarkerSender } from './txn-markers.js';

export { BrokerStartError };

export class Broker implements BrokerContext {
  readonly router: Router;
  clusterId = '';
  boundPort = 0;
  /** One server per listener (listeners.ts), in the order of `config.listeners`. */
  private servers: Server[] = [];
  /** Certificate files watched for changes (reloaded into their listener's server). */
  private watched: string[] = [];
  private readonly connections = new Set<Connection>();
  /** socket.request.max.bytes, queued.max.request.bytes (one budget for all connections), … */
  private connectionLimits: ConnectionLimits | null = null;
  /** The data dir lock (src/storage/data-dir-lock.ts), held from start to stop. */
  private lock: DataDirLock | null = null;
  private logs: LogManager | null = null;
  /** The cluster metadata (the store's view) and the controller. */
  private metadata: ClusterManager | null = null;
  private replicas: ReplicaManager | null = null;
  private admin: TopicAdmin | null = null;
  private groups: GroupCoordinators | null = null;
  /** Transaction coordinators (one per __transaction_state partition led here) and their marker sender. */
  private txns: TxnCoordinators | null = null;
  private markers: TxnMarkerSender | null = null;
  /** Producer id blocks claimed from the metadata store (InitProducerId). */
  private pids: ProducerIdManager | null = null;
  /** The high watermarks of local replicas, checkpointed (replication-offset-checkpoint). */
  private hwCheckpoint: HwCheckpoint | null = null;
  /** Log compaction of topics with cleanup.policy=compact (src/storage/cleaner.ts). */
  private cleaner: LogCleaner | null = null;
  private stopping: Promise<void> | null = null;
  private scram: Credentials | null = null;
  /** ACLs (authorizer.class.name, super.users, allow.everyone.if.no.acl.found). */
  readonly authorizer: Authorizer;
  /** Incremental fetch sessions (KIP-227), max.incremental.fetch.session.cache.slots of them. */
  readonly fetchSessions: FetchSessionCache;
  /** Client quotas (quota.window.num, quota.window.size.seconds; the quotas themselves in the store). */
  readonly quotas: ClientQuotas;
  /** SASL mechanisms per SASL listener name (sasl.enabled.mechanisms). */
  private readonly saslMechanisms = new Map<string, SaslMechanism[]>();
  /** Clients throttled by a client quota, for the metrics (throttle-stats.ts). */
  private readonly throttleStats = new ThrottleStats();
  /** Prometheus metrics (metrics.ts), served by the admin HTTP listener. */
  readonly metrics: BrokerMetrics;
  /** The admin HTTP listener (/metrics, /health, /ready); null: off or not started. */
  private adminHttp: AdminHttpServer | null = null;
  /** The Kafka listeners are bound. */
  private listening = false;
  /** `serve --bootstrap-user`: made before the node listens when the user does not exist yet. */
  private bootstrapUser: { name: string; password: string } | null = null;
  /**
   * The node listens before it joins (to learn its port): requests wait on this until it has the cluster
   * view and its replicas, else they would be answered by a node that knows no broker and no topic. Null
   * once serving.
   */
  private joining: Promise<void> | null = null;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.router = new Router(this, log).register(...allHandlers);
    this.authorizer = new Authorizer(config.props, log, interBrokerListener(config.listeners, config.props).name);
    this.fetchSessions = new FetchSessionCache(config.fetchSessionCacheSlots);
    this.quotas = new ClientQuotas(config.props, log);
    this.quotas.onThrottle = (kind, sensor, ms, now) => this.throttleStats.record(kind, sensor, ms, now);
    this.metrics = new BrokerMetrics(
      {
        nodeId: config.nodeId,
        dataDir: resolve(config.dataDir),
        topicExists: (name) => this.metadata?.topics.has(name) ?? false,
        localPartitions: () => this.replicas?.partitions() ?? [],
        clusterView: () => (this.joining === null ? this.metadata : null),
        coordinators: () => this.groups?.all() ?? Promise.resolve([]),
        lagHighWatermark: (p, nowMs) => this.replicas?.lagHighWatermark(p, nowMs) ?? null,
        connectionsByListener: () => {
          const n = new Map<string, number>();
          for (const c of this.connections) {
            const name = c.listener?.name ?? 'unknown';
            n.set(name, (n.get(name) ?? 0) + 1);
          }
          return n;
        },
        inFlight: () => ({ bytes: this.connectionLimits?.memory.usedBytes ?? 0, requests: this.router.inFlight }),
        throttles: () => this.throttleStats.rows(),
      },
      config.metricsPartitionLevel,
    );
  }

  /** The admin listener's URL (http://host:port), null when off. */
  get adminUrl(): string | null {
    return this.adminHttp?.url ?? null;
  }

  /**
   * /ready: the Kafka listeners are bound, the node has joined (metadata loaded, replicas synced), it is
   * registered in the cluster and knows a controller, and it leads, at the epoch the view names, every
   * partition the view says it leads.
   */
  readiness(): Readiness {
    const view = this.joining === null ? this.metadata : null;
    const checks: Record<string, boolean> = {
      listening: this.listening,
      metadataLoaded: view !== null,
      registered: view?.brokers.has(this.nodeId) ?? false,
      controllerKnown: (view?.controllerId ?? -1) >= 0,
      caughtUp: false,
    };
    let behind = 0;
    if (view !== null && this.replicas !== null) {
      for (const [key, e] of view.partitions) {
        if (e.doc.leader !== this.nodeId || e.doc.leaderPending) continue;
        const cut = key.lastIndexOf('/');
        const p = this.replicas.partition(key.slice('partitions/'.length, cut), Number(key.slice(cut + 1)));
        if (!p?.isLeader || p.leaderEpoch !== e.doc.leaderEpoch) behind++;
      }
      checks.caughtUp = behind === 0;
    }
    const ready = !this.isStopping && Object.values(checks).every((v) => v);
    return {
      ready,
      checks,
      detail: this.isStopping
        ? 'shutting down'
        : behind > 0
          ? `${behind} partition(s) this node leads in the metadata are not led here yet`
          : undefined,
    };
  }

  /** A first user (SCRAM-SHA-256 and SCRAM-SHA-512 credentials) to create before listening, if absent. */
  setBootstrapUser(name: string, password: string): void {
    this.bootstrapUser = { name, password };
  }

  get credentials(): Credentials {
    return this.scram as Credentials;
  }

  /** sasl.plain.users.file, loaded before the node listens. */
  plainUsers: PlainUsersFile | null = null;

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  get nodeId(): number {
    return this.config.nodeId;
  }

  async start(): Promise<void> {
    const dir = resolve(this.config.dataDir);
    this.lock = await lockDataDir(dir, this.log);
    try {
      // The admin listener first: /health and /ready answer (503) while the node loads and joins.
      if (this.config.admin !== null) {
        const admin = new AdminHttpServer(
          this.config.admin,
          {
            render: (om, names) => this.metrics.render(om, names),
            ready: () => this.readiness(),
            nodeId: this.nodeId,
            dataDir: dir,
          },
          this.config.props,
          this.log,
        );
        if (await admin.start()) {
          this.adminHttp = admin;
          this.metrics.enabled = true;
        }
        // The default port was busy: DescribeConfigs reports the listener in effect (none), so `cluster info`
        // does not take another process's answers for this node's.
        else this.config.props['admin.listeners'] = '';
      }
      const metaClusterId = loadMetaProperties(dir, this.nodeId, this.log);
      const logDefaults = brokerLogDefaults(this.config.props);
      configureMaxOpenFiles(this.config.props['log.max.open.files']);
      const { store, clusterId } = await openMetadataStore(this.config, dir, this.log);
      this.clusterId = clusterId ?? metaClusterId;
      this.scram = new Credentials(store);
      await this.createBootstrapUser(this.scram);
      await this.authorizer.start(store);
      await this.quotas.start(store);
      // log.retention.check.interval.ms, log.flush.offset.checkpoint.interval.ms, num.recovery.threads.per.data.dir
      const logs = new LogManager(dir, logDefaults, this.log, logManagerOptionsFromProps(this.config.props));
      this.logs = logs;
      // Creations and deletions a crash cut short are finished or rolled back against the store first.
      await logs.loadAll(await intentHooks(store));
      this.hwCheckpoint = new HwCheckpoint(dir);
      await this.hwCheckpoint.load();
      let joined = (): void => {};
      this.joining = new Promise<void>((res) => {
        joined = res;
      });
      await this.listen();
      this.listening = true;
      const self: BrokerInfo = {
        nodeId: this.nodeId,
        host: this.config.advertisedHost,
        port: this.config.advertisedPort,
        rack: this.config.rack,
        listeners: Object.fromEntries(
          this.config.listeners.map((l) => [l.name, { host: l.advertisedHost, port: l.advertisedPort }]),
        ),
      };
      const unclean = (topic: string) =>
        this.metadata?.topics.get(topic)?.configs['unclean.leader.election.enable'] === 'true';
      // Until it has joined (stray logs set aside first), the node syncs its replicas once, below.
      const changed = () => this.joining === null && this.replicas?.syncSoon();
      const cluster = new ClusterManager(store, self, this.log, changed, unclean, this.config.brokerSessionTimeoutMs);
      this.metadata = cluster;
      const lagMaxMs = Number(this.config.props['replica.lag.time.max.ms'] ?? 30_000);
      const listener = {
        onLeadershipChange: (p: Partition, leader: boolean) => {
          this.groups?.onLeadershipChange(p, leader);
          this.txns?.onLeadershipChange(p, leader);
        },
        onTopicsDeleted: async (names: ReadonlySet<string>) => {
          for (const n of names) this.metrics.forgetTopic(n);
          return this.groups?.forgetTopics(names);
        },
      };
      const logConfig = (configs: Record<string, string>) => (this.admin as TopicAdmin).topicLogConfig(configs);
      const replicas = new ReplicaManager(
        { nodeId: this.nodeId, lagMaxMs, logConfig, interBroker: this.config.interBroker ?? undefined },
        cluster,
        logs,
        this.hwCheckpoint,
        listener,
        this.log,
      );
      this.replicas = replicas;
      this.admin = new TopicAdmin(this.config, cluster, logs, replicas, logDefaults, () => this.isStopping, this.log);
      this.groups = new GroupCoordinators(this.config.props, this.nodeId, cluster, this.admin, this.log);
      this.markers = new TxnMarkerSender(
        this.nodeId,
        cluster,
        this.log,
        (m, topics) => writeMarkersAsLeader(this, this.log, m, topics),
        this.config.interBroker ?? undefined,
      );
      this.txns = new TxnCoordinators(
        this.config.props,
        this.nodeId,
        cluster,
        this.admin,
        this.markers,
        () => this.producerIds.generate(),
        this.log,
      );
      await cluster.start();
      this.pids = new ProducerIdManager(store, this.nodeId, this.log);
      await this.pids.start();
      await replicas.setAsideStrayLogs(store.location);
      await replicas.sync();
      this.joining = null;
      joined();
      this.serve(cluster, replicas, logs);
      this.log.info('joined cluster', {
        cluster: this.clusterId,
        metadata: store.location,
        interBroker: this.config.interBroker?.describe,
      });
    } catch (e) {
      await this.authorizer.stop();
      await this.quotas.stop();
      this.replicas?.stop();
      await this.metadata?.stop().catch(() => {});
      await this.groups?.stop();
      await this.txns?.stop();
      this.markers?.stop();
      this.closeServers();
      await this.adminHttp?.close();
      await this.logs?.closeAll().catch(() => {});
      this.lock?.release();
      throw e;
    }
  }

  private async createBootstrapUser(credentials: Credentials): Promise<void> {
    const u = this.bootstrapUser;
    this.bootstrapUser = null;
    if (u === null) return;
    const have = (await credentials.list()).get(u.name);
    if (have && have.length > 0) {
      this.log.info('bootstrap user exists; its credentials are kept', { user: u.name });
      return;
    }
    await credentials.createFromPassword(u.name, u.password);
    this.log.info('bootstrap user created (SCRAM-SHA-256, SCRAM-SHA-512)', { user: u.name });
  }

  /** The background work of a node that has joined: checkpoints, controller duties, retention, compaction. */
  private serve(cluster: ClusterManager, replicas: ReplicaManager, logs: LogManager): void {
    (this.hwCheckpoint as HwCheckpoint).start(
      Math.max(1, Number(this.config.props['replica.high.watermark.checkpoint.interval.ms'] ?? 5000)),
      () => replicas.highWatermarks(),
      (e) => this.log.warn('high watermark checkpoint failed', { error: e }),
    );
    cluster.startReassignmentChecks(500);
    if ((this.config.props['auto.leader.rebalance.enable'] ?? 'true') === 'true') {
      const seconds = Number(this.config.props['leader.imbalance.check.interval.seconds'] ?? 300);
      cluster.startLeaderRebalance(Math.max(1, seconds) * 1000);
    }
    logs.startRetention();
    // Log cleaner: compacts every local log whose cleanup.policy includes compact (log.cleaner.* keys). Each
    // replica compacts its own copy, as in Kafka (only closed segments below the high watermark are rewritten).
    if ((this.config.props['log.cleaner.enable'] ?? 'true') === 'false') return;
    const backoffMs = Number(this.config.props['log.cleaner.backoff.ms'] ?? 15000);
    this.cleaner = new LogCleaner(() => [...replicas.partitions()].map((p) => p.log), { backoffMs }, this.log);
    this.cleaner.start();
  }

  private async listen(): Promise<void> {
    const inter = interBrokerListener(this.config.listeners, this.config.props);
    for (const l of this.config.listeners) {
      if (l.protocol !== 'SASL_PLAINTEXT' && l.protocol !== 'SASL_SSL') continue;
      const text = listenerProp(this.config.props, l.name, 'sasl.enabled.mechanisms') ?? 'SCRAM-SHA-256,SCRAM-SHA-512';
      const mechs = enabledMechanisms(text);
      if (mechs.length === 0) throw new BrokerStartError(`listener ${l.name}: sasl.enabled.mechanisms is empty`);
      this.saslMechanisms.set(l.name, mechs);
    }
    this.plainUsers = plainUsersFromConfig(this.config.props, this.log);
    for (const l of this.config.listeners) this.servers.push(await this.listenOn(l));
    this.boundPort = (this.config.listeners[0] as Listener).port;
    // What the cluster registers for this node (replica fetchers connect there): the inter-broker listener.
    this.config.advertisedHost = inter.advertisedHost;
    this.config.advertisedPort = inter.advertisedPort;
  }

  /** Bind one listener (a TLS server for SSL and SASL_SSL); port 0 becomes the port bound. */
  private async listenOn(l: Listener): Promise<Server> {
    let server: Server;
    if (usesTls(l)) {
      const tls = listenerTls(this.config.props, l.name);
      const rules = parsePrincipalRules(
        listenerProp(this.config.props, l.name, 'ssl.principal.mapping.rules') ?? 'DEFAULT',
      );
      const tlsServer: TlsServer = createTlsServer(tls.options, (socket: TLSSocket) => {
        if (tls.clientAuth === 'requested' && !socket.authorized && socket.getPeerX509Certificate() !== undefined) {
          // ssl.client.auth=requested lets a client without a certificate in, never one with a bad one.
          this.log.warn('TLS client certificate refused', {
            listener: l.name,
            remote: `${socket.remoteAddress}:${socket.remotePort}`,
            reason: String(socket.authorizationError),
          });
          socket.destroy();
          return;
        }
        const dn = peerDistinguishedName(socket);
        const principal = dn === null ? 'User:ANONYMOUS' : `User:${applyPrincipalRules(dn, rules)}`;
        if (dn !== null) {
          this.log.debug('TLS client certificate accepted', {
            listener: l.name,
            remote: `${socket.remoteAddress}:${socket.remotePort}`,
            principal,
          });
        }
        this.accept(socket, l, principal);
      });
      tlsServer.on('tlsClientError', (e: Error, socket: TLSSocket) => {
        // Plaintext on a TLS port, an unknown CA, a client certificate from another CA, …
        this.log.warn('TLS handshake failed', {
          listener: l.name,
          remote: `${socket.remoteAddress}:${socket.remotePort}`,
          error: e.message,
        });
      });
      // Certificates renewed on disk are taken without a restart (new connections; open ones keep theirs).
      for (const file of new Set(tls.files)) {
        this.watched.push(file);
        watchFile(file, { interval: 1000, persistent: false }, () => {
          try {
            tlsServer.setSecureContext(listenerTls(this.config.props, l.name).options);
            this.log.info('TLS certificates reloaded', { listener: l.name, file });
          } catch (e) {
            this.log.warn('TLS certificates not reloaded; keeping the old ones', {
              listener: l.name,
              error: (e as Error).message,
            });
          }
        });
      }
      server = tlsServer;
    } else {
      server = createServer((socket: Socket) => this.accept(socket, l, 'User:ANONYMOUS'));
    }
    await new Promise<void>((res, rej) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        rej(
          new BrokerStartError(
            e.code === 'EADDRINUSE'
              ? `port ${l.port} on ${l.host} is already in use (listener ${l.name})`
              : `cannot listen on ${l.host}:${l.port} (listener ${l.name}): ${e.message}`,
          ),
        );
      });
      server.listen(l.port, l.host, () => res());
    });
    const addr = server.address();
    if (l.port === 0) l.port = typeof addr === 'object' && addr ? addr.port : 0;
    if (l.advertisedPort === 0) l.advertisedPort = l.port;
    return server;
  }

  private closeServers(): Promise<void> {
    for (const f of this.watched) unwatchFile(f);
    this.watched = [];
    return Promise.all(this.servers.map((s) => new Promise<void>((res) => s.close(() => res())))).then(() => {});
  }

  private accept(socket: Socket, listener: Listener, principal: string): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const joining = this.joining;
    const dispatch: Dispatch = joining ? (ctx) => joining.then(() => this.router.dispatch(ctx)) : this.router.dispatch;
    this.connectionLimits ??= connectionLimits(this.config);
    const c = new Connection(socket, dispatch, this.connectionLimits, this.log, (x) => this.connections.delete(x));
    c.listener = listener;
    c.principal = principal;
    c.quotaApplies = this.quotaApplies;
    const sasl = this.saslMechanisms.get(listener.name);
    if (sasl !== undefined) {
      c.saslMechanisms = sasl;
      c.authenticated = false;
    }
    this.connections.add(c);
  }

  private readonly quotaApplies = (c: Connection, clientId: string | null): boolean => this.quotas.applies(c, clientId);

  /** Stop accepting, close connections, flush and checkpoint every log, release the lock. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    try {
      await this.stopParts();
    } finally {
      // Whatever failed above (logs that cannot be closed: a data dir removed under a stopping node), the admin
      // listener and the lock go: either alone keeps the process running after the stop has failed.
      await this.adminHttp?.close().catch(() => {});
      this.lock?.release();
    }
  }

  private async stopParts(): Promise<void> {
    // Steps that write the metadata store wait for it (etcd may be slow or unreachable): each is bounded, so
    // a stop never hangs (leases then expire by themselves and the controller fails over as for a crash).
    if (this.replicas) await bounded(this.replicas.moveLeadershipAway(), 10_000, 'controlled shutdown', this.log);
    // Group coordinators: stop their timers and answer waiting JoinGroup/SyncGroup requests.
    await this.groups?.stop();
    // Transaction coordinators: their timers and marker retries stop (the next leader resumes them).
    await this.txns?.stop();
    this.markers?.stop();
    // Topic creations in progress stop at their next partition (throwIfStopping) and roll back.
    await this.admin?.settled();
    this.replicas?.stop();
    await this.authorizer.stop();
    await this.quotas.stop();
    if (this.metadata) await bounded(this.metadata.stop(), 5000, 'leaving the cluster', this.log);
    // Stop accepting, then close open connections (server.close waits for them: replica fetchers never leave).
    const closed = this.closeServers();
    for (const c of this.connections) c.close();
    await closed;
    this.logs?.stopRetention();
    await this.cleaner?.stop();
    if (this.hwCheckpoint && this.replicas) {
      // Clean shutdown: the last high watermarks, so a restart does not fall back to the log start.
      this.hwCheckpoint.stop();
      await this.hwCheckpoint
        .write(this.replicas.highWatermarks())
        .catch((e: unknown) => this.log.warn('high watermark checkpoint failed', { error: e }));
    }
    await this.logs?.closeAll();
  }

  describe(): string {
    const listeners = this.config.listeners;
    const more =
      listeners.length === 1 && listeners[0]?.protocol === 'PLAINTEXT'
        ? ''
        : `, listeners ${listeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(' ')}`;
    const admin = this.adminHttp ? `, admin ${this.adminHttp.url}` : '';
    return `kstream ${VERSION} node ${this.nodeId} listening on ${this.config.host}:${this.boundPort} (advertised ${this.config.advertisedHost}:${this.config.advertisedPort})${more}${admin}, data dir ${resolve(this.config.dataDir)}`;
  }

  // ---- BrokerContext: what handlers see, each part handed to its owner ------------------------------------

  private get view(): ClusterManager {
    return this.metadata as ClusterManager;
  }

  private get topicAdmin(): TopicAdmin {
    return this.admin as TopicAdmin;
  }

  controllerId(): number {
    return this.view.controllerId;
  }

  liveBrokers(): BrokerInfo[] {
    return this.view.liveBrokers;
  }

  isAlive(nodeId: number): boolean {
    return this.view.brokers.has(nodeId);
  }

  topics(): ReadonlyMap<string, TopicDoc> {
    return this.view.topics;
  }

  topic(name: string): TopicDoc | undefined {
    return this.view.topics.get(name);
  }

  partitionState(topic: string, index: number): PartitionDoc | undefined {
    return this.view.partition(topic, index)?.doc;
  }

  leaderReady(topic: string, index: number, state: PartitionDoc): boolean {
    if (state.leaderPending) return false;
    if (state.leader !== this.nodeId) return true;
    const p = this.replicas?.partition(topic, index);
    return p?.isLeader === true && p.leaderEpoch === state.leaderEpoch;
  }

  partitionExists(topic: string, index: number): boolean {
    return this.topicAdmin.partitionExists(topic, index);
  }

  hasTopic(name: string): boolean {
    return this.topicAdmin.hasTopic(name);
  }

  topicConfigs(name: string): Record<string, string> | null {
    return this.topicAdmin.topicConfigs(name);
  }

  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly: boolean,
    assignment: number[][] | null,
  ): Promise<CreatedTopic> {
    return this.topicAdmin.createTopic(name, partitions, replicationFactor, configs, validateOnly, assignment);
  }

  async topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<boolean> {
    if (name === TXN_TOPIC && !this.hasTopic(name)) return this.txnTopicOrAutoCreate(allowAutoCreate);
    // __consumer_offsets is made by the group coordinators (its partition count, compaction), never as a
    // plain topic.
    if (name !== OFFSETS_TOPIC || this.hasTopic(name)) return this.topicAdmin.topicOrAutoCreate(name, allowAutoCreate);
    if (allowAutoCreate) await this.findCoordinator('');
    return this.hasTopic(name);
  }

  /** __transaction_state is made by the transaction coordinators, never as a plain topic. */
  private async txnTopicOrAutoCreate(allowAutoCreate: boolean): Promise<boolean> {
    if (allowAutoCreate) await this.transactions.findCoordinator('-').catch(() => null);
    return this.hasTopic(TXN_TOPIC);
  }

  deleteTopic(name: string): Promise<void> {
    return this.topicAdmin.deleteTopic(name);
  }

  addPartitions(name: string, count: number, validateOnly: boolean, assignment: number[][] | null): Promise<void> {
    return this.topicAdmin.addPartitions(name, count, validateOnly, assignment);
  }

  alterTopicConfigs(
    name: string,
    next: (current: Record<string, string>) => Record<string, string>,
    validateOnly: boolean,
  ): Promise<void> {
    return this.topicAdmin.alterTopicConfigs(name, next, validateOnly);
  }

  electLeader(topic: string, partition: number, type: 'preferred' | 'unclean'): Promise<number> {
    return this.view.electLeader(topic, partition, type);
  }

  reassign(topic: string, partition: number, target: number[] | null): Promise<number> {
    return this.view.reassign(topic, partition, target);
  }

  coordinatorOf(groupId: string): Promise<GroupCoordinator | null> {
    return (this.groups as GroupCoordinators).coordinatorOf(groupId);
  }

  noCoordinatorError(groupId: string): number {
    return (this.groups as GroupCoordinators).errorFor(groupId);
  }

  findCoordinator(groupId: string): Promise<BrokerInfo | null> {
    return (this.groups as GroupCoordinators).findCoordinator(groupId);
  }

  allCoordinators(): Promise<GroupCoordinator[]> {
    return (this.groups as GroupCoordinators).all();
  }

  transactionMarkerWritten(topic: string, partition: number, producerId: bigint, commit: boolean): Promise<void> {
    return this.groups?.transactionMarkerWritten(topic, partition, producerId, commit) ?? Promise.resolve();
  }

  get transactions(): TxnCoordinatorsView {
    return this.txns as TxnCoordinators;
  }

  get producerIds(): ProducerIdManager {
    return this.pids as ProducerIdManager;
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.replicas?.partition(topic, index);
  }

  localTopics(): Iterable<LocalTopic> {
    return this.replicas?.localTopics() ?? [];
  }

  followerFetched(p: Partition, replicaId: number, fetchOffset: bigint): void {
    this.replicas?.followerFetched(p, replicaId, fetchOffset);
  }

  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return this.router.apiVersions();
  }
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
