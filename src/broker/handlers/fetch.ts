/**
 * Fetch: whole batches read as byte ranges from the segment files, up to the high watermark, bounded by
 * partition and response max bytes (the first batch is returned whole even when larger, as Kafka does).
 * Long poll: with fewer than min_bytes available the request waits up to max_wait_ms, woken by appends.
 * Fetch sessions (KIP-227, fetch-sessions.ts): a full fetch with epoch 0 opens a session when the cache has room;
 * an incremental fetch updates the session's partitions and is answered with only those that changed. Epoch -1
 * (what librdkafka and kafkajs send) is sessionless, served as before.
 * isolation_level 1 (read_committed, KIP-98): up to the last stable offset, with the aborted transactions of the
 * range from the partition's aborted-transaction index (one lookup per partition, nothing per batch; a partition
 * no transaction touched answers as for read_uncommitted). Every answer carries the last stable offset.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { allowed, clusterAllowed, Op, Res } from '../acl/check.js';
import type { Connection } from '../connection.js';
import type { BrokerContext } from '../context.js';
import {
  type CachedPartition,
  cachedPartition,
  type FetchSession,
  FINAL_EPOCH,
  INITIAL_EPOCH,
  nextEpoch,
} from '../fetch-sessions.js';
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

type EncodedTopic = Item<ResponseInput<typeof Api.Fetch>['responses']>;
type EncodedPartition = Item<EncodedTopic['partitions']>;
/** A partition's answer, every field set (the handler reads them back for fetch sessions). */
interface PartitionResponse extends EncodedPartition {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null;
  preferredReadReplica: number;
  records: Buffer | null;
}
interface TopicResponse {
  topic: string;
  partitions: PartitionResponse[];
}

interface Wanted {
  topic: string;
  partition: number;
  fetchOffset: bigint;
  maxBytes: number;
  out: PartitionResponse;
  /** The partition in the fetch session (incremental fetches), else null. */
  cached: CachedPartition | null;
  /** Answered already (an authorization error of a session's partition): not read. */
  skip: boolean;
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
    if (w.skip) continue;
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

/** Answered with no partitions: the fetcher starts over with a full fetch (KIP-227). */
function sessionError(errorCode: number, sessionId: number) {
  return { throttleTimeMs: 0, errorCode, sessionId, responses: [] as TopicResponse[] };
}

export const fetch = defineHandler(Api.Fetch, {
  minVersion: 4,
  maxVersion: 12,
  async handle(req, ctx) {
    const { node, header, connection } = ctx;
    // The request's limit, capped by the broker's fetch.max.bytes (a request asking for gigabytes does not make
    // the broker read them into memory). As in Kafka, the first batch is returned whole even when larger.
    let responseMax = Math.min(
      header.apiVersion >= 3 ? Math.max(1, req.maxBytes) : 0x7fffffff,
      node.config.fetchMaxBytes,
    );
    const follower = req.replicaId >= 0;
    // consumer_byte_rate: no answer larger than the quota allows over its window (as Kafka caps it).
    const quota = node.quotas.consumerActive && !follower;
    if (quota)
      responseMax = Math.max(
        1,
        Math.min(responseMax, node.quotas.maxValueInWindow('fetch', connection, header.clientId ?? '')),
      );
    // A follower's fetch needs CLUSTER_ACTION (brokers pass: acl/authorizer.ts), a consumer's READ per topic.
    const followerDenied = follower && !clusterAllowed(ctx, Op.CLUSTER_ACTION);
    const sessions = node.fetchSessions;
    // Fetch sessions (KIP-227; v7+, older versions decode as session 0, epoch -1: sessionless).
    const full = req.sessionEpoch === INITIAL_EPOCH || req.sessionEpoch === FINAL_EPOCH;
    let session: FetchSession | null = null;
    if (full) {
      // A full fetch closes the session it names.
      if (req.sessionId !== 0) sessions.remove(req.sessionId);
    } else {
      const s = sessions.get(req.sessionId);
      if (s === undefined) return sessionError(ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 0);
      if (s.epoch !== req.sessionEpoch) return sessionError(ErrorCode.INVALID_FETCH_SESSION_EPOCH, 0);
      s.update(req.topics, req.forgottenTopicsData);
      if (s.size === 0) {
        // Every partition forgotten: the session ends, and the request is served as a sessionless one.
        sessions.remove(s.id);
      } else {
        sessions.touch(s, Date.now());
        s.epoch = nextEpoch(s.epoch);
        session = s;
      }
    }
    const wanted: Wanted[] = [];
    // Full and sessionless fetches answer every partition asked for, in the request's order.
    const responses: TopicResponse[] = [];
    // Every partition asked for (or in the session), by topic, for the per-topic counters (metrics.ts).
    const counted: [TopicStats, PartitionResponse[]][] = [];
    if (session === null) {
      for (const t of req.topics) {
        const partitions: PartitionResponse[] = [];
        responses.push({ topic: t.topic, partitions });
        counted.push([node.metrics.topic(t.topic), partitions]);
        const denied = followerDenied || (!follower && !allowed(ctx, Op.READ, Res.TOPIC, t.topic));
        for (const p of t.partitions) {
          const out = partitionResponse(p.partition);
          partitions.push(out);
          if (denied) out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          else want(wanted, t.topic, p.partition, p.fetchOffset, p.partitionMaxBytes, out, null);
        }
      }
    } else {
      // An incremental fetch reads every partition of the session, at the offsets it last asked for.
      let topic = '';
      let denied = false;
      let partitions: PartitionResponse[] = [];
      for (const c of session.partitions.values()) {
        if (c.topic !== topic) {
          topic = c.topic;
          denied = followerDenied || (!follower && !allowed(ctx, Op.READ, Res.TOPIC, topic));
          partitions = [];
          counted.push([node.metrics.topic(topic), partitions]);
        }
        const out = partitionResponse(c.partition);
        partitions.push(out);
        if (denied) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          wanted.push({ topic, partition: c.partition, fetchOffset: -1n, maxBytes: 0, out, cached: c, skip: true });
        } else want(wanted, topic, c.partition, c.fetchOffset, c.maxBytes, out, c);
      }
    }
    const deadline = Date.now() + Math.max(0, req.maxWaitMs);
    const minBytes = Math.max(0, req.minBytes);
    let read = 0;
    for (;;) {
      const { bytes, errors } = await readAll(node, wanted, responseMax, req.replicaId, req.isolationLevel === 1);
      read = bytes;
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
        else if (!follower) stats.bytesOut += (p.records as Buffer).length;
      }
    }
    if (quota) {
      const ms = node.quotas.record('fetch', connection, header.clientId ?? '', read);
      if (ms > 0) {
        // Over consumer_byte_rate: an empty answer with the throttle time, the bytes not counted (the client
        // fetches them again once the time is up), the connection muted meanwhile (KIP-219), as Kafka does.
        // A session keeps what it last told the fetcher (the next answer carries what this one did not); a
        // full fetch opens no session (Kafka's throttled answers do the same).
        node.quotas.unrecord('fetch', connection, read);
        connection.muteFor(ms);
        if (header.apiVersion < 8 && !node.isStopping) await sleep(ms);
        return { throttleTimeMs: ms, errorCode: 0, sessionId: session?.id ?? 0, responses: [] };
      }
    }
    if (session !== null) return incrementalAnswer(session, nextEpoch(req.sessionEpoch), wanted);
    let sessionId = 0;
    if (req.sessionEpoch === INITIAL_EPOCH && sessions.slots > 0) {
      // Remember what this answer told the fetcher, so the next (incremental) answer carries only changes.
      const cached: CachedPartition[] = [];
      for (const t of req.topics) {
        for (const p of t.partitions) cached.push(cachedPartition(t.topic, p));
      }
      let i = 0;
      for (const t of responses) for (const out of t.partitions) answered(cached[i++] as CachedPartition, out);
      sessionId = sessions.create(Date.now(), follower, cached)?.id ?? 0;
    }
    return { throttleTimeMs: 0, errorCode: 0, sessionId, responses };
  },
});

function partitionResponse(partitionIndex: number): PartitionResponse {
  return {
    partitionIndex,
    errorCode: 0,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: EMPTY,
  };
}

function want(
  wanted: Wanted[],
  topic: string,
  partition: number,
  fetchOffset: bigint,
  maxBytes: number,
  out: PartitionResponse,
  cached: CachedPartition | null,
): void {
  wanted.push({ topic, partition, fetchOffset, maxBytes: Math.max(0, maxBytes), out, cached, skip: false });
}

/** Record in `c` what `out` tells the fetcher; true if `out` tells it something new (it must be answered). */
function answered(c: CachedPartition, out: PartitionResponse): boolean {
  let changed = out.records !== null && out.records.length > 0;
  if (out.errorCode !== 0) {
    // Answered again once the error is gone (the high watermark no longer matches).
    c.highWatermark = -1n;
    return true;
  }
  if (c.highWatermark !== out.highWatermark) {
    c.highWatermark = out.highWatermark;
    changed = true;
  }
  if (c.lastStableOffset !== out.lastStableOffset) {
    c.lastStableOffset = out.lastStableOffset;
    changed = true;
  }
  if (c.localLogStartOffset !== out.logStartOffset) {
    c.localLogStartOffset = out.logStartOffset;
    changed = true;
  }
  return changed;
}

/**
 * The answer to an incremental fetch: only the partitions with something new, grouped by topic in the
 * session's order (a topic may appear more than once, as in Kafka's answers). Partitions that returned records
 * move to the end of the session, so the others come first next time.
 */
function incrementalAnswer(session: FetchSession, epoch: number, wanted: Wanted[]) {
  // Another request of the same session was served meanwhile (a duplicate): this one is stale.
  if (session.epoch !== epoch) return sessionError(ErrorCode.INVALID_FETCH_SESSION_EPOCH, session.id);
  const responses: TopicResponse[] = [];
  let current: TopicResponse | null = null;
  for (const w of wanted) {
    const c = w.cached as CachedPartition;
    if (!answered(c, w.out)) continue;
    if (current === null || current.topic !== w.topic) {
      current = { topic: w.topic, partitions: [] };
      responses.push(current);
    }
    current.partitions.push(w.out);
    if (w.out.records !== null && w.out.records.length > 0) session.moveToEnd(c);
  }
  return { throttleTimeMs: 0, errorCode: 0, sessionId: session.id, responses };
}
