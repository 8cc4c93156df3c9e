/**
 * Produce: validate each partition's batches (headers, CRC, and every record's framing walked in place, as
 * Kafka's LogValidator does: src/protocol/records/validate.ts), append them as received with offsets assigned
 * in place, and answer per the acks table: acks=0 no response, acks=1 after the append, acks=all after an fsync
 * covering the batch (group-committed by the log). A refused batch is answered with its error code, the error
 * message and the records at fault (v8+), and nothing of it is stored.
 * Validation and append run without yielding, so requests append in the order they arrived; the one wait
 * before them is the zstd module's first load (codecsPending).
 * Versions 0-2 (message formats v0/v1) are advertised, as librdkafka expects, and answered UNSUPPORTED_VERSION.
 */
import type { Struct } from '../../protocol/codec/schema.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/messages/index.js';
import { codecsPending, validateProduced } from '../../protocol/records/validate.js';
import type { PartitionState } from '../broker.js';
import { waitForHighWatermark } from '../hw-wait.js';
import type { Handler } from '../router.js';

export const produce: Handler = {
  apiKey: ApiKey.Produce,
  minVersion: 0,
  maxVersion: 9,
  async handle(req, { broker, header, log }) {
    const acks = req.acks as number;
    const global =
      header.apiVersion < 3
        ? ErrorCode.UNSUPPORTED_VERSION
        : acks !== 0 && acks !== 1 && acks !== -1
          ? ErrorCode.INVALID_REQUIRED_ACKS
          : req.transactionalId !== null
            ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            : 0;
    if (global === 0) {
      const wait = codecsPending(recordSets(req.topicData as Struct[]));
      if (wait !== null) await wait;
    }
    const now = Date.now();
    const toFlush: PartitionState[] = [];
    /** Cluster acks=all: answered when the high watermark passes the batch (replication is the durability). */
    const replicated: { p: PartitionState; out: Struct; end: bigint }[] = [];
    const responses: Struct[] = [];
    for (const td of req.topicData as Struct[]) {
      const partitionResponses: Struct[] = [];
      responses.push({ name: td.name, partitionResponses });
      const topic = broker.topics.get(td.name);
      for (const pd of td.partitionData as Struct[]) {
        const out: Struct = {
          index: pd.index,
          errorCode: 0,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
        };
        partitionResponses.push(out);
        if (global !== 0) {
          out.errorCode = global;
          continue;
        }
        const p = broker.partition(td.name, pd.index as number);
        if (!topic || !p) {
          // In a cluster, a partition hosted elsewhere: the client's metadata is stale.
          const elsewhere = broker.partitionExists(td.name, pd.index as number);
          out.errorCode = elsewhere ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (p.leader !== broker.nodeId) {
          out.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          continue;
        }
        if (topic.internal) {
          // Only the broker writes its internal topics (__consumer_offsets).
          out.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION;
          out.errorMessage = `${td.name} is an internal topic`;
          continue;
        }
        if (acks === -1 && p.isr.length < topic.logConfig.minInsyncReplicas) {
          out.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS;
          out.errorMessage = `ISR ${p.isr.join(',')} is smaller than min.insync.replicas ${topic.logConfig.minInsyncReplicas}`;
          continue;
        }
        const records = pd.records as Buffer | null;
        if (records === null || records.length === 0) {
          out.errorCode = ErrorCode.CORRUPT_MESSAGE;
          out.errorMessage = 'no records';
          continue;
        }
        const maxBytes = Math.min(topic.logConfig.maxMessageBytes, broker.config.messageMaxBytes);
        const v = validateProduced(records, maxBytes, {
          logAppendTime: topic.logConfig.messageTimestampType === 'LogAppendTime',
          compacted: topic.logConfig.cleanupPolicy.includes('compact'),
          timestampDifferenceMaxMs: topic.logConfig.messageTimestampDifferenceMaxMs,
          now,
        });
        if (!v.ok) {
          out.errorCode = v.errorCode;
          out.errorMessage = v.message;
          out.recordErrors = v.recordErrors.map((e) => ({
            batchIndex: e.batchIndex,
            batchIndexErrorMessage: e.message,
          }));
          log.debug('rejected produce', { topic: td.name, partition: pd.index, reason: v.message });
          continue;
        }
        const logAppendTime = topic.logConfig.messageTimestampType === 'LogAppendTime' ? BigInt(Date.now()) : null;
        try {
          const info = p.log.append(records, v.batches, p.leaderEpoch, logAppendTime);
          out.baseOffset = info.baseOffset;
          out.logAppendTimeMs = info.logAppendTime;
          out.logStartOffset = p.log.logStartOffset;
          broker.notifyAppend(p);
          broker.replicas?.updateHighWatermark(p);
          if (acks === -1) {
            if (broker.cluster) replicated.push({ p, out, end: info.lastOffset + 1n });
            else toFlush.push(p);
          }
        } catch (e) {
          log.error('append failed', { topic: td.name, partition: pd.index, error: e });
          out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          out.errorMessage = (e as Error).message;
        }
      }
    }
    if (toFlush.length > 0) {
      const results = await Promise.allSettled(toFlush.map((p) => p.log.flush()));
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          const p = toFlush[i] as PartitionState;
          log.error('fsync failed', { topic: p.topic, partition: p.index, error: r.reason });
          for (const t of responses) {
            if (t.name !== p.topic) continue;
            for (const pr of t.partitionResponses as Struct[]) {
              if (pr.index === p.index) pr.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
            }
          }
        }
      });
    }
    if (replicated.length > 0) {
      const timeoutMs = Math.max(0, req.timeoutMs as number);
      await Promise.all(replicated.map((r) => waitForHighWatermark(r.p, r.end, timeoutMs, broker.nodeId)));
      for (const r of replicated) {
        if (r.p.log.highWatermark < r.end) {
          r.out.errorCode =
            r.p.leader === broker.nodeId ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_LEADER_OR_FOLLOWER;
          r.out.errorMessage = 'not replicated to the ISR within the request timeout';
        }
      }
    }
    if (acks === 0) return null;
    return { responses, throttleTimeMs: 0 };
  },
};

function* recordSets(topicData: Struct[]): Generator<Buffer | null> {
  for (const td of topicData) for (const pd of td.partitionData as Struct[]) yield pd.records as Buffer | null;
}
