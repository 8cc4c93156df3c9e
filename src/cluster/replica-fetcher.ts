/**
 * The follower side of replication (DESIGN decision 5): one fetcher per leader this node follows. It first
 * truncates each replica that needs it to the leader's end offset for its latest epoch (OffsetForLeaderEpoch,
 * KIP-101), then fetches from the leader with Fetch (replica id set) and hands the batches, offsets included,
 * to the replica. It fetches in a fetch session (KIP-227, FollowerSession below): after the first, full
 * fetch, a request names only the partitions whose position moved, and the answer only those with news. The
 * replicas and the node are reached through the two small interfaces below (the broker's Partition and
 * ReplicaManager implement them), so this file depends on nothing of src/broker.
 */

import type { Connection } from '../client/connection.js';
import { ErrorCode } from '../protocol/errors.js';
import { Api } from '../protocol/messages/index.js';
import { Backoff, sleep } from '../util/backoff.js';
import type { Logger } from '../util/logger.js';
import type { BrokerInfo } from './cluster.js';
import { connectToBroker, type InterBrokerSecurity, isSecurityFailure } from './inter-broker.js';

/** A local replica as its fetcher sees it. */
export interface FollowerReplica {
  readonly topic: string;
  readonly index: number;
  /** The leader epoch this replica follows in. */
  readonly leaderEpoch: number;
  readonly logEndOffset: bigint;
  readonly logStartOffset: bigint;
  /** The latest epoch in the replica's log (-1: none). */
  readonly latestEpoch: number;
  /** Truncate by epoch before the next fetch (a new leader, or an offset out of the leader's range). */
  needsTruncation: boolean;
  /** Batches from the leader (possibly none) and the leader's high watermark. */
  appendFromLeader(records: Buffer, leaderHighWatermark: bigint): void;
  truncateTo(end: bigint): Promise<void>;
}

/** The node the fetcher runs on. */
export interface FetcherHost {
  readonly nodeId: number;
  /** Where a broker listens, or undefined while it is not registered. */
  brokerInfo(id: number): BrokerInfo | undefined;
  /** How to reach and log in to the leader (inter.broker.listener.name, inter-broker TLS and SASL). */
  readonly interBroker: InterBrokerSecurity;
}

const EMPTY = Buffer.alloc(0);
/** A session's epochs (fetch-sessions.ts on the leader's side): 0 opens one, -1 none. */
const INITIAL_EPOCH = 0;

interface Sent {
  fetchOffset: bigint;
  logStartOffset: bigint;
  leaderEpoch: number;
}

interface PartitionRequest {
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: bigint;
  logStartOffset: bigint;
  partitionMaxBytes: number;
  lastFetchedEpoch: number;
}

/**
 * The follower's side of a fetch session with its leader: the first fetch names every partition (epoch 0); once
 * the leader answered with a session id, each fetch names only the partitions whose position (log end, log
 * start, leader epoch) changed since it was last sent and forgets those no longer followed, and the answer
 * carries only the partitions with news. A leader that answers no session id (full cache, sessions off, an
 * older node) is fetched from in full each time.
 */
export class FollowerSession {
  private id = 0;
  private epoch = INITIAL_EPOCH;
  /** What the leader's session holds, by topic and partition (valid while id != 0). */
  private sent = new Map<string, Map<number, Sent>>();
  /** The epoch the request in flight carried. */
  private inFlightEpoch = INITIAL_EPOCH;
  private inFlight = new Map<string, Map<number, Sent>>();

  /** Whether the leader holds a session for this fetcher. */
  get open(): boolean {
    return this.id !== 0;
  }

  /** The next request over `parts`, and the replicas by topic and partition to match its answer with. */
  request(parts: FollowerReplica[]): {
    sessionId: number;
    sessionEpoch: number;
    topics: { topic: string; partitions: PartitionRequest[] }[];
    forgotten: { topic: string; partitions: number[] }[];
    replicas: Map<string, Map<number, FollowerReplica>>;
  } {
    const full = this.id === 0;
    const next = new Map<string, Map<number, Sent>>();
    const replicas = new Map<string, Map<number, FollowerReplica>>();
    const topics = new Map<string, PartitionRequest[]>();
    for (const p of parts) {
      let byIndex = replicas.get(p.topic);
      if (byIndex === undefined) {
        byIndex = new Map();
        replicas.set(p.topic, byIndex);
        next.set(p.topic, new Map());
      }
      byIndex.set(p.index, p);
      const now: Sent = {
        fetchOffset: p.logEndOffset,
        logStartOffset: p.logStartOffset,
        leaderEpoch: p.leaderEpoch,
      };
      (next.get(p.topic) as Map<number, Sent>).set(p.index, now);
      const before = full ? undefined : this.sent.get(p.topic)?.get(p.index);
      if (
        before !== undefined &&
        before.fetchOffset === now.fetchOffset &&
        before.logStartOffset === now.logStartOffset &&
        before.leaderEpoch === now.leaderEpoch
      ) {
        continue;
      }
      let list = topics.get(p.topic);
      if (list === undefined) {
        list = [];
        topics.set(p.topic, list);
      }
      list.push({
        partition: p.index,
        currentLeaderEpoch: p.leaderEpoch,
        fetchOffset: now.fetchOffset,
        logStartOffset: now.logStartOffset,
        partitionMaxBytes: 4 * 1024 * 1024,
        lastFetchedEpoch: -1,
      });
    }
    const forgotten: { topic: string; partitions: number[] }[] = [];
    if (!full) {
      for (const [topic, byIndex] of this.sent) {
        const still = next.get(topic);
        const gone: number[] = [];
        for (const index of byIndex.keys()) if (still?.get(index) === undefined) gone.push(index);
        if (gone.length > 0) forgotten.push({ topic, partitions: gone });
      }
    }
    this.inFlight = next;
    this.inFlightEpoch = this.epoch;
    return {
      sessionId: this.id,
      sessionEpoch: this.epoch,
      topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
      forgotten,
      replicas,
    };
  }

  /**
   * The leader answered the request in flight (top-level error code, session id): false if the session is
   * gone or its epoch refused (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH); the next request is
   * a full one then, and this answer carries no partition.
   */
  answered(errorCode: number, sessionId: number): boolean {
    if (errorCode !== 0) {
      this.reset();
      return false;
    }
    if (this.inFlightEpoch === INITIAL_EPOCH) {
      // A full fetch: the leader opened a session (or not: sessionId 0, full fetches go on).
      this.id = sessionId;
      this.epoch = sessionId === 0 ? INITIAL_EPOCH : 1;
    } else {
      this.epoch = this.epoch === 0x7fffffff ? 1 : this.epoch + 1;
    }
    this.sent = this.inFlight;
    return true;
  }

  /** Forget the session: the next request is a full fetch (opening a new session). */
  reset(): void {
    this.id = 0;
    this.epoch = INITIAL_EPOCH;
    this.sent = new Map();
  }
}

export class ReplicaFetcher {
  private conn: Connection | null = null;
  private running = true;
  /** The reason the last connect was refused (TLS, SASL), logged once per run of refusals; null: none. */
  private refused: string | null = null;
  readonly partitions = new Set<FollowerReplica>();
  /** The fetch session with the leader (KIP-227): after a full fetch, only changed partitions are sent. */
  private readonly session = new FollowerSession();
  /**
   * When the last fetch the leader answered was sent (Date.now(); 0: none yet): the high watermarks of the
   * replicas it covered are the leader's as of then at least (an incremental answer leaves out a partition
   * whose high watermark had not moved).
   */
  answeredSentMs = 0;

  constructor(
    private readonly leaderId: number,
    private readonly host: FetcherHost,
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
    const b = this.host.brokerInfo(this.leaderId);
    if (!b) throw new Error(`leader ${this.leaderId} is not registered`);
    const security = this.host.interBroker;
    let conn: Connection;
    try {
      conn = await connectToBroker(b, security, {
        clientId: `kstream-replica-${this.host.nodeId}`,
        connectTimeoutMs: 3000,
        requestTimeoutMs: 10_000,
      });
    } catch (e) {
      if (this.running && isSecurityFailure(e)) {
        // A refused login or certificate does not go away by retrying: say why, once (no secret is in it).
        const reason = (e as Error).message;
        if (reason !== this.refused) {
          this.log.warn('replica fetcher cannot connect to the leader: refused by its inter-broker listener', {
            leader: this.leaderId,
            listener: security.listener,
            as: security.describe,
            reason,
          });
        }
        this.refused = reason;
      }
      throw e;
    }
    if (this.refused !== null) {
      this.log.info('replica fetcher connected to the leader', { leader: this.leaderId, as: security.describe });
      this.refused = null;
    }
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
        const req = this.session.request(parts);
        const sentMs = Date.now();
        const res = await conn.request(
          Api.Fetch,
          {
            replicaId: this.host.nodeId,
            maxWaitMs: 500,
            minBytes: 1,
            maxBytes: 16 * 1024 * 1024,
            isolationLevel: 0,
            sessionId: req.sessionId,
            sessionEpoch: req.sessionEpoch,
            topics: req.topics,
            forgottenTopicsData: req.forgotten,
            rackId: '',
          },
          { timeoutMs: 15_000 },
        );
        if (!this.session.answered(res.errorCode, res.sessionId)) {
          // The leader lost the session (restarted, evicted it) or refused its epoch: a full fetch next.
          this.log.debug('fetch session reset by the leader', { leader: this.leaderId, error: res.errorCode });
          continue;
        }
        for (const t of res.responses) {
          const byIndex = req.replicas.get(t.topic);
          if (byIndex === undefined) continue;
          for (const r of t.partitions) {
            const p = byIndex.get(r.partitionIndex);
            if (!p || !this.partitions.has(p)) continue;
            if (r.errorCode !== 0) {
              if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) p.needsTruncation = true;
              continue;
            }
            p.appendFromLeader(r.records ?? EMPTY, r.highWatermark);
          }
        }
        this.answeredSentMs = sentMs;
        backoff.reset();
      } catch (e) {
        if (!this.running) return;
        this.log.debug('replica fetch failed; retrying', { leader: this.leaderId, error: e });
        // The answer may be lost with the connection: start over with a full fetch.
        this.session.reset();
        this.conn?.close();
        this.conn = null;
        await sleep(backoff.next());
      }
    }
  }

  /** Truncate to the leader's end offset for our latest epoch, so a diverged tail is dropped. */
  private async truncate(conn: Connection, p: FollowerReplica): Promise<void> {
    const epoch = p.latestEpoch;
    if (epoch < 0) {
      p.needsTruncation = false;
      return;
    }
    const res = await conn.request(Api.OffsetForLeaderEpoch, {
      replicaId: this.host.nodeId,
      topics: [
        { topic: p.topic, partitions: [{ partition: p.index, currentLeaderEpoch: p.leaderEpoch, leaderEpoch: epoch }] },
      ],
    });
    const r = res.topics[0]?.partitions[0];
    if (r?.errorCode !== 0) throw new Error(`OffsetForLeaderEpoch failed with error ${r?.errorCode}`);
    const end = r.endOffset;
    if (end >= 0n && end < p.logEndOffset) {
      this.log.info('truncating diverged log tail', {
        topic: p.topic,
        partition: p.index,
        from: p.logEndOffset,
        to: end,
      });
      await p.truncateTo(end);
    }
    p.needsTruncation = false;
  }
}
