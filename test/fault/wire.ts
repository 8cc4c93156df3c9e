/**
 * One Kafka request on a fresh connection to host:port, with a deadline: what the fault harness uses to look
 * at the cluster (Metadata, ListOffsets, FindCoordinator, OffsetFetch, CreateTopics) while nodes are killed,
 * paused or cut off. A connection that hangs (a paused node, dropped packets) fails after `timeoutMs`
 * instead of waiting for TCP. Our own codec (src/protocol/wire.ts), no client library: the harness must not
 * depend on the client behaviour it is testing.
 */
import { connect } from 'node:net';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/wire.js';

export interface Endpoint {
  host: string;
  port: number;
}

export function request(
  at: Endpoint,
  apiKey: number,
  version: number,
  body: Struct,
  timeoutMs = 3000,
): Promise<Struct> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: at.host, port: at.port });
    let buf = Buffer.alloc(0);
    const done = (e: Error | null, r?: Struct) => {
      clearTimeout(timer);
      socket.destroy();
      if (e) reject(e);
      else resolve(r as Struct);
    };
    const timer = setTimeout(
      () => done(new Error(`no answer from ${at.host}:${at.port} in ${timeoutMs} ms (api ${apiKey})`)),
      timeoutMs,
    );
    socket.on('error', (e) => done(e));
    socket.on('close', () => done(new Error(`${at.host}:${at.port} closed the connection (api ${apiKey})`)));
    socket.on('connect', () => {
      for (const b of encodeRequest({ apiKey, apiVersion: version, correlationId: 1, clientId: 'fault-harness' }, body))
        socket.write(b);
    });
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const size = buf.readInt32BE(0);
      if (buf.length < 4 + size) return;
      const r = decodeResponse(apiKey, version, buf.subarray(4, 4 + size));
      if (r.error) done(new Error(r.error));
      else done(null, r.body);
    });
  });
}

export interface PartitionMeta {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export interface MetadataView {
  brokers: { nodeId: number; host: string; port: number }[];
  controllerId: number;
  partitions: PartitionMeta[];
  topicError: number;
}

/** Metadata of one topic as `at` sees it (no auto-creation). */
export async function metadata(at: Endpoint, topic: string, timeoutMs = 3000): Promise<MetadataView> {
  const md = await request(
    at,
    ApiKey.Metadata,
    9,
    { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
    timeoutMs,
  );
  const t = (md.topics as Struct[])[0];
  return {
    brokers: (md.brokers as Struct[]).map((b) => ({
      nodeId: b.nodeId as number,
      host: b.host as string,
      port: b.port as number,
    })),
    controllerId: md.controllerId as number,
    topicError: (t?.errorCode as number | undefined) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    partitions: ((t?.partitions as Struct[] | undefined) ?? [])
      .map((p) => ({
        partition: p.partitionIndex as number,
        leader: p.leaderId as number,
        leaderEpoch: p.leaderEpoch as number,
        replicas: p.replicaNodes as number[],
        isr: p.isrNodes as number[],
        errorCode: p.errorCode as number,
      }))
      .sort((a, b) => a.partition - b.partition),
  };
}

/** The high watermark of each partition as `at` (their leader) answers ListOffsets(latest); -1 on error. */
export async function highWatermarks(
  at: Endpoint,
  topic: string,
  partitions: readonly number[],
  timeoutMs = 3000,
): Promise<Map<number, { offset: bigint; errorCode: number }>> {
  const r = await request(
    at,
    ApiKey.ListOffsets,
    2,
    {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, timestamp: -1n })) }],
    },
    timeoutMs,
  );
  const out = new Map<number, { offset: bigint; errorCode: number }>();
  for (const t of r.topics as Struct[]) {
    for (const p of t.partitions as Struct[]) {
      out.set(p.partitionIndex as number, { offset: p.offset as bigint, errorCode: p.errorCode as number });
    }
  }
  return out;
}

/** The committed offsets of `group` for `topic`, asked of its coordinator (found through `at`). */
export async function committedOffsets(
  at: Endpoint,
  group: string,
  topic: string,
  partitions: readonly number[],
  resolve: (nodeId: number) => Endpoint | null,
  timeoutMs = 3000,
): Promise<{ coordinator: number; offsets: Map<number, bigint> }> {
  const fc = await request(at, ApiKey.FindCoordinator, 2, { key: group, keyType: 0 }, timeoutMs);
  if ((fc.errorCode as number) !== 0) throw new Error(`FindCoordinator: error ${fc.errorCode}`);
  const coordinator = resolve(fc.nodeId as number) ?? { host: fc.host as string, port: fc.port as number };
  const r = await request(
    coordinator,
    ApiKey.OffsetFetch,
    5,
    { groupId: group, topics: [{ name: topic, partitionIndexes: [...partitions] }] },
    timeoutMs,
  );
  if ((r.errorCode as number) !== 0) throw new Error(`OffsetFetch: error ${r.errorCode}`);
  const out = new Map<number, bigint>();
  for (const t of r.topics as Struct[]) {
    for (const p of t.partitions as Struct[]) {
      if ((p.errorCode as number) !== 0) throw new Error(`OffsetFetch ${p.partitionIndex}: error ${p.errorCode}`);
      out.set(p.partitionIndex as number, p.committedOffset as bigint);
    }
  }
  return { coordinator: fc.nodeId as number, offsets: out };
}

/**
 * Creates `topic` with an explicit assignment (partition → replicas, the first the preferred leader) and
 * configs; resolves with the error code (0, or TOPIC_ALREADY_EXISTS when a retry finds it made).
 */
export async function createTopic(
  at: Endpoint,
  topic: string,
  assignment: readonly (readonly number[])[],
  configs: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const r = await request(
    at,
    ApiKey.CreateTopics,
    4,
    {
      topics: [
        {
          name: topic,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: assignment.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds: [...brokerIds] })),
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs: timeoutMs - 1000,
      validateOnly: false,
    },
    timeoutMs,
  );
  const t = (r.topics as Struct[])[0] as Struct;
  return { errorCode: t.errorCode as number, errorMessage: (t.errorMessage as string | null) ?? null };
}
