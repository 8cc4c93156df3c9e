/**
 * What `kstream top` shows: one immutable snapshot per poll cycle, built by data.ts from Kafka API answers
 * and the previous snapshot (rates come from offset deltas, histories feed the sparklines).
 */
import type { ClientThrottle } from '../services/admin-http.js';

/** How many samples of rate / lag history are kept (the sparklines' widest). */
export const HISTORY = 60;

export interface PartitionRow {
  topic: string;
  partition: number;
  /** -1: no leader (offline). */
  leader: number;
  replicas: number[];
  isr: number[];
  /** Replicas not in the ISR, or on a broker that is down (Metadata's ISR can lag behind a shutdown). */
  missing: number[];
  /** Log start offset (null: unknown, e.g. the leader did not answer). */
  low: bigint | null;
  /** Log end offset (high watermark). */
  high: bigint | null;
  /** Messages per second since the previous poll (null for the first one). */
  rate: number | null;
  rateHistory: number[];
  /** Bytes of the leader's replica on disk (DescribeLogDirs); null when the broker does not say. */
  size: bigint | null;
  /** Bytes per second the leader's replica grew since the previous poll (null: unknown, or it shrank). */
  byteRate: number | null;
  underReplicated: boolean;
  offline: boolean;
  /** Sum of the lag of every group on this partition. */
  lag: number;
  /**
   * Records a read_committed consumer cannot read yet: the high watermark minus the last stable offset, which an
   * open transaction holds at its first record. Known only for partitions of open transactions (absent or null
   * otherwise, and when the cluster does not answer transactions' requests).
   */
  heldBack?: number | null;
}

/** An open transaction (Ongoing, or being committed / aborted) as its coordinator describes it. */
export interface TransactionRow {
  transactionalId: string;
  state: string;
  producerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  /** When it started (ms since the epoch); null when the coordinator does not say. */
  startTimeMs: number | null;
  partitions: { topic: string; partition: number }[];
}

export interface TopicRow {
  name: string;
  partitions: PartitionRow[];
  rate: number | null;
  rateHistory: number[];
  /** Bytes per second over its partitions (null: none known). */
  byteRate: number | null;
  /** Bytes of its partitions' leader replicas on disk (null: the brokers do not say). */
  size: bigint | null;
  /** Messages currently retained (sum of end - start). */
  messages: bigint;
  underReplicated: number;
  offline: number;
  lag: number;
  replicationFactor: number;
  /** Sum of its partitions' heldBack (absent or null: none known). */
  heldBack?: number | null;
}

export interface GroupPartitionRow {
  topic: string;
  partition: number;
  /** null: nothing committed. */
  committed: bigint | null;
  end: bigint | null;
  lag: number | null;
  lagHistory: number[];
  /** The member that owns the partition (client id), if assigned. */
  owner: string | null;
}

export interface GroupSample {
  at: number;
  committed: number;
  end: number;
  /** How many partitions the sums cover (the window starts again when that changes). */
  parts: number;
}

/** How far back a group's samples go (its consumption is measured between the commits seen in them). */
export const RATE_WINDOW_MS = 60_000;

export interface GroupRow {
  groupId: string;
  state: string;
  members: number;
  protocol: string;
  partitions: GroupPartitionRow[];
  totalLag: number;
  lagHistory: number[];
  /** Committed offsets per second between the commits seen in the last RATE_WINDOW_MS (consumers commit every few seconds). */
  consumeRate: number | null;
  /**
   * Time to catch up at the current rates: seconds until the lag reaches 0 (0: caught up, Infinity: stalled
   * or falling behind), 'steady' when the group consumes as fast as its partitions grow (the lag is what it
   * has not committed yet), null before two polls.
   */
  catchUp: number | 'steady' | null;
  /** Summed committed offsets and log ends of the partitions with a commit, for the windowed rates. */
  samples: GroupSample[];
  error: string | null;
  /** consumer_byte_rate limiting its members (per broker), by their client ids; null/absent: none known. */
  quota?: number | null;
  /**
   * Seconds its members (by client id) were throttled by a client quota since the previous poll (0: not
   * throttled now); null/absent: not known (a Kafka cluster: only the quota is shown).
   */
  throttled?: number | null;
}

/** A client a client quota throttled since the previous poll (kstream's throttle metrics). */
export interface ThrottledClient {
  /** The quota kind: produce, fetch. */
  quota: string;
  /** '' when its quota is not a user's. */
  user: string;
  /** '' when its quota is not a client id's. */
  clientId: string;
  /** Seconds spent throttled since the previous poll (summed over its connections and the nodes). */
  seconds: number;
}

export interface BrokerRow {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  up: boolean;
  controller: boolean;
  leaders: number;
  replicas: number;
  /** "topic-partition" names this broker is a replica of but not in the ISR. */
  outOfIsr: string[];
  /** Bytes of the replicas it holds (DescribeLogDirs); null when it does not say. */
  disk: bigint | null;
  /** Free bytes of the volume(s) of its log dirs; null when it does not say. */
  free: bigint | null;
  /** GET /ready of its admin HTTP listener; absent when it has none or cannot be reached. */
  ready?: 'ready' | 'not ready' | 'unreachable';
}

export interface Totals {
  topics: number;
  partitions: number;
  underReplicated: number;
  offline: number;
  groups: number;
  brokersUp: number;
  brokersDown: number;
}

export interface Snapshot {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerRow[];
  topics: TopicRow[];
  groups: GroupRow[];
  /** Why groups are missing (e.g. no group coordinator), null when they were read. */
  groupsError: string | null;
  /**
   * Open transactions, by transactional id; absent or null when the cluster does not answer ListTransactions
   * (a Kafka without them, or an error): then nothing about transactions is shown.
   */
  transactions?: TransactionRow[] | null;
  /** The throttle counters read by this poll (the next poll's baseline); absent or null: not known. */
  throttleTotals?: ClientThrottle[] | null;
  /** Clients throttled since the previous poll; absent or null: not known (a Kafka cluster). */
  throttled?: ThrottledClient[] | null;
  totals: Totals;
  /** Date.now() of the poll. */
  at: number;
}

/** The data hook's state: the last snapshot (kept when a poll fails, shown as stale) and the last error. */
export interface ClusterData {
  snapshot: Snapshot | null;
  /** Error of the last poll, null when it succeeded. */
  error: string | null;
  /** When the last poll finished (success or failure). */
  lastAttempt: number | null;
  polling: boolean;
}
