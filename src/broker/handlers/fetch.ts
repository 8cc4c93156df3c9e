/**
 * Fetch: whole batches read as byte ranges from the segment files, up to the high watermark, bounded by
 * partition and response max bytes (the first batch is returned whole even when larger, as Kafka does).
 * Long poll: with fewer than min_bytes available the request waits up to max_wait_ms, woken by appends.
 * Sessionless (KIP-227): the response's session id is 0, so clients send full fetch requests.
 * isolation_level 1 (read_committed, KIP-98): up to the last stable offset, with the aborted transactions of the
 * range from the partition's aborted-transaction index (one lookup per partition, nothing per batch; a partition
 * no transaction touched answers as for read_uncommitted). Every answer carries the last stable offset.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { allowed, clusterAllowed, Op, Res } from '../acl/check.js';
import type { Connection } from '../connection.js';
import type { BrokerContext } from '../context.js';
import type { TopicStats } from '../metrics.js';
import type { Partition } from '../partition.js';
import { defineHandler } from '../router.js';

/** Kafka sends an empty record set, never null, for a partition with nothing to return. */
const EMPTY = Buffer.alloc(0);
/** Shared by every read_committed answer without aborted transactions (the encoder only reads it). */
const NO_ABORTED: { producerId: bigint; firstOffset: bigint }[] = [];

/** Errors of a partition that stay until an operator acts (a damaged segment, a failing disk). */
const LASTING = new Set<number>([ErrorCode.CORRUPT_MESSAGE, ErrorCode.KAFKA_STORAGE_ERROR]);

/** When an unexpected read error was last logged, per partition (once a minute, not once per fetch). */
const unexpectedLogged = new Map<string, number>();

function logUnexpected(node: BrokerContext, partition: string, e: unknown): void {
  const now = Date.now();
  if (now - (unexpectedLogged.get(partition) ?? -Infinity) < 60_000) return;
  if (unexpectedLogged.size > 10_000) unexpectedLogged.clear();
  unexpectedLogged.set(partition, now);
  node.log.error('fetch read failed', { partition, error: e instanceof Error ? e.message : String(e) });
}

type TopicResponse = Item<ResponseInput<typeof Api.Fetch>['responses']>;
type PartitionResponse = Item<TopicResponse['partitions']>;

interface Wanted {
  topic: string;
  partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  out: PartitionResponse;
}

async function readAll(
  node: BrokerContext,
  wanted: Wanted[],
  responseMax: number,
  replicaId: number,
  readCommitted: boolean,
): Promise<{ bytes: number; errors: boolean }> {
  let bytes = 0;
  let errors = false;
  for (const w of wanted) {
    const p = node.partition(w.topic, w.partition);
    const o = w.out;
    o.records = EMPTY;
    if (!p?.isLeader) {
      // Not here at all, or here but led elsewhere: clients refresh metadata on this error.
      const known = p !== undefined || node.partitionExists(w.topic, w.partition);
      o.errorCode = known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      o.highWatermark = -1n;
      o.lastStableOffset = -1n;
      o.logStartOffset = -1n;
      errors = true;
      continue;
    }
    // Followers read up to the log end (and report how far they got); consumers only up to the high watermark.
    if (replicaId >= 0) node.followerFetched(p, replicaId, w.fetchOffset);
    const hw = p.log.highWatermark;
    const lso = p.log.lastStableOffset;
    const upTo = replicaId >= 0 ? p.log.logEndOffset : readCommitted ? lso : hw;
    o.highWatermark = hw;
    o.lastStableOffset = lso;
    o.logStartOffset = p.log.logStartOffset;
    o.errorCode = 0;
    // read_committed answers a list (empty when nothing aborted), read_uncommitted null, as Kafka does.
    if (readCommitted) o.abortedTransactions = NO_ABORTED;
    const room = Math.max(0, Math.min(w.maxBytes, responseMax - bytes));
    if (w.fetchOffset === upTo) continue;
    if (room === 0 && bytes > 0) continue;
    try {
      const r = await p.log.read(w.fetchOffset, Math.max(room, 1), upTo, bytes === 0);
      o.highWatermark = p.log.highWatermark;
      o.lastStableOffset = p.log.lastStableOffset;
      o.logStartOffset = r.logStartOffset;
      if (r.records && r.records.length > 0) {
        o.records = r.records;
        bytes += r.records.length;
        // The records returned all lie below upTo: the aborted transactions overlapping [fetchOffset, upTo).
        if (readCommitted && p.log.abortedTxns.size > 0) {
          o.abortedTransactions = p.log.abortedTransactions(w.fetchOffset, upTo);
        }
      }
    } catch (e) {
      // An error is this partition's answer; the other partitions of the fetch are served as usual.
      if (e instanceof KafkaError) {
        o.errorCode = e.code;
        // Damage does not heal by waiting: a follower's fetch still waits for its other partitions (its
        // fetcher asks again as soon as it has an answer). Consumers get the error at once, as from Kafka.
        if (replicaId < 0 || !LASTING.has(e.code)) errors = true;
      } else {
        o.errorCode = ErrorCode.UNKNOWN_SERVER_ERROR;
        errors = true;
        logUnexpected(node, `${w.topic}-${w.partition}`, e);
      }
    }
  }
  return { bytes, errors };
}

/**
 * Until an append to one of the partitions, `ms`, or the client's connection closes (an abandoned long poll
 * must not hold its request memory and state until its max wait, which a client may set to days).
 */
function waitForData(node: BrokerContext, wanted: Wanted[], ms: number, connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    const parts: Partition[] = [];
    let timer: NodeJS.Timeout | null = null;
    const wake = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      for (const p of parts) p.removeReader(wake);
      connection.socket.off('close', wake);
      resolve();
    };
    connection.socket.once('close', wake);
    for (const w of wanted) {
      const p = node.partition(w.topic, w.partition);
      if (p) {
        parts.push(p);
        p.addReader(wake);
      }
    }
    timer = setTimeout(wake, ms);
  });
}

export const fetch = defineHandler(Api.Fetch, {
  minVersion: 4,
  maxVersion: 12,
  async handle(req, ctx) {
    const { node, header, connection } = ctx;
    // The request's limit, capped by the broker's fetch.max.bytes (a request asking for gigabytes does not make
    // the broker read them into memory). As in Kafka, the first batch is returned whole even when larger.
    const responseMax = Math.min(
      header.apiVersion >= 3 ? Math.max(1, req.maxBytes) : 0x7fffffff,
      node.config.fetchMaxBytes,
    );
    const responses: TopicResponse[] = [];
    const wanted: Wanted[] = [];
    // A follower's fetch needs CLUSTER_ACTION (brokers pass: acl/authorizer.ts), a consumer's READ per topic.
    const followerDenied = req.replicaId >= 0 && !clusterAllowed(ctx, Op.CLUSTER_ACTION);
    const counted: [TopicStats, PartitionResponse[]][] = [];
    for (const t of req.topics) {
      const partitions: PartitionResponse[] = [];
      responses.push({ topic: t.topic, partitions });
      counted.push([node.metrics.topic(t.topic), partitions]);
      const denied = followerDenied || (req.replicaId < 0 && !allowed(ctx, Op.READ, Res.TOPIC, t.topic));
      for (const p of t.partitions) {
        const out: PartitionResponse = {
          partitionIndex: p.partition,
          errorCode: 0,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: EMPTY,
        };
        partitions.push(out);
        if (denied) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        wanted.push({
          topic: t.topic,
          partition: p.partition,
          fetchOffset: p.fetchOffset,
          maxBytes: Math.max(0, p.partitionMaxBytes),
          out,
        });
      }
    }
    const deadline = Date.now() + Math.max(0, req.maxWaitMs);
    const minBytes = Math.max(0, req.minBytes);
    for (;;) {
      const { bytes, errors } = await readAll(node, wanted, responseMax, req.replicaId, req.isolationLevel === 1);
      const left = deadline - Date.now();
      if (bytes >= minBytes || errors || left <= 0 || wanted.length === 0 || node.isStopping) break;
      if (connection.isClosed) break;
      const waited = performance.now();
      await waitForData(node, wanted, left, connection);
      ctx.remoteMs += performance.now() - waited;
    }
    // Per topic, per partition of the request (metrics.ts): bytes out to consumers only, as Kafka's BytesOut.
    for (const [stats, partitions] of counted) {
      stats.fetchRequests += partitions.length;
      for (const p of partitions) {
        if (p.errorCode !== 0) stats.failedFetchRequests++;
        else if (req.replicaId < 0) stats.bytesOut += (p.records as Buffer).length;
      }
    }
    return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses };
  },
});
