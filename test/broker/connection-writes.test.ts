/**
 * The answers a connection writes in one turn go out in one vectored write (issue 22): librdkafka sends one
 * partition's batch per Produce request, so a producer into thousands of partitions pipelines thousands of small
 * requests, and one write syscall per answer was a fifth of the broker's time. A real Connection on a real
 * loopback socket; the server socket's write calls (_write/_writev, one syscall each) are counted, not replaced.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { Connection, connectionLimits, type Dispatch } from '../../src/broker/connection.js';
import { silentLogger } from '../../src/util/logger.js';
import { until } from '../helpers/until.js';

/** A request frame: size, api key 0 (Produce) v3, correlation id, client id "t", and a few body bytes. */
function frame(correlationId: number): Buffer {
  const b = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 1 + 8);
  b.writeInt32BE(b.length - 4, 0);
  b.writeInt16BE(0, 4);
  b.writeInt16BE(3, 6);
  b.writeInt32BE(correlationId, 8);
  b.writeInt16BE(1, 12);
  b.write('t', 14);
  return b;
}

/** An answer: size prefix and the correlation id. */
function answer(correlationId: number): Buffer[] {
  const b = Buffer.alloc(8);
  b.writeInt32BE(4, 0);
  b.writeInt32BE(correlationId, 4);
  return [b];
}

async function withServer(
  dispatch: Dispatch,
  f: (port: number, server: { socket: Socket | null; reads: number; writes: number }) => Promise<void>,
): Promise<void> {
  const seen = { socket: null as Socket | null, reads: 0, writes: 0 };
  const limits = connectionLimits({
    socketRequestMaxBytes: 1024 * 1024,
    queuedMaxRequestBytes: -1,
    queuedMaxResponseBytesPerConnection: 1024 * 1024,
  });
  const server: Server = createServer((socket) => {
    seen.socket = socket;
    // Count the socket's writes to the kernel: each call of _write/_writev is one write syscall.
    const s = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
    for (const name of ['_write', '_writev'] as const) {
      const orig = s[name].bind(socket);
      s[name] = (...a: unknown[]) => {
        seen.writes++;
        return orig(...a);
      };
    }
    socket.on('data', () => seen.reads++);
    new Connection(socket, dispatch, limits, silentLogger, () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await f((server.address() as { port: number }).port, seen);
  } finally {
    seen.socket?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('pipelined requests read together are answered in order in one write', async () => {
  const N = 20;
  // Each request answered at once (as a produce is, after its append), in its own promise.
  const dispatch: Dispatch = async ({ header }) => answer(header.correlationId);
  await withServer(dispatch, async (port, seen) => {
    const client = connect({ host: '127.0.0.1', port });
    try {
      await new Promise<void>((r) => client.once('connect', () => r()));
      let got = Buffer.alloc(0);
      client.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
      });
      // All N requests in one write: the broker reads them in one (or a few) reads.
      client.write(Buffer.concat(Array.from({ length: N }, (_, i) => frame(i + 1))));
      await until('every answer', async () => got.length >= 8 * N, 10_000);
      const ids = Array.from({ length: N }, (_, i) => got.readInt32BE(8 * i + 4));
      assert.deepEqual(
        ids,
        Array.from({ length: N }, (_, i) => i + 1),
        'every answer, in request order',
      );
      assert.ok(seen.reads >= 1);
      // One write per turn that read requests (before: one per answer, N).
      assert.ok(
        seen.writes <= seen.reads,
        `${seen.writes} writes for ${N} answers of requests that came in ${seen.reads} read(s)`,
      );
    } finally {
      client.destroy();
    }
  });
});

test('answers gathered in a turn are written before a malformed request closes the connection', async () => {
  // Requests 1-3 answered; request 4 is refused (the router's CLOSE for a malformed request).
  const { CLOSE } = await import('../../src/broker/connection.js');
  const dispatch: Dispatch = async ({ header }) => (header.correlationId === 4 ? CLOSE : answer(header.correlationId));
  await withServer(dispatch, async (port) => {
    const client = connect({ host: '127.0.0.1', port });
    try {
      await new Promise<void>((r) => client.once('connect', () => r()));
      let got = Buffer.alloc(0);
      let closed = false;
      client.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
      });
      client.on('close', () => {
        closed = true;
      });
      client.on('error', () => {});
      client.write(Buffer.concat([1, 2, 3, 4, 5].map(frame)));
      await until('the connection closed', async () => closed, 10_000);
      assert.equal(got.length, 8 * 3, 'the three answers before the refused request');
      assert.deepEqual(
        [0, 1, 2].map((i) => got.readInt32BE(8 * i + 4)),
        [1, 2, 3],
      );
    } finally {
      client.destroy();
    }
  });
});
