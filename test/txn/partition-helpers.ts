/**
 * Raw-wire helpers for the partition side of transactions (issue 17): a test plays the transaction coordinator
 * (WriteTxnMarkers) and the transactional producer (transactional batches from the record-batch builder, with a
 * producer id InitProducerId gave), against a real `kstream serve`.
 */
import assert from 'node:assert/strict';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ATTR_TRANSACTIONAL } from '../../src/protocol/records/batch.js';
import { buildBatch, decodeRecordSet } from '../../src/protocol/records/record.js';
import type { RawClient } from '../helpers/raw-client.js';

export interface Pid {
  producerId: bigint;
  producerEpoch: number;
}

export async function initProducerId(c: RawClient): Promise<Pid> {
  const r = await c.request(ApiKey.InitProducerId, 4, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  assert.equal(r.errorCode, 0, 'InitProducerId');
  return { producerId: r.producerId as bigint, producerEpoch: r.producerEpoch as number };
}

export async function createTopic(
  c: RawClient,
  name: string,
  configs: Record<string, string> = {},
  partitions = 1,
  replicationFactor = 1,
): Promise<void> {
  const r = await c.request(ApiKey.CreateTopics, 5, {
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal((r.topics[0] as Struct).errorCode, 0);
}

/** A batch of `values` from `pid` at sequence `seq`, transactional unless `transactional` is false. */
export function batch(pid: Pid, seq: number, values: string[], transactional = true): Promise<Buffer> {
  return buildBatch({
    records: values.map((value) => ({ value })),
    producerId: pid.producerId,
    producerEpoch: pid.producerEpoch,
    baseSequence: seq,
    attributesExtra: transactional ? ATTR_TRANSACTIONAL : 0,
  });
}

/** Produce (v9, acks=all) to partition 0; the partition's answer. */
export async function produce(
  c: RawClient,
  topic: string,
  records: Buffer,
  transactionalId: string | null = 'tx',
): Promise<Struct> {
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return r.responses[0].partitionResponses[0] as Struct;
}

/** WriteTxnMarkers v1 for one producer; the error code of each (topic, partition) asked, in order. */
export async function writeMarkers(
  c: RawClient,
  pid: Pid,
  commit: boolean,
  partitions: { topic: string; partition: number }[],
  coordinatorEpoch = 0,
  version = 1,
): Promise<number[]> {
  const topics = new Map<string, number[]>();
  for (const p of partitions) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p.partition]);
  const r = await c.request(ApiKey.WriteTxnMarkers, version, {
    markers: [
      {
        producerId: pid.producerId,
        producerEpoch: pid.producerEpoch,
        transactionResult: commit,
        topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        coordinatorEpoch,
      },
    ],
  });
  const m = r.markers[0] as Struct;
  assert.equal(m.producerId, pid.producerId);
  const codes = new Map<string, number>();
  for (const t of m.topics as Struct[]) {
    for (const p of t.partitions as Struct[]) codes.set(`${t.name}/${p.partitionIndex}`, p.errorCode as number);
  }
  return partitions.map((p) => codes.get(`${p.topic}/${p.partition}`) as number);
}

export interface FetchAnswer {
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  aborted: { producerId: bigint; firstOffset: bigint }[] | null;
  /** Values of the data records returned (control batches left out), and their offsets. */
  values: string[];
  offsets: bigint[];
}

/** Fetch v11 of partition 0 from `offset` with isolation level 0 or 1 (no wait). */
export async function fetch(c: RawClient, topic: string, offset: bigint, isolationLevel: 0 | 1): Promise<FetchAnswer> {
  const r = await c.request(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: offset,
            logStartOffset: -1n,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const p = r.responses[0].partitions[0] as Struct;
  const records = (p.records as Buffer | null) ?? Buffer.alloc(0);
  const recs = await decodeRecordSet(records, { skipControlBatches: true });
  return {
    errorCode: p.errorCode as number,
    highWatermark: p.highWatermark as bigint,
    lastStableOffset: p.lastStableOffset as bigint,
    aborted: (p.abortedTransactions as FetchAnswer['aborted']) ?? null,
    values: recs.map((x) => (x.value as Buffer).toString()),
    offsets: recs.map((x) => x.offset),
  };
}

/** ListOffsets v7 latest of partition 0 with isolation level 0 or 1. */
export async function latest(c: RawClient, topic: string, isolationLevel: 0 | 1): Promise<bigint> {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  const p = r.topics[0].partitions[0] as Struct;
  assert.equal(p.errorCode, 0);
  return p.offset as bigint;
}
