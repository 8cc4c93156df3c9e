/**
 * The request router: api key → handler with the version range it serves. The ApiVersions answer is built
 * from this table, so the broker advertises exactly what it implements.
 */
import type { Struct } from '../protocol/codec/schema.js';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey, type ApiSpec, type RequestOf, type ResponseInput } from '../protocol/messages/index.js';
import { decodeRequestBody, encodeResponse } from '../protocol/wire.js';
import type { Logger } from '../util/logger.js';
import { CLOSE, type Dispatch, type Reply } from './connection.js';
import type { BrokerContext } from './context.js';
import { applyThrottle, clientThrottles } from './quota/throttle.js';

/** What a client on a SASL listener may send before it is authenticated. */
const PRE_AUTHENTICATION: ReadonlySet<number> = new Set([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);
const SASL_APIS: ReadonlySet<number> = new Set([ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

/**
 * Requests request_percentage never meters (KIP-124, as Kafka exempts them): the SASL exchange (Kafka's
 * authenticator handles it outside the request handlers), the cluster's own requests (WriteTxnMarkers, and a
 * follower's Fetch: see `exempt`), and a produce with acks=0 (it has no answer to carry a throttle).
 */
function exempt(apiKey: number, body: Struct): boolean {
  if (SASL_APIS.has(apiKey) || apiKey === ApiKey.WriteTxnMarkers) return true;
  return apiKey === ApiKey.Fetch && (body.replicaId as number) >= 0;
}

import type { HandlerContext } from './context.js';

export type { HandlerContext };

/** What a handler returns: the response body, or null for no response (acks=0 produce). */
type Answer<T> = Promise<T | null> | T | null;

/**
 * The handler of one API (made with {@link defineHandler}): `req` is typed by the API's request definition and
 * the answer by its response definition, so a handler that reads or writes a field its messages lack does not
 * compile. Fields a version lacks are in `req` all the same, with their defaults (the decoder fills them in).
 */
export interface Handler<A extends ApiSpec> {
  readonly api: A;
  /** Versions advertised and served (a handler may still answer old versions with an error code). */
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(req: RequestOf<A>, ctx: HandlerContext): Answer<ResponseInput<A>>;
}

/**
 * A handler as the router keeps it, in one list with the handlers of other APIs: its message types erased. Every
 * `Handler<A>` is one (a typed body is a Struct). Sound because the router only calls `handle` with a body its
 * own `api.request` definition decoded, and encodes the answer with `api.response`.
 */
export interface AnyHandler {
  readonly api: ApiSpec;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(req: Struct, ctx: HandlerContext): Answer<Struct>;
}

/** A typed handler of `api`: `defineHandler(Api.Produce, { minVersion, maxVersion, handle(req, ctx) {…} })`. */
export function defineHandler<A extends ApiSpec>(api: A, h: Omit<Handler<A>, 'api'>): Handler<A> {
  return { api, minVersion: h.minVersion, maxVersion: h.maxVersion, handle: h.handle };
}

export class Router {
  private readonly handlers = new Map<number, AnyHandler>();
  /** Requests being handled now (metrics). */
  inFlight = 0;

  constructor(
    private readonly node: BrokerContext,
    private readonly log: Logger,
  ) {}

  register(...hs: AnyHandler[]): this {
    for (const h of hs) this.handlers.set(h.api.key, h);
    return this;
  }

  /** (api, min, max) for the ApiVersions response. */
  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.handlers.values()]
      .sort((a, b) => a.api.key - b.api.key)
      .map((h) => ({ apiKey: h.api.key, minVersion: h.minVersion, maxVersion: h.maxVersion }));
  }

  readonly dispatch: Dispatch = async ({ header, reader, connection }): Promise<Reply> => {
    if (!connection.authenticated && !PRE_AUTHENTICATION.has(header.apiKey)) {
      // A SASL listener serves nothing else before the client logged in (Kafka closes here too).
      this.log.warn('request before SASL authentication; closing connection', {
        remote: connection.remote,
        apiKey: header.apiKey,
      });
      return CLOSE;
    }
    if (
      connection.sessionExpiresAt !== 0 &&
      !SASL_APIS.has(header.apiKey) &&
      Date.now() > connection.sessionExpiresAt
    ) {
      // connections.max.reauth.ms passed without a re-authentication (KIP-368).
      this.log.info('SASL session expired; closing connection', { remote: connection.remote });
      return CLOSE;
    }
    const h = this.handlers.get(header.apiKey);
    const supported = h !== undefined && header.apiVersion >= h.minVersion && header.apiVersion <= h.maxVersion;
    if (!supported) {
      if (header.apiKey === ApiKey.ApiVersions) {
        // A client newer than us: answer in v0 with our versions so it can pick one (KIP-511).
        return encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: this.apiVersions(),
        });
      }
      this.log.warn('unsupported api or version; closing connection', {
        remote: connection.remote,
        apiKey: header.apiKey,
        apiVersion: header.apiVersion,
        clientId: header.clientId,
      });
      return CLOSE;
    }
    // request_percentage meters from here: the body's decoding is this request's work too.
    const decodeFrom = this.node.quotas.requestActive ? performance.now() : 0;
    const body = decodeRequestBody(header, reader);
    if (body === null && header.apiKey === ApiKey.ApiVersions) {
      // The first request a client sends, before it knows what we speak: an ApiVersions whose body cannot be
      // decoded (e.g. a v3 request sent with no body at all) gets INVALID_REQUEST and no api keys, the answer
      // Kafka gives a v3 request whose client software fields are empty, instead of a closed connection.
      // Kafka's own parser closes here; answering costs nothing and tells the client what is wrong.
      this.log.debug('undecodable ApiVersions request; answering INVALID_REQUEST', {
        remote: connection.remote,
        apiVersion: header.apiVersion,
        reason: reader.reason,
      });
      return encodeResponse(ApiKey.ApiVersions, header.apiVersion, header.correlationId, {
        errorCode: ErrorCode.INVALID_REQUEST,
        apiKeys: [],
      });
    }
    if (body === null) {
      this.log.warn('malformed request body; closing connection', {
        remote: connection.remote,
        apiKey: header.apiKey,
        apiVersion: header.apiVersion,
        reason: reader.reason,
      });
      return CLOSE;
    }
    const metrics = this.node.metrics;
    const started = metrics.enabled ? performance.now() : 0;
    // request_percentage (KIP-124): one boolean when no such quota is stored. The time metered is the body's
    // decoding, the handler's synchronous part (to its first await) and the encoding of its answer: what this
    // request holds the event loop for, as far as it can be told apart from the work of others (docs/security.md).
    const quotas = this.node.quotas;
    const metered =
      quotas.requestActive &&
      !exempt(header.apiKey, body) &&
      quotas.requestApplies(connection, header.clientId) &&
      connection.authenticated;
    const ctx: HandlerContext = {
      node: this.node,
      header,
      connection,
      log: this.log,
      requestBytes: reader.buf.length,
      remoteMs: 0,
    };
    this.inFlight++;
    let res: Struct | null;
    let handlerMs = 0;
    try {
      const answer = h.handle(body, ctx);
      if (metered) handlerMs = performance.now() - decodeFrom;
      res = await answer;
    } finally {
      this.inFlight--;
    }
    // One observation per request (latency, error codes of the answer): metrics.ts.
    if (metrics.enabled)
      metrics.requestDone(header.apiKey, (performance.now() - started) / 1000, ctx.remoteMs / 1000, res);
    if (res === null) return null;
    if (metered) return this.meteredAnswer(ctx, res, handlerMs);
    return encodeResponse(header.apiKey, header.apiVersion, header.correlationId, res);
  };

  /**
   * Record a metered request's time and throttle it as Kafka does: the answer carries the larger of the
   * throttle its handler set (byte rate, controller mutations) and the request_percentage one, and the
   * connection is muted that long. The encoding's time is recorded after, unthrottled (Kafka records the
   * network threads' share of a request so): it counts towards the next request.
   */
  private async meteredAnswer(ctx: HandlerContext, res: Struct, handlerMs: number): Promise<Reply> {
    const { header, connection } = ctx;
    const quotas = this.node.quotas;
    const clientId = header.clientId ?? '';
    const ms = quotas.recordRequestTime(connection, clientId, handlerMs, true);
    const already = typeof res.throttleTimeMs === 'number' ? res.throttleTimeMs : 0;
    if (ms > already) {
      res.throttleTimeMs = ms;
      // The handler held an old client's answer for its own throttle already: only the difference is added.
      await applyThrottle(ctx, ms - already, clientThrottles(header.apiKey, header.apiVersion));
      connection.muteFor(ms);
    }
    const encodeFrom = performance.now();
    const reply = encodeResponse(header.apiKey, header.apiVersion, header.correlationId, res);
    quotas.recordRequestTime(connection, clientId, performance.now() - encodeFrom, false);
    return reply;
  }
}
