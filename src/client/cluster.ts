/**
 * The client's view of a cluster: bootstrap, the metadata cache (brokers; topics → partitions → leader,
 * replicas, ISR, offline replicas) and a pool of connections per broker node id.
 *
 * Metadata is refreshed on demand: `refreshMetadata()` coalesces concurrent callers into one Metadata request,
 * and users of the cache call `markStale()` when a broker answers NOT_LEADER_OR_FOLLOWER,
 * UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE or another retriable error, or a connection drops.
 * `markStale()` returns a mark; `hasMetadataSince(mark)` says whether an answer to a Metadata request sent
 * after that mark has been applied (a refresh already in flight when the mark was made does not count: a
 * refresh asked for after the mark waits for it and then sends its own). A retry after NOT_LEADER_OR_FOLLOWER
 * waits for that, or it would go to the old leader again.
 *
 * A broker that is not in the metadata (it left the cluster: stopped, killed, its lease expired) is not an
 * error of the request but of the cache: `connection()` to it fails with a retriable NetworkError and marks the
 * metadata stale, so every user refreshes and retries (the partition's new leader, the group's new
 * coordinator) instead of giving up.
 * Connections are pooled per (node id, pool name): the consumer keeps its group-coordinator traffic on its own
 * connection so heartbeats are not queued behind long-poll fetches (Kafka answers a connection in order).
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { Api, type ApiSpec, type RequestInput, type ResponseOf } from '../protocol/messages/index.js';
import type { Logger } from '../util/logger.js';
import { type BrokerAddress, formatAddress, parseBrokers } from './brokers.js';
import { Connection, type ConnectionOptions, type RequestOptions } from './connection.js';
import { detailOf, errorFor, isAuthenticationError, NetworkError } from './errors.js';
import { backoff, type RetryOptions, sleep } from './retry.js';

export interface ClusterOptions {
  /** Bootstrap brokers: "host:port,host:port" or a list (port defaults to 9092). */
  brokers: string | readonly string[];
  clientId?: string;
  /** TCP connect + ApiVersions handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** Default 30 s. */
  requestTimeoutMs?: number;
  /** Metadata older than this is refreshed before use. Default 5 min. */
  metadataMaxAgeMs?: number;
  /** Ask the broker to create unknown topics on metadata requests (broker's `auto.create.topics.enable`). */
  allowAutoTopicCreation?: boolean;
  retry?: RetryOptions;
  /** Per-API caps on the version used, e.g. `{ [ApiKey.Fetch]: 11 }`. */
  maxVersions?: Readonly<Partial<Record<number, number>>>;
  logger?: Logger;
  /** TLS and SASL for every connection (SSL, SASL_PLAINTEXT, SASL_SSL). */
  tls?: ConnectionOptions['tls'];
  sasl?: ConnectionOptions['sasl'];
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  /** -1 when there is no leader. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** The partition's error in the last metadata (e.g. LEADER_NOT_AVAILABLE), 0 if none. */
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  /** Indexed by partition number. */
  partitions: PartitionInfo[];
}

const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};

export class Cluster {
  readonly clientId: string;
  readonly logger: Logger;
  readonly retry: RetryOptions;
  readonly requestTimeoutMs: number;
  brokers = new Map<number, BrokerInfo>();
  topics = new Map<string, TopicInfo>();
  /** Topic-level errors of the last metadata answer for topics that are not (yet) usable. */
  topicErrors = new Map<string, number>();
  clusterId: string | null = null;
  controllerId = -1;

  private readonly bootstrap: BrokerAddress[];
  private readonly connectTimeoutMs: number;
  private readonly metadataMaxAgeMs: number;
  private readonly allowAutoTopicCreation: boolean;
  private readonly maxVersions: Readonly<Partial<Record<number, number>>>;
  private readonly pool = new Map<string, Promise<Connection>>();
  /** Connections made to bootstrap addresses before node ids were known. */
  private readonly bootstrapConns = new Map<string, Promise<Connection>>();
  /** Topics the users of this cluster care about; refreshed together. */
  private readonly interest = new Set<string>();
  private allTopics = false;
  private lastRefresh = 0;
  private stale = true;
  /** Counts markStale() calls: the mark of the latest one. */
  private staleMarks = 0;
  /** The mark current when the Metadata request of the last applied answer was sent. */
  private freshThrough = 0;
  /** The mark current when the in-flight refresh sent its request (Infinity until it is sent). */
  private refreshMark = Number.POSITIVE_INFINITY;
  private refreshing: Promise<void> | null = null;
  private closed = false;
  private readonly security: Pick<ClusterOptions, 'tls' | 'sasl'>;

  constructor(opts: ClusterOptions) {
    this.bootstrap = parseBrokers(opts.brokers);
    this.clientId = opts.clientId ?? 'kstream';
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.metadataMaxAgeMs = opts.metadataMaxAgeMs ?? 300_000;
    this.allowAutoTopicCreation = opts.allowAutoTopicCreation ?? false;
    this.retry = opts.retry ?? {};
    this.maxVersions = opts.maxVersions ?? {};
    this.logger = opts.logger ?? noopLogger;
    this.security = { tls: opts.tls, sasl: opts.sasl };
  }

  /** Bootstrap: fetch the broker list (and metadata of topics of interest). */
  async connect(): Promise<void> {
    await this.refreshMetadata();
  }

  /**
   * Mark the metadata stale: the next `ensureFresh()` refreshes it. Returns the mark: `hasMetadataSince(mark)`
   * turns true once an answer to a Metadata request sent after this call is applied.
   */
  markStale(): number {
    this.stale = true;
    return ++this.staleMarks;
  }

  /** Whether metadata requested after `markStale()` returned `mark` has arrived (0: always true). */
  hasMetadataSince(mark: number): boolean {
    return this.freshThrough >= mark;
  }

  /** Add topics to those kept in the cache (refreshed with every metadata request). */
  addTopics(topics: Iterable<string>): void {
    for (const t of topics) {
      if (!this.interest.has(t)) {
        this.interest.add(t);
        if (!this.topics.has(t)) this.stale = true;
      }
    }
  }

  removeTopics(topics: Iterable<string>): void {
    for (const t of topics) this.interest.delete(t);
  }

  /** Keep metadata of every topic (listing / regex subscriptions). */
  trackAllTopics(on = true): void {
    if (on && !this.allTopics) this.stale = true;
    this.allTopics = on;
  }

  /** Refresh if marked stale or older than metadataMaxAgeMs. */
  async ensureFresh(): Promise<void> {
    if (this.stale || Date.now() - this.lastRefresh > this.metadataMaxAgeMs) await this.refreshMetadata();
  }

  /** Start a background refresh (errors ignored) if the metadata is stale or older than metadataMaxAgeMs. */
  refreshIfOld(): void {
    if (this.closed || this.refreshing) return;
    if (this.stale || Date.now() - this.lastRefresh > this.metadataMaxAgeMs) {
      this.refreshMetadata().catch(() => {});
    }
  }

  /** Close one pooled connection (its pending requests fail); the next use reconnects. */
  closeConnection(nodeId: number, poolName = 'default'): void {
    const key = `${nodeId}/${poolName}`;
    const p = this.pool.get(key);
    if (!p) return;
    this.pool.delete(key);
    p.then((c) => c.close()).catch(() => {});
  }

  /**
   * One Metadata request (concurrent callers share it) for the topics of interest, or every topic when
   * tracking all. Retries retriable failures with backoff, trying other brokers.
   */
  refreshMetadata(): Promise<void> {
    if (this.refreshing) {
      // A request sent before the latest markStale() may carry what that mark said was wrong (the old leader):
      // wait for it, then ask again.
      if (this.refreshMark >= this.staleMarks) return this.refreshing;
      const again = (): Promise<void> => this.refreshMetadata();
      return this.refreshing.then(again, again);
    }
    const p = this.doRefresh().finally(() => {
      if (this.refreshing === p) {
        this.refreshing = null;
        this.refreshMark = Number.POSITIVE_INFINITY;
      }
    });
    this.refreshing = p;
    return p;
  }

  /** Metadata for specific topics (added to the interest set); unknown topics are absent from the result. */
  async metadataFor(topics: readonly string[], opts: { refresh?: boolean } = {}): Promise<Map<string, TopicInfo>> {
    this.addTopics(topics);
    if (opts.refresh || topics.some((t) => !this.topics.has(t))) await this.refreshMetadata();
    else await this.ensureFresh();
    const out = new Map<string, TopicInfo>();
    for (const t of topics) {
      const info = this.topics.get(t);
      if (info) out.set(t, info);
    }
    return out;
  }

  /** Leader node of a partition, or -1. */
  leaderFor(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leader ?? -1;
  }

  partitionCount(topic: string): number {
    return this.topics.get(topic)?.partitions.length ?? 0;
  }

  /** A pooled connection to a broker by node id (connecting if needed). */
  connection(nodeId: number, poolName = 'default'): Promise<Connection> {
    if (this.closed) return Promise.reject(new NetworkError('client', 'the client is closed'));
    const key = `${nodeId}/${poolName}`;
    const existing = this.pool.get(key);
    if (existing) return existing;
    const broker = this.brokers.get(nodeId);
    if (!broker) {
      // It left the cluster (stopped, killed, restarting): the caller refreshes and finds the new leader or
      // coordinator. Retriable, as a refused connection is.
      this.markStale();
      return Promise.reject(
        new NetworkError(`broker ${nodeId}`, 'not in the cluster metadata (it left the cluster or is restarting)'),
      );
    }
    const p = this.open(broker.host, broker.port, nodeId);
    this.track(key, p);
    return p;
  }

  /** Any usable connection: an open one if there is one, else a known broker, else a bootstrap address. */
  async anyConnection(): Promise<Connection> {
    if (this.closed) throw new NetworkError('client', 'the client is closed');
    for (const p of [...this.pool.values(), ...this.bootstrapConns.values()]) {
      const c = await p.catch(() => null);
      if (c && !c.closed) return c;
    }
    const errors: string[] = [];
    const nodes = [...this.brokers.values()].sort(() => Math.random() - 0.5);
    for (const b of nodes) {
      try {
        return await this.connection(b.nodeId);
      } catch (e) {
        // A refused login is the caller's answer as it is: not a broker to skip, nor a retriable network error.
        if (isAuthenticationError(e)) throw e;
        errors.push(detailOf(e));
      }
    }
    for (const a of this.bootstrap) {
      const key = formatAddress(a);
      try {
        let p = this.bootstrapConns.get(key);
        if (!p) {
          p = this.open(a.host, a.port, -1);
          this.bootstrapConns.set(key, p);
          p.then(
            (c) => c.onClose(() => this.bootstrapConns.delete(key)),
            () => this.bootstrapConns.delete(key),
          );
        }
        return await p;
      } catch (e) {
        if (isAuthenticationError(e)) throw e;
        errors.push(detailOf(e));
      }
    }
    throw new NetworkError(
      this.bootstrap.map(formatAddress).join(','),
      `could not reach any broker: ${[...new Set(errors)].join('; ')}`,
      { bare: true },
    );
  }

  /**
   * Send a request to a node (by id, or 'any'), on the connection pool `opts.pool` (default 'default'); a
   * network failure marks metadata stale.
   */
  async request<A extends ApiSpec>(
    nodeId: number | 'any',
    api: A,
    body: RequestInput<A>,
    opts?: RequestOptions & { pool?: string },
  ): Promise<ResponseOf<A>> {
    const conn = nodeId === 'any' ? await this.anyConnection() : await this.connection(nodeId, opts?.pool);
    try {
      return await conn.request(api, body, opts);
    } catch (e) {
      if (e instanceof NetworkError) this.stale = true;
      throw e;
    }
  }

  /**
   * The controller's node id (from metadata), refreshing once if unknown. A cluster that names no usable
   * controller (Metadata v0, or an id that is not a broker) gets requests on its first broker.
   */
  async controller(): Promise<number> {
    if (this.controllerId < 0 || !this.brokers.has(this.controllerId)) await this.refreshMetadata();
    if (this.controllerId < 0 || !this.brokers.has(this.controllerId)) return [...this.brokers.keys()][0] ?? -1;
    return this.controllerId;
  }

  /** Close every connection. Pending requests fail with a NetworkError. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pool.values(), ...this.bootstrapConns.values()];
    this.pool.clear();
    this.bootstrapConns.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close()).catch(() => {})));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // -------------------------------------------------------------------------------------------------------

  private open(host: string, port: number, nodeId: number): Promise<Connection> {
    return Connection.connect({
      host,
      port,
      nodeId,
      clientId: this.clientId,
      connectTimeoutMs: this.connectTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
      maxVersions: this.maxVersions,
      tls: this.security.tls,
      sasl: this.security.sasl,
    });
  }

  private track(key: string, p: Promise<Connection>): void {
    this.pool.set(key, p);
    p.then(
      (c) =>
        c.onClose(() => {
          if (this.pool.get(key) === p) this.pool.delete(key);
          if (!this.closed) this.stale = true;
        }),
      () => {
        if (this.pool.get(key) === p) this.pool.delete(key);
        this.stale = true;
      },
    );
  }

  private async doRefresh(): Promise<void> {
    const retries = this.retry.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      try {
        const conn = await this.anyConnection();
        const topics = this.allTopics ? null : [...this.interest].map((name) => ({ name, topicId: ZERO_UUID }));
        const mark = this.staleMarks;
        this.refreshMark = mark;
        const body = await conn.request(Api.Metadata, {
          topics,
          allowAutoTopicCreation: this.allowAutoTopicCreation,
        });
        this.apply(body, conn, mark);
        return;
      } catch (e) {
        this.refreshMark = Number.POSITIVE_INFINITY;
        if (attempt >= retries || !(e instanceof KafkaError && e.retriable) || this.closed) throw e;
        this.logger.debug('metadata refresh failed, retrying', { error: (e as Error).message, attempt });
        await sleep(backoff(attempt + 1, this.retry));
      }
    }
  }

  private apply(body: ResponseOf<typeof Api.Metadata>, via: Connection, mark: number): void {
    const brokers = new Map<number, BrokerInfo>();
    for (const b of body.brokers) {
      brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    }
    this.brokers = brokers;
    this.clusterId = body.clusterId ?? null;
    this.controllerId = body.controllerId ?? -1;
    // A bootstrap connection to an address that is a known broker becomes that node's pooled connection.
    if (via.nodeId < 0) {
      for (const b of brokers.values()) {
        const key = `${b.nodeId}/default`;
        if (b.host === via.host && b.port === via.port && !this.pool.has(key) && !via.closed) {
          this.track(key, Promise.resolve(via));
        }
      }
    }
    // Drop pooled connections to brokers that left the cluster.
    for (const [key, p] of this.pool) {
      const nodeId = Number(key.split('/')[0]);
      if (!brokers.has(nodeId)) {
        this.pool.delete(key);
        p.then((c) => c.close()).catch(() => {});
      }
    }
    const seen = new Set<string>();
    for (const t of body.topics) {
      const name = t.name;
      if (!name) continue;
      seen.add(name);
      if (t.errorCode !== 0 && t.partitions.length === 0) {
        this.topicErrors.set(name, t.errorCode);
        this.topics.delete(name);
        continue;
      }
      this.topicErrors.delete(name);
      const partitions: PartitionInfo[] = [];
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
          errorCode: p.errorCode,
        };
      }
      // A partition missing from the answer is kept as leaderless rather than leaving a hole.
      for (let i = 0; i < partitions.length; i++) {
        partitions[i] ??= {
          partition: i,
          leader: -1,
          leaderEpoch: -1,
          replicas: [],
          isr: [],
          offlineReplicas: [],
          errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
        };
      }
      this.topics.set(name, { name, topicId: t.topicId, isInternal: t.isInternal, partitions });
    }
    if (this.allTopics) {
      for (const name of [...this.topics.keys()]) if (!seen.has(name)) this.topics.delete(name);
    }
    this.lastRefresh = Date.now();
    if (mark > this.freshThrough) this.freshThrough = mark;
    // Marked stale again while the request was out: that news is not in this answer.
    this.stale = this.staleMarks > mark;
  }

  /** Add (or update) a broker learned outside Metadata, e.g. a group coordinator from FindCoordinator. */
  addBroker(b: BrokerInfo): void {
    const known = this.brokers.get(b.nodeId);
    if (!known || known.host !== b.host || known.port !== b.port) this.brokers.set(b.nodeId, b);
  }

  /** Throw the error a topic had in the last metadata, if any (e.g. UNKNOWN_TOPIC_OR_PARTITION). */
  topicError(topic: string): KafkaError | null {
    const code = this.topicErrors.get(topic);
    return code ? errorFor(code, `topic ${topic}`) : null;
  }
}

export const ZERO_UUID = '00000000000000000000000000000000';
