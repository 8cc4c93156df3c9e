/**
 * A throwaway Kafka "broker" that drops data: answers ApiVersions, Metadata (every topic asked for exists with
 * --partitions partitions, led by this node), CreateTopics (every topic already exists) and Produce (success,
 * made-up offsets) and nothing else. It shows what a producer such as kcat (or `kstream bench produce`) reaches
 * when the broker costs nothing: the ceiling that the real broker is compared with in bench/peers.sh. Frames are parsed and answered with src/protocol; record batches are not
 * looked at.
 *
 *   node --import tsx bench/sink.ts [--port 0] [--partitions 1]     # prints "listening on 127.0.0.1:<port>"
 */
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { Reader } from '../src/protocol/codec/reader.js';
import type { Struct } from '../src/protocol/codec/schema.js';
import { APIS, ApiKey } from '../src/protocol/messages/index.js';
import { decodeRequestBody, decodeRequestHeader, encodeResponse } from '../src/protocol/wire.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, partitions: { type: 'string', default: '1' } },
});
const PARTITIONS = Number(values.partitions);
const HOST = '127.0.0.1';
let port = 0;
const offsets = new Map<string, bigint>();

const SUPPORTED: number[] = [ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.Produce, ApiKey.CreateTopics];
// Fetch is advertised (never answered: a producer does not send it) because librdkafka writes record batches
// (message format v2) only to a broker that has Fetch v4+ too; without it kcat sent v0 message sets (a CRC-32 per
// message) to the sink and v2 batches to kstream: not the same work on the client's side.
const ADVERTISED: number[] = [...SUPPORTED, ApiKey.Fetch];
const maxVersion = (v: string | undefined) => Number((v ?? '0').split('-').pop()?.replace('+', '') ?? 0);

function answer(apiKey: number, body: Struct): Struct {
  switch (apiKey) {
    case ApiKey.ApiVersions:
      return {
        errorCode: 0,
        apiKeys: APIS.filter((a) => ADVERTISED.includes(a.key)).map((a) => ({
          apiKey: a.key,
          minVersion: 0,
          maxVersion: maxVersion(a.request.validVersions),
        })),
        throttleTimeMs: 0,
        supportedFeatures: [],
        finalizedFeaturesEpoch: -1n,
        finalizedFeatures: [],
        zkMigrationReady: false,
      };
    case ApiKey.Metadata: {
      const asked = (body.topics as Struct[] | null) ?? [];
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: HOST, port, rack: null }],
        clusterId: 'sink',
        controllerId: 1,
        topics: asked.map((t) => ({
          errorCode: 0,
          name: t.name,
          topicId: '00000000000000000000000000000000',
          isInternal: false,
          partitions: Array.from({ length: PARTITIONS }, (_, i) => ({
            errorCode: 0,
            partitionIndex: i,
            leaderId: 1,
            leaderEpoch: 0,
            replicaNodes: [1],
            isrNodes: [1],
            offlineReplicas: [],
          })),
          topicAuthorizedOperations: -2147483648,
        })),
        clusterAuthorizedOperations: -2147483648,
      };
    }
    case ApiKey.CreateTopics:
      // Every topic "exists" already (so `kstream bench produce`, which creates its topic first, can run here).
      return {
        throttleTimeMs: 0,
        topics: (body.topics as Struct[]).map((t) => ({
          name: t.name,
          topicId: '00000000000000000000000000000000',
          errorCode: 36, // TOPIC_ALREADY_EXISTS
          errorMessage: null,
          numPartitions: PARTITIONS,
          replicationFactor: 1,
          configs: [],
        })),
      };
    default: {
      // Produce
      return {
        responses: (body.topicData as Struct[]).map((t) => ({
          name: t.name,
          partitionResponses: (t.partitionData as Struct[]).map((p) => {
            const key = `${t.name}/${p.index}`;
            const base = offsets.get(key) ?? 0n;
            const recs = p.records as Buffer | null;
            // lastOffsetDelta + 1 records in each batch would be exact; a rough count is enough for a sink.
            offsets.set(key, base + BigInt(recs ? recs.length : 0));
            return {
              index: p.index,
              errorCode: 0,
              baseOffset: base,
              logAppendTimeMs: -1n,
              logStartOffset: 0n,
              recordErrors: [],
              errorMessage: null,
            };
          }),
        })),
        throttleTimeMs: 0,
      };
    }
  }
}

function serve(sock: Socket): void {
  sock.setNoDelay(true);
  // Pieces of the frame being received: joined once it is complete (never re-copied per TCP chunk).
  let pieces: Buffer[] = [];
  let have = 0;
  let need = -1;
  const handle = (frame: Buffer): Buffer[] | null => {
    const r = new Reader(frame);
    const h = decodeRequestHeader(r);
    if (!SUPPORTED.includes(h.apiKey)) return null;
    const body = decodeRequestBody(h, r) ?? {};
    if (h.apiKey === ApiKey.Produce && body.acks === 0) return [];
    return encodeResponse(h.apiKey, h.apiVersion, h.correlationId, answer(h.apiKey, body));
  };
  sock.on('data', (d: Buffer) => {
    pieces.push(d);
    have += d.length;
    const out: Buffer[] = [];
    for (;;) {
      if (need < 0) {
        if (have < 4) break;
        const head = pieces[0]!.length >= 4 ? pieces[0]! : Buffer.concat(pieces);
        need = 4 + head.readInt32BE(0);
      }
      if (have < need) break;
      const all = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, have);
      const res = handle(all.subarray(4, need));
      if (res === null) {
        sock.destroy();
        return;
      }
      out.push(...res);
      const rest = all.subarray(need);
      pieces = rest.length > 0 ? [rest] : [];
      have = rest.length;
      need = -1;
    }
    if (out.length > 0) sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  });
  sock.on('error', () => sock.destroy());
}

const server = createServer(serve);
server.listen(Number(values.port), HOST, () => {
  const a = server.address();
  port = typeof a === 'object' && a ? a.port : 0;
  process.stdout.write(`listening on ${HOST}:${port}\n`);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
