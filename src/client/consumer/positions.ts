/**
 * Where assigned partitions start: the group's committed offsets for those waiting for them ('committed'),
 * then one ListOffsets round for the rest (earliest, latest, the first offset at or after a time, or N back
 * from the end, never before the log start). A partition without a committed offset falls back to
 * autoOffsetReset. Answers for a partition that was sought, revoked or reset meanwhile (its incarnation moved
 * on) are dropped.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { Cluster } from '../cluster.js';
import { tpKey } from '../group.js';
import type { CommittedOffset } from '../group-api.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type ListOffsetsItem, listOffsets } from '../list-offsets.js';
import type { AssignedPartition, OffsetResetPolicy } from './assigned-partition.js';

export interface PositionSources {
  cluster: Cluster;
  groupId: string | undefined;
  autoOffsetReset: OffsetResetPolicy;
  /** read_committed (1): 'latest' and 'N back from the end' count from the last stable offset. */
  isolationLevel?: 0 | 1;
  /** The group's committed offsets of these partitions. */
  committedOffsets(partitions: readonly AssignedPartition[]): Promise<CommittedOffset[]>;
  /** The partition is still assigned (the same object). */
  isAssigned(p: AssignedPartition): boolean;
}

/**
 * Set the position (and fetch offset) of each partition of `todo` whose reset can be resolved. Returns true
 * when the committed offset or ListOffsets gave a retriable error for some (a coordinator or leader moving: try
 * again later). Throws a non-retriable error, or OFFSET_OUT_OF_RANGE when autoOffsetReset is 'none' and there
 * is nowhere to start.
 */
export async function findPositions(todo: readonly AssignedPartition[], src: PositionSources): Promise<boolean> {
  const autoOffsetReset = src.autoOffsetReset;
  const incarnations = new Map(todo.map((p) => [p, p.incarnation]));
  const committed = todo.filter((p) => p.reset === 'committed');
  let retry = false;
  if (committed.length > 0) {
    const groupId = src.groupId!;
    const res = await src.committedOffsets(committed);
    const found = new Map(res.map((r) => [tpKey(r.topic, r.partition), r]));
    for (const p of committed) {
      if (p.incarnation !== incarnations.get(p)) continue;
      const r = found.get(tpKey(p.topic, p.partition));
      if (r?.error && !r.error.retriable) throw r.error;
      if (r?.error) retry = true;
      if (r && !r.error && r.offset >= 0n) {
        p.position = r.offset;
        p.fetchOffset = r.offset;
        p.lastCommitted = r.offset;
        p.reset = null;
      } else if (!r?.error) {
        if (autoOffsetReset === 'none') {
          throw new KafkaError(
            ErrorCode.OFFSET_OUT_OF_RANGE,
            `no committed offset for ${p.topic}/${p.partition} in group ${groupId} and autoOffsetReset is 'none'`,
          );
        }
        p.reset = autoOffsetReset;
      }
    }
  }
  const items: ListOffsetsItem[] = [];
  const plan: { p: AssignedPartition; kind: 'earliest' | 'latest' | 'time' | 'fromEnd'; at: number[] }[] = [];
  for (const p of todo) {
    const r = p.reset;
    if (r === null || r === 'committed' || p.incarnation !== incarnations.get(p)) continue;
    if (r === 'none') {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `no offset to start ${p.topic}/${p.partition} from and autoOffsetReset is 'none'`,
      );
    }
    const at: number[] = [];
    const push = (timestamp: bigint) => {
      at.push(items.length);
      items.push({ topic: p.topic, partition: p.partition, timestamp });
    };
    if (r === 'earliest') {
      push(EARLIEST_TIMESTAMP);
      plan.push({ p, kind: 'earliest', at });
    } else if (r === 'latest') {
      push(LATEST_TIMESTAMP);
      plan.push({ p, kind: 'latest', at });
    } else if ('fromEnd' in r) {
      push(EARLIEST_TIMESTAMP);
      push(LATEST_TIMESTAMP);
      plan.push({ p, kind: 'fromEnd', at });
    } else {
      const t = r.timestamp;
      push(t instanceof Date ? BigInt(t.getTime()) : BigInt(t));
      push(LATEST_TIMESTAMP);
      plan.push({ p, kind: 'time', at });
    }
  }
  if (items.length === 0) return retry;
  const results = await listOffsets(src.cluster, items, { isolationLevel: src.isolationLevel ?? 0 });
  for (const { p, kind, at } of plan) {
    if (p.incarnation !== incarnations.get(p) || !src.isAssigned(p)) continue;
    const rs = at.map((i) => results[i]!);
    const err = rs.find((r) => r.error)?.error;
    if (err) {
      if (err.retriable) {
        retry = true;
        continue;
      }
      throw err;
    }
    let offset: bigint;
    if (kind === 'earliest' || kind === 'latest') offset = rs[0]!.offset;
    else if (kind === 'fromEnd') {
      const back = (p.reset as { fromEnd: bigint }).fromEnd;
      offset = rs[1]!.offset - back;
      if (offset < rs[0]!.offset) offset = rs[0]!.offset;
    } else offset = rs[0]!.offset >= 0n ? rs[0]!.offset : rs[1]!.offset;
    p.position = offset;
    p.fetchOffset = offset;
    p.reset = null;
  }
  return retry;
}
