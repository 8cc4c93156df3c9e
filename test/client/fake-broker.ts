/**
 * A scriptable Kafka-speaking TCP server on 127.0.0.1 for connection tests: it decodes request frames with our
 * codec and lets the test decide what to answer (or not), so timeouts, version negotiation and framing edge
 * cases can be provoked on purpose.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Reader } from '../../src/protocol/codec/reader.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { decodeRequestBody, decodeRequestHeader, encodeResponse, type RequestHeader } from '../../src/protocol/wire.js';

export interface FakeRequest {
  header: RequestHeader;
  body: Struct | null;
  socket: Socket;
  /** Answer with a body encoded for the request's api/version. */
  reply(body: Struct): void;
  /** Write raw bytes. */
  write(bytes: Buffer): void;
}

export interface FakeBroker {
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

export function frameOf(apiKey: number, version: number, correlationId: number, body: Struct): Buffer {
  return Buffer.concat(encodeResponse(apiKey, version, correlationId, body));
}

export async function startFakeBroker(onRequest: (req: FakeRequest) => void): Promise<FakeBroker> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const size = buf.readInt32BE(0);
        const frame = buf.subarray(4, 4 + size);
        buf = buf.subarray(4 + size);
        const r = new Reader(frame);
        const header = decodeRequestHeader(r);
        const body = decodeRequestBody(header, r);
        onRequest({
          header,
          body,
          socket,
          reply: (b) => socket.write(frameOf(header.apiKey, header.apiVersion, header.correlationId, b)),
          write: (bytes) => socket.write(bytes),
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An ApiVersions v0-3 body advertising the given ranges. */
export function apiVersionsBody(ranges: Record<number, [number, number]>): Struct {
  return {
    errorCode: 0,
    apiKeys: Object.entries(ranges).map(([k, [min, max]]) => ({ apiKey: Number(k), minVersion: min, maxVersion: max })),
    throttleTimeMs: 0,
  };
}
