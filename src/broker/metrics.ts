/**
 * The node's Prometheus metrics (issue 20, DESIGN decision 12), exposed by the admin HTTP listener
 * (admin-http.ts) through prom-client. Names follow the JMX exporter's spelling of Kafka's MBeans
 * (`kafka_server_brokertopicmetrics_messagesin_total{topic}`); docs/metrics.md lists every one.
 *
 * Cheap on the hot path: the produce and fetch handlers bump plain numbers of a per-topic {@link TopicStats}
 * once per partition of a request (never per record: the record count comes from the batch headers the
 * validator already read); the router adds one histogram observation per request. Everything else — per
 * partition offsets and sizes, ISR state, group lag — is a gauge computed at scrape time (prom-client's
 * `collect()`) from the state its owner keeps anyway, so nothing is maintained on every change.
 */
import { statfs } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

const eventLoopUtilization = performance.eventLoopUtilization;

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, type RegistryContentType } from 'prom-client';
import type { ClusterManager } from '../cluster/cluster.js';
import type { GroupCoordinator } from '../coordinator/coordinator.js';
import { API_BY_KEY } from '../protocol/messages/index.js';
import { readBatchHeader } from '../protocol/records/batch.js';
import { openFiles } from '../storage/file-handles.js';
import { setFlushObserver } from '../storage/flush-stats.js';
import type { Partition } from './partition.js';
import type { ThrottleRow } from './throttle-stats.js';

/** What a scrape reads of the node: its owners' state, never a copy kept for metrics. */
export interface MetricsSource {
  readonly nodeId: number;
  /** The local replicas. */
  localPartitions(): Iterable<Partition>;
  /** Whether a topic exists (only existing topics get counters: a client naming random topics adds none). */
  topicExists(name: string): boolean;
  /** The cluster view (null before the node joined). */
  clusterView(): ClusterManager | null;
  /** The group coordinators of this node. */
  coordinators(): Promise<GroupCoordinator[]>;
  /**
   * The high watermark a group's lag is measured against for a local replica: the leader's own, a follower's
   * copy only while fresh (ReplicaManager.lagHighWatermark); null when unknown here.
   */
  lagHighWatermark(p: Partition, nowMs: number): bigint | null;
  /** Open client connections per listener name. */
  connectionsByListener(): Map<string, number>;
  /** The data dir (its file system's size and free space). */
  readonly dataDir: string;
  /** Request bytes held (queued.max.request.bytes budget) and requests being handled. */
  inFlight(): { bytes: number; requests: number };
  /** Clients throttled by a client quota within the last hour (throttle-stats.ts); absent: none. */
  throttles?(): ThrottleRow[];
}

/** The quota kinds whose per-client throttle metrics are exported (Kafka's MBean types Produce, Fetch). */
/** Quota kinds and the JMX exporter's name of their throttle-time (Kafka's type=Produce, Fetch, Request, ControllerMutation). */
const THROTTLE_KINDS = [
  ['produce', 'produce'],
  ['fetch', 'fetch'],
  ['request', 'request'],
  ['mutation', 'controllermutation'],
] as const;

/** Plain counters of one topic, bumped by the produce and fetch handlers (once per partition of a request). */
export class TopicStats {
  messagesIn = 0;
  bytesIn = 0;
  bytesOut = 0;
  produceRequests = 0;
  fetchRequests = 0;
  failedProduceRequests = 0;
  failedFetchRequests = 0;
}

/** Where requests for topics that do not exist count (never exported). */
const SCRATCH = new TopicStats();

/** Request latency buckets, in seconds (fixed: the same on every node, comparable across nodes). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** fsync buckets, in seconds. */
const FSYNC_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** Above this many local partitions, per-partition metrics are off unless metrics.partition.level=true. */
export const PARTITION_LEVEL_AUTO_LIMIT = 1000;

interface ApiTimers {
  name: string;
  total: { observe(v: number): void };
  local: { observe(v: number): void };
  remote: { observe(v: number): void };
  requests: number;
  errors: Map<number, number>;
}

export class BrokerMetrics {
  readonly registry: Registry = new Registry();
  /**
   * Whether anything can read the metrics (the admin listener is up): without it the router skips its
   * per-request timing (the per-topic counters, plain additions, stay).
   */
  enabled = false;
  private readonly topics = new Map<string, TopicStats>();
  private readonly apis = new Map<number, ApiTimers>();
  /** Append times of committed records by topic, partition and offset (they never change). */
  private readonly appendTimes = new Map<string, number>();
  private elu = eventLoopUtilization();
  private readonly fsync: Histogram;
  /** Renders one scrape at a time (an OpenMetrics scrape changes the registry's content type while it runs). */
  private rendering: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly source: MetricsSource,
    /** metrics.partition.level: 'true', 'false' or 'auto' (on up to PARTITION_LEVEL_AUTO_LIMIT local partitions). */
    private readonly partitionLevel: 'true' | 'false' | 'auto' = 'auto',
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges prom-client names with _total (a counter's suffix): promtool check metrics refuses them.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
    const self = this;

    // ---- per topic (BrokerTopicMetrics) ----
    const topicCounter = (name: string, help: string, field: keyof TopicStats) =>
      new Counter({
        name: `kafka_server_brokertopicmetrics_${name}_total`,
        help,
        labelNames: ['topic'],
        registers,
        collect() {
          this.reset();
          for (const [topic, s] of self.topics) if (s[field] > 0) this.inc({ topic }, s[field]);
        },
      });
    topicCounter('messagesin', 'Records appended to the topic as leader (counted from batch headers).', 'messagesIn');
    topicCounter('bytesin', 'Record bytes produced to the topic (as leader).', 'bytesIn');
    topicCounter('bytesout', 'Record bytes fetched from the topic by consumers (not followers).', 'bytesOut');
    topicCounter('totalproducerequests', 'Produce requests per partition of the topic.', 'produceRequests');
    topicCounter('totalfetchrequests', 'Fetch requests per partition of the topic.', 'fetchRequests');
    topicCounter(
      'failedproducerequests',
      'Produce requests per partition of the topic answered with an error.',
      'failedProduceRequests',
    );
    topicCounter(
      'failedfetchrequests',
      'Fetch requests per partition of the topic answered with an error.',
      'failedFetchRequests',
    );

    // ---- per API (RequestMetrics) ----
    this.totalTime = new Histogram({
      name: 'kafka_network_requestmetrics_totaltime_seconds',
      help: 'Time from a request read to its answer, by API.',
      labelNames: ['request'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.localTime = new Histogram({
      name: 'kafka_network_requestmetrics_localtime_seconds',
      help: 'Time a request was handled on this node (total minus remote), by API.',
      labelNames: ['request'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.remoteTime = new Histogram({
      name: 'kafka_network_requestmetrics_remotetime_seconds',
      help: 'Time a request waited on others: replication for acks=all produce, new data for a long-poll fetch.',
      labelNames: ['request'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Counter({
      name: 'kafka_network_requestmetrics_requests_total',
      help: 'Requests answered, by API.',
      labelNames: ['request'],
      registers,
      collect() {
        this.reset();
        for (const a of self.apis.values()) this.inc({ request: a.name }, a.requests);
      },
    });
    new Counter({
      name: 'kafka_network_requestmetrics_errors_total',
      help: 'Error codes in answers (request-level and per partition/group/resource), by API and Kafka error code.',
      labelNames: ['request', 'error'],
      registers,
      collect() {
        this.reset();
        for (const a of self.apis.values()) {
          for (const [code, n] of a.errors) this.inc({ request: a.name, error: String(code) }, n);
        }
      },
    });
    new Gauge({
      name: 'kafka_network_requestchannel_inflight_bytes',
      help: 'Bytes of large requests being read or handled (the queued.max.request.bytes budget in use).',
      registers,
      collect() {
        this.set(self.source.inFlight().bytes);
      },
    });
    new Gauge({
      name: 'kafka_network_requestchannel_inflight_requests',
      help: 'Requests being handled.',
      registers,
      collect() {
        this.set(self.source.inFlight().requests);
      },
    });
    new Gauge({
      name: 'kafka_server_socketserver_connections',
      help: 'Open client connections, by listener.',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        for (const [listener, n] of self.source.connectionsByListener()) this.set({ listener }, n);
      },
    });

    // ---- client quotas: per client (user, client id) throttled here (only clients with a quota) ----
    for (const [kind, jmx] of THROTTLE_KINDS) {
      new Gauge({
        name: `kafka_server_${jmx}_throttle_time`,
        help: `Average ${kind} throttle time (ms) of the client's throttled requests over the last 30-60 s (Kafka's throttle-time; 0: none).`,
        labelNames: ['user', 'client_id'],
        registers,
        collect() {
          this.reset();
          for (const r of self.source.throttles?.() ?? [])
            if (r.kind === kind) this.set({ user: r.user, client_id: r.clientId }, r.averageMs);
        },
      });
    }
    new Counter({
      name: 'kstream_client_throttle_time_seconds_total',
      help: "Time the client's connections have spent throttled by a client quota (muted), counted as it passes; by quota kind.",
      labelNames: ['quota', 'user', 'client_id'],
      registers,
      collect() {
        this.reset();
        for (const r of self.source.throttles?.() ?? [])
          if (r.throttledSeconds > 0)
            this.inc({ quota: r.kind, user: r.user, client_id: r.clientId }, r.throttledSeconds);
      },
    });

    // ---- broker: replica manager and controller ----
    const replicaGauge = (name: string, help: string, pick: (s: ReplicaSummary) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(self.replicaSummary()));
        },
      });
    replicaGauge(
      'kafka_server_replicamanager_underreplicatedpartitions',
      'Partitions led here whose ISR is smaller than their replica set.',
      (s) => s.underReplicated,
    );
    replicaGauge(
      'kafka_server_replicamanager_underminisrpartitioncount',
      'Partitions led here whose ISR is smaller than min.insync.replicas (acks=all produce fails).',
      (s) => s.underMinIsr,
    );
    replicaGauge('kafka_server_replicamanager_leadercount', 'Partitions led here.', (s) => s.leaders);
    replicaGauge('kafka_server_replicamanager_partitioncount', 'Partition replicas hosted here.', (s) => s.replicas);
    replicaGauge(
      'kafka_controller_kafkacontroller_offlinepartitionscount',
      'Partitions without a live leader (reported by the active controller; 0 elsewhere).',
      (s) => s.offline,
    );
    new Gauge({
      name: 'kafka_controller_kafkacontroller_activecontrollercount',
      help: '1 on the active controller, 0 elsewhere.',
      registers,
      collect() {
        this.set(self.source.clusterView()?.isController ? 1 : 0);
      },
    });
    const clusterCounter = (name: string, help: string, pick: (c: ClusterManager) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const c = self.source.clusterView();
          if (c) this.inc(pick(c));
        },
      });
    clusterCounter(
      'kafka_server_replicamanager_isrshrinks_total',
      'ISR shrinks of partitions led here (seen in the metadata).',
      (c) => c.stats.isrShrinks,
    );
    clusterCounter(
      'kafka_server_replicamanager_isrexpands_total',
      'ISR expansions of partitions led here (seen in the metadata).',
      (c) => c.stats.isrExpands,
    );
    clusterCounter(
      'kafka_controller_controllerstats_leaderelections_total',
      'Leader changes (new leader epochs) made while this node was the controller.',
      (c) => c.stats.leaderElections,
    );

    // ---- storage ----
    this.fsync = new Histogram({
      name: 'kafka_log_logflushstats_logflush_seconds',
      help: 'fsync (fdatasync) latency of a log flush; its _count rate is the log flush rate.',
      buckets: FSYNC_BUCKETS,
      registers,
    });
    const fsync = this.fsync;
    setFlushObserver((seconds) => fsync.observe(seconds));
    new Gauge({
      name: 'kstream_log_open_segment_files',
      help: 'Segment files held open by the node (log.max.open.files bounds them); process_open_fds counts all.',
      registers,
      collect() {
        this.set(openFiles.openCount);
      },
    });
    const statfsOf = (): Promise<{ size: number; free: number } | null> =>
      statfs(self.source.dataDir).then(
        (st) => ({ size: st.blocks * st.bsize, free: st.bavail * st.bsize }),
        () => null,
      );
    new Gauge({
      name: 'kstream_log_dir_size_bytes',
      help: "Size of the data dir's file system.",
      registers,
      async collect() {
        const st = await statfsOf();
        if (st) this.set(st.size);
      },
    });
    new Gauge({
      name: 'kstream_log_dir_free_bytes',
      help: "Bytes of the data dir's file system available to the node.",
      registers,
      async collect() {
        const st = await statfsOf();
        if (st) this.set(st.free);
      },
    });
    new Gauge({
      name: 'nodejs_eventloop_utilization_ratio',
      help: 'Share of the time since the previous scrape the event loop was busy (0..1).',
      registers,
      collect() {
        const now = eventLoopUtilization();
        this.set(eventLoopUtilization(now, self.elu).utilization);
        self.elu = now;
      },
    });

    // ---- per partition (Log, Partition), bounded by metrics.partition.level ----
    const partitionGauge = (name: string, help: string, value: (p: Partition, c: ClusterManager | null) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          if (!self.partitionLevelOn()) return;
          const c = self.source.clusterView();
          for (const p of self.source.localPartitions()) {
            const v = value(p, c);
            if (!Number.isNaN(v)) this.set({ topic: p.topic, partition: String(p.index) }, v);
          }
        },
      });
    partitionGauge('kafka_log_log_logstartoffset', 'First offset of the local replica.', (p) =>
      Number(p.log.logStartOffset),
    );
    partitionGauge('kafka_log_log_logendoffset', 'Log end offset of the local replica.', (p) =>
      Number(p.log.logEndOffset),
    );
    partitionGauge('kafka_log_log_size', 'Bytes of the local replica on disk.', (p) => p.log.size);
    partitionGauge(
      'kafka_cluster_partition_underreplicated',
      '1 if the partition, led here, has fewer in-sync replicas than replicas (only on its leader).',
      (p, c) => {
        if (!p.isLeader || !c) return Number.NaN;
        const doc = c.partition(p.topic, p.index)?.doc;
        const replicas = c.topics.get(p.topic)?.replicas[p.index];
        return doc && replicas && doc.isr.length < replicas.length ? 1 : 0;
      },
    );
    partitionGauge(
      'kafka_cluster_partition_insyncreplicascount',
      'In-sync replicas of the partition (only on its leader).',
      (p, c) => (p.isLeader && c ? (c.partition(p.topic, p.index)?.doc.isr.length ?? Number.NaN) : Number.NaN),
    );
    partitionGauge(
      'kafka_cluster_partition_leader',
      'Node id of the partition leader as this node sees it (-1: none).',
      (p, c) => c?.partition(p.topic, p.index)?.doc.leader ?? -1,
    );

    // ---- consumer groups (on their coordinator) ----
    const groups = new GroupGauges(this, registers);
    this.groupGauges = groups;
  }

  private readonly totalTime: Histogram;
  private readonly localTime: Histogram;
  private readonly remoteTime: Histogram;
  private readonly groupGauges: GroupGauges;

  /** The stats of a topic (made on first use); for a topic that does not exist, a scratch object nobody reads. */
  topic(name: string): TopicStats {
    let s = this.topics.get(name);
    if (s === undefined) {
      if (!this.source.topicExists(name)) return SCRATCH;
      s = new TopicStats();
      this.topics.set(name, s);
    }
    return s;
  }

  /** A topic was deleted: its counters go (a topic created again under the name starts from zero). */
  forgetTopic(name: string): void {
    this.topics.delete(name);
  }

  /**
   * One request answered: its latency (seconds; remote: the part spent waiting on other nodes or new data) and
   * the error codes of its answer (request-level and per item, walked a few levels deep, never into records).
   */
  requestDone(apiKey: number, totalSeconds: number, remoteSeconds: number, answer: object | null): void {
    let a = this.apis.get(apiKey);
    if (a === undefined) {
      const name = API_BY_KEY.get(apiKey)?.name ?? `api${apiKey}`;
      a = {
        name,
        total: this.totalTime.labels({ request: name }),
        local: this.localTime.labels({ request: name }),
        remote: this.remoteTime.labels({ request: name }),
        requests: 0,
        errors: new Map(),
      };
      this.apis.set(apiKey, a);
    }
    a.requests++;
    a.total.observe(totalSeconds);
    a.local.observe(Math.max(0, totalSeconds - remoteSeconds));
    a.remote.observe(remoteSeconds);
    if (answer !== null) countErrors(answer, a.errors, 0);
  }

  /**
   * The exposition text: Prometheus 0.0.4, or OpenMetrics 1.0 when `openMetrics`. `only` (the `name[]` query
   * parameters, as the JMX and node exporters take them) keeps just those metric families (Prometheus text).
   */
  render(openMetrics: boolean, only: readonly string[] = []): Promise<{ contentType: string; body: string }> {
    const run = async () => {
      if (only.length > 0) {
        const known = only.filter((n, i) => only.indexOf(n) === i && this.registry.getSingleMetric(n) !== undefined);
        const parts = await Promise.all(known.map((n) => this.registry.getSingleMetricAsString(n)));
        return { contentType: this.registry.contentType, body: parts.map((p) => `${p}\n`).join('') };
      }
      if (!openMetrics) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
      // prom-client renders OpenMetrics by renaming counters (without _total) in place: names are put back after.
      const names = this.registry.getMetricsAsArray().map((m) => [m, (m as unknown as { name: string }).name] as const);
      // prom-client's types tie a registry to the content type it was made with; it switches at run time.
      (this.registry as unknown as Registry<RegistryContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      try {
        return { contentType: this.registry.contentType, body: await this.registry.metrics() };
      } finally {
        this.registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
        for (const [m, name] of names) (m as unknown as { name: string }).name = name;
      }
    };
    const next = this.rendering.then(run, run);
    this.rendering = next.catch(() => {});
    return next;
  }

  partitionLevelOn(): boolean {
    if (this.partitionLevel === 'true') return true;
    if (this.partitionLevel === 'false') return false;
    let n = 0;
    for (const _ of this.source.localPartitions()) if (++n > PARTITION_LEVEL_AUTO_LIMIT) return false;
    return true;
  }

  private replicaSummary(): ReplicaSummary {
    // Computed once per scrape (the gauges of one scrape share it; the next scrape computes it again).
    const now = Date.now();
    if (this.summary !== null && now - this.summaryAt < 100) return this.summary;
    const s: ReplicaSummary = { underReplicated: 0, underMinIsr: 0, leaders: 0, replicas: 0, offline: 0 };
    const c = this.source.clusterView();
    for (const p of this.source.localPartitions()) {
      s.replicas++;
      if (!p.isLeader || !c) continue;
      s.leaders++;
      const doc = c.partition(p.topic, p.index)?.doc;
      const replicas = c.topics.get(p.topic)?.replicas[p.index];
      if (!doc || !replicas) continue;
      if (doc.isr.length < replicas.length) s.underReplicated++;
      if (doc.isr.length < p.log.config.minInsyncReplicas) s.underMinIsr++;
    }
    if (c?.isController) {
      for (const e of c.partitions.values()) if (e.doc.leader < 0 || !c.brokers.has(e.doc.leader)) s.offline++;
    }
    this.summary = s;
    this.summaryAt = now;
    return s;
  }
  private summary: ReplicaSummary | null = null;
  private summaryAt = 0;

  /** @internal for GroupGauges */
  get metricsSource(): MetricsSource {
    return this.source;
  }

  /**
   * When the record at `offset` of a local replica was appended (the timestamp of its batch: the first
   * record's, so never later than the record's own), cached while a group's committed offset stays; null if
   * it cannot be read (below the log start, above the high watermark).
   */
  async appendTime(p: Partition, offset: bigint): Promise<number | null> {
    const key = `${p.topic}\u0000${p.index}\u0000${offset}`;
    const cached = this.appendTimes.get(key);
    if (cached !== undefined) return cached;
    if (offset < p.log.logStartOffset || offset >= p.log.highWatermark) return null;
    try {
      const r = await p.log.read(offset, 1, p.log.highWatermark, true);
      if (!r.records) return null;
      const h = readBatchHeader(r.records, 0);
      if (!h) return null;
      const t = Number(h.baseTimestamp);
      if (this.appendTimes.size > 100_000) this.appendTimes.clear();
      this.appendTimes.set(key, t);
      return t;
    } catch {
      return null;
    }
  }

  /** Used by tests and the bench: the group gauges' last collection time. */
  get groups(): GroupGauges {
    return this.groupGauges;
  }
}

interface ReplicaSummary {
  underReplicated: number;
  underMinIsr: number;
  leaders: number;
  replicas: number;
  offline: number;
}

/** Adds the error codes found in an answer: `errorCode` fields of the answer and of its items (3 levels). */
function countErrors(o: object, into: Map<number, number>, depth: number): void {
  // for-in, not Object.entries: no array per object walked (a Produce answer of every request goes through).
  const rec = o as Record<string, unknown>;
  for (const k in rec) {
    const v = rec[k];
    if (k === 'errorCode') {
      if (typeof v === 'number' && v !== 0) into.set(v, (into.get(v) ?? 0) + 1);
    } else if (depth < 3 && Array.isArray(v)) {
      for (const item of v)
        if (item !== null && typeof item === 'object' && !Buffer.isBuffer(item)) countErrors(item, into, depth + 1);
    }
  }
}

/** Consumer-group gauges: one pass over the coordinators per scrape, shared by the gauges of that scrape. */
class GroupGauges {
  private pass: Promise<GroupSample[]> | null = null;

  constructor(metrics: BrokerMetrics, registers: Registry[]) {
    const sample = (): Promise<GroupSample[]> => {
      // The gauges of one scrape are collected concurrently: the first starts the pass, the others share it.
      if (this.pass === null) {
        this.pass = collectGroups(metrics).finally(() => {
          setImmediate(() => {
            this.pass = null;
          });
        });
      }
      return this.pass;
    };
    new Gauge({
      name: 'kafka_consumergroup_state',
      help: 'The group state (1 for the current state label), on the group coordinator.',
      labelNames: ['consumergroup', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const g of await sample()) this.set({ consumergroup: g.id, state: g.state }, 1);
      },
    });
    new Gauge({
      name: 'kafka_consumergroup_members',
      help: 'Members of the group.',
      labelNames: ['consumergroup'],
      registers,
      async collect() {
        this.reset();
        for (const g of await sample()) this.set({ consumergroup: g.id }, g.members);
      },
    });
    new Counter({
      name: 'kafka_consumergroup_rebalances_total',
      help: 'Rebalances the group started while coordinated here.',
      labelNames: ['consumergroup'],
      registers,
      async collect() {
        this.reset();
        for (const g of await sample()) this.inc({ consumergroup: g.id }, g.rebalances);
      },
    });
    const perPartition = (name: string, help: string, pick: (o: OffsetSample) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['consumergroup', 'topic', 'partition'],
        registers,
        async collect() {
          this.reset();
          // Per group and partition: bounded by metrics.partition.level like the per-partition metrics (10,000
          // group partitions are 30,000 series, more than a scrape can format in time); the per-group maxima stay.
          if (!metrics.partitionLevelOn()) return;
          for (const g of await sample()) {
            for (const o of g.offsets) {
              const v = pick(o);
              if (v !== null) this.set({ consumergroup: g.id, topic: o.topic, partition: String(o.partition) }, v);
            }
          }
        },
      });
    perPartition('kafka_consumergroup_current_offset', 'Committed offset of the group.', (o) => o.offset);
    perPartition(
      'kafka_consumergroup_lag',
      "High watermark minus committed offset (where this node leads the partition or holds an in-sync follower's fresh copy).",
      (o) => o.lag,
    );
    perPartition(
      'kafka_consumergroup_lag_seconds',
      'Seconds since the record at the committed offset was appended (0 when caught up).',
      (o) => o.lagSeconds,
    );
    const perGroup = (name: string, help: string, pick: (o: OffsetSample) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['consumergroup'],
        registers,
        async collect() {
          this.reset();
          for (const g of await sample()) {
            let max: number | null = null;
            for (const o of g.offsets) {
              const v = pick(o);
              if (v !== null && (max === null || v > max)) max = v;
            }
            if (max !== null) this.set({ consumergroup: g.id }, max);
          }
        },
      });
    perGroup('kafka_consumergroup_max_lag', 'Largest lag in records over the partitions of the group.', (o) => o.lag);
    perGroup(
      'kafka_consumergroup_max_lag_seconds',
      'Largest lag in seconds over the partitions of the group.',
      (o) => o.lagSeconds,
    );
  }
}

interface OffsetSample {
  topic: string;
  partition: number;
  offset: number;
  lag: number | null;
  lagSeconds: number | null;
}

interface GroupSample {
  id: string;
  state: string;
  members: number;
  rebalances: number;
  offsets: OffsetSample[];
}

async function collectGroups(metrics: BrokerMetrics): Promise<GroupSample[]> {
  const source = metrics.metricsSource;
  const local = new Map<string, Partition>();
  for (const p of source.localPartitions()) local.set(`${p.topic}\u0000${p.index}`, p);
  const now = Date.now();
  const out: GroupSample[] = [];
  const reads: Promise<void>[] = [];
  for (const c of await source.coordinators()) {
    for (const g of c.groups.values()) {
      const offsets: OffsetSample[] = [];
      for (const o of g.offsets.values()) {
        const s: OffsetSample = {
          topic: o.topic,
          partition: o.partition,
          offset: Number(o.offset),
          lag: null,
          lagSeconds: null,
        };
        offsets.push(s);
        const p = local.get(`${o.topic}\u0000${o.partition}`);
        if (!p || o.offset < 0n) continue;
        // The leader's high watermark (this node's copy if it leads, else only a fresh follower copy).
        const hw = source.lagHighWatermark(p, now);
        if (hw === null) continue;
        s.lag = hw > o.offset ? Number(hw - o.offset) : 0;
        if (s.lag === 0) s.lagSeconds = 0;
        else {
          reads.push(
            metrics.appendTime(p, o.offset).then((t) => {
              if (t !== null) s.lagSeconds = Math.max(0, (now - t) / 1000);
            }),
          );
        }
      }
      out.push({ id: g.groupId, state: g.state, members: g.members.size, rebalances: g.rebalances, offsets });
    }
  }
  await Promise.all(reads);
  return out;
}
