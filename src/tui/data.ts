/**
 * The data layer of `kstream top`: ONE poll cycle reads the whole cluster with batched Kafka requests, then a
 * pure function turns the answers and the previous snapshot into the next snapshot.
 *
 *   fetchRaw(admin)        Metadata for all topics (one request), ListOffsets earliest+latest batched per
 *                          leader (Admin.fetchTopicOffsets), ListGroups per broker, one DescribeGroups per
 *                          coordinator for all groups, OffsetFetch per group (in parallel); open transactions
 *                          (ListTransactions per broker, DescribeTransactions per coordinator) and the last
 *                          stable offset of their partitions only (ListOffsets read_committed), when the
 *                          cluster answers them.
 *   buildSnapshot(raw, prev)   rates from offset deltas, lag, catch-up estimate (rates over the last
 *                          RATE_WINDOW polls), broker roll-ups, histories.
 *
 * Only Kafka APIs are used, so it works against any Kafka-compatible cluster.
 */
import type { Admin } from '../client/index.js';
import { Api, ApiKey } from '../protocol/messages/index.js';
import {
  adminEndpoints,
  type ClientThrottle,
  clientThrottles,
  type ReadyState,
  readinessByNode,
} from '../services/admin-http.js';
import { brokerStatuses } from '../services/cluster.js';
import {
  type BrokerRow,
  type GroupPartitionRow,
  type GroupRow,
  type GroupSample,
  HISTORY,
  type PartitionRow,
  RATE_WINDOW_MS,
  type Snapshot,
  type ThrottledClient,
  type TopicRow,
  type TransactionRow,
} from './types.js';

export interface RawPartition {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas?: number[];
  errorCode?: number;
}

export interface RawGroup {
  groupId: string;
  state: string;
  protocol: string;
  members: { clientId: string; assignment: { topic: string; partitions: number[] }[] | null }[];
  /** Committed offsets (-1: none). */
  offsets: { topic: string; partition: number; offset: bigint }[];
  error: string | null;
}

/** One broker's DescribeLogDirs answer: the bytes of each replica it holds, the free space of its volumes. */
export interface RawLogDirs {
  broker: number;
  /** Free and total bytes of its log dirs' volumes (null: the broker does not say, DescribeLogDirs < v4). */
  usable: bigint | null;
  total: bigint | null;
  replicas: { topic: string; partition: number; size: bigint }[];
}

/** Everything one poll cycle read from the cluster. */
export interface RawPoll {
  at: number;
  clusterId: string | null;
  controllerId: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  topics: { name: string; partitions: RawPartition[] }[];
  /** Log start / end per partition; null where the leader did not answer. */
  offsets: { topic: string; partition: number; low: bigint | null; high: bigint | null }[];
  groups: RawGroup[];
  groupsError: string | null;
  /** Per broker that answered DescribeLogDirs (absent or empty: sizes unknown, e.g. a broker without it). */
  logDirs?: RawLogDirs[];
  /** /ready of the brokers with an admin HTTP listener (issue 20), by node id. */
  ready?: Map<number, ReadyState>;
  /** Open transactions (absent or null: the cluster does not answer ListTransactions / DescribeTransactions). */
  transactions?: TransactionRow[] | null;
  /** The last stable offset of the open transactions' partitions (ListOffsets read_committed). */
  stableOffsets?: RawStableOffset[];
  /**
   * Client quotas of client-id entities (DescribeClientQuotas); absent or null: not readable (a cluster
   * without the API, or no DESCRIBE_CONFIGS on it).
   */
  quotas?: RawQuota[] | null;
  /**
   * Seconds each client has spent throttled, summed over the nodes (kstream's admin listeners, issue 19);
   * absent or null: not known (a Kafka cluster, or no admin listener reachable).
   */
  throttles?: ClientThrottle[] | null;
}

/** A client-id quota entity (clientId null: the default client id) and its values. */
export interface RawQuota {
  clientId: string | null;
  values: Record<string, number>;
}

export interface RawStableOffset {
  topic: string;
  partition: number;
  offset: bigint;
}

const LIST_TRANSACTIONS = ApiKey.ListTransactions;
const DESCRIBE_TRANSACTIONS = ApiKey.DescribeTransactions;

/** The states of a transaction that holds its partitions' last stable offset back. */
const OPEN_STATES = ['Ongoing', 'PrepareCommit', 'PrepareAbort'];

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * One poll cycle against the cluster. Throws when the cluster cannot be reached at all. `knownGroups` (the
 * groups of the previous poll) are described even when ListGroups does not list them: a coordinator that
 * just died (or does not answer) does not make its groups vanish; a group that really is gone comes back
 * Dead and is dropped.
 */
export async function fetchRaw(
  admin: Admin,
  now: () => number = Date.now,
  knownGroups: Iterable<string> = [],
): Promise<RawPoll> {
  const described = await admin.describeTopics();
  const cluster = admin.cluster;
  const topics = described.map((t) => ({ name: t.topic, partitions: t.partitions }));
  const names = topics.map((t) => t.name);
  const [offsets, groups, logDirs, txns, admins] = await Promise.all([
    names.length === 0
      ? []
      : admin.fetchTopicOffsets(names, { retries: 1 }).then(
          (list) =>
            list
              .filter((o) => o.partition >= 0)
              .map((o) => ({
                topic: o.topic,
                partition: o.partition,
                low: o.error || o.low < 0n ? null : o.low,
                high: o.error || o.high < 0n ? null : o.high,
              })),
          () => [],
        ),
    fetchGroups(admin, knownGroups),
    fetchLogDirs(admin),
    fetchTransactions(admin),
    adminEndpoints(
      admin,
      [...cluster.brokers.values()].map((b) => ({ nodeId: b.nodeId, host: b.host })),
    ).then(
      async (e) => {
        const [ready, throttles] = await Promise.all([readinessByNode(e, 1000), clientThrottles(e, 1000)]);
        return { ready, throttles };
      },
      () => ({ ready: new Map<number, ReadyState>(), throttles: null }),
    ),
  ]);
  const { ready, throttles } = admins;
  const quotas = await fetchQuotas(admin);
  return {
    at: now(),
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId,
    brokers: [...cluster.brokers.values()].map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    topics,
    offsets,
    groups: groups.groups,
    groupsError: groups.error,
    logDirs,
    ready,
    transactions: txns?.transactions ?? null,
    stableOffsets: txns?.stableOffsets ?? [],
    quotas,
    throttles,
  };
}

/**
 * Open transactions and the last stable offset of their partitions. Asked of brokers that offer
 * ListTransactions only; null when none does or the requests fail (top then shows nothing about transactions,
 * never an error). Only the partitions of open transactions get a read_committed ListOffsets: elsewhere the LSO
 * is the high watermark, so top's poll costs nothing more without transactions.
 */
/**
 * The quotas of client-id entities (with no user part: DescribeGroups tells a member's client id, not its
 * user), or null when the cluster does not answer DescribeClientQuotas.
 */
async function fetchQuotas(admin: Admin): Promise<RawQuota[] | null> {
  try {
    const conn = await admin.cluster.anyConnection();
    if (!conn.supports(ApiKey.DescribeClientQuotas)) return null;
    const res = await conn.request(Api.DescribeClientQuotas, {
      components: [{ entityType: 'client-id', matchType: 2, match: null }],
      strict: true,
    });
    if (res.errorCode !== 0) return null;
    return (res.entries ?? []).map((e) => ({
      clientId: e.entity.find((c) => c.entityType === 'client-id')?.entityName ?? null,
      values: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
    }));
  } catch {
    return null;
  }
}

async function fetchTransactions(
  admin: Admin,
): Promise<{ transactions: TransactionRow[]; stableOffsets: RawStableOffset[] } | null> {
  try {
    const conn = await admin.cluster.anyConnection();
    if (!conn.supports(LIST_TRANSACTIONS) || !conn.supports(DESCRIBE_TRANSACTIONS)) return null;
    // Filtered here rather than with ListTransactions' state filter: a broker that does not know one of the
    // names would answer it as unknown.
    const listed = (await admin.listTransactions()).filter((t) => OPEN_STATES.includes(t.state));
    if (listed.length === 0) return { transactions: [], stableOffsets: [] };
    const described = await admin.describeTransactions(listed.map((t) => t.transactionalId));
    const transactions: TransactionRow[] = described
      .filter((d) => d.error === null && OPEN_STATES.includes(d.state))
      .map((d) => ({
        transactionalId: d.transactionalId,
        state: d.state,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        timeoutMs: d.transactionTimeoutMs,
        startTimeMs: d.transactionStartTimeMs >= 0n ? Number(d.transactionStartTimeMs) : null,
        partitions: d.partitions,
      }));
    const parts = new Map<string, { topic: string; partition: number }>();
    for (const t of transactions) for (const p of t.partitions) parts.set(key(p.topic, p.partition), p);
    const found =
      parts.size === 0
        ? []
        : await admin.listOffsets(
            [...parts.values()].map((p) => ({ ...p, spec: 'latest' as const })),
            { isolationLevel: 1, retries: 1 },
          );
    return {
      transactions,
      stableOffsets: found
        .filter((o) => o.error === null && o.offset >= 0n)
        .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
    };
  } catch {
    return null;
  }
}

/** Replica sizes and free space per broker (DescribeLogDirs); a broker that cannot say is left out. */
async function fetchLogDirs(admin: Admin): Promise<RawLogDirs[]> {
  try {
    const answers = await admin.describeLogDirs();
    return answers
      .filter((a) => a.error === null)
      .map((a) => {
        const dirs = a.logDirs.filter((d) => d.error === null);
        const sum = (pick: (d: (typeof dirs)[number]) => bigint | null) =>
          dirs.length > 0 && dirs.every((d) => pick(d) !== null) ? dirs.reduce((n, d) => n + pick(d)!, 0n) : null;
        return {
          broker: a.broker,
          usable: sum((d) => d.usableBytes),
          total: sum((d) => d.totalBytes),
          replicas: dirs.flatMap((d) =>
            d.replicas
              .filter((r) => !r.isFuture)
              .map((r) => ({ topic: r.topic, partition: r.partition, size: r.size })),
          ),
        };
      });
  } catch {
    return [];
  }
}

async function fetchGroups(
  admin: Admin,
  knownGroups: Iterable<string>,
): Promise<{ groups: RawGroup[]; error: string | null }> {
  try {
    const listed = new Set(
      (await admin.listGroups())
        .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
        .map((g) => g.groupId),
    );
    const ids = [...new Set([...listed, ...knownGroups])];
    if (ids.length === 0) return { groups: [], error: null };
    const [described, offsets] = await Promise.all([
      admin.describeGroups(ids),
      Promise.all(
        ids.map((id) =>
          admin.listConsumerGroupOffsets(id).then(
            (list) => ({ list, error: null as string | null }),
            (e: unknown) => ({ list: [], error: message(e) }),
          ),
        ),
      ),
    ]);
    return {
      error: null,
      groups: described.flatMap((g, i) =>
        !listed.has(g.groupId) && g.state === 'Dead' && !g.error
          ? []
          : [
              {
                groupId: g.groupId,
                state: g.state,
                protocol: g.protocol,
                members: g.members.map((m) => ({ clientId: m.clientId, assignment: m.assignment })),
                offsets: offsets[i]!.list.filter((o) => !o.error).map((o) => ({
                  topic: o.topic,
                  partition: o.partition,
                  offset: o.offset,
                })),
                error: g.error ? g.error.message : offsets[i]!.error,
              },
            ],
      ),
    };
  } catch (e) {
    return { groups: [], error: message(e) };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Pure part

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function pushHistory(prev: readonly number[] | undefined, v: number | null): number[] {
  const out = prev ? [...prev] : [];
  if (v !== null) out.push(v);
  return out.length > HISTORY ? out.slice(out.length - HISTORY) : out;
}

/** Messages per second between two offsets (null when either is unknown or no time passed). */
export function rate(prev: bigint | null | undefined, cur: bigint | null, dtSeconds: number): number | null {
  if (prev === null || prev === undefined || cur === null || dtSeconds <= 0) return null;
  const d = Number(cur - prev);
  return d < 0 ? 0 : d / dtSeconds;
}

/** Per-second rate between the first and last of `samples` (null with fewer than two, never negative). */
export function windowRate(samples: readonly GroupSample[], pick: (s: GroupSample) => number): number | null {
  if (samples.length < 2) return null;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const dt = (last.at - first.at) / 1000;
  return dt > 0 ? Math.max(0, (pick(last) - pick(first)) / dt) : null;
}

/** A commit seen by the polls: the summed committed offset, and the time and log end when it was made. */
export interface CommitPoint {
  at: number;
  committed: number;
  end: number;
}

/**
 * The commits in a group's samples. A commit happened somewhere between the poll that saw it and the poll
 * before: it is placed at their midpoint, with the log end interpolated there, so that consumption (between
 * commits) and production (over the same span) are measured over the same time, not over the polls' times.
 */
export function commitPoints(samples: readonly GroupSample[]): CommitPoint[] {
  const out: CommitPoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1]!, samples[i]!];
    if (b.committed !== a.committed)
      out.push({ at: (a.at + b.at) / 2, committed: b.committed, end: (a.end + b.end) / 2 });
  }
  return out;
}

/** Shortest span of commits that gives a catch-up verdict: 20 s keeps a poll's timing within 5 %. */
export const MIN_SPAN_MS = 20_000;
/** A group with members and lag that commits nothing for this long is stalled. */
export const STALL_MS = 30_000;

/**
 * A group's consumption (committed offsets per second) and the production on its partitions, measured between
 * the first and last commit seen in the window, and whether that span is long enough to judge (`sure`).
 * Consumers commit every few seconds (Kafka's default: 5 s), so measuring between polls, or over a window cut
 * between commits, makes a group that keeps pace look stalled every commit cycle. A group without members
 * consumes nothing; one with members that committed nothing for STALL_MS neither.
 */
export function groupRates(
  samples: readonly GroupSample[],
  members: number,
): { consumed: number | null; produced: number | null; sure: boolean } {
  if (samples.length < 2) return { consumed: null, produced: null, sure: false };
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const overall = windowRate(samples, (x) => x.end);
  const points = commitPoints(samples);
  if (members === 0)
    return { consumed: points.length > 0 ? windowRate(samples, (x) => x.committed) : 0, produced: overall, sure: true };
  if (points.length >= 2) {
    const [a, b] = [points[0]!, points[points.length - 1]!];
    const dt = (b.at - a.at) / 1000;
    return {
      consumed: Math.max(0, (b.committed - a.committed) / dt),
      produced: Math.max(0, (b.end - a.end) / dt),
      sure: b.at - a.at >= MIN_SPAN_MS,
    };
  }
  if (points.length === 0 && last.at - first.at >= STALL_MS) return { consumed: 0, produced: overall, sure: true };
  return { consumed: null, produced: overall, sure: false };
}

/**
 * Time to catch up: 0 when there is no lag; null when the rates are unknown; Infinity when the group consumes
 * nothing or clearly less than is produced; 'steady' when it keeps pace (within 10%) without gaining; else
 * lag / (consumed/s - produced/s).
 */
export function catchUp(lag: number, consumed: number | null, produced: number | null): number | 'steady' | null {
  if (lag === 0) return 0;
  if (consumed === null || produced === null) return null;
  if (consumed <= 0) return Number.POSITIVE_INFINITY;
  const net = consumed - produced;
  if (net > 0.1 * consumed) return lag / net;
  return consumed >= 0.9 * produced ? 'steady' : Number.POSITIVE_INFINITY;
}

/** Records behind the last stable offset: HW - LSO (null when either is unknown; never negative). */
export function heldBack(high: bigint | null, lso: bigint | undefined): number | null {
  if (high === null || lso === undefined) return null;
  return Math.max(0, Number(high - lso));
}

/** The next snapshot from a poll's answers and the previous snapshot (rates, histories, down brokers). */
export function buildSnapshot(raw: RawPoll, prev: Snapshot | null): Snapshot {
  const dt = prev ? (raw.at - prev.at) / 1000 : 0;
  const prevParts = new Map<string, PartitionRow>();
  for (const t of prev?.topics ?? []) for (const p of t.partitions) prevParts.set(key(p.topic, p.partition), p);
  const prevTopics = new Map((prev?.topics ?? []).map((t) => [t.name, t]));
  const offsets = new Map(raw.offsets.map((o) => [key(o.topic, o.partition), o]));
  const live = new Set(raw.brokers.map((b) => b.nodeId));
  // Replica sizes by broker (DescribeLogDirs): a partition's size is its leader's replica.
  const stable = new Map((raw.stableOffsets ?? []).map((o) => [key(o.topic, o.partition), o.offset]));
  const sizes = new Map<string, bigint>();
  for (const d of raw.logDirs ?? [])
    for (const r of d.replicas) sizes.set(`${d.broker}\u0000${key(r.topic, r.partition)}`, r.size);

  // Groups first: partition lag is shown on the topics screen too.
  const partRate = new Map<string, number | null>();
  const partHigh = new Map<string, bigint | null>();
  for (const t of raw.topics) {
    for (const p of t.partitions) {
      const k = key(t.name, p.partition);
      const o = offsets.get(k);
      const old = prevParts.get(k);
      // A leader that did not answer this time: keep the last known offsets rather than blanking them.
      const high = o?.high ?? old?.high ?? null;
      partHigh.set(k, high);
      partRate.set(k, o?.high != null ? rate(old?.high, o.high, dt) : null);
    }
  }

  const throttledNow = throttledSince(raw.throttles, prev?.throttleTotals, dt);
  const prevGroups = new Map((prev?.groups ?? []).map((g) => [g.groupId, g]));
  const lagByPartition = new Map<string, number>();
  const groups: GroupRow[] = raw.groups
    .map((g): GroupRow => {
      const old = prevGroups.get(g.groupId);
      if (old && g.error && g.offsets.length === 0) {
        // Its offsets could not be read this time (e.g. its coordinator just died): keep the last lag, rates
        // and history rather than showing a lag of 0.
        for (const p of old.partitions)
          if (p.lag !== null) {
            const k = key(p.topic, p.partition);
            lagByPartition.set(k, (lagByPartition.get(k) ?? 0) + p.lag);
          }
        return { ...old, state: g.state || old.state, members: g.members.length, error: g.error };
      }
      const oldParts = new Map((old?.partitions ?? []).map((p) => [key(p.topic, p.partition), p]));
      const owners = new Map<string, string>();
      for (const m of g.members)
        for (const a of m.assignment ?? []) for (const p of a.partitions) owners.set(key(a.topic, p), m.clientId);
      const committed = new Map<string, bigint>();
      for (const o of g.offsets) if (o.offset >= 0n) committed.set(key(o.topic, o.partition), o.offset);
      const keys = new Set([...committed.keys(), ...owners.keys()]);
      let committedSum = 0;
      let endSum = 0;
      let summed = 0;
      const partitions: GroupPartitionRow[] = [...keys]
        .map((k) => {
          const [topic, p] = k.split('\u0000') as [string, string];
          const partition = Number(p);
          const c = committed.get(k) ?? null;
          const end = partHigh.get(k) ?? null;
          const lag = c !== null && end !== null ? Math.max(0, Number(end - c)) : null;
          if (lag !== null) {
            lagByPartition.set(k, (lagByPartition.get(k) ?? 0) + lag);
            committedSum += Number(c);
            endSum += Number(end);
            summed++;
          }
          const before = oldParts.get(k);
          return {
            topic,
            partition,
            committed: c,
            end,
            lag,
            lagHistory: pushHistory(before?.lagHistory, lag),
            owner: owners.get(k) ?? null,
          };
        })
        .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
      const totalLag = partitions.reduce((s, p) => s + (p.lag ?? 0), 0);
      const lagHistory = pushHistory(old?.lagHistory, totalLag);
      const sample = { at: raw.at, committed: committedSum, end: endSum, parts: summed };
      const kept = (old?.samples ?? []).filter((x) => x.parts === summed && x.at >= raw.at - RATE_WINDOW_MS);
      const samples = [...kept, sample];
      const rates = groupRates(samples, g.members.length);
      const consumeRate = rates.consumed;
      const quota = consumerQuota(raw.quotas, g.members);
      const throttled = throttledNow === null ? null : groupThrottled(throttledNow, g.members);
      return {
        groupId: g.groupId,
        state: g.state,
        members: g.members.length,
        protocol: g.protocol,
        partitions,
        totalLag,
        lagHistory,
        consumeRate,
        catchUp: totalLag === 0 ? 0 : rates.sure ? catchUp(totalLag, rates.consumed, rates.produced) : null,
        samples,
        error: g.error,
        quota,
        throttled,
      };
    })
    .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));

  const topics: TopicRow[] = raw.topics
    .map((t) => {
      const partitions: PartitionRow[] = t.partitions
        .map((p) => {
          const k = key(t.name, p.partition);
          const o = offsets.get(k);
          const old = prevParts.get(k);
          const r = partRate.get(k) ?? null;
          const offline = p.leader < 0;
          // Out of the ISR, or on a broker that is down or that Metadata says is offline: an ISR answered by a
          // broker that has not caught up with a shutdown yet must not make the partition look healthy again.
          const missing = p.replicas.filter(
            (id) => !p.isr.includes(id) || !live.has(id) || (p.offlineReplicas ?? []).includes(id),
          );
          const size = p.leader >= 0 ? (sizes.get(`${p.leader}\u0000${k}`) ?? null) : null;
          const sameLeader = old !== undefined && old.leader === p.leader;
          const grown =
            size !== null && sameLeader && old.size !== null && dt > 0 ? Number(size - old.size) / dt : null;
          return {
            topic: t.name,
            partition: p.partition,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
            missing,
            low: o?.low ?? old?.low ?? null,
            high: partHigh.get(k) ?? null,
            rate: r,
            rateHistory: pushHistory(old?.rateHistory, r),
            size,
            // A replica that shrank (retention, compaction) says nothing about what was written.
            byteRate: grown !== null && grown >= 0 ? grown : null,
            underReplicated: !offline && missing.length > 0,
            offline,
            lag: lagByPartition.get(k) ?? 0,
            heldBack: heldBack(partHigh.get(k) ?? null, stable.get(k)),
          };
        })
        .sort((a, b) => a.partition - b.partition);
      const known = partitions.filter((p) => p.rate !== null);
      const r = known.length > 0 ? known.reduce((s, p) => s + (p.rate ?? 0), 0) : null;
      const knownBytes = partitions.filter((p) => p.byteRate !== null);
      const sized = partitions.filter((p) => p.size !== null);
      return {
        name: t.name,
        partitions,
        rate: r,
        rateHistory: pushHistory(prevTopics.get(t.name)?.rateHistory, r),
        byteRate: knownBytes.length > 0 ? knownBytes.reduce((s, p) => s + (p.byteRate ?? 0), 0) : null,
        size: sized.length > 0 ? sized.reduce((s, p) => s + (p.size ?? 0n), 0n) : null,
        messages: partitions.reduce((s, p) => s + (p.high !== null && p.low !== null ? p.high - p.low : 0n), 0n),
        underReplicated: partitions.filter((p) => p.underReplicated).length,
        offline: partitions.filter((p) => p.offline).length,
        lag: partitions.reduce((s, p) => s + p.lag, 0),
        replicationFactor: partitions.reduce((m, p) => Math.max(m, p.replicas.length), 0),
        heldBack: partitions.some((p) => p.heldBack != null)
          ? partitions.reduce((s, p) => s + (p.heldBack ?? 0), 0)
          : null,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Brokers: those in the metadata are up; any broker seen before or named as a replica but missing is down.
  const brokerRows: BrokerRow[] = brokerStatuses(
    raw.brokers,
    topics.flatMap((t) => t.partitions),
    prev?.brokers ?? [],
  ).map((b) => {
    const dirs = raw.logDirs?.find((d) => d.broker === b.nodeId);
    return {
      ...b,
      host: b.host ?? '?',
      port: b.port ?? 0,
      controller: b.nodeId === raw.controllerId,
      disk: dirs ? dirs.replicas.reduce((n, r) => n + r.size, 0n) : null,
      free: dirs?.usable ?? null,
      ...(raw.ready?.has(b.nodeId) ? { ready: raw.ready.get(b.nodeId) } : {}),
    };
  });

  return {
    clusterId: raw.clusterId,
    controllerId: raw.controllerId,
    brokers: brokerRows,
    topics,
    groups,
    groupsError: raw.groupsError,
    transactions: raw.transactions ?? null,
    throttleTotals: raw.throttles ?? null,
    throttled: throttledNow,
    at: raw.at,
    totals: {
      topics: topics.length,
      partitions: topics.reduce((s, t) => s + t.partitions.length, 0),
      underReplicated: topics.reduce((s, t) => s + t.underReplicated, 0),
      offline: topics.reduce((s, t) => s + t.offline, 0),
      groups: groups.length,
      brokersUp: brokerRows.filter((b) => b.up).length,
      brokersDown: brokerRows.filter((b) => !b.up).length,
    },
  };
}

/**
 * The lowest consumer_byte_rate that applies to a group's members by their client ids (client-id C, else the
 * default client id: Kafka's last two precedence levels — quotas of users are not matched, a member's user is
 * not known from DescribeGroups); null when none does or quotas are not readable.
 */
export function consumerQuota(quotas: RawQuota[] | null | undefined, members: { clientId: string }[]): number | null {
  if (!quotas || quotas.length === 0) return null;
  const byClient = new Map(quotas.map((q) => [q.clientId, q.values.consumer_byte_rate]));
  let lowest: number | null = null;
  for (const m of members) {
    const v = byClient.get(m.clientId) ?? byClient.get(null);
    if (v !== undefined && (lowest === null || v < lowest)) lowest = v;
  }
  return lowest;
}

/**
 * The clients throttled since the previous poll: those whose throttle counter (seconds spent muted, counted as
 * they pass) grew, with the seconds it grew by. null when the cluster does not say (a Kafka); empty on the first
 * poll that reads the counters (nothing to compare with yet).
 */
export function throttledSince(
  cur: readonly ClientThrottle[] | null | undefined,
  prev: readonly ClientThrottle[] | null | undefined,
  dtSeconds: number,
): ThrottledClient[] | null {
  if (!cur) return null;
  if (!prev || dtSeconds <= 0) return [];
  const k = (t: ClientThrottle) => `${t.quota}\u0000${t.user}\u0000${t.clientId}`;
  const before = new Map(prev.map((t) => [k(t), t.seconds]));
  const out: ThrottledClient[] = [];
  for (const t of cur) {
    const was = before.get(k(t));
    // A client first seen now was throttled since the previous poll (its counter starts at its first throttle).
    const grown = was === undefined ? t.seconds : t.seconds - was;
    if (grown > 0) out.push({ quota: t.quota, user: t.user, clientId: t.clientId, seconds: grown });
  }
  return out.sort((a, b) => b.seconds - a.seconds);
}

/**
 * Seconds a group's members were throttled since the previous poll (fetch or produce, by their client ids:
 * entities with a client id; a user-wide quota is not tied to a group, DescribeGroups names no user).
 */
export function groupThrottled(throttled: readonly ThrottledClient[], members: { clientId: string }[]): number {
  const ids = new Set(members.map((m) => m.clientId));
  let s = 0;
  for (const t of throttled) if (t.clientId !== '' && ids.has(t.clientId)) s += t.seconds;
  return s;
}
