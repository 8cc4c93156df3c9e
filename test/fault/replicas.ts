/**
 * Reads a replica of a partition straight from a node's data dir, as the checker's final read: every segment
 * file (`<topic>-<p>/<20 digits>.log`) in offset order, every batch decoded with our record codec (length,
 * magic, CRC checked). Read-only, no lock taken, so it works on a live node (the harness reads once nothing
 * is written any more) and on a dead one. What cannot be read is reported as a problem, never skipped
 * silently: a torn or damaged batch ends that segment's read.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HW_CHECKPOINT_FILE, hwKey, parseHwCheckpoint } from '../../src/cluster/hw-checkpoint.js';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, OFF } from '../../src/protocol/records/batch.js';
import { decodeBatch, isControlBatch } from '../../src/protocol/records/record.js';

export interface ReplicaRecord {
  offset: number;
  /** UTF-8 value (null for a null value). */
  value: string | null;
  /** The leader epoch stamped on its batch. */
  epoch: number;
}

export interface ReplicaLog {
  node: number;
  /** False when the node has no dir for the partition. */
  exists: boolean;
  /** Records in offset order. */
  records: ReplicaRecord[];
  /** First and next offset of the log's batches (null/0 when empty). */
  firstOffset: number | null;
  logEndOffset: number;
  /** The node's checkpointed high watermark for the partition (replication-offset-checkpoint), if any. */
  checkpointedHw: number | null;
  problems: string[];
}

const SEGMENT = /^(\d{20})\.log$/;

export async function readReplica(
  node: number,
  dataDir: string,
  topic: string,
  partition: number,
): Promise<ReplicaLog> {
  const dir = join(dataDir, `${topic}-${partition}`);
  const out: ReplicaLog = {
    node,
    exists: existsSync(dir),
    records: [],
    firstOffset: null,
    logEndOffset: 0,
    checkpointedHw: null,
    problems: [],
  };
  try {
    const text = readFileSync(join(dataDir, HW_CHECKPOINT_FILE), 'utf8');
    const hw = parseHwCheckpoint(text).get(hwKey(topic, partition));
    if (hw !== undefined) out.checkpointedHw = Number(hw);
  } catch {
    // no checkpoint yet
  }
  if (!out.exists) return out;
  const segments = readdirSync(dir)
    .map((f) => SEGMENT.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: m[0], base: Number(m[1]) }))
    .sort((a, b) => a.base - b.base);
  for (const seg of segments) {
    const buf = readFileSync(join(dir, seg.file));
    let pos = 0;
    while (pos < buf.length) {
      const left = buf.length - pos;
      if (left < LOG_OVERHEAD) {
        out.problems.push(`${seg.file}: ${left} stray bytes at the end (byte ${pos})`);
        break;
      }
      const batchLength = buf.readInt32BE(pos + OFF.batchLength);
      if (batchLength === 0 && buf.subarray(pos).every((b) => b === 0)) {
        out.problems.push(`${seg.file}: ${left} zero bytes at the end (byte ${pos})`);
        break;
      }
      const size = batchLength + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE || size > left) {
        out.problems.push(
          `${seg.file}: torn or impossible batch at byte ${pos} (length ${batchLength}, ${left} bytes left)`,
        );
        break;
      }
      try {
        const batch = await decodeBatch(buf, pos);
        if (!isControlBatch(batch.header)) {
          for (const r of batch.records) {
            out.records.push({
              offset: Number(r.offset),
              value: r.value === null ? null : r.value.toString('utf8'),
              epoch: batch.header.partitionLeaderEpoch,
            });
          }
        }
        const base = Number(batch.header.baseOffset);
        out.firstOffset ??= base;
        out.logEndOffset = base + batch.header.lastOffsetDelta + 1;
      } catch (e) {
        out.problems.push(`${seg.file}: batch at byte ${pos} does not decode: ${(e as Error).message}`);
        break;
      }
      pos += size;
    }
  }
  return out;
}
