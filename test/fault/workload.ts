/**
 * The fault harness's clients and observers, in the root namespace:
 * - producers: librdkafka (confluent-kafka-python, clients/producer.py) and kstream's own (src/client,
 *   clients/kstream-producer.ts), acks=all, unique values, round-robin over the partitions at a steady rate;
 * - consumers in groups: librdkafka members (clients/consumer.py, auto-commit) and kstream's CLI
 *   (`kstream consume --group`), printing every record they are handed;
 * - a monitor sampling each group's committed offsets (OffsetFetch to the coordinator) and each node's view
 *   of the topic (leader, epoch, ISR), recording changes.
 * Every line a client prints becomes an event of the history, timestamped on arrival. A client that exits on
 * its own is recorded (time, code, the end of its stderr) and started again a second later, as an operator's
 * supervisor would; a producer comes back under a new name so values stay unique.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/broker.js';
import type { Ack, CommitSample, Failure, History, Read } from './checker.js';
import type { FaultCluster } from './harness.js';
import { committedOffsets } from './wire.js';

export type ClientKind = 'librdkafka' | 'kstream';

export interface ClientSpec {
  name: string;
  kind: ClientKind;
  role: 'producer' | 'consumer';
  /** Consumers: the group. */
  group?: string;
}

export interface ClientExit {
  at: number;
  incarnation: string;
  code: number | null;
  signal: string | null;
  /** Whether the harness asked it to stop. */
  asked: boolean;
  stderrTail: string;
}

export interface ClientSummary {
  name: string;
  kind: ClientKind;
  role: 'producer' | 'consumer';
  group?: string;
  /** Times it was started (1 + restarts). */
  starts: number;
  /** Exits the harness did not ask for. */
  unexpectedExits: ClientExit[];
  sent: number;
  acked: number;
  failed: number;
  reads: number;
  /** Commits the client saw acknowledged (librdkafka's on_commit). */
  commitsAcked: number;
  /** Distinct error lines (at most 10) and how many error lines in all. */
  errors: string[];
  errorCount: number;
  /** The longest time between two acknowledgements or reads of this client (ms). */
  longestPauseMs: number;
  /** The end of what its last incarnation wrote to stderr. */
  lastStderr: string;
}

export interface LeaderChange {
  at: number;
  /** Whose view. */
  node: number;
  partition: number;
  leader: number;
  epoch: number;
  isr: number[];
}

/** A node's list of live brokers (Metadata) changed: what `kstream cluster health` counts as brokers down. */
export interface BrokerViewChange {
  at: number;
  /** Whose view. */
  node: number;
  brokers: number[];
}

export interface WorkloadOptions {
  cluster: FaultCluster;
  topic: string;
  partitions: number;
  /** Records per second per producer. */
  rate: number;
  /** How long a producer flushes after SIGTERM. */
  flushSeconds: number;
  clients: ClientSpec[];
  /** Time zero of the run (Date.now()). */
  t0: number;
}

interface ClientState {
  spec: ClientSpec;
  proc: ChildProcess | null;
  incarnation: string;
  starts: number;
  stopping: boolean;
  exits: ClientExit[];
  sent: number;
  acked: number;
  failed: number;
  reads: number;
  commitsAcked: number;
  errors: Set<string>;
  errorCount: number;
  stderr: string;
  lastProgress: number | null;
  longestPauseMs: number;
  exited: Promise<void> | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLIENTS = join(ROOT, 'test', 'fault', 'clients');

export class Workload {
  readonly history: History = { attempted: 0, acks: [], failures: [], reads: [], commits: [] };
  readonly leaderChanges: LeaderChange[] = [];
  readonly brokerChanges: BrokerViewChange[] = [];
  /** group → partition → offsets read. */
  readonly readOffsets = new Map<string, Map<number, Set<number>>>();
  private readonly clients: ClientState[];
  private monitoring = false;
  private monitors: Promise<void>[] = [];
  private readonly lastCommit = new Map<string, number>();
  private readonly lastView = new Map<string, string>();

  constructor(private readonly o: WorkloadOptions) {
    this.clients = o.clients.map((spec) => ({
      spec,
      proc: null,
      incarnation: spec.name,
      starts: 0,
      stopping: false,
      exits: [],
      sent: 0,
      acked: 0,
      failed: 0,
      reads: 0,
      commitsAcked: 0,
      errors: new Set(),
      errorCount: 0,
      stderr: '',
      lastProgress: null,
      longestPauseMs: 0,
      exited: null,
    }));
  }

  private now(): number {
    return Date.now() - this.o.t0;
  }

  get groups(): string[] {
    return [...new Set(this.o.clients.filter((c) => c.group).map((c) => c.group as string))];
  }

  start(): void {
    for (const c of this.clients) this.launch(c);
    this.monitoring = true;
    this.monitors = [this.watchCommits(), this.watchLeaders()];
  }

  private argv(c: ClientState): string[] {
    const { cluster, topic, partitions, rate, flushSeconds } = this.o;
    const s = c.spec;
    if (s.role === 'producer') {
      const args = [cluster.bootstrap(), topic, String(partitions), String(rate), c.incarnation, String(flushSeconds)];
      return s.kind === 'librdkafka'
        ? ['/usr/bin/python3', join(CLIENTS, 'producer.py'), ...args]
        : [process.execPath, '--import', 'tsx', join(CLIENTS, 'kstream-producer.ts'), ...args];
    }
    const group = s.group as string;
    return s.kind === 'librdkafka'
      ? ['/usr/bin/python3', join(CLIENTS, 'consumer.py'), cluster.bootstrap(), topic, group, c.incarnation]
      : [
          process.execPath,
          BIN,
          'consume',
          topic,
          '--group',
          group,
          '--from-beginning',
          '-b',
          cluster.bootstrap(),
          '-f',
          'R %p %o %v\\n',
        ];
  }

  private launch(c: ClientState): void {
    c.starts++;
    if (c.starts > 1 && c.spec.role === 'producer') c.incarnation = `${c.spec.name}.${c.starts}`;
    c.stderr = '';
    // setpriv: the client dies with the harness, also when the harness is killed.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', ...this.argv(c)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.proc = child;
    let partial = '';
    child.stdout?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() as string;
      for (const line of lines) this.onLine(c, line);
    });
    child.stderr?.on('data', (d: Buffer) => {
      c.stderr = (c.stderr + d.toString()).slice(-4000);
    });
    const incarnation = c.incarnation;
    c.exited = new Promise<void>((resolve) => {
      child.once('close', (code, signal) => {
        // A last line without its newline was cut off mid-write (a killed client): its value may be cut
        // short, so it is no evidence of anything and is dropped.
        const exit: ClientExit = {
          at: this.now(),
          incarnation,
          code,
          signal,
          asked: c.stopping,
          stderrTail: c.stderr.slice(-1500),
        };
        c.exits.push(exit);
        c.proc = null;
        resolve();
        if (!c.stopping) {
          setTimeout(() => {
            if (!c.stopping) this.launch(c);
          }, 1000);
        }
      });
    });
  }

  private progress(c: ClientState): void {
    const t = this.now();
    if (c.lastProgress !== null) c.longestPauseMs = Math.max(c.longestPauseMs, t - c.lastProgress);
    c.lastProgress = t;
  }

  private onLine(c: ClientState, line: string): void {
    const at = this.now();
    const [tag, a, b, ...rest] = line.split(' ');
    switch (tag) {
      case 'S':
        c.sent++;
        this.history.attempted++;
        return;
      case 'A': {
        const ack: Ack = { client: c.incarnation, partition: Number(a), offset: Number(b), value: rest.join(' '), at };
        this.history.acks.push(ack);
        c.acked++;
        this.progress(c);
        return;
      }
      case 'F': {
        const f: Failure = {
          client: c.incarnation,
          partition: Number(a),
          value: b as string,
          error: rest.join(' '),
          at,
        };
        this.history.failures.push(f);
        c.failed++;
        this.error(c, `failed: ${f.error}`);
        return;
      }
      case 'R': {
        const group = c.spec.group as string;
        const r: Read = {
          client: c.incarnation,
          group,
          partition: Number(a),
          offset: Number(b),
          value: rest.join(' '),
          at,
        };
        this.history.reads.push(r);
        let byP = this.readOffsets.get(group);
        if (!byP) {
          byP = new Map();
          this.readOffsets.set(group, byP);
        }
        let set = byP.get(r.partition);
        if (!set) {
          set = new Set();
          byP.set(r.partition, set);
        }
        set.add(r.offset);
        c.reads++;
        this.progress(c);
        return;
      }
      case 'C':
        c.commitsAcked++;
        return;
      case 'E':
      case 'X':
        this.error(c, [a, b, ...rest].filter((x) => x !== undefined).join(' '));
        return;
      default:
        // DONE and anything else (a client's own chatter) are not events.
        return;
    }
  }

  private error(c: ClientState, message: string): void {
    c.errorCount++;
    // Offsets and values vary; keep distinct messages by their words.
    const key = message.replace(/\d+/g, 'N').slice(0, 300);
    if (c.errors.size < 10) c.errors.add(key);
  }

  /** Samples every group's committed offsets every 500 ms, recording each change. */
  private async watchCommits(): Promise<void> {
    const ps = Array.from({ length: this.o.partitions }, (_, i) => i);
    let prefer = 0;
    while (this.monitoring) {
      for (const group of this.groups) prefer = await this.sampleCommits(group, ps, prefer);
      await sleep(500);
    }
  }

  /** One sample of a group's committed offsets, through the first node that answers; returns that node's index. */
  async sampleCommits(group: string, ps: number[], prefer = 0): Promise<number> {
    const { cluster, topic } = this.o;
    const ids = cluster.ids;
    for (let i = 0; i < ids.length; i++) {
      const k = (prefer + i) % ids.length;
      const id = ids[k] as number;
      if (!cluster.isUp(id) || cluster.isPaused(id)) continue;
      try {
        const { coordinator, offsets } = await committedOffsets(
          cluster.endpoint(id),
          group,
          topic,
          ps,
          (n) => (ids.includes(n as 1 | 2 | 3) ? cluster.endpoint(n) : null),
          1500,
        );
        const at = this.now();
        for (const [partition, offset] of offsets) {
          const key = `${group}\u0000${partition}`;
          const o = Number(offset);
          if (this.lastCommit.get(key) === o) continue;
          this.lastCommit.set(key, o);
          const s: CommitSample = {
            group,
            partition,
            offset: o,
            at,
            source: `coordinator ${coordinator} (asked node ${id})`,
          };
          this.history.commits.push(s);
        }
        return k;
      } catch {
        // this node cannot tell now: ask the next
      }
    }
    return prefer;
  }

  /** Each node's view of the topic every second, recording changes of leader, epoch or ISR, and of the live brokers. */
  private async watchLeaders(): Promise<void> {
    const { cluster, topic } = this.o;
    while (this.monitoring) {
      await Promise.all(
        cluster.ids.map(async (id) => {
          if (!cluster.isUp(id) || cluster.isPaused(id)) return;
          try {
            const md = await cluster.metadataFrom(id, topic, 1000);
            const at = this.now();
            const brokers = md.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
            if (this.lastView.get(`${id}:brokers`) !== brokers.join(',')) {
              this.lastView.set(`${id}:brokers`, brokers.join(','));
              this.brokerChanges.push({ at, node: id, brokers });
            }
            for (const p of md.partitions) {
              const key = `${id}:${p.partition}`;
              const view = `${p.leader}/${p.leaderEpoch}/${p.isr.join(',')}`;
              if (this.lastView.get(key) === view) continue;
              this.lastView.set(key, view);
              this.leaderChanges.push({
                at,
                node: id,
                partition: p.partition,
                leader: p.leader,
                epoch: p.leaderEpoch,
                isr: p.isr,
              });
            }
          } catch {
            // unreachable now
          }
        }),
      );
      await sleep(1000);
    }
  }

  /** Whether every producer has had acknowledgements on every partition and every group has read something. */
  flowing(): boolean {
    const producers = this.clients.filter((c) => c.spec.role === 'producer');
    const byClient = new Map<string, Set<number>>();
    for (const a of this.history.acks) {
      const base = a.client.replace(/\.\d+$/, '');
      let s = byClient.get(base);
      if (!s) {
        s = new Set();
        byClient.set(base, s);
      }
      s.add(a.partition);
    }
    const producing = producers.every((c) => (byClient.get(c.spec.name)?.size ?? 0) === this.o.partitions);
    const reading = this.clients.filter((c) => c.spec.role === 'consumer').every((c) => c.reads > 0);
    return producing && reading;
  }

  /** What `flowing()` is waiting for, for an error message. */
  flowState(): string {
    return this.clients
      .map(
        (c) =>
          `${c.spec.name}: ${c.spec.role === 'producer' ? `${c.acked} acked` : `${c.reads} read`}, ${c.exits.length} exits`,
      )
      .join('; ');
  }

  private async stopAll(cs: ClientState[], ms: number): Promise<void> {
    for (const c of cs) c.stopping = true;
    await Promise.all(
      cs.map(async (c) => {
        const p = c.proc;
        if (!p) return;
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), ms);
        await c.exited;
        clearTimeout(t);
      }),
    );
  }

  /** SIGTERM to every producer (they flush for flushSeconds), SIGKILL after `ms`. */
  stopProducers(ms: number): Promise<void> {
    return this.stopAll(
      this.clients.filter((c) => c.spec.role === 'producer'),
      ms,
    );
  }

  stopConsumers(ms: number): Promise<void> {
    return this.stopAll(
      this.clients.filter((c) => c.spec.role === 'consumer'),
      ms,
    );
  }

  async stopMonitors(): Promise<void> {
    this.monitoring = false;
    await Promise.all(this.monitors);
  }

  /** Stops everything at once (a failed run's clean-up). */
  async kill(): Promise<void> {
    await this.stopAll(this.clients, 0);
    await this.stopMonitors();
  }

  summary(): ClientSummary[] {
    return this.clients.map((c) => ({
      name: c.spec.name,
      kind: c.spec.kind,
      role: c.spec.role,
      ...(c.spec.group ? { group: c.spec.group } : {}),
      starts: c.starts,
      unexpectedExits: c.exits.filter((e) => !e.asked),
      sent: c.sent,
      acked: c.acked,
      failed: c.failed,
      reads: c.reads,
      commitsAcked: c.commitsAcked,
      errors: [...c.errors],
      errorCount: c.errorCount,
      longestPauseMs: c.longestPauseMs,
      lastStderr: c.stderr.slice(-1500),
    }));
  }
}
