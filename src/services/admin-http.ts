/**
 * A node's admin HTTP listener seen from the CLI (issue 20): where it is, whether the node is ready, its
 * /metrics text. Each broker reports its listener in the broker config `admin.listeners` (DescribeConfigs,
 * the value in effect: empty when off or when its default port was busy), so only Kafka's protocol is needed
 * to find it; a listener bound to 0.0.0.0 / :: is reached at the broker's advertised host. Bounded waits: a
 * node that does not answer in time is "unreachable", never a hang.
 */
import type { Admin } from '../client/index.js';

export interface AdminEndpoint {
  nodeId: number;
  /** http(s)://host:port, null when the broker has no admin listener (or does not say). */
  url: string | null;
}

/** The admin listener of each broker, from its `admin.listeners` config. */
export async function adminEndpoints(
  admin: Admin,
  brokers: readonly { nodeId: number; host: string | null }[],
): Promise<AdminEndpoint[]> {
  const up = brokers.filter((b) => b.host !== null);
  if (up.length === 0) return [];
  let results: Awaited<ReturnType<Admin['describeConfigs']>> = [];
  try {
    results = await admin.describeConfigs(
      up.map((b) => ({ type: 'broker' as const, name: String(b.nodeId), keys: ['admin.listeners'] })),
    );
  } catch {
    return up.map((b) => ({ nodeId: b.nodeId, url: null }));
  }
  return up.map((b) => {
    const r = results.find((x) => x.name === String(b.nodeId));
    const value = r?.configs.find((c) => c.name === 'admin.listeners')?.value ?? null;
    return { nodeId: b.nodeId, url: adminUrl(value, b.host as string) };
  });
}

/**
 * `admin.listeners` as a URL to reach it; null when off, or bound to loopback on a broker advertised elsewhere
 * (another machine's 127.0.0.1 is not this one's). A wildcard host becomes the broker's host.
 */
export function adminUrl(value: string | null, brokerHost: string): string | null {
  if (value === null) return null;
  const m = /^(?:(https?):\/\/)?(\[[^\]]+\]|[^:/\s]*):(\d+)\/?$/i.exec(value.trim());
  if (!m || Number(m[3]) === 0) return null;
  let host = m[2] as string;
  if (host === '' || host === '0.0.0.0' || host === '[::]' || host === '::') host = brokerHost;
  if (isLoopback(host) && !isLoopback(brokerHost)) return null;
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `${(m[1] ?? 'http').toLowerCase()}://${host}:${m[3]}`;
}

function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === 'localhost' || host === '::1' || host === '[::1]';
}

export type ReadyState = 'ready' | 'not ready' | 'unreachable';

/** GET /ready of a node: ready (200), not ready (503, with the failing checks), or unreachable. */
export async function nodeReadiness(
  url: string,
  timeoutMs = 2000,
  nodeId?: number,
): Promise<{ state: ReadyState; detail: string | null }> {
  try {
    const r = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await r.json().catch(() => null)) as {
      nodeId?: number;
      checks?: Record<string, boolean>;
      detail?: string;
    } | null;
    // Another node (or another process) answering on that address says nothing about this one.
    if (nodeId !== undefined && body?.nodeId !== nodeId) {
      return { state: 'unreachable', detail: `${url} answers for node ${body?.nodeId ?? '?'}` };
    }
    if (r.status === 200) return { state: 'ready', detail: null };
    if (r.status === 503) {
      const failing = Object.entries(body?.checks ?? {})
        .filter(([, ok]) => !ok)
        .map(([name]) => name);
      return {
        state: 'not ready',
        detail: body?.detail ?? (failing.length > 0 ? `not ${failing.join(', not ')}` : null),
      };
    }
    return { state: 'unreachable', detail: `HTTP ${r.status}` };
  } catch (e) {
    return { state: 'unreachable', detail: (e as Error).message };
  }
}

/** The readiness of every broker that has an admin listener, asked in parallel; a map by node id. */
export async function readinessByNode(
  endpoints: readonly AdminEndpoint[],
  timeoutMs = 2000,
): Promise<Map<number, ReadyState>> {
  const out = new Map<number, ReadyState>();
  await Promise.all(
    endpoints.map(async (e) => {
      if (e.url !== null) out.set(e.nodeId, (await nodeReadiness(e.url, timeoutMs, e.nodeId)).state);
    }),
  );
  return out;
}

/** GET /metrics of a node (Prometheus text). */
export async function nodeMetrics(url: string, timeoutMs = 5000): Promise<string> {
  const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${url}/metrics`);
  return r.text();
}

/** The counter a kstream node exports per throttled client (docs/metrics.md). */
export const THROTTLE_METRIC = 'kstream_client_throttle_time_seconds_total';

/** Seconds a client (by quota kind, user and client id) has spent throttled, summed over the nodes that say. */
export interface ClientThrottle {
  quota: string;
  user: string;
  clientId: string;
  seconds: number;
}

/**
 * The throttle counters of every node with an admin listener (GET /metrics?name[]=…, that family alone), summed
 * per client over the nodes; null when no node answered (a Kafka cluster, or no listener reachable): callers then
 * know nothing about throttling, which differs from "nobody throttled" (an empty list).
 */
export async function clientThrottles(
  endpoints: readonly AdminEndpoint[],
  timeoutMs = 2000,
): Promise<ClientThrottle[] | null> {
  const texts = await Promise.all(
    endpoints.map(async (e) => {
      if (e.url === null) return null;
      try {
        const r = await fetch(`${e.url}/metrics?name[]=${THROTTLE_METRIC}`, { signal: AbortSignal.timeout(timeoutMs) });
        return r.status === 200 ? await r.text() : null;
      } catch {
        return null;
      }
    }),
  );
  if (texts.every((t) => t === null)) return null;
  const sum = new Map<string, ClientThrottle>();
  for (const text of texts) {
    for (const s of parseSamples(text ?? '', THROTTLE_METRIC)) {
      const t = { quota: s.labels.quota ?? '', user: s.labels.user ?? '', clientId: s.labels.client_id ?? '' };
      const k = `${t.quota}\u0000${t.user}\u0000${t.clientId}`;
      const had = sum.get(k);
      if (had) had.seconds += s.value;
      else sum.set(k, { ...t, seconds: s.value });
    }
  }
  return [...sum.values()];
}

/** The samples of one metric in Prometheus text: labels (unescaped) and value. */
export function parseSamples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const labels: Record<string, string> = {};
    let i = name.length;
    if (line[i] === '{') {
      i++;
      while (i < line.length && line[i] !== '}') {
        const eq = line.indexOf('=', i);
        if (eq < 0 || line[eq + 1] !== '"') break;
        const label = line.slice(i, eq);
        let v = '';
        let j = eq + 2;
        for (; j < line.length && line[j] !== '"'; j++) {
          if (line[j] === '\\' && j + 1 < line.length) {
            j++;
            v += line[j] === 'n' ? '\n' : line[j];
          } else v += line[j];
        }
        labels[label] = v;
        i = j + 1;
        if (line[i] === ',') i++;
      }
      i++;
    }
    const value = Number(line.slice(i).trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) out.push({ labels, value });
  }
  return out;
}
