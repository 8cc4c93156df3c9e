/**
 * A kstream cluster for integration tests: Debian's etcd and N real `kstream serve` nodes, each on a free
 * loopback port with its own temp data dir, started in parallel and ready only when every node answers
 * Metadata listing all of them. Nodes can be SIGKILLed, stopped, paused and restarted (same id, same data
 * dir); a node that exits without the test asking prints its log (CI diagnosis). `close()` stops everything
 * and removes the dirs; call it in `after` (it is safe to call twice), and a failed start cleans up itself.
 *
 *   const cluster = await startCluster({ nodes: 3, props: { 'replica.lag.time.max.ms': '3000' } });
 *   after(() => cluster?.close());
 *   await cluster.kill(2);
 *   cluster.bootstrap();          // the live nodes, "127.0.0.1:p1,127.0.0.1:p3"
 *   await cluster.start(2);       // back with its data dir and port
 */
import type { ChildProcess } from 'node:child_process';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from './broker.js';
import { type EtcdOptions, type EtcdProcess, startEtcd } from './etcd.js';
import { RawClient } from './raw-client.js';

export interface ClusterOptions {
  /** How many nodes (ids 1..n) or their ids; default 3. */
  nodes?: number | readonly number[];
  /** Default "test-<random>". */
  clusterId?: string;
  /**
   * Broker properties of every node (a --config file). With `listeners` (their ports 0: picked at each start)
   * the nodes get no --host/--port; the first listener must be a PLAINTEXT one (the helper's checks use it).
   */
  props?: Record<string, string>;
  /** Per-node properties, merged over `props` (e.g. `broker.rack`). */
  nodeProps?: (id: number) => Record<string, string>;
  /** A node's data dir; default a fresh temp dir that close() removes (a dir given here is the caller's). */
  dataDir?: (id: number) => string;
  /** Extra `kstream serve` arguments per node. */
  args?: (id: number) => string[];
  /** etcd's own options (TLS with client certificates). */
  etcd?: EtcdOptions;
  /** How long to wait for all nodes to see each other; default 30 s. */
  readyTimeoutMs?: number;
  /** Where unexpected exits are reported; default process.stderr (as TAP comments). */
  report?: (line: string) => void;
}

export interface Cluster {
  etcd: EtcdProcess;
  /** The nodes started with the cluster (a node started later with `start` is not listed here). */
  ids: readonly number[];
  clusterId: string;
  /** The current process of a node (the last one started). */
  node(id: number): BrokerProcess;
  /** Started and not exited (a paused node is up). */
  isUp(id: number): boolean;
  /** host:port of the live nodes (those started later too), comma-separated, except `except`. */
  bootstrap(except?: number | readonly number[]): string;
  /** A node's data dir (kept across restarts). */
  dataDir(id: number): string;
  /**
   * Starts a node that is down, with its data dir and (on a restart) its port; resolves when it listens. An id
   * outside `ids` adds a node (it joins the same etcd and cluster id). `props` are merged over the node's
   * properties for this start only.
   */
  start(id: number, props?: Record<string, string>): Promise<BrokerProcess>;
  /** SIGKILL. */
  kill(id: number): Promise<void>;
  /** SIGTERM (controlled shutdown); resolves with the exit code. */
  stop(id: number): Promise<number | null>;
  /** SIGSTOP / SIGCONT: the node stops answering without dying. */
  pause(id: number): void;
  resume(id: number): void;
  /** Until Metadata from each of `ids` (default: the live nodes) lists all of them. */
  waitForBrokers(ids?: readonly number[], ms?: number): Promise<void>;
  /** Kills every node and etcd, removes the data dirs it created. */
  close(): Promise<void>;
}

const alive = (b: BrokerProcess) => b.child.exitCode === null && b.child.signalCode === null;

async function brokerIds(port: number): Promise<number[]> {
  const c = await RawClient.connect(port);
  try {
    const md = await Promise.race([
      c.request(ApiKey.Metadata, 1, { topics: [] }),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('metadata timeout')), 2000)),
    ]);
    return (md.brokers as { nodeId: number }[]).map((b) => b.nodeId);
  } finally {
    c.close();
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const ids =
    typeof opts.nodes === 'object' ? [...opts.nodes] : Array.from({ length: opts.nodes ?? 3 }, (_, i) => i + 1);
  const clusterId = opts.clusterId ?? `test-${Math.random().toString(36).slice(2, 8)}`;
  const report = opts.report ?? ((line: string) => process.stderr.write(`# ${line}\n`));
  const nodes = new Map<number, BrokerProcess>();
  const dirs = new Map<number, string>();
  /** The dirs this helper created (and close() removes). */
  const ownDirs = new Set<string>();
  /** Processes the test stops, kills or the cluster closes on purpose. */
  const expected = new Set<ChildProcess>();
  let closed = false;
  const etcd = await startEtcd(opts.etcd);

  const start = async (id: number, extra?: Record<string, string>): Promise<BrokerProcess> => {
    const running = nodes.get(id);
    if (running && alive(running)) throw new Error(`node ${id} is already running`);
    let dir = dirs.get(id);
    if (!dir) {
      dir = opts.dataDir?.(id);
      if (!dir) {
        dir = tempDir(`kstream-node${id}-`);
        ownDirs.add(dir);
      }
      dirs.set(id, dir);
    }
    const props = { ...opts.props, ...opts.nodeProps?.(id), ...extra };
    const withListeners = props.listeners !== undefined;
    const b = await startBroker({
      dataDir: dir,
      // A restart comes back on the same port, as a real broker would (clients keep their bootstrap list).
      port: withListeners ? undefined : running?.port,
      noHostPort: withListeners,
      args: ['--node-id', String(id), '--etcd', etcd.url, '--cluster-id', clusterId, ...(opts.args?.(id) ?? [])],
      props: Object.keys(props).length > 0 ? props : undefined,
    });
    nodes.set(id, b);
    b.child.once('exit', (code, signal) => {
      if (expected.has(b.child) || closed) return;
      report(`node ${id} exited unexpectedly (code ${code}, signal ${signal}); its log:`);
      for (const line of b.logs().slice(-6000).split('\n')) report(`  ${line}`);
    });
    return b;
  };

  const node = (id: number): BrokerProcess => {
    const b = nodes.get(id);
    if (!b) throw new Error(`no node ${id} (nodes: ${ids.join(', ')})`);
    return b;
  };

  const cluster: Cluster = {
    etcd,
    ids,
    clusterId,
    node,
    isUp: (id) => {
      const b = nodes.get(id);
      return b !== undefined && alive(b);
    },
    bootstrap(except) {
      const skip = new Set(typeof except === 'number' ? [except] : (except ?? []));
      return [...ids, ...[...nodes.keys()].filter((id) => !ids.includes(id))]
        .filter((id) => !skip.has(id) && cluster.isUp(id))
        .map((id) => node(id).bootstrap)
        .join(',');
    },
    dataDir: (id) => {
      const d = dirs.get(id);
      if (!d) throw new Error(`no node ${id} was started`);
      return d;
    },
    start,
    async kill(id) {
      const b = node(id);
      expected.add(b.child);
      b.child.kill('SIGCONT');
      await b.kill();
    },
    async stop(id) {
      const b = node(id);
      expected.add(b.child);
      b.child.kill('SIGCONT');
      return b.stop();
    },
    pause: (id) => {
      node(id).child.kill('SIGSTOP');
    },
    resume: (id) => {
      node(id).child.kill('SIGCONT');
    },
    async waitForBrokers(want, ms = opts.readyTimeoutMs ?? 30_000) {
      const list = want ?? ids.filter((id) => cluster.isUp(id));
      const end = Date.now() + ms;
      let last = '';
      for (;;) {
        const seen = await Promise.all(
          list.map((id) => brokerIds(node(id).port).catch((e: Error) => `node ${id}: ${e.message}`)),
        );
        if (seen.every((s) => Array.isArray(s) && list.every((id) => s.includes(id)))) return;
        last = seen.map((s, i) => `node ${list[i]} sees ${Array.isArray(s) ? `[${s.join(',')}]` : s}`).join('; ');
        if (Date.now() > end) throw new Error(`nodes ${list.join(',')} did not all register: ${last}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(
        [...nodes.values()].map(async (b) => {
          expected.add(b.child);
          b.child.kill('SIGCONT');
          await b.kill();
        }),
      );
      etcd.resume();
      await etcd.stop();
      for (const d of ownDirs) removeDir(d);
    },
  };

  try {
    // In parallel: each node waits for nothing but its own listener.
    const started = await Promise.allSettled(ids.map((id) => start(id)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await cluster.waitForBrokers(ids);
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}
