/**
 * One TCP connection to one broker, shared by everything that talks to that broker.
 *
 * - Pipelining: any number of requests in flight; Kafka answers them in request order on a connection, so the
 *   pending requests are a FIFO and each response's correlation id is checked against the head.
 * - Timeouts: the connect (TCP + ApiVersions handshake) is bounded by `connectTimeoutMs`; every request by its
 *   own timeout. A request that times out closes the connection (later responses could not be matched any more)
 *   and every other pending request fails with a NetworkError, as in the Java client.
 * - Throttling (KIP-219): an answer with throttle_time_ms > 0, at a version where the broker answers at once and
 *   then mutes the connection (src/protocol/throttle.ts), holds every later send on this connection until that
 *   time is over, in order, as Kafka's clients do; a held request's timeout starts when it is written, and the
 *   requests already in flight (unread in the muted broker) get the throttle time added to theirs, so the wait is
 *   never counted against a request timeout. Not throttled, a send costs one comparison more.
 * - ApiVersions on connect: for each API the version used is the highest in both our definition's range (narrowed
 *   by CLIENT_VERSION_LIMITS) and the broker's; `version(apiKey)` throws UNSUPPORTED_VERSION if there is none.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions as TlsConnectionOptions, connect as tlsConnect } from 'node:tls';
import { Reader } from '../protocol/codec/reader.js';
import { compile, parseVersions, type Struct } from '../protocol/codec/schema.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  API_BY_KEY,
  Api,
  ApiKey,
  type ApiSpec,
  type RequestInput,
  type ResponseOf,
} from '../protocol/messages/index.js';
import { clientThrottles } from '../protocol/throttle.js';
import { decodeResponse, encodeRequest } from '../protocol/wire.js';
import { VERSION } from '../version.js';
import { NetworkError, RequestTimeoutError } from './errors.js';
import { plainToken, ScramClient } from './sasl.js';

export interface VersionRange {
  min: number;
  max: number;
}

/**
 * Versions this client can use where it is narrower than the codec's definitions: Produce needs RecordBatch v2
 * (v3+), Fetch v4+ (our record decoding), Metadata v1+ (v0 has no "no topics" form), ListOffsets v1+ (v0 is the
 * old offsets-array form), OffsetFetch v1+ (v0 reads ZooKeeper offsets). AddPartitionsToTxn v4+ is sent
 * between brokers (KIP-890), EndTxn v5+ makes the coordinator bump the epoch at every end (KIP-890 part 2):
 * clients stop at v3 and v4, as the Java client's transaction manager does.
 */
export const CLIENT_VERSION_LIMITS: Readonly<Partial<Record<number, VersionRange>>> = {
  [ApiKey.Produce]: { min: 3, max: 9 },
  [ApiKey.Fetch]: { min: 4, max: 12 },
  [ApiKey.Metadata]: { min: 1, max: 12 },
  [ApiKey.ListOffsets]: { min: 1, max: 7 },
  [ApiKey.OffsetFetch]: { min: 1, max: 8 },
  [ApiKey.AddPartitionsToTxn]: { min: 0, max: 3 },
  [ApiKey.EndTxn]: { min: 0, max: 4 },
};

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Broker node id if known (-1 for a bootstrap address). */
  nodeId?: number;
  clientId?: string;
  /** TCP connect plus the ApiVersions handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** Default timeout of a request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Per-API caps on the version used, e.g. `{ [ApiKey.Fetch]: 11 }`. */
  maxVersions?: Readonly<Partial<Record<number, number>>>;
  /** TLS (SSL, SASL_SSL): Node's TLS options (ca, cert, key, rejectUnauthorized); absent: plaintext. */
  tls?: TlsConnectionOptions;
  /** SASL login after ApiVersions (SASL_PLAINTEXT, SASL_SSL). */
  sasl?: SaslCredentials;
}

export interface SaslCredentials {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  user: string;
  password: string;
}

export interface RequestOptions {
  /** Use this version instead of the negotiated one. */
  version?: number;
  /** Overrides the connection's request timeout (a long-poll Fetch adds its max wait). */
  timeoutMs?: number;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  resolve: (body: Struct) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
  /** The request's timeout (restarted after a throttle that began while it was in flight). */
  timeoutMs: number;
  /** Custom decoder (the ApiVersions fallback). */
  decode?: (frame: Buffer) => Struct;
}

/** A request held while the connection is throttled: written, in order, when the throttle ends. */
interface Held {
  apiKey: number;
  version: number;
  body: Struct;
  opts: RequestOptions;
  expectResponse: boolean;
  decode: ((frame: Buffer) => Struct) | undefined;
  resolve: (answer: Struct | null) => void;
  reject: (e: Error) => void;
}

/** Largest response frame accepted: above this the stream is considered corrupt. */
const MAX_FRAME = 1024 * 1024 * 1024;

function apiName(key: number): string {
  return API_BY_KEY.get(key)?.name ?? `api ${key}`;
}

/** The intersection of what the codec defines, the client limits and the broker's range; null if empty. */
export function pickVersion(
  apiKey: number,
  broker: VersionRange | undefined,
  cap?: number,
): { version: number | null; ours: VersionRange } {
  const spec = API_BY_KEY.get(apiKey);
  if (!spec) return { version: null, ours: { min: 1, max: 0 } };
  const defined = parseVersions(spec.request.validVersions);
  const limit = CLIENT_VERSION_LIMITS[apiKey];
  let min = defined.min;
  let max = defined.max;
  if (limit) {
    min = Math.max(min, limit.min);
    max = Math.min(max, limit.max);
  }
  if (cap !== undefined) max = Math.min(max, cap);
  const ours = { min, max };
  if (!broker) return { version: null, ours };
  const hi = Math.min(max, broker.max);
  const lo = Math.max(min, broker.min);
  return { version: hi >= lo ? hi : null, ours };
}

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly nodeId: number;
  readonly address: string;
  /** The broker's version range per api key, from ApiVersions. */
  readonly brokerVersions = new Map<number, VersionRange>();

  private readonly socket: Socket;
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly maxVersions: Readonly<Partial<Record<number, number>>>;
  private readonly negotiated = new Map<number, number | null>();
  private nextCorrelationId = 1;
  private pending: Pending[] = [];
  private pendingHead = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;
  private closedError: Error | null = null;
  private closeListeners: ((err: Error) => void)[] = [];
  /** A KIP-368 re-authentication in progress: other requests wait for it (settles, never rejects). */
  private reauthenticating: Promise<void> | null = null;
  /** KIP-219: until when (Date.now() ms) the broker mutes this connection; 0 when it does not. */
  private throttledUntil = 0;
  /** Requests waiting for the throttle to end, in the order they were made. */
  private held: Held[] = [];
  private throttleTimer: NodeJS.Timeout | null = null;

  private constructor(socket: Socket, opts: ConnectionOptions) {
    this.socket = socket;
    this.host = opts.host;
    this.port = opts.port;
    this.nodeId = opts.nodeId ?? -1;
    this.address = `${opts.host}:${opts.port}`;
    this.clientId = opts.clientId ?? 'kstream';
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.maxVersions = opts.maxVersions ?? {};
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(new NetworkError(this.address, describeSocketError(e), { cause: e })));
    socket.on('close', () => this.fail(new NetworkError(this.address, 'connection closed by the broker')));
  }

  /** Open a connection and negotiate versions. Rejects with a NetworkError / RequestTimeoutError, never hangs. */
  static async connect(opts: ConnectionOptions): Promise<Connection> {
    const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    const address = `${opts.host}:${opts.port}`;
    const deadline = Date.now() + connectTimeoutMs;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const tls = opts.tls;
      const s =
        tls === undefined
          ? netConnect({ host: opts.host, port: opts.port })
          : tlsConnect({
              servername: isIp(opts.host) ? undefined : opts.host,
              ...tls,
              host: opts.host,
              port: opts.port,
            });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new NetworkError(address, `could not connect within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      s.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        s.destroy();
        reject(new NetworkError(address, describeSocketError(e), { cause: e }));
      });
    });
    const conn = new Connection(socket, opts);
    try {
      await conn.handshake(Math.max(1, deadline - Date.now()), connectTimeoutMs);
      if (opts.sasl) await conn.authenticate(opts.sasl, Math.max(1, deadline - Date.now()));
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  /** Called once when the connection closes (with the reason). */
  onClose(listener: (err: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /** The version negotiated for an API; throws UNSUPPORTED_VERSION when broker and client share none. */
  version(apiKey: number): number {
    let v = this.negotiated.get(apiKey);
    if (v === undefined) {
      v = pickVersion(apiKey, this.brokerVersions.get(apiKey), this.maxVersions[apiKey]).version;
      this.negotiated.set(apiKey, v);
    }
    if (v === null) {
      const { ours } = pickVersion(apiKey, undefined, this.maxVersions[apiKey]);
      const b = this.brokerVersions.get(apiKey);
      const theirs = b ? `${b.min}-${b.max}` : 'not offered';
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_VERSION,
        `broker ${this.address} does not support ${apiName(apiKey)} in a version this client speaks ` +
          `(broker: ${theirs}, client: ${ours.min}-${ours.max})`,
      );
    }
    return v;
  }

  /** Whether the broker supports an API (optionally at least `minVersion`) in a version we speak. */
  supports(apiKey: number, minVersion = 0): boolean {
    try {
      return this.version(apiKey) >= minVersion;
    } catch {
      return false;
    }
  }

  /**
   * Send a request of `api` (e.g. `Api.Metadata`); resolves with the decoded response body. Both are typed by
   * the API's definitions; fields the negotiated version lacks are in the answer with their defaults.
   */
  request<A extends ApiSpec>(api: A, body: RequestInput<A>, opts: RequestOptions = {}): Promise<ResponseOf<A>> {
    // The answer is decoded by api.response's definition (decodeResponse looks it up by this api key), so the
    // erased Struct is a ResponseOf<A>.
    return this.start(api, body, opts, true) as Promise<ResponseOf<A>>;
  }

  /** Send a request the broker does not answer (Produce with acks=0); resolves once written to the socket. */
  requestWithoutResponse<A extends ApiSpec>(api: A, body: RequestInput<A>, opts: RequestOptions = {}): Promise<null> {
    return this.start(api, body, opts, false) as Promise<null>;
  }

  /** Close: requests in flight fail; bytes already written (acks=0 produce) are still flushed to the broker. */
  close(): void {
    if (!this.closedError) {
      this.fail(new NetworkError(this.address, 'connection closed by the client'), undefined, true);
    }
  }

  // -------------------------------------------------------------------------------------------------------

  private start(api: ApiSpec, body: Struct, opts: RequestOptions, expectResponse: boolean): Promise<Struct | null> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.reauthenticating !== null && api.key !== ApiKey.SaslHandshake && api.key !== ApiKey.SaslAuthenticate) {
      // KIP-368: requests wait while the session is renewed, as the Java client's do. Sent meanwhile, they
      // would delay the login's answers (a broker answers in order, a long-poll Fetch up to its max wait)
      // and, once the old session ended, be refused with the connection closed.
      return this.reauthenticating.then(() => this.start(api, body, opts, expectResponse));
    }
    let version: number;
    try {
      version = opts.version ?? this.version(api.key);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.send(api.key, version, body, opts, expectResponse);
  }

  /** Send one request now, or once the throttle ends; resolves as write() does. */
  private send(
    apiKey: number,
    version: number,
    body: Struct,
    opts: RequestOptions,
    expectResponse: boolean,
    decode?: (frame: Buffer) => Struct,
  ): Promise<Struct | null> {
    if (this.throttledUntil === 0) return this.write(apiKey, version, body, opts, expectResponse, decode);
    return new Promise<Struct | null>((resolve, reject) => {
      this.held.push({ apiKey, version, body, opts, expectResponse, decode, resolve, reject });
    });
  }

  /**
   * An answer said the broker mutes this connection for `ms` (KIP-219): hold later sends until then, and give
   * the requests already in flight that long more (the broker reads them only after the throttle).
   */
  private throttle(ms: number): void {
    const until = Date.now() + ms;
    if (until <= this.throttledUntil) return;
    this.throttledUntil = until;
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.timer) {
        clearTimeout(p.timer);
        this.armTimeout(p, ms + p.timeoutMs);
      }
    }
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => this.endThrottle(), ms);
  }

  /** The throttle is over: write the held requests in the order they were made. */
  private endThrottle(): void {
    this.throttleTimer = null;
    const left = this.throttledUntil - Date.now();
    if (left > 0) {
      this.throttleTimer = setTimeout(() => this.endThrottle(), left);
      return;
    }
    this.throttledUntil = 0;
    const held = this.held;
    this.held = [];
    for (const h of held) {
      this.write(h.apiKey, h.version, h.body, h.opts, h.expectResponse, h.decode).then(h.resolve, h.reject);
    }
  }

  /** Write one request; resolves with its decoded answer, or null once written when none is expected. */
  private write(
    apiKey: number,
    version: number,
    body: Struct,
    opts: RequestOptions,
    expectResponse: boolean,
    decode?: (frame: Buffer) => Struct,
  ): Promise<Struct | null> {
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    let frame: Buffer[];
    try {
      frame = encodeRequest({ apiKey, apiVersion: version, correlationId, clientId: this.clientId }, body);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.socket;
    s.cork();
    for (let i = 0; i < frame.length - 1; i++) s.write(frame[i]!);
    if (!expectResponse) {
      // No answer will come: resolve once the bytes are handed to the OS.
      const written = new Promise<null>((resolve, reject) => {
        s.write(frame[frame.length - 1]!, (err) => {
          if (err) reject(new NetworkError(this.address, `write failed: ${err.message}`, { cause: err }));
          else resolve(null);
        });
      });
      process.nextTick(() => s.uncork());
      return written;
    }
    s.write(frame[frame.length - 1]!);
    process.nextTick(() => s.uncork());
    return new Promise<Struct>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      const p: Pending = { correlationId, apiKey, version, resolve, reject, timer: null, timeoutMs };
      if (decode) p.decode = decode;
      this.armTimeout(p, timeoutMs);
      this.pending.push(p);
    });
  }

  /** Fail the request (and close the connection) if no answer comes within `ms`. */
  private armTimeout(p: Pending, ms: number): void {
    p.timer = setTimeout(() => {
      p.timer = null;
      const name = apiName(p.apiKey);
      const err = new RequestTimeoutError(
        this.address,
        `no response to ${name} v${p.version} within ${p.timeoutMs} ms`,
      );
      this.fail(new NetworkError(this.address, `connection closed after a ${name} request timed out`), { p, err });
    }, ms);
  }

  /** SASL login: SaslHandshake v1, then the mechanism's tokens in SaslAuthenticate requests. */
  private async authenticate(sasl: SaslCredentials, timeoutMs: number): Promise<void> {
    const hs = await this.request(Api.SaslHandshake, { mechanism: sasl.mechanism }, { timeoutMs, version: 1 });
    if (hs.errorCode !== 0) {
      const offered = hs.mechanisms.join(', ') || 'none';
      throw new KafkaError(
        hs.errorCode,
        `${this.address} does not offer SASL ${sasl.mechanism} (it offers ${offered})`,
      );
    }
    let lifetimeMs = 0n;
    const exchange = async (token: Buffer): Promise<Buffer> => {
      const r = await this.request(Api.SaslAuthenticate, { authBytes: token }, { timeoutMs });
      lifetimeMs = r.sessionLifetimeMs;
      if (r.errorCode !== 0) {
        throw new KafkaError(
          r.errorCode,
          `login as ${sasl.user} on ${this.address} failed: ${r.errorMessage ?? 'no reason given'}`,
        );
      }
      return r.authBytes;
    };
    if (sasl.mechanism === 'PLAIN') {
      await exchange(plainToken(sasl.user, sasl.password));
      this.scheduleReauthentication(sasl, lifetimeMs);
      return;
    }
    const scram = new ScramClient(sasl.mechanism, sasl.user, sasl.password);
    const serverFirst = await exchange(scram.first());
    const serverFinal = await exchange(await scram.final(serverFirst));
    if (!scram.verify(serverFinal)) {
      throw new KafkaError(
        ErrorCode.SASL_AUTHENTICATION_FAILED,
        `${this.address} did not prove it knows the credentials of ${sasl.user} (SCRAM server signature)`,
      );
    }
    this.scheduleReauthentication(sasl, lifetimeMs);
  }

  /**
   * KIP-368: a broker with connections.max.reauth.ms tells the session's lifetime in the last SaslAuthenticate
   * answer; log in again on the same connection before it ends (at 85-95 % of it, as the Java client does),
   * requests in flight going on and new ones waiting until it is done. A failed re-authentication closes the
   * connection (its requests fail over to a new one).
   */
  private scheduleReauthentication(sasl: SaslCredentials, lifetimeMs: bigint): void {
    if (lifetimeMs <= 0n || this.closedError) return;
    const ms = Number(lifetimeMs) * (0.85 + Math.random() * 0.1);
    const timer = setTimeout(() => {
      const done = this.authenticate(sasl, this.requestTimeoutMs).then(
        () => {
          this.reauthenticating = null;
        },
        (e: unknown) => {
          this.reauthenticating = null;
          this.fail(e instanceof Error ? e : new NetworkError(this.address, String(e)));
        },
      );
      this.reauthenticating = done;
    }, ms);
    timer.unref();
    this.onClose(() => clearTimeout(timer));
  }

  private async handshake(timeoutMs: number, connectTimeoutMs: number): Promise<void> {
    const ours = parseVersions(Api.ApiVersions.request.validVersions);
    let version = ours.max;
    for (let attempt = 0; attempt <= ours.max; attempt++) {
      const body = await this.handshakeRequest(version, timeoutMs).catch((e: unknown) => {
        if (e instanceof RequestTimeoutError) {
          throw new RequestTimeoutError(
            this.address,
            `no answer to ApiVersions within ${connectTimeoutMs} ms (is this a Kafka broker?)`,
          );
        }
        throw e;
      });
      const errorCode = body.errorCode;
      const keys = body.apiKeys;
      if (errorCode === ErrorCode.UNSUPPORTED_VERSION && version > 0) {
        // The broker answered in v0 with its own ApiVersions range: retry with the highest both support. If
        // that range could not be read (librdkafka's mock cluster encodes it oddly), step down one version.
        const theirs = keys.find((k) => k.apiKey === ApiKey.ApiVersions);
        version = Math.min(version - 1, theirs?.maxVersion ?? version - 1);
        continue;
      }
      if (errorCode !== 0) throw new KafkaError(errorCode, `ApiVersions from ${this.address}`);
      for (const k of keys) this.brokerVersions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
      return;
    }
    throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `ApiVersions negotiation with ${this.address} failed`);
  }

  /** One ApiVersions request of the handshake, its answer read by decodeApiVersions (a v0 fallback). */
  private handshakeRequest(version: number, timeoutMs: number): Promise<ApiVersionsAnswer> {
    return this.send(
      ApiKey.ApiVersions,
      version,
      { clientSoftwareName: 'kstream', clientSoftwareVersion: VERSION },
      { timeoutMs },
      true,
      (frame) => decodeApiVersions(frame, version),
    ) as Promise<ApiVersionsAnswer>; // decodeApiVersions' answer, erased to a Struct by send()
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) return;
        this.frameSize = this.peekInt32();
        if (this.frameSize < 4 || this.frameSize > MAX_FRAME) {
          this.fail(new NetworkError(this.address, `invalid response frame size ${this.frameSize}`));
          return;
        }
      }
      if (this.buffered < 4 + this.frameSize) return;
      const frame = this.take(4 + this.frameSize).subarray(4);
      this.frameSize = -1;
      this.onFrame(frame);
      if (this.closedError) return;
    }
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const b = Buffer.allocUnsafe(4);
    let n = 0;
    for (const c of this.chunks) {
      const k = Math.min(4 - n, c.length);
      c.copy(b, n, 0, k);
      n += k;
      if (n === 4) break;
    }
    return b.readInt32BE(0);
  }

  /** Remove and return the first `n` buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - off, c.length);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }

  private onFrame(frame: Buffer): void {
    const p = this.pending[this.pendingHead];
    const correlationId = frame.length >= 4 ? frame.readInt32BE(0) : -1;
    if (!p || p.correlationId !== correlationId) {
      this.fail(
        new NetworkError(
          this.address,
          `response correlation id ${correlationId} does not match the oldest request (${p?.correlationId ?? 'none'})`,
        ),
      );
      return;
    }
    this.pending[this.pendingHead] = undefined as unknown as Pending;
    this.pendingHead++;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    if (p.timer) clearTimeout(p.timer);
    let body: Struct;
    try {
      if (p.decode) body = p.decode(frame);
      else {
        const r = decodeResponse(p.apiKey, p.version, frame);
        if (r.error) {
          p.reject(
            new KafkaError(
              ErrorCode.CORRUPT_MESSAGE,
              `malformed ${apiName(p.apiKey)} v${p.version} response from ${this.address}: ${r.error}`,
            ),
          );
          return;
        }
        body = r.body;
      }
    } catch (e) {
      p.reject(e as Error);
      return;
    }
    const throttleMs = body.throttleTimeMs;
    if (typeof throttleMs === 'number' && throttleMs > 0 && clientThrottles(p.apiKey, p.version)) {
      this.throttle(throttleMs);
    }
    p.resolve(body);
  }

  private fail(err: Error, timedOut?: { p: Pending; err: Error }, graceful = false): void {
    if (this.closedError) return;
    this.closedError = err;
    if (graceful) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
    const pending = this.pending.slice(this.pendingHead);
    this.pending = [];
    this.pendingHead = 0;
    this.chunks = [];
    this.buffered = 0;
    for (const p of pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(timedOut && p === timedOut.p ? timedOut.err : err);
    }
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = null;
    const held = this.held;
    this.held = [];
    for (const h of held) h.reject(err);
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const l of listeners) l(err);
  }
}

/**
 * ApiVersions response decoding: a broker that does not support our request version answers in v0 with
 * UNSUPPORTED_VERSION (the error code comes first in every version, right after the v0 header).
 */
type ApiVersionsAnswer = Pick<ResponseOf<typeof Api.ApiVersions>, 'errorCode' | 'apiKeys'>;

function decodeApiVersions(frame: Buffer, version: number): ApiVersionsAnswer {
  const def = Api.ApiVersions.response;
  const errorCode = frame.length >= 6 ? frame.readInt16BE(4) : 0;
  const v = errorCode === ErrorCode.UNSUPPORTED_VERSION ? 0 : version;
  const r = new Reader(frame, 4);
  const body = compile(def, v).decode(r) as ResponseOf<typeof Api.ApiVersions>; // decoded by that definition
  if (r.bad) {
    // An UNSUPPORTED_VERSION answer we cannot read still tells us to try a lower version.
    if (errorCode === ErrorCode.UNSUPPORTED_VERSION) return { errorCode, apiKeys: [] };
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `malformed ApiVersions v${v} response: ${r.reason}`);
  }
  return body;
}

function describeSocketError(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is a broker running there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${code})`;
    case 'ECONNRESET':
      return 'connection reset by the broker';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${code})`;
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return code ? `${e.message}` : e.message;
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
