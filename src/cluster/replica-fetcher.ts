/**
 * The follower side of replication (DESIGN decision 5): one fetcher per leader this node follows. It first
 * truncates each replica that needs it to the leader's end offset for its latest epoch (OffsetForLeaderEpoch,
 * KIP-101), then fetches from the leader with Fetch (replica id set) and hands the batches, offsets included,
 * to the replica. The replicas and the node are reached through the two small interfaces below (the broker's
 * Partition and ReplicaManager implement them), so this file depends on nothing of src/broker.
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

export class ReplicaFetcher {
  private conn: Connection | null = null;
  private running = true;
  /** The reason the last connect was refused (TLS, SASL), logged once per run of refusals; null: none. */
  private refused: string | null = null;
  readonly partitions = new Set<FollowerReplica>();

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
        const byTopic = new Map<string, FollowerReplica[]>();
        for (const p of parts) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
        const res = await conn.request(
          Api.Fetch,
          {
            replicaId: this.host.nodeId,
            maxWaitMs: 500,
            minBytes: 1,
            maxBytes: 16 * 1024 * 1024,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [...byTopic].map(([topic, ps]) => ({
              topic,
              partitions: ps.map((p) => ({
                partition: p.index,
                currentLeaderEpoch: p.leaderEpoch,
                fetchOffset: p.logEndOffset,
                logStartOffset: p.logStartOffset,
                partitionMaxBytes: 4 * 1024 * 1024,
                lastFetchedEpoch: -1,
              })),
            })),
            forgottenTopicsData: [],
            rackId: '',
          },
          { timeoutMs: 15_000 },
        );
        for (const t of res.responses) {
          for (const r of t.partitions) {
            const p = parts.find((x) => x.topic === t.topic && x.index === r.partitionIndex);
            if (!p || !this.partitions.has(p)) continue;
            if (r.errorCode !== 0) {
              if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) p.needsTruncation = true;
              continue;
            }
            p.appendFromLeader(r.records ?? EMPTY, r.highWatermark);
          }
        }
        backoff.reset();
      } catch (e) {
        if (!this.running) return;
        this.log.debug('replica fetch failed; retrying', { leader: this.leaderId, error: e });
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
