/**
 * The transaction coordinator's marker sender (Kafka's TransactionMarkerChannelManager): writes a
 * transaction's COMMIT or ABORT marker to the leader of every partition in it with WriteTxnMarkers v1, one
 * request per destination broker, over inter-broker connections like the replica fetchers' (the inter-broker
 * listener with its TLS and SASL: src/cluster/inter-broker.ts; a node alone has no login to itself). The partitions
 * this node leads itself get the same work called directly (`local`: the WriteTxnMarkers handler's, without
 * the request's encoding and a connection to itself, which were a good part of a small transaction's time).
 * Partitions that did not answer NONE are retried
 * with backoff (leadership moved: the leader is looked up again each round) until all have the marker; a
 * partition whose topic was deleted is dropped. Only the coordinator stopping ends a write early: the next
 * coordinator resumes the transaction and sends the markers again (the partitions take a repeated marker as
 * a no-op, as Kafka's do).
 */

import type { Connection } from '../client/connection.js';
import type { ClusterManager } from '../cluster/cluster.js';
import { connectToBroker, type InterBrokerSecurity, PLAINTEXT_INTER_BROKER } from '../cluster/inter-broker.js';
import { ErrorCode } from '../protocol/errors.js';
import { Api } from '../protocol/messages/index.js';
import type { MarkerWriter, TxnMarker } from '../txn/coordinator.js';
import { Backoff, sleep } from '../util/backoff.js';
import type { Logger } from '../util/logger.js';
import type { MarkerTopicResult } from './handlers/write-txn-markers.js';

export class CoordinatorStoppedError extends Error {}

/** The result of each partition of a marker written here (NONE once durable), as WriteTxnMarkers answers. */
export type LocalMarkerWriter = (
  m: TxnMarker,
  topics: { name: string; partitionIndexes: number[] }[],
) => Promise<MarkerTopicResult[]>;

export class TxnMarkerSender implements MarkerWriter {
  private readonly conns = new Map<number, Promise<Connection>>();
  private stopped = false;

  constructor(
    private readonly nodeId: number,
    private readonly metadata: ClusterManager,
    private readonly log: Logger,
    private readonly local: LocalMarkerWriter | null = null,
    private readonly interBroker: InterBrokerSecurity = PLAINTEXT_INTER_BROKER,
  ) {}

  async write(m: TxnMarker, cancelled: () => boolean): Promise<void> {
    const remaining = new Map<string, Set<number>>();
    for (const [topic, ps] of m.partitions) remaining.set(topic, new Set(ps));
    const backoff = new Backoff({ initialMs: 50, maxMs: 1000 });
    for (;;) {
      if (cancelled() || this.stopped) throw new CoordinatorStoppedError('the coordinator stopped');
      // Group by the current leader; drop partitions that no longer exist.
      const byLeader = new Map<number, Map<string, number[]>>();
      for (const [topic, ps] of remaining) {
        const doc = this.metadata.topics.get(topic);
        for (const p of [...ps]) {
          if (!doc || p >= doc.replicas.length) {
            this.log.info('transaction marker dropped: the partition no longer exists', {
              transactionalId: m.transactionalId,
              partition: `${topic}-${p}`,
            });
            ps.delete(p);
            continue;
          }
          const st = this.metadata.partition(topic, p)?.doc;
          if (!st || st.leader < 0 || st.leaderPending) continue;
          const t = byLeader.get(st.leader) ?? new Map<string, number[]>();
          byLeader.set(st.leader, t);
          t.set(topic, [...(t.get(topic) ?? []), p]);
        }
        if (ps.size === 0) remaining.delete(topic);
      }
      if (remaining.size === 0) return;
      const fenced = await Promise.all(
        [...byLeader].map(([leader, topics]) => this.send(leader, m, topics, remaining)),
      );
      if (fenced.includes(true)) {
        // A partition knows a newer coordinator of this producer: that one finishes the transaction.
        throw new CoordinatorStoppedError('a newer transaction coordinator wrote markers for this producer');
      }
      if (remaining.size === 0) {
        if (backoff.attempts > 0) backoff.succeeded(this.log, 'writing transaction markers');
        return;
      }
      await sleep(backoff.next());
    }
  }

  /**
   * One WriteTxnMarkers to `leader`; the partitions that took the marker leave `remaining`. True when a
   * partition answered TRANSACTION_COORDINATOR_FENCED.
   */
  private async send(
    leader: number,
    m: TxnMarker,
    topics: Map<string, number[]>,
    remaining: Map<string, Set<number>>,
  ): Promise<boolean> {
    let fenced = false;
    const done = (topic: string, p: number) => {
      const ps = remaining.get(topic);
      ps?.delete(p);
      if (ps && ps.size === 0) remaining.delete(topic);
    };
    try {
      const req = [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
      let results: MarkerTopicResult[];
      if (leader === this.nodeId && this.local) results = await this.local(m, req);
      else {
        const conn = await this.connection(leader);
        const res = await conn.request(Api.WriteTxnMarkers, {
          markers: [
            {
              producerId: m.producerId,
              producerEpoch: m.producerEpoch,
              transactionResult: m.commit,
              topics: req,
              coordinatorEpoch: m.coordinatorEpoch,
            },
          ],
        });
        results = res.markers.flatMap((marker) => marker.topics);
      }
      for (const t of results) {
        for (const p of t.partitions) {
          if (p.errorCode === ErrorCode.NONE) done(t.name, p.partitionIndex);
          else if (p.errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) fenced = true;
          else if (p.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH) {
            // The partition knows a newer epoch of the producer: this transaction ended there already.
            this.log.warn('transaction marker refused for an old producer epoch; taken as written', {
              transactionalId: m.transactionalId,
              partition: `${t.name}-${p.partitionIndex}`,
            });
            done(t.name, p.partitionIndex);
          } else {
            this.log.debug('transaction marker not written yet', {
              transactionalId: m.transactionalId,
              partition: `${t.name}-${p.partitionIndex}`,
              errorCode: p.errorCode,
            });
          }
        }
      }
    } catch (e) {
      this.log.debug('transaction markers not sent', { transactionalId: m.transactionalId, leader, error: e });
      this.dropConnection(leader);
    }
    return fenced;
  }

  private connection(nodeId: number): Promise<Connection> {
    let c = this.conns.get(nodeId);
    if (c) return c;
    const b = this.metadata.brokers.get(nodeId);
    if (!b) return Promise.reject(new Error(`broker ${nodeId} is not registered`));
    c = connectToBroker(b, this.interBroker, {
      clientId: `kstream-txn-markers-${this.nodeId}`,
      connectTimeoutMs: 3000,
      requestTimeoutMs: 10_000,
    }).then((conn) => {
      if (this.stopped) {
        conn.close();
        throw new CoordinatorStoppedError('stopped');
      }
      conn.onClose(() => {
        if (this.conns.get(nodeId) === c) this.conns.delete(nodeId);
      });
      return conn;
    });
    c.catch(() => {
      if (this.conns.get(nodeId) === c) this.conns.delete(nodeId);
    });
    this.conns.set(nodeId, c);
    return c;
  }

  private dropConnection(nodeId: number): void {
    const c = this.conns.get(nodeId);
    this.conns.delete(nodeId);
    c?.then((conn) => conn.close()).catch(() => {});
  }

  stop(): void {
    this.stopped = true;
    for (const id of [...this.conns.keys()]) this.dropConnection(id);
  }
}
