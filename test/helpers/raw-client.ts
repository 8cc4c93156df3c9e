/**
 * A bare Kafka protocol connection for tests: sends requests encoded by our codec and decodes responses.
 * Also lets a test write arbitrary bytes, to probe the broker's handling of bad input.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { decodeResponse, encodeRequest } from '../../src/protocol/wire.js';

export class RawClient {
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private pending = new Map<
    number,
    { apiKey: number; version: number; resolve: (b: Struct) => void; reject: (e: Error) => void }
  >();
  closed = false;
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
      for (const w of this.closeWaiters) w();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Over TLS, trusting `ca` (PEM). */
  static connectTls(port: number, ca: string | Buffer): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Connect, run `f`, close (also when `f` throws). */
  static async using<T>(port: number, f: (c: RawClient) => Promise<T>): Promise<T> {
    const c = await RawClient.connect(port);
    try {
      return await f(c);
    } finally {
      c.close();
    }
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + size) break;
      const frame = this.buf.subarray(4, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      const id = frame.readInt32BE(0);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      const r = decodeResponse(p.apiKey, p.version, frame);
      if (r.error) p.reject(new Error(r.error));
      else p.resolve(r.body);
    }
  }

  request(
    apiKey: number,
    version: number,
    body: Struct,
    opts: { noResponse?: boolean; clientId?: string } = {},
  ): Promise<Struct> {
    const correlationId = this.nextId++;
    const clientId = opts.clientId ?? 'raw-test';
    const frame = encodeRequest({ apiKey, apiVersion: version, correlationId, clientId }, body);
    for (const b of frame) this.socket.write(b);
    if (opts.noResponse) return Promise.resolve({});
    return new Promise((resolve, reject) => this.pending.set(correlationId, { apiKey, version, resolve, reject }));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves true if the broker closes the connection within `ms`. */
  waitClosed(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
