/**
 * The admin HTTP listener of a node (issue 20, DESIGN decision 12): `admin.listeners` (default
 * http://127.0.0.1:9644, Redpanda's admin port; `--http-port`; port 0 or an empty value: off), https:// with
 * the TLS options of listener name ADMIN (`listener.name.admin.ssl.*`, else the node's `ssl.*` keys, as the
 * Kafka listeners read theirs: listeners.ts).
 *
 *   GET /metrics   Prometheus text (0.0.4), or OpenMetrics 1.0 when the Accept header asks for it;
 *                  `?name[]=A&name[]=B` only those metric families (as the JMX and node exporters filter)
 *   GET /health    200 while the process runs and can write its data dir, else 503 (JSON body)
 *   GET /ready     200 once the node listens, has joined (metadata loaded, registered in the cluster) and
 *                  leads what the controller's view says it leads, else 503 (JSON body: which check fails)
 *
 * HEAD is answered like GET without a body; other methods 405, other paths 404. A slow or idle client cannot
 * hold the listener: headers must arrive within HEADERS_TIMEOUT_MS, a whole request within REQUEST_TIMEOUT_MS,
 * an idle socket is closed after IDLE_TIMEOUT_MS, and connections beyond MAX_CONNECTIONS are refused (each
 * socket is served by the event loop, so idle ones never block others).
 */
import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { Logger } from '../util/logger.js';
import { ConfigError } from './config-error.js';
import { listenerTls } from './listeners.js';

export const DEFAULT_ADMIN_LISTENER = 'http://127.0.0.1:9644';
export const HEADERS_TIMEOUT_MS = 5000;
export const REQUEST_TIMEOUT_MS = 10_000;
export const IDLE_TIMEOUT_MS = 30_000;
export const MAX_CONNECTIONS = 1024;

export interface AdminListener {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Given by the user (admin.listeners or --http-port), not the default: a busy port is an error. */
  explicit: boolean;
}

/**
 * `admin.listeners`: `http://host:port`, `https://host:port` or `host:port` (one listener). Null: off (port 0
 * or an empty value). A ConfigError for anything else.
 */
export function parseAdminListener(props: Record<string, string>): AdminListener | null {
  const given = props['admin.listeners'];
  const raw = (given ?? DEFAULT_ADMIN_LISTENER).trim();
  if (raw === '') return null;
  const m = /^(?:(https?):\/\/)?(\[[^\]]+\]|[^:/\s]*):(\d+)\/?$/i.exec(raw);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(
      `invalid value ${JSON.stringify(raw)} for admin.listeners: expected http://host:port or https://host:port ` +
        '(port 0 or an empty value turns the admin listener off)',
    );
  }
  if (port === 0) return null;
  const host = (m[2] as string).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { scheme: (m[1] ?? 'http').toLowerCase() as 'http' | 'https', host, port, explicit: given !== undefined };
}

/** The admin listener URL with `--http-port` applied (0: off, an empty value). */
export function withHttpPort(current: string | undefined, port: number): string {
  if (port === 0) return '';
  const m = /^(?:(https?):\/\/)?(\[[^\]]+\]|[^:/\s]*):(\d+)\/?$/i.exec((current ?? DEFAULT_ADMIN_LISTENER).trim());
  const scheme = m?.[1]?.toLowerCase() ?? 'http';
  const host = m?.[2] || '127.0.0.1';
  return `${scheme}://${host}:${port}`;
}

export interface Readiness {
  ready: boolean;
  /** Each check by name: true when it passes. */
  checks: Record<string, boolean>;
  detail?: string;
}

export interface AdminEndpoints {
  /** `names`: only these metric families (the `name[]` query parameters), Prometheus text. */
  render(openMetrics: boolean, names?: readonly string[]): Promise<{ contentType: string; body: string }>;
  ready(): Readiness;
  /** Named in the /health and /ready answers (a client can tell which node answered). */
  readonly nodeId: number;
  /** The data dir, probed by /health with a small write. */
  readonly dataDir: string;
}

export class AdminHttpServer {
  private server: Server | null = null;
  private probing: Promise<string | null> | null = null;
  /** The port bound (the one configured). */
  port = 0;

  constructor(
    readonly listener: AdminListener,
    private readonly endpoints: AdminEndpoints,
    private readonly props: Record<string, string>,
    private readonly log: Logger,
  ) {}

  get url(): string {
    const host = this.listener.host.includes(':') ? `[${this.listener.host}]` : this.listener.host;
    return `${this.listener.scheme}://${host}:${this.port}`;
  }

  /** Bind. A busy default port is logged and the node goes on without the listener; a configured one is an error. */
  async start(): Promise<boolean> {
    const l = this.listener;
    const options = {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: 5000,
      connectionsCheckingInterval: 1000,
      maxHeaderSize: 16 * 1024,
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const server: Server =
      l.scheme === 'https'
        ? createHttpsServer({ ...listenerTls(this.props, 'ADMIN').options, ...options }, handler)
        : createHttpServer(options, handler);
    server.maxConnections = MAX_CONNECTIONS;
    // An idle socket (no request, or between requests) is closed: no 'timeout' listener means destroy.
    server.setTimeout(IDLE_TIMEOUT_MS);
    // Malformed requests and timed-out headers: Node's own clientError answer (400 / 408 / 431), then the
    // socket is destroyed (a handler that only ended it would leave a half-open socket to a dripping client).
    const bound = await new Promise<boolean>((res, rej) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const what =
          e.code === 'EADDRINUSE'
            ? `admin port ${l.port} on ${l.host} is already in use`
            : `cannot listen on ${l.host}:${l.port} for the admin listener: ${e.message}`;
        if (l.explicit) rej(new ConfigError(`${what} (admin.listeners / --http-port; 0 turns it off)`));
        else {
          this.log.warn(`${what}: no admin HTTP listener (set admin.listeners or --http-port; 0 turns it off)`);
          res(false);
        }
      });
      server.listen(l.port, l.host, () => res(true));
    });
    if (!bound) return false;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : l.port;
    this.server = server;
    return true;
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return Promise.resolve();
    return new Promise((res) => {
      s.close(() => res());
      s.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] as string;
    const route = path === '/metrics' || path === '/health' || path === '/ready' ? path : null;
    if (route === null) {
      send(res, 404, { error: `no such path: ${path.slice(0, 200)} (try /metrics, /health, /ready)` });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, { error: `method ${req.method} not allowed: use GET or HEAD` });
      return;
    }
    if (route === '/metrics') {
      const openMetrics = (req.headers.accept ?? '').includes('application/openmetrics-text');
      const q = (req.url ?? '').indexOf('?');
      const names = q < 0 ? [] : new URLSearchParams((req.url ?? '').slice(q + 1)).getAll('name[]').slice(0, 100);
      this.endpoints.render(openMetrics, names).then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
          res.end(body);
        },
        (e: unknown) => {
          this.log.warn('metrics collection failed', { error: e });
          send(res, 500, { error: 'metrics collection failed' });
        },
      );
    } else if (route === '/health') {
      this.probe().then((problem) => {
        const nodeId = this.endpoints.nodeId;
        if (problem === null) send(res, 200, { nodeId, status: 'ok', dataDir: 'writable' });
        else send(res, 503, { nodeId, status: 'unhealthy', dataDir: problem });
      });
    } else {
      const r = this.endpoints.ready();
      send(res, r.ready ? 200 : 503, {
        nodeId: this.endpoints.nodeId,
        status: r.ready ? 'ready' : 'not ready',
        checks: r.checks,
        detail: r.detail,
      });
    }
  }

  /** Write, sync and remove a small file in the data dir: null when it worked, else why not. One probe at a time. */
  private probe(): Promise<string | null> {
    if (this.probing !== null) return this.probing;
    const run = async (): Promise<string | null> => {
      const file = join(this.endpoints.dataDir, `.health-${randomBytes(4).toString('hex')}.tmp`);
      try {
        const fh = await open(file, 'w');
        try {
          await fh.write('ok\n');
          await fh.datasync();
        } finally {
          await fh.close();
        }
        await unlink(file);
        return null;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        return `not writable (${code})`;
      }
    };
    const p = run().finally(() => {
      this.probing = null;
    });
    this.probing = p;
    return p;
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}
