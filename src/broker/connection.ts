/**
 * One client connection: length-prefixed framing, many requests in flight, responses written strictly in
 * request order (Kafka's guarantee). The size prefix is checked against `socket.request.max.bytes` before any
 * allocation; a malformed or oversized frame closes only this connection.
 *
 * Memory is bounded the way Kafka's socket server bounds it, adapted to pipelining:
 * - per connection, a request is handed to the router only while fewer than MAX_IN_PROCESS of its requests
 *   are being handled, no other Fetch of it is (fetch responses are the large ones; real consumers and
 *   followers have one Fetch in flight per broker anyway), and its answered-but-unsent bytes are below
 *   `queued.max.response.bytes.per.connection`. Otherwise the socket is paused (Kafka mutes the channel)
 *   until a request is answered or the socket drains: a client that pipelines and never reads holds at most
 *   that many bytes plus one response in the broker, not one response per request it sent.
 * - across connections, requests larger than SMALL_REQUEST take their size from a memory budget
 *   (`queued.max.request.bytes`, RequestMemory) as soon as their size prefix is read, and give it back when
 *   answered or when their connection closes; a connection whose next frame does not fit is paused until it
 *   does, so stalled large requests cannot take the node's memory while small requests (metadata, ordinary
 *   produce and fetch) keep being served.
 * The per-request cost on the produce/fetch path is a few counters.
 */
import type { Socket } from 'node:net';
import { Reader } from '../protocol/codec/reader.js';
import type { Struct } from '../protocol/codec/schema.js';
import { ApiKey } from '../protocol/messages/index.js';
import { decodeRequestHeader, type RequestHeader } from '../protocol/wire.js';
import { BufferPool } from '../util/buffer-pool.js';
import type { Logger } from '../util/logger.js';
import type { Listener } from './listeners.js';
import type { SaslMechanism, SaslServer } from './sasl.js';

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
  /** Reply bytes counted in queuedReplyBytes while the slot waits for the ones before it. */
  bytes: number;
}

/** Requests up to this size never wait for request memory (they are not counted in it either). */
export const SMALL_REQUEST = 1024 * 1024;
/** Requests of one connection handled at once; the next waits (its socket unread) until one is answered. */
export const MAX_IN_PROCESS = 32;

/**
 * `queued.max.request.bytes` (Kafka's memory pool for requests): bytes of requests larger than SMALL_REQUEST
 * that are being read or handled, all connections together. A reservation that does not fit waits its turn
 * (first come, first served, so a large request is never starved by later ones) and is granted by a callback.
 * A limit < 0 means unbounded: nothing is counted.
 */
export class RequestMemory {
  private used = 0;
  private readonly waiting: { n: number; granted: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Reserve n bytes now (true), or queue the reservation and call `granted` once it is made (false). */
  reserve(n: number, granted: () => void): boolean {
    if (this.limit < 0) return true;
    if (this.waiting.length === 0 && this.used + n <= this.limit) {
      this.used += n;
      return true;
    }
    this.waiting.push({ n, granted });
    return false;
  }

  release(n: number): void {
    if (this.limit < 0 || n <= 0) return;
    this.used -= n;
    while (this.waiting.length > 0 && this.used + (this.waiting[0] as { n: number }).n <= this.limit) {
      const w = this.waiting.shift() as { n: number; granted: () => void };
      this.used += w.n;
      w.granted();
    }
  }

  /** Drop a queued reservation (its connection closed before it was granted). */
  cancel(granted: () => void): void {
    const i = this.waiting.findIndex((w) => w.granted === granted);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Bytes reserved now, and connections waiting for memory (for tests and metrics). */
  get usedBytes(): number {
    return this.used;
  }
  get waiters(): number {
    return this.waiting.length;
  }
}

export interface ConnectionLimits {
  /** socket.request.max.bytes: a larger size prefix closes the connection. */
  maxRequestBytes: number;
  /** queued.max.response.bytes.per.connection */
  maxQueuedResponseBytes: number;
  /** queued.max.request.bytes, shared by every connection of a broker. */
  memory: RequestMemory;
}

export function connectionLimits(c: {
  socketRequestMaxBytes: number;
  queuedMaxRequestBytes: number;
  queuedMaxResponseBytesPerConnection: number;
}): ConnectionLimits {
  return {
    maxRequestBytes: c.socketRequestMaxBytes,
    maxQueuedResponseBytes: c.queuedMaxResponseBytesPerConnection,
    memory: new RequestMemory(c.queuedMaxRequestBytes),
  };
}

export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private queue: Slot[] = [];
  private closed = false;
  /** Size of the frame at the head of `chunks` once its prefix was read and its memory reserved; -1 before. */
  private head = -1;
  /** Request memory reserved for that frame (0 for a small one). */
  private headReserved = 0;
  /** Size of the head frame while it waits for request memory; 0 when not waiting. */
  private memoryWait = 0;
  /** Requests handed to the router and not settled yet; Fetches among them. */
  private inProcess = 0;
  private fetching = 0;
  /** Bytes of answered requests waiting for an earlier one to be answered (not yet written). */
  private queuedReplyBytes = 0;
  /** A complete frame waits for a request to be answered or the socket to drain. */
  private blocked = false;
  private readPaused = false;
  /** Answers of this turn are being gathered (the socket corked until the turn ends). */
  private corked = false;
  readonly remote: string;
  /** Per-connection state handlers may keep (e.g. negotiated versions). */
  readonly state: Struct = {};
  /** The listener the client connected on (Metadata answers with that listener's addresses). */
  listener: Listener | null = null;
  /** Who the client is: User:ANONYMOUS, User:<certificate subject> (mutual TLS), User:<SASL name>. */
  principal = 'User:ANONYMOUS';
  /** False on a SASL listener until a SASL exchange succeeds: only ApiVersions and SASL requests are served. */
  authenticated = true;
  /** The SASL mechanisms of its listener (null: not a SASL listener). */
  saslMechanisms: readonly SaslMechanism[] | null = null;
  /** The SASL exchange under way (handlers/sasl.ts), null between exchanges. */
  sasl: SaslServer | null = null;
  reauthenticating = false;
  /** When the SASL session ends (connections.max.reauth.ms, KIP-368); 0: never. */
  sessionExpiresAt = 0;
  /** After a SaslHandshake v0: the next frames are bare SASL tokens, answered by this (null: fail, close). */
  rawSasl: ((token: Buffer) => Promise<Buffer | null>) | null = null;
  /** Close once every request read so far is answered (a failed login). */
  private closing = false;
  /**
   * Set by the broker: whether a client quota applies to this client (quota/quotas.ts). Its requests are then
   * handled one at a time, as Kafka handles every connection's, so a throttle holds back the next request
   * instead of one already read alongside it.
   */
  quotaApplies: ((c: Connection, clientId: string | null) => boolean) | null = null;
  private serial = false;
  /** A quota throttle (KIP-219): no request is read before this time (0: not muted). */
  private mutedUntil = 0;
  private muteTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('drain', () => this.unblock());
    socket.on('error', (e) => this.log.debug('connection error', { remote: this.remote, error: e.message }));
    socket.on('close', () => {
      this.closed = true;
      this.queue = [];
      this.chunks = [];
      this.buffered = 0;
      // Memory held for a frame not handed to the router yet goes back now (dispatched ones when they settle).
      if (this.memoryWait > 0) this.limits.memory.cancel(this.memoryGranted);
      this.memoryWait = 0;
      this.limits.memory.release(this.headReserved);
      this.headReserved = 0;
      if (this.muteTimer !== null) clearTimeout(this.muteTimer);
      this.muteTimer = null;
      this.onClose(this);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Close the connection once the requests read so far are answered and written (no more are read). */
  closeAfterReply(): void {
    this.closing = true;
    this.pauseReading();
  }

  /**
   * Mute the connection for `ms` (a client over its quota, KIP-219): requests already read go on, the next is
   * not read until the time is up. A longer throttle extends the mute; a shorter one changes nothing.
   */
  muteFor(ms: number): void {
    if (ms <= 0 || this.closed) return;
    const until = Date.now() + ms;
    if (until <= this.mutedUntil) return;
    this.mutedUntil = until;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.pauseReading();
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.mutedUntil = 0;
      this.pump();
    }, ms);
  }

  /** Whether a quota throttle mutes the connection now (kstream top, tests). */
  get isMuted(): boolean {
    return this.mutedUntil !== 0;
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason) this.log.warn('closing connection', { remote: this.remote, reason });
    this.closed = true;
    // Answers gathered this turn go out first, as they would have uncorked.
    this.uncork();
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    this.chunks.push(d);
    this.buffered += d.length;
    this.pump();
  }

  /** Hand every complete frame that may go to the router; pause reading when one has to wait. */
  private pump(): void {
    while (this.buffered >= 4 && !this.closed) {
      if (this.memoryWait > 0 || this.mutedUntil !== 0) return;
      if (this.head < 0) {
        const size = this.peekSize();
        if (size < 0 || size > this.limits.maxRequestBytes) {
          // 0x16 0x03: a TLS ClientHello on a plaintext listener (Kafka reads it as a huge size too).
          const tls = size >>> 16 === 0x1603;
          this.close(
            tls
              ? 'TLS handshake on a plaintext listener'
              : `request size ${size} outside 0..socket.request.max.bytes (${this.limits.maxRequestBytes})`,
          );
          return;
        }
        if (size > SMALL_REQUEST) {
          if (!this.limits.memory.reserve(size, this.memoryGranted)) {
            this.memoryWait = size;
            this.pauseReading();
            return;
          }
          this.headReserved = size;
        }
        this.head = size;
      }
      const size = this.head;
      if (this.buffered < 4 + size) break;
      const first = this.chunks[0] as Buffer;
      const apiKey = first.length >= 6 ? first.readInt16BE(4) : this.apiKeyAt4();
      if (
        this.inProcess >= (this.serial ? 1 : MAX_IN_PROCESS) ||
        (apiKey === ApiKey.Fetch && this.fetching > 0) ||
        this.queuedReplyBytes + this.socket.writableLength >= this.limits.maxQueuedResponseBytes
      ) {
        this.blocked = true;
        this.pauseReading();
        return;
      }
      const pool = first.length < 4 + size && size >= MIN_POOLED && size <= MAX_POOLED && apiKey === ApiKey.Produce;
      // The frame's copy goes into a pool buffer, given back once the request is answered.
      const pooled = pool ? framePool.get(4 + size) : null;
      const frame = this.take(4 + size, pooled).subarray(4);
      const reserved = this.headReserved;
      this.head = -1;
      this.headReserved = 0;
      this.handleFrame(frame, pooled, reserved, apiKey === ApiKey.Fetch);
    }
    if (!this.closed) this.resumeReading();
  }

  /** Request memory for the head frame was granted after a wait. */
  private readonly memoryGranted = (): void => {
    const size = this.memoryWait;
    this.memoryWait = 0;
    if (this.closed) {
      this.limits.memory.release(size);
      return;
    }
    this.head = size;
    this.headReserved = size;
    this.pump();
  };

  /** A request was answered or the socket drained: a frame that waited may go now. */
  private unblock(): void {
    if (!this.blocked || this.closed) return;
    this.blocked = false;
    this.pump();
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.socket.resume();
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

  private handleFrame(frame: Buffer, pooled: Buffer | null, reserved: number, isFetch: boolean): void {
    if (this.rawSasl !== null) {
      this.handleRawSasl(this.rawSasl, Buffer.from(frame), pooled, reserved);
      return;
    }
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    if (reader.bad) {
      this.limits.memory.release(reserved);
      this.close(`malformed request header: ${reader.reason}`);
      return;
    }
    if (this.quotaApplies !== null) this.serial = this.quotaApplies(this, header.clientId);
    const slot: Slot = { done: false, reply: null, bytes: 0 };
    this.queue.push(slot);
    this.inProcess++;
    if (isFetch) this.fetching++;
    this.dispatch({ header, reader, connection: this }).then(
      (reply) => {
        // A produce handler has written the records before it settles and keeps no view of them.
        if (pooled !== null) framePool.release(pooled);
        this.settled(reserved, isFetch);
        this.complete(slot, reply);
      },
      (err: unknown) => {
        this.settled(reserved, isFetch);
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

  /** A bare SASL token after a SaslHandshake v0: answered as a bare size-prefixed token, or the connection closed. */
  private handleRawSasl(
    answer: (token: Buffer) => Promise<Buffer | null>,
    token: Buffer,
    pooled: Buffer | null,
    reserved: number,
  ): void {
    if (pooled !== null) framePool.release(pooled);
    const slot: Slot = { done: false, reply: null, bytes: 0 };
    this.queue.push(slot);
    this.inProcess++;
    answer(token).then(
      (challenge) => {
        this.settled(reserved, false);
        if (challenge === null) {
          this.complete(slot, CLOSE);
          return;
        }
        const size = Buffer.allocUnsafe(4);
        size.writeInt32BE(challenge.length, 0);
        this.complete(slot, [size, challenge]);
      },
      (err: unknown) => {
        this.settled(reserved, false);
        this.log.error('SASL exchange failed', { remote: this.remote, error: (err as Error).message });
        this.close('internal error during SASL authentication');
      },
    );
  }

  /** The end of the turn that corked the socket: what was written in it goes out together. */
  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  private settled(reserved: number, isFetch: boolean): void {
    this.inProcess--;
    if (isFetch) this.fetching--;
    this.limits.memory.release(reserved);
  }

  private complete(slot: Slot, reply: Reply): void {
    slot.done = true;
    slot.reply = reply;
    if (this.closed) return;
    if (this.queue[0] !== slot) {
      // Answered before an earlier request: held until that one is written, and counted meanwhile.
      if (reply !== null) for (const b of reply) slot.bytes += b.length;
      this.queuedReplyBytes += slot.bytes;
    } else {
      // Answers written in one turn go out in one vectored write: a client pipelining many small requests
      // (librdkafka sends one partition's batch per Produce, so thousands of them at many partitions) gets
      // them answered in one syscall instead of one each. The socket is uncorked once this turn's
      // microtasks (where the handlers of the requests read together settle) are done.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncork);
      }
      while (this.queue.length > 0 && (this.queue[0] as Slot).done) {
        const s = this.queue.shift() as Slot;
        this.queuedReplyBytes -= s.bytes;
        if (s.reply === null) continue;
        if (s.reply === CLOSE) {
          this.close('malformed request');
          return;
        }
        for (const b of s.reply) this.socket.write(b);
      }
      if (this.closing && this.queue.length === 0) {
        // A failed login: the answer is written, then the connection ends.
        this.closed = true;
        this.uncork();
        this.socket.end();
        setTimeout(() => this.socket.destroy(), 1000).unref();
        return;
      }
    }
    this.unblock();
  }
}

/** Produce frames up to this size are assembled in a reused buffer (kcat and kstream bench send ~1 MiB). */
const MAX_POOLED = 8 * 1024 * 1024;
const MIN_POOLED = 64 * 1024;
/** Shared by all connections: produce frames spanning socket reads are assembled in its buffers. */
const framePool = new BufferPool(32 * 1024 * 1024);

/** A reply that closes the connection once the requests before it were answered. */
export const CLOSE: Buffer[] = [];
