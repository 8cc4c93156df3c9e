/**
 * One fault run, start to report:
 *  1. restore the cluster (every earlier fault undone), create a fresh topic (RF 3, min.insync.replicas=2,
 *     unclean election off; partition p led by node ((p + shift) % 3) + 1);
 *  2. start the workload (producers, consumers in groups, monitors) and wait until it flows on every
 *     partition, then `warmupMs` more;
 *  3. the fault: inject, hold, heal (faults.ts); then `recoveryMs` of traffic;
 *  4. stop the producers (they flush), wait until the cluster has healed — every node sees every partition
 *     with one leader and all three replicas in the ISR, and every replica's log ends at the leader's high
 *     watermark — and the groups have read up to it; stop the consumers (a last commit);
 *  5. the final read: each replica of each partition straight from each node's data dir, the leader's HW;
 *  6. the checker (checker.ts), and a JSON report written to `reportDir`.
 * Every wait is bounded; a wait that runs out is part of the report (healed: false …), not a crash.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckResult, type CommitSample, checkHistory, type FinalPartition } from './checker.js';
import type { Fault } from './faults.js';
import type { FaultCluster } from './harness.js';
import { type Recovery, recoveryTimes } from './recovery.js';
import { type ReplicaLog, readReplica } from './replicas.js';
import { createTopic, highWatermarks } from './wire.js';
import { type BrokerViewChange, type ClientSpec, type ClientSummary, type LeaderChange, Workload } from './workload.js';

export interface CaseOptions {
  fault: Fault;
  /** Run number (names the topic and groups, rotates the leaders). */
  run?: number;
  holdMs?: number;
  warmupMs?: number;
  recoveryMs?: number;
  /** Records per second per producer. */
  rate?: number;
  partitions?: number;
  /** Which node leads partition 0: node (shift % 3) + 1. Default: run - 1. */
  leaderShift?: number;
  /** Bound on the wait for the cluster to heal after the fault. */
  healTimeoutMs?: number;
  /** Bound on the wait for the groups to read everything. */
  drainTimeoutMs?: number;
  /** Where the JSON report goes (created); none written when absent. */
  reportDir?: string;
  clients?: ClientSpec[];
  log?: (line: string) => void;
}

export interface CaseReport {
  fault: string;
  description: string;
  run: number;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  /** Why not ok: the checks that found violations, and "not healed" / "workload never flowed". */
  problems: string[];
  settings: {
    topic: string;
    partitions: number;
    replicationFactor: number;
    topicConfigs: Record<string, string>;
    brokerProps: Record<string, string>;
    ratePerProducer: number;
    holdMs: number;
    warmupMs: number;
    recoveryMs: number;
    subnet: string;
    nodes: { id: number; ip: string; dataDir: string }[];
    etcd: string;
    runDir: string;
  };
  /** ms since the start of the run. */
  timeline: { at: number; action: string; detail?: Record<string, unknown> }[];
  workloadFlowing: boolean;
  heal: { healed: boolean; atMs: number | null; waitedMs: number; state: string };
  drained: Record<string, boolean>;
  clients: ClientSummary[];
  /** Per partition: the longest time without an acknowledged write (any producer), and when it began. */
  ackGaps: { partition: number; longestMs: number; fromMs: number }[];
  /** How long the fault took to show and to heal, from the samples below and the acks (recovery.ts). */
  recovery: Recovery;
  leaderChanges: LeaderChange[];
  /** Every change of a node's list of live brokers. */
  brokerChanges: BrokerViewChange[];
  /** Every change of a group's committed offsets the monitor saw. */
  commits: CommitSample[];
  checks: CheckResult;
  reportFile: string | null;
}

export const DEFAULT_CLIENTS: readonly ClientSpec[] = [
  { name: 'lp1', kind: 'librdkafka', role: 'producer' },
  { name: 'lp2', kind: 'librdkafka', role: 'producer' },
  { name: 'kp1', kind: 'kstream', role: 'producer' },
  { name: 'lc1', kind: 'librdkafka', role: 'consumer', group: 'lg' },
  { name: 'lc2', kind: 'librdkafka', role: 'consumer', group: 'lg' },
  { name: 'kc1', kind: 'kstream', role: 'consumer', group: 'kg' },
];

export const TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'min.insync.replicas': '2',
  'unclean.leader.election.enable': 'false',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 250 ms until it returns true or `ms` runs out; resolves with whether it did. */
async function waitFor(ms: number, f: () => Promise<boolean> | boolean): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await f()) return true;
    } catch {
      // not yet
    }
    if (Date.now() > end) return false;
    await sleep(250);
  }
}

interface ClusterState {
  healed: boolean;
  state: string;
  leaders: Map<number, number>;
  isr: Map<number, number[]>;
  hw: Map<number, number>;
}

/** The cluster's state for `topic`: healed when all nodes agree on a leader and a full ISR, and every replica ends at the HW. */
async function clusterState(cluster: FaultCluster, topic: string, partitions: number): Promise<ClusterState> {
  const out: ClusterState = { healed: false, state: '', leaders: new Map(), isr: new Map(), hw: new Map() };
  const views = await Promise.all(
    cluster.ids.map((id) =>
      cluster.metadataFrom(id, topic, 1500).then(
        (m) => m,
        (e: Error) => e,
      ),
    ),
  );
  const problems: string[] = [];
  for (let p = 0; p < partitions; p++) {
    // Each node's view; the leader most nodes name is taken, with the ISR that leader reports.
    const seen = new Map<string, number[]>();
    const counts = new Map<number, number>();
    const isrBy = new Map<number, number[]>();
    views.forEach((v, i) => {
      const node = cluster.ids[i] as number;
      if (v instanceof Error) return;
      const pm = v.partitions.find((x) => x.partition === p);
      const key = pm ? `leader ${pm.leader} isr [${[...pm.isr].sort().join(',')}]` : 'no partition';
      seen.set(key, [...(seen.get(key) ?? []), node]);
      if (pm && pm.leader >= 0) {
        counts.set(pm.leader, (counts.get(pm.leader) ?? 0) + 1);
        if (!isrBy.has(pm.leader) || node === pm.leader) isrBy.set(pm.leader, [...pm.isr].sort());
      }
    });
    const best = [...counts].sort((a, b) => b[1] - a[1])[0];
    if (best) {
      out.leaders.set(p, best[0]);
      out.isr.set(p, isrBy.get(best[0]) ?? []);
    }
    const agreed = seen.size === 1 && !views.some((v) => v instanceof Error);
    if (!agreed || !best || (out.isr.get(p) ?? []).length !== cluster.ids.length) {
      problems.push(`p${p}: ${[...seen].map(([k, ns]) => `${k} (node ${ns.join(',')})`).join('; ')}`);
    }
  }
  views.forEach((v, i) => {
    if (v instanceof Error) problems.push(`node ${cluster.ids[i]}: ${v.message}`);
  });
  // High watermarks from each partition's leader.
  const byLeader = new Map<number, number[]>();
  for (const [p, l] of out.leaders) byLeader.set(l, [...(byLeader.get(l) ?? []), p]);
  for (const [leader, ps] of byLeader) {
    if (!cluster.ids.includes(leader as 1 | 2 | 3)) continue;
    try {
      const hws = await highWatermarks(cluster.endpoint(leader), topic, ps, 1500);
      for (const [p, r] of hws) {
        if (r.errorCode === 0) out.hw.set(p, Number(r.offset));
        else problems.push(`p${p}: ListOffsets from leader ${leader}: error ${r.errorCode}`);
      }
    } catch (e) {
      problems.push(`ListOffsets from node ${leader}: ${(e as Error).message}`);
    }
  }
  if (problems.length === 0) {
    for (let p = 0; p < partitions; p++) {
      const hw = out.hw.get(p);
      if (hw === undefined) {
        problems.push(`p${p}: no high watermark`);
        continue;
      }
      for (const id of cluster.ids) {
        const r = await readReplica(id, cluster.dataDir(id), topic, p);
        if (r.logEndOffset !== hw) problems.push(`p${p}: node ${id} log ends at ${r.logEndOffset}, HW ${hw}`);
      }
    }
  }
  out.healed = problems.length === 0;
  out.state = problems.length === 0 ? 'healed' : problems.join(' | ');
  return out;
}

export async function runCase(cluster: FaultCluster, o: CaseOptions): Promise<CaseReport> {
  const log = o.log ?? (() => {});
  const run = o.run ?? 1;
  const partitions = o.partitions ?? 3;
  const rate = o.rate ?? 40;
  const holdMs = o.holdMs ?? o.fault.holdMs;
  const warmupMs = o.warmupMs ?? 3000;
  const recoveryMs = o.recoveryMs ?? 5000;
  const shift = o.leaderShift ?? run - 1;
  const stamp = Date.now().toString(36);
  const topic = `f-${o.fault.name}-${run}-${stamp}`;
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const timeline: CaseReport['timeline'] = [];
  const note = (action: string, detail?: Record<string, unknown>) => {
    const at = Date.now() - t0;
    timeline.push(detail ? { at, action, detail } : { at, action });
    log(`[${(at / 1000).toFixed(1)}s] ${action}${detail ? ` ${JSON.stringify(detail)}` : ''}`);
  };
  const problems: string[] = [];

  await cluster.restore();
  note('cluster-ready');
  const n = cluster.ids.length;
  const assignment = Array.from({ length: partitions }, (_, p) =>
    Array.from({ length: n }, (_, r) => ((p + shift + r) % n) + 1),
  );
  const created = await createTopic(cluster.endpoint(1), topic, assignment, { ...TOPIC_CONFIGS });
  if (created.errorCode !== 0)
    throw new Error(`CreateTopics ${topic}: error ${created.errorCode} ${created.errorMessage}`);
  const ready = await waitFor(30_000, async () => (await clusterState(cluster, topic, partitions)).healed);
  if (!ready) throw new Error(`topic ${topic} did not get a leader and a full ISR on every node in 30 s`);
  note('topic-created', { topic, assignment });

  const groupSuffix = `${run}-${stamp}`;
  const specs = (o.clients ?? DEFAULT_CLIENTS).map((c) => (c.group ? { ...c, group: `${c.group}-${groupSuffix}` } : c));
  const workload = new Workload({ cluster, topic, partitions, rate, flushSeconds: 10, clients: specs, t0 });
  let checks: CheckResult;
  let heal: CaseReport['heal'] = { healed: false, atMs: null, waitedMs: 0, state: 'not reached' };
  const drained: Record<string, boolean> = {};
  let flowing = false;
  try {
    workload.start();
    note('workload-start', { clients: specs.map((s) => s.name), ratePerProducer: rate });
    flowing = await waitFor(60_000, () => workload.flowing());
    if (!flowing) {
      problems.push(`the workload never flowed on every partition in 60 s: ${workload.flowState()}`);
      note('workload-not-flowing', { state: workload.flowState() });
    } else {
      note('workload-flowing');
      await sleep(warmupMs);
      note('fault-start', { fault: o.fault.name, holdMs });
      await o.fault.run(
        {
          cluster,
          topic,
          note,
          leaderOf: async (p) => {
            const s = await clusterState(cluster, topic, partitions);
            const l = s.leaders.get(p);
            if (l === undefined) throw new Error(`no leader for ${topic}/${p}: ${s.state}`);
            return l;
          },
        },
        holdMs,
      );
      note('fault-end');
      await sleep(recoveryMs);
    }
    note('producers-stop');
    await workload.stopProducers(15_000);
    note('producers-stopped');

    const healStart = Date.now();
    let state: ClusterState | null = null;
    const healed = await waitFor(o.healTimeoutMs ?? 60_000, async () => {
      state = await clusterState(cluster, topic, partitions);
      return state.healed;
    });
    const last = state as ClusterState | null;
    heal = {
      healed,
      atMs: healed ? Date.now() - t0 : null,
      waitedMs: Date.now() - healStart,
      state: last?.state ?? 'no answer',
    };
    note(healed ? 'healed' : 'not-healed', { state: heal.state });
    if (!healed) problems.push(`the cluster did not heal in ${heal.waitedMs} ms: ${heal.state}`);

    // Let the groups read up to the HW.
    const hw = last?.hw ?? new Map<number, number>();
    const drainedAll = await waitFor(o.drainTimeoutMs ?? 30_000, () =>
      workload.groups.every((g) => {
        const byP = workload.readOffsets.get(g);
        for (let p = 0; p < partitions; p++) {
          const end = hw.get(p) ?? 0;
          const got = byP?.get(p);
          for (let off = 0; off < end; off++) if (!got?.has(off)) return false;
        }
        return true;
      }),
    );
    for (const g of workload.groups) {
      const byP = workload.readOffsets.get(g);
      drained[g] = [...Array(partitions).keys()].every((p) => {
        const got = byP?.get(p);
        for (let off = 0; off < (hw.get(p) ?? 0); off++) if (!got?.has(off)) return false;
        return true;
      });
    }
    note(drainedAll ? 'drained' : 'not-drained', { drained });
    for (const [g, ok] of Object.entries(drained)) {
      if (!ok)
        problems.push(
          `group ${g} did not read every committed record within ${o.drainTimeoutMs ?? 30_000} ms of healing`,
        );
    }
    await workload.stopConsumers(15_000);
    note('consumers-stopped');
    // One last look at the committed offsets (the consumers committed on close).
    for (const g of workload.groups) await workload.sampleCommits(g, [...Array(partitions).keys()]);
    await workload.stopMonitors();

    // The final read: every replica of every partition, from the files.
    const final = await clusterState(cluster, topic, partitions).catch(() => null);
    const parts: FinalPartition[] = [];
    for (let p = 0; p < partitions; p++) {
      const replicas: ReplicaLog[] = [];
      for (const id of cluster.ids) replicas.push(await readReplica(id, cluster.dataDir(id), topic, p));
      parts.push({
        partition: p,
        leader: final?.leaders.get(p) ?? null,
        hw: final?.hw.get(p) ?? null,
        isr: final?.isr.get(p) ?? [],
        replicas,
      });
    }
    note('final-read');
    checks = checkHistory(workload.history, parts);
  } catch (e) {
    await workload.kill();
    throw e;
  }

  for (const v of checks.violations)
    problems.push(`${v}: ${(checks[v as keyof CheckResult] as { count: number }).count}`);
  const ackGaps = [...Array(partitions).keys()].map((p) => {
    const ats = workload.history.acks.filter((a) => a.partition === p).map((a) => a.at);
    ats.sort((a, b) => a - b);
    let longestMs = 0;
    let fromMs = 0;
    for (let i = 1; i < ats.length; i++) {
      const gap = (ats[i] as number) - (ats[i - 1] as number);
      if (gap > longestMs) {
        longestMs = gap;
        fromMs = ats[i - 1] as number;
      }
    }
    return { partition: p, longestMs, fromMs };
  });
  const report: CaseReport = {
    fault: o.fault.name,
    description: o.fault.description,
    run,
    startedAt,
    durationMs: Date.now() - t0,
    ok: problems.length === 0,
    problems,
    settings: {
      topic,
      partitions,
      replicationFactor: n,
      topicConfigs: { ...TOPIC_CONFIGS },
      brokerProps: cluster.props,
      ratePerProducer: rate,
      holdMs,
      warmupMs,
      recoveryMs,
      subnet: cluster.lab.subnet,
      nodes: cluster.ids.map((id) => ({ id, ip: cluster.ip(id), dataDir: cluster.dataDir(id) })),
      etcd: cluster.etcdUrl,
      runDir: cluster.runDir,
    },
    timeline,
    workloadFlowing: flowing,
    heal,
    drained,
    clients: workload.summary(),
    ackGaps,
    recovery: recoveryTimes(
      timeline,
      workload.leaderChanges,
      workload.brokerChanges,
      workload.history.acks,
      partitions,
      n,
    ),
    leaderChanges: workload.leaderChanges,
    brokerChanges: workload.brokerChanges,
    commits: workload.history.commits,
    checks,
    reportFile: null,
  };
  if (o.reportDir) {
    mkdirSync(o.reportDir, { recursive: true });
    const file = join(o.reportDir, `${o.fault.name}-run${run}-${startedAt.replace(/[:.]/g, '-')}.json`);
    report.reportFile = file;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}

/** A few lines for a test's output: what was checked and what was found. */
export function summarize(r: CaseReport): string {
  const c = r.checks;
  const exits = r.clients.flatMap((x) => x.unexpectedExits.map(() => x.name));
  return [
    `${r.fault} run ${r.run}: ${r.ok ? 'OK' : `PROBLEMS: ${r.problems.join('; ')}`}`,
    `  attempted ${c.counts.attempted}, acked ${c.counts.acked}, failed ${c.counts.failed}, read ${c.counts.reads}, committed log ${c.counts.committed} records`,
    `  lost ${c.lostWrites.count}, inconsistent offsets ${c.inconsistentOffsets.count}, divergent ${c.divergentLogs.count}, commits backwards ${c.committedOffsetsBackwards.count}, duplicates ${c.duplicates.count}`,
    `  healed ${r.heal.healed} (${r.heal.state.slice(0, 300)}), drained ${JSON.stringify(r.drained)}, longest ack gaps ${r.ackGaps.map((g) => `p${g.partition} ${g.longestMs} ms`).join(', ')}`,
    `  recovery: ${recoveryLine(r.recovery)}`,
    `  client exits not asked for: ${exits.length === 0 ? 'none' : exits.join(', ')}`,
    ...(r.reportFile ? [`  report: ${r.reportFile}`] : []),
  ].join('\n');
}

const secs = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);

/** The recovery times in one line (s after the fault was injected / undone). */
export function recoveryLine(v: Recovery): string {
  if (v.injectedAt === null) return 'no fault injected';
  const pauses = v.writePauses
    .map((w) => `p${w.partition} ${secs(w.pausedMs)} (acks again ${secs(w.resumedAfterInjectMs)} after)`)
    .join(', ');
  return [
    `after injection: broker down seen ${secs(v.brokerDownSeenAfterMs)}, under-replicated seen ${secs(v.underReplicatedSeenAfterMs)}, new leader ${secs(v.newLeaderAfterMs)}`,
    `after heal: brokers back ${secs(v.brokersBackAfterHealMs)}, full ISR ${secs(v.fullIsrAfterHealMs)}`,
    `write pauses: ${pauses}`,
  ].join('; ');
}
