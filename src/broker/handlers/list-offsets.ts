/**
 * ListOffsets: earliest (-2), latest (-1), max timestamp (-3, v7+) or the first offset whose timestamp is at
 * or after a given time. The time index finds the batch; that one batch is decoded to find the exact record.
 * With isolation_level 1 (read_committed) latest is the last stable offset.
 *
 * A consumer's lookup by time (and max timestamp) answers only an offset below what it may fetch — the last stable
 * offset for read_committed, the high watermark for read_uncommitted — else no offset (-1, timestamp -1), as
 * Kafka's broker does: a record of an open transaction (or not yet replicated) is never named. Followers' and
 * debugging requests (replica id >= 0 or -2) are not bounded.
 */
import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import { ATTR_LOG_APPEND_TIME } from '../../protocol/records/batch.js';
import { decodeBatch } from '../../protocol/records/record.js';
import { topicDescribable } from '../acl/check.js';
import type { Partition } from '../partition.js';
import { defineHandler } from '../router.js';

type TopicResponse = Item<ResponseInput<typeof Api.ListOffsets>['topics']>;

const EARLIEST = -2n;
const LATEST = -1n;
const MAX_TIMESTAMP = -3n;

async function byTimestamp(p: Partition, ts: bigint): Promise<{ offset: bigint; timestamp: bigint }> {
  const found = await p.log.findOffsetByTimestamp(ts);
  if (!found) return { offset: -1n, timestamp: -1n };
  const { header, records } = await decodeBatch(found.batch);
  const appendTime = (header.attributes & ATTR_LOG_APPEND_TIME) !== 0;
  for (const r of records) {
    const t = appendTime ? header.maxTimestamp : r.timestamp;
    if (t >= ts && r.offset >= p.log.logStartOffset) return { offset: r.offset, timestamp: t };
  }
  return { offset: -1n, timestamp: -1n };
}

async function maxTimestamp(p: Partition): Promise<{ offset: bigint; timestamp: bigint }> {
  const found = await p.log.findMaxTimestampBatch();
  if (!found) return { offset: -1n, timestamp: -1n };
  const { header, records } = await decodeBatch(found.batch);
  if ((header.attributes & ATTR_LOG_APPEND_TIME) !== 0) {
    const last = records[records.length - 1];
    return { offset: last ? last.offset : -1n, timestamp: header.maxTimestamp };
  }
  let best = { offset: -1n, timestamp: -1n };
  for (const r of records)
    if (best.offset === -1n || r.timestamp > best.timestamp) best = { offset: r.offset, timestamp: r.timestamp };
  return best;
}

export const listOffsets = defineHandler(Api.ListOffsets, {
  minVersion: 0,
  maxVersion: 7,
  async handle(req, ctx) {
    const { node, header } = ctx;
    const v = header.apiVersion;
    // read_committed (v2+): the latest offset is the last stable offset (KIP-98).
    const readCommitted = req.isolationLevel === 1;
    const topics: TopicResponse[] = [];
    for (const t of req.topics) {
      const partitions: Item<TopicResponse['partitions']>[] = [];
      topics.push({ name: t.name, partitions });
      const denied = !topicDescribable(ctx, t.name);
      for (const rp of t.partitions) {
        const out: Item<TopicResponse['partitions']> = {
          partitionIndex: rp.partitionIndex,
          errorCode: 0,
          timestamp: -1n,
          offset: -1n,
          leaderEpoch: -1,
          oldStyleOffsets: [],
        };
        partitions.push(out);
        if (denied) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        const p = node.partition(t.name, rp.partitionIndex);
        if (!p?.isLeader) {
          const known = p !== undefined || node.partitionExists(t.name, rp.partitionIndex);
          out.errorCode = known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          continue;
        }
        const ts = rp.timestamp;
        let res: { offset: bigint; timestamp: bigint };
        if (ts === EARLIEST) res = { offset: p.log.logStartOffset, timestamp: -1n };
        else if (ts === LATEST)
          res = { offset: readCommitted ? p.log.lastStableOffset : p.log.highWatermark, timestamp: -1n };
        else if (ts === MAX_TIMESTAMP) res = await maxTimestamp(p);
        else if (ts < 0n) {
          out.errorCode = ErrorCode.INVALID_REQUEST;
          continue;
        } else res = await byTimestamp(p, ts);
        if (ts !== EARLIEST && ts !== LATEST && req.replicaId === -1 && res.offset >= 0n) {
          const lastFetchable = readCommitted ? p.log.lastStableOffset : p.log.highWatermark;
          if (res.offset >= lastFetchable) res = { offset: -1n, timestamp: -1n };
        }
        out.offset = res.offset;
        out.timestamp = res.timestamp;
        out.leaderEpoch = res.offset >= 0n ? p.leaderEpoch : -1;
        if (v === 0) out.oldStyleOffsets = res.offset >= 0n && rp.maxNumOffsets > 0 ? [res.offset] : [];
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
