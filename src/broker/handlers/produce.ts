/**
 * Produce: validate each partition's batches (headers, CRC, and every record's framing walked in place, as
 * Kafka's LogValidator does: src/protocol/records/validate.ts), append them as received with offsets assigned
 * in place (Partition.appendAsLeader), and answer per the acks table: acks=0 no response, acks=1 after the
 * append, acks=all once the batch is as durable as the partition's ISR makes it (replicated to the ISR; alone
 * in it, an fsync covering the batch). A refused batch is answered with its error code, the error message and
 * the records at fault (v8+), and nothing of it is stored.
 * Validation and append run without yielding, so requests append in the order they arrived; the one wait
 * before them is the zstd module's first load (codecsPending).
 * Versions 0-2 (message formats v0/v1) are advertised, as librdkafka expects, and answered UNSUPPORTED_VERSION.
 * Idempotent batches (KIP-98) are checked against the partition's producer state by the log (a retry is
 * answered with its original offsets, not stored twice); a producer id no node ever handed out is
 * UNKNOWN_PRODUCER_ID. Transactional batches (KIP-98, a transactional id in the request) are stored the same way;
 * the partition's producer state opens the producer's transaction at the first one (src/storage/producer-state.ts).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api, type Item, type RequestOf, type ResponseInput } from '../../protocol/messages/index.js';
import { type BatchHeader, OFF } from '../../protocol/records/batch.js';
import { codecsPending, validateProduced } from '../../protocol/records/validate.js';
import { allowed, Op, Res } from '../acl/check.js';
import type { TopicStats } from '../metrics.js';
import { throttle } from '../quota/throttle.js';
import { defineHandler } from '../router.js';
import { isInternalTopic } from '../topic-admin.js';

type TopicResponse = Item<ResponseInput<typeof Api.Produce>['responses']>;
type PartitionResponse = Item<TopicResponse['partitionResponses']>;

export const produce = defineHandler(Api.Produce, {
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const { node, header, log } = ctx;
    const acks = req.acks;
    const global =
      header.apiVersion < 3
        ? ErrorCode.UNSUPPORTED_VERSION
        : acks !== 0 && acks !== 1 && acks !== -1
          ? ErrorCode.INVALID_REQUIRED_ACKS
          : // A transactional producer needs WRITE on its transactional id (Kafka's check before the topics').
            req.transactionalId != null && !allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)
            ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            : 0;
    if (global === 0) {
      const wait = codecsPending(recordSets(req.topicData));
      if (wait !== null) await wait;
      // A producer id above every block this node knows of: another node may have just claimed it.
      const pids = node.producerIds;
      if (!pids.isAllocated(maxProducerId(req.topicData))) await pids.refresh();
    }
    const now = Date.now();
    /** acks=all: each partition's answer once its batch is durable (or not). */
    const durable: Promise<void>[] = [];
    const timeoutMs = Math.max(0, req.timeoutMs);
    const responses: TopicResponse[] = [];
    const counted: [TopicStats, PartitionResponse[]][] = [];
    for (const td of req.topicData) {
      const partitionResponses: PartitionResponse[] = [];
      responses.push({ name: td.name, partitionResponses });
      // Per topic, per partition of the request: plain counters (metrics.ts), the record count from batch headers.
      const stats = node.metrics.topic(td.name);
      stats.produceRequests += td.partitionData.length;
      counted.push([stats, partitionResponses]);
      // WRITE on the topic, once per topic (the decision is cached per connection).
      const denied = global === 0 && !allowed(ctx, Op.WRITE, Res.TOPIC, td.name);
      for (const pd of td.partitionData) {
        const out: PartitionResponse = {
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
        if (denied) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        const p = node.partition(td.name, pd.index);
        if (!p) {
          // A partition hosted elsewhere: the client's metadata is stale.
          const elsewhere = node.partitionExists(td.name, pd.index);
          out.errorCode = elsewhere ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        if (!p.isLeader) {
          out.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
          continue;
        }
        if (isInternalTopic(td.name)) {
          // Only the broker writes its internal topics (__consumer_offsets).
          out.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION;
          out.errorMessage = `${td.name} is an internal topic`;
          continue;
        }
        const config = p.log.config;
        try {
          // The partition's refusals (NOT_ENOUGH_REPLICAS) come before the records are looked at, as Kafka's.
          p.checkLeader(acks, config.minInsyncReplicas);
        } catch (e) {
          out.errorCode = (e as KafkaError).code;
          out.errorMessage = (e as KafkaError).detail;
          continue;
        }
        const records = pd.records;
        if (records === null || records.length === 0) {
          out.errorCode = ErrorCode.CORRUPT_MESSAGE;
          out.errorMessage = 'no records';
          continue;
        }
        const maxBytes = Math.min(config.maxMessageBytes, node.config.messageMaxBytes);
        const v = validateProduced(records, maxBytes, {
          logAppendTime: config.messageTimestampType === 'LogAppendTime',
          compacted: config.cleanupPolicy.includes('compact'),
          timestampDifferenceMaxMs: config.messageTimestampDifferenceMaxMs,
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
        const producerId = (v.batches[0] as BatchHeader).producerId;
        if (producerId >= 0n && !node.producerIds.isAllocated(producerId)) {
          out.errorCode = ErrorCode.UNKNOWN_PRODUCER_ID;
          out.errorMessage = `producer id ${producerId} was never allocated (InitProducerId gives one)`;
          continue;
        }
        const logAppendTime = config.messageTimestampType === 'LogAppendTime' ? BigInt(now) : null;
        try {
          const a = p.appendAsLeader(records, v.batches, {
            acks,
            timeoutMs,
            minInsyncReplicas: config.minInsyncReplicas,
            logAppendTime,
          });
          stats.messagesIn += v.records;
          stats.bytesIn += records.length;
          out.baseOffset = a.info.baseOffset;
          out.logAppendTimeMs = a.info.logAppendTime;
          out.logStartOffset = p.log.logStartOffset;
          if (acks === -1) {
            durable.push(
              a.durable.catch((e: unknown) => {
                if (e instanceof KafkaError) {
                  out.errorCode = e.code;
                  out.errorMessage = e.detail;
                } else {
                  log.error('fsync failed', { topic: p.topic, partition: p.index, error: e });
                  out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
                }
              }),
            );
          }
        } catch (e) {
          if (e instanceof KafkaError) {
            out.errorCode = e.code;
            out.errorMessage = e.detail;
            continue;
          }
          log.error('append failed', { topic: td.name, partition: pd.index, error: e });
          out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
          out.errorMessage = (e as Error).message;
        }
      }
    }
    if (durable.length > 0) {
      const waited = performance.now();
      await Promise.all(durable);
      ctx.remoteMs += performance.now() - waited;
    }
    for (const [stats, partitions] of counted) {
      for (const p of partitions) if (p.errorCode !== 0) stats.failedProduceRequests++;
    }
    // producer_byte_rate (quota/quotas.ts): one boolean when no quota is stored.
    const throttleTimeMs = node.quotas.producerActive
      ? await throttle(ctx, 'produce', ctx.requestBytes, header.apiVersion >= 6 || acks === 0)
      : 0;
    if (acks === 0) return null;
    return { responses, throttleTimeMs };
  },
});

function* recordSets(topicData: RequestOf<typeof Api.Produce>['topicData']): Generator<Buffer | null> {
  for (const td of topicData) for (const pd of td.partitionData) yield pd.records;
}

/** The largest producer id in the first batch header of each partition's records (-1n: none). */
function maxProducerId(topicData: RequestOf<typeof Api.Produce>['topicData']): bigint {
  let max = -1n;
  for (const records of recordSets(topicData)) {
    if (records === null || records.length < OFF.producerId + 8) continue;
    const pid = records.readBigInt64BE(OFF.producerId);
    if (pid > max) max = pid;
  }
  return max;
}
