/**
 * The fault harness's cluster: etcd and three real `kstream serve` nodes (bin/run.js on the built dist/),
 * each in its own network namespace on a bridge (test/helpers/netns.ts), each node's data dir a small tmpfs
 * (so its disk can be filled). Clients run in the root namespace and reach every node through the bridge;
 * the faults act on one namespace or process:
 *
 *   kill / start      SIGKILL a node, start it again (same id, address, data dir)
 *   pause / resume    SIGSTOP / SIGCONT
 *   isolate / heal    nft drops between a node and the other nodes and/or etcd, both ways or one way
 *   stopEtcd / startEtcd
 *   fillDisk / freeDisk   a file takes every free byte of the node's tmpfs
 *
 * `restore()` undoes every fault and waits until the nodes see each other; `close()` stops everything and
 * removes the namespaces, mounts and dirs (the lab's record lets the next run do it after a crash).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/broker.js';
import { createLab, type Lab } from '../helpers/netns.js';
import { type Endpoint, type MetadataView, metadata } from './wire.js';

export const NODE_PORT = 9092;
export const ETCD_PORT = 2379;

/** Broker settings of every run: Kafka's durable set-up (RF 3, two in-sync replicas for acks=all, no unclean election). */
export const DEFAULT_PROPS: Readonly<Record<string, string>> = {
  'min.insync.replicas': '2',
  'unclean.leader.election.enable': 'false',
  'default.replication.factor': '3',
  'auto.create.topics.enable': 'false',
};

export interface FaultClusterOptions {
  /** Where logs, etcd's data and the nodes' mounts go; default a fresh temp dir, removed by close(). */
  runDir?: string;
  /** Size of each node's tmpfs data dir. Default 128 MB. */
  tmpfsMb?: number;
  props?: Record<string, string>;
  /**
   * The admin HTTP listener's port (--http-port); default 0: off. Reachable from the root namespace when
   * `props` set admin.listeners to an address on the bridge (http://0.0.0.0:<port>).
   */
  httpPort?: number;
  log?: (line: string) => void;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

const isAlive = (p: Proc | undefined) => p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FaultCluster {
  readonly ids = [1, 2, 3] as const;
  readonly clusterId = 'fault';
  readonly props: Record<string, string>;
  private readonly procs = new Map<number, Proc>();
  private etcdProc: Proc | undefined;
  private readonly paused = new Set<number>();
  private etcdPaused = false;
  private readonly filled = new Set<number>();
  private closed = false;
  private readonly log: (line: string) => void;
  private readonly httpPort: number;

  private constructor(
    readonly lab: Lab,
    readonly runDir: string,
    private readonly ownRunDir: boolean,
    opts: FaultClusterOptions,
  ) {
    this.props = { ...DEFAULT_PROPS, ...opts.props };
    this.log = opts.log ?? (() => {});
    this.httpPort = opts.httpPort ?? 0;
  }

  /** Sets up the lab, etcd and the three nodes; cleans up itself when any of it fails. */
  static async start(opts: FaultClusterOptions = {}): Promise<FaultCluster> {
    const lab = await createLab(['etcd', 'n1', 'n2', 'n3']);
    const ownRunDir = opts.runDir === undefined;
    const runDir = opts.runDir ?? join(tmpdir(), `kstream-fault-${process.pid}-${Date.now()}`);
    mkdirSync(join(runDir, 'logs'), { recursive: true });
    if (ownRunDir) lab.ownDir(runDir);
    const c = new FaultCluster(lab, runDir, ownRunDir, opts);
    try {
      for (const id of c.ids) {
        lab.mountTmpfs(c.mountDir(id), opts.tmpfsMb ?? 128);
        mkdirSync(c.dataDir(id), { recursive: true });
      }
      writeFileSync(
        join(runDir, 'server.properties'),
        Object.entries(c.props)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );
      await c.startEtcd();
      await Promise.all(c.ids.map((id) => c.start(id)));
      await c.waitForBrokers(60_000);
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  ip(id: number): string {
    return this.lab.ip(`n${id}`);
  }

  endpoint(id: number): Endpoint {
    return { host: this.ip(id), port: NODE_PORT };
  }

  get etcdIp(): string {
    return this.lab.ip('etcd');
  }

  get etcdUrl(): string {
    return `http://${this.etcdIp}:${ETCD_PORT}`;
  }

  /** Every node's address (clients keep all three in their bootstrap list, as a real deployment would). */
  bootstrap(): string {
    return this.ids.map((id) => `${this.ip(id)}:${NODE_PORT}`).join(',');
  }

  /** The tmpfs mount of a node; its data dir is `data` inside it, the disk filler `filler` beside it. */
  mountDir(id: number): string {
    return join(this.runDir, `node${id}`);
  }

  dataDir(id: number): string {
    return join(this.mountDir(id), 'data');
  }

  logFile(name: string): string {
    return join(this.runDir, 'logs', `${name}.log`);
  }

  isUp(id: number): boolean {
    return isAlive(this.procs.get(id));
  }

  isPaused(id: number): boolean {
    return this.paused.has(id);
  }

  etcdUp(): boolean {
    return isAlive(this.etcdProc);
  }

  pid(id: number): number | undefined {
    return this.procs.get(id)?.child.pid;
  }

  /** Spawns `argv` in a lab host, stdout and stderr appended to a log file; resolves when `ready` matches a line. */
  private async spawnIn(host: string, argv: string[], logName: string, ready: RegExp, what: string): Promise<Proc> {
    const file = this.logFile(logName);
    const fd = openSync(file, 'a');
    writeSync(fd, `\n===== ${new Date().toISOString()} start: ${argv.join(' ')}\n`);
    const [cmd, args] = this.lab.command(host, argv);
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', fd] });
    closeSync(fd);
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let seen = '';
    const logFd = openSync(file, 'a');
    child.stdout?.on('data', (d: Buffer) => {
      writeSync(logFd, d);
      if (seen.length < 65536) seen += d.toString();
    });
    child.stdout?.once('close', () => closeSync(logFd));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${what} did not start in 60 s (log: ${file})`));
      }, 60_000);
      const check = () => {
        if (ready.test(seen)) {
          clearTimeout(timer);
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(
            new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready (log: ${file})`),
          );
        } else setTimeout(check, 50);
      };
      check();
    });
    return { child, exited };
  }

  async startEtcd(): Promise<void> {
    if (this.etcdUp()) return;
    const ip = this.etcdIp;
    // etcd logs to stderr; readiness is checked by its health answer instead of parsing its log.
    const dir = join(this.runDir, 'etcd');
    const argv = [
      'etcd',
      '--name',
      'fault',
      '--data-dir',
      dir,
      '--listen-client-urls',
      `http://${ip}:${ETCD_PORT}`,
      '--advertise-client-urls',
      `http://${ip}:${ETCD_PORT}`,
      '--listen-peer-urls',
      'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls',
      'http://127.0.0.1:2380',
      '--initial-cluster',
      'fault=http://127.0.0.1:2380',
    ];
    const [cmd, args] = this.lab.command('etcd', argv);
    const fd = openSync(this.logFile('etcd'), 'a');
    writeSync(fd, `\n===== ${new Date().toISOString()} start etcd\n`);
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    this.etcdProc = { child, exited };
    this.etcdPaused = false;
    const end = Date.now() + 60_000;
    for (;;) {
      try {
        const r = await fetch(`${this.etcdUrl}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) break;
      } catch {
        // not yet
      }
      if (!this.etcdUp()) throw new Error(`etcd exited before it was ready (log: ${this.logFile('etcd')})`);
      if (Date.now() > end) throw new Error(`etcd did not answer /health in 60 s (log: ${this.logFile('etcd')})`);
      await sleep(100);
    }
    this.log(`etcd up at ${this.etcdUrl}`);
  }

  /** Stops etcd (SIGTERM; SIGKILL for a crash), keeping its data. */
  async stopEtcd(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const p = this.etcdProc;
    if (!p || !isAlive(p)) return;
    p.child.kill('SIGCONT');
    p.child.kill(signal);
    await p.exited;
  }

  pauseEtcd(): void {
    this.etcdProc?.child.kill('SIGSTOP');
    this.etcdPaused = true;
  }

  resumeEtcd(): void {
    this.etcdProc?.child.kill('SIGCONT');
    this.etcdPaused = false;
  }

  /** Starts a node that is down; resolves once it listens. */
  async start(id: number): Promise<void> {
    if (this.isUp(id)) throw new Error(`node ${id} is already running`);
    const argv = [
      process.execPath,
      BIN,
      'serve',
      '--http-port',
      String(this.httpPort),
      '--node-id',
      String(id),
      '--host',
      this.ip(id),
      '--port',
      String(NODE_PORT),
      '--data-dir',
      this.dataDir(id),
      '--etcd',
      this.etcdUrl,
      '--cluster-id',
      this.clusterId,
      '--config',
      join(this.runDir, 'server.properties'),
    ];
    const p = await this.spawnIn(`n${id}`, argv, `node${id}`, /listening on /, `node ${id}`);
    this.procs.set(id, p);
    this.paused.delete(id);
    this.log(`node ${id} up (pid ${p.child.pid})`);
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(id: number): Promise<void> {
    const p = this.procs.get(id);
    if (!p || !isAlive(p)) return;
    p.child.kill('SIGKILL');
    await p.exited;
    this.paused.delete(id);
  }

  /** SIGTERM (controlled shutdown); SIGKILL after `ms`. */
  async stop(id: number, ms = 30_000): Promise<void> {
    const p = this.procs.get(id);
    if (!p || !isAlive(p)) return;
    p.child.kill('SIGCONT');
    p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), ms);
    await p.exited;
    clearTimeout(t);
    this.paused.delete(id);
  }

  pause(id: number): void {
    this.procs.get(id)?.child.kill('SIGSTOP');
    this.paused.add(id);
  }

  resume(id: number): void {
    this.procs.get(id)?.child.kill('SIGCONT');
    this.paused.delete(id);
  }

  /** Drops packets between node `id` and the other nodes and/or etcd (rules inside the node's namespace). */
  isolate(id: number, from: { nodes: boolean; etcd: boolean }, direction: 'both' | 'in' | 'out'): string[] {
    const peers = [
      ...(from.nodes ? this.ids.filter((o) => o !== id).map((o) => this.ip(o)) : []),
      ...(from.etcd ? [this.etcdIp] : []),
    ];
    this.lab.block(`n${id}`, peers, direction);
    return peers;
  }

  heal(id: number): void {
    this.lab.unblock(`n${id}`);
  }

  /** Takes every free byte of the node's tmpfs with a file; returns the bytes written. */
  fillDisk(id: number): number {
    const file = join(this.mountDir(id), 'filler');
    const fd = openSync(file, 'a');
    let written = 0;
    try {
      for (const size of [1 << 20, 1 << 16, 1 << 12, 512, 1]) {
        const chunk = Buffer.alloc(size, 0x66);
        for (;;) {
          try {
            written += writeSync(fd, chunk);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw e;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    this.filled.add(id);
    return written;
  }

  freeDisk(id: number): void {
    rmSync(join(this.mountDir(id), 'filler'), { force: true });
    this.filled.delete(id);
  }

  /** Free bytes of the node's data disk. */
  freeBytes(id: number): number {
    const s = statfsSync(this.mountDir(id));
    return s.bavail * s.bsize;
  }

  /** The metadata of `topic` as node `id` sees it. */
  metadataFrom(id: number, topic: string, timeoutMs = 2000): Promise<MetadataView> {
    return metadata(this.endpoint(id), topic, timeoutMs);
  }

  /** Until every running node's Metadata lists all three brokers. */
  async waitForBrokers(ms: number): Promise<void> {
    const end = Date.now() + ms;
    let last = '';
    for (;;) {
      const views = await Promise.all(
        this.ids.map((id) =>
          this.metadataFrom(id, '__none__', 1500).then(
            (m) => m.brokers.map((b) => b.nodeId),
            (e: Error) => `node ${id}: ${e.message}`,
          ),
        ),
      );
      if (views.every((v) => Array.isArray(v) && this.ids.every((id) => v.includes(id)))) return;
      last = views.map((v, i) => `node ${i + 1} sees ${Array.isArray(v) ? `[${v.join(',')}]` : v}`).join('; ');
      if (Date.now() > end) throw new Error(`the nodes did not all see each other in ${ms} ms: ${last}`);
      await sleep(250);
    }
  }

  /** Undoes every fault (etcd back, nodes resumed and started, rules removed, disks freed), then waits for the brokers. */
  async restore(ms = 60_000): Promise<void> {
    if (this.etcdPaused) this.resumeEtcd();
    if (!this.etcdUp()) await this.startEtcd();
    for (const id of this.ids) {
      this.heal(id);
      if (this.filled.has(id)) this.freeDisk(id);
      if (this.paused.has(id)) this.resume(id);
    }
    for (const id of this.ids) if (!this.isUp(id)) await this.start(id);
    await this.waitForBrokers(ms);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.procs.values()].map(async (p) => {
        if (!isAlive(p)) return;
        p.child.kill('SIGCONT');
        p.child.kill('SIGKILL');
        await p.exited;
      }),
    );
    if (this.etcdProc && isAlive(this.etcdProc)) {
      this.etcdProc.child.kill('SIGCONT');
      this.etcdProc.child.kill('SIGKILL');
      await this.etcdProc.exited;
    }
    await this.lab.close();
    if (this.ownRunDir) rmSync(this.runDir, { recursive: true, force: true });
  }
}
