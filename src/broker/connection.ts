/**
 * One client connection: length-prefixed framing, many requests in flight, responses written strictly in
 * request order (Kafka's guarantee). The size prefix is checked against `socket.request.max.bytes` before any
 * allocation; a malformed or oversized frame closes only this connection.
 */
import type { Socket } from 'node:net';
import { Reader } from '../protocol/codec/reader.js';
import type { Struct } from '../protocol/codec/schema.js';
import { ApiKey } from '../protocol/messages/index.js';
import { decodeRequestHeader, type RequestHeader } from '../protocol/wire.js';
import { BufferPool } from '../util/buffer-pool.js';
import type { Logger } from '../util/logger.js';

/** What the router gives back for one request: the frame pieces, or null for "no response" (acks=0). */
export type Reply = Buffer[] | null;

export interface RequestContext {
  header: RequestHeader;
  /** Request bytes after the header, for the router to decode. */
  reader: Reader;
  connection: Connection;
}

export type Dispatch = (ctx: RequestContext) => Promise<Reply>;

interface Slot {
  done: boolean;
  reply: Reply;
}

export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private queue: Slot[] = [];
  private closed = false;
  readonly remote: string;
  /** Per-connection state handlers may keep (e.g. negotiated versions). */
  readonly state: Struct = {};

  constructor(
    readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly maxRequestBytes: number,
    private readonly log: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('error', (e) => this.log.debug('connection error', { remote: this.remote, error: e.message }));
    socket.on('close', () => {
      this.closed = true;
      this.queue = [];
      this.chunks = [];
      this.onClose(this);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason) this.log.warn('closing connection', { remote: this.remote, reason });
    this.closed = true;
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    this.chunks.push(d);
    this.buffered += d.length;
    while (this.buffered >= 4) {
      const size = this.peekSize();
      if (size < 0 || size > this.maxRequestBytes) {
        this.close(`request size ${size} outside 0..socket.request.max.bytes (${this.maxRequestBytes})`);
        return;
      }
      if (this.buffered < 4 + size) break;
      const pool =
        (this.chunks[0] as Buffer).length < 4 + size &&
        size >= MIN_POOLED &&
        size <= MAX_POOLED &&
        this.apiKeyAt4() === ApiKey.Produce;
      // The frame's copy goes into a pool buffer, given back once the request is answered.
      const pooled = pool ? framePool.get(4 + size) : null;
      const frame = this.take(4 + size, pooled).subarray(4);
      this.handleFrame(frame, pooled);
      if (this.closed) return;
    }
  }

  private peekSize(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, this.buffered).subarray(0, 4);
    return head.readInt32BE(0);
  }

  /** The api key of the buffered frame (the int16 after its size), when it spans chunks. */
  private apiKeyAt4(): number {
    let hi = -1;
    let at = 4;
    for (const c of this.chunks) {
      while (at < c.length) {
        if (hi < 0) hi = c[at++] as number;
        else return (((hi << 8) | (c[at] as number)) << 16) >> 16;
      }
      at -= c.length;
    }
    return -1;
  }

  /** The next n buffered bytes, contiguous: a view of one chunk, or a copy (into `into` when given). */
  private take(n: number, into: Buffer | null = null): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = into === null ? Buffer.allocUnsafe(n) : into.subarray(0, n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  private handleFrame(frame: Buffer, pooled: Buffer | null): void {
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    if (reader.bad) {
      this.close(`malformed request header: ${reader.reason}`);
      return;
    }
    const slot: Slot = { done: false, reply: null };
    this.queue.push(slot);
    this.dispatch({ header, reader, connection: this }).then(
      (reply) => {
        // A produce handler has written the records before it settles and keeps no view of them.
        if (pooled !== null) framePool.release(pooled);
        this.complete(slot, reply);
      },
      (err: unknown) => {
        this.log.error('request failed', {
          remote: this.remote,
          apiKey: header.apiKey,
          apiVersion: header.apiVersion,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        this.close('internal error while handling a request');
      },
    );
  }

  private complete(slot: Slot, reply: Reply): void {
    slot.done = true;
    slot.reply = reply;
    if (this.closed) return;
    this.socket.cork();
    while (this.queue.length > 0 && (this.queue[0] as Slot).done) {
      const s = this.queue.shift() as Slot;
      if (s.reply === null) continue;
      if (s.reply === CLOSE) {
        this.close('malformed request');
        return;
      }
      for (const b of s.reply) this.socket.write(b);
    }
    this.socket.uncork();
    // Backpressure: a client that does not read its responses stops being read from.
    if (this.socket.writableLength > HIGH_WATER && !this.socket.isPaused()) {
      this.socket.pause();
      this.socket.once('drain', () => this.socket.resume());
    }
  }
}

const HIGH_WATER = 64 * 1024 * 1024;
/** Produce frames up to this size are assembled in a reused buffer (kcat and kstream bench send ~1 MiB). */
const MAX_POOLED = 8 * 1024 * 1024;
const MIN_POOLED = 64 * 1024;
/** Shared by all connections: produce frames spanning socket reads are assembled in its buffers. */
const framePool = new BufferPool(32 * 1024 * 1024);

/** A reply that closes the connection once the requests before it were answered. */
export const CLOSE: Buffer[] = [];
