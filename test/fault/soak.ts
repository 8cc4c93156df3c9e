/**
 * The long fault soak (scripts/fault-soak.sh runs it): every fault, `--runs` times each (default 3), each run
 * on a fresh cluster, longer phases than the bounded test. For each run it writes, under `--out`:
 *   <fault>-run<N>-<time>.json   the run's report (run-case.ts: timeline, clients, checks)
 *   <fault>-run<N>/logs/         etcd's and every node's log
 *   <fault>-run<N>/data-node<i>/ a copy of each node's data dir, when the run found a problem (or --keep-data)
 *   summary.json                 one row per run: fault, run, ok, problems, report file
 * Exit status 0 when every run is ok, 1 otherwise.
 *
 *   node --import tsx test/fault/soak.ts --runs 3 --out fault-reports [--faults kill-leader,etcd-down]
 *     [--hold-scale 1.5] [--warmup-ms 5000] [--recovery-ms 10000] [--rate 100] [--keep-data]
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FAULTS, type Fault, fault } from './faults.js';
import { FaultCluster } from './harness.js';
import type { Recovery } from './recovery.js';
import { recoveryLine, runCase, summarize } from './run-case.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'fault-reports' },
    faults: { type: 'string' },
    'hold-scale': { type: 'string', default: '1.5' },
    'warmup-ms': { type: 'string', default: '5000' },
    'recovery-ms': { type: 'string', default: '10000' },
    rate: { type: 'string', default: '100' },
    'keep-data': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    `usage: fault-soak [--runs N] [--out DIR] [--faults a,b] [--hold-scale X] [--warmup-ms MS] [--recovery-ms MS] [--rate N] [--keep-data]\nfaults: ${FAULTS.map((f) => f.name).join(', ')}\n`,
  );
  process.exit(0);
}

const positive = (name: string, raw: string | undefined): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`fault-soak: --${name} must be a positive number, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
};
const runs = positive('runs', values.runs);
const holdScale = positive('hold-scale', values['hold-scale']);
const warmupMs = positive('warmup-ms', values['warmup-ms']);
const recoveryMs = positive('recovery-ms', values['recovery-ms']);
const rate = positive('rate', values.rate);
const out = resolve(values.out as string);
let faults: Fault[] = [];
try {
  faults = values.faults ? values.faults.split(',').map((f) => fault(f.trim())) : [...FAULTS];
} catch (e) {
  process.stderr.write(`fault-soak: ${(e as Error).message}\n`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const summary: {
  fault: string;
  run: number;
  ok: boolean;
  problems: string[];
  report: string | null;
  durationMs: number;
  counts?: {
    acked: number;
    failed: number;
    lost: number;
    inconsistent: number;
    divergent: number;
    backwards: number;
    duplicates: number;
  };
  recovery?: Recovery;
}[] = [];
const writeSummary = () => writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

let current: FaultCluster | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    void (current?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

for (const f of faults) {
  for (let run = 1; run <= runs; run++) {
    const runDir = join(out, `${f.name}-run${run}`);
    log(`=== ${f.name} run ${run}/${runs}: ${f.description}`);
    const started = Date.now();
    let cluster: FaultCluster | null = null;
    try {
      cluster = await FaultCluster.start({ runDir, log });
      current = cluster;
      const report = await runCase(cluster, {
        fault: f,
        run,
        holdMs: Math.round(f.holdMs * holdScale),
        warmupMs,
        recoveryMs,
        rate,
        reportDir: out,
        log,
      });
      log(summarize(report));
      if (!report.ok || values['keep-data']) {
        for (const id of cluster.ids) cpSync(cluster.dataDir(id), join(runDir, `data-node${id}`), { recursive: true });
      }
      summary.push({
        fault: f.name,
        run,
        ok: report.ok,
        problems: report.problems,
        report: report.reportFile,
        durationMs: report.durationMs,
        counts: {
          acked: report.checks.counts.acked,
          failed: report.checks.counts.failed,
          lost: report.checks.lostWrites.count,
          inconsistent: report.checks.inconsistentOffsets.count,
          divergent: report.checks.divergentLogs.count,
          backwards: report.checks.committedOffsetsBackwards.count,
          duplicates: report.checks.duplicates.count,
        },
        recovery: report.recovery,
      });
    } catch (e) {
      log(`${f.name} run ${run} failed to run: ${(e as Error).stack ?? e}`);
      summary.push({
        fault: f.name,
        run,
        ok: false,
        problems: [`harness error: ${(e as Error).message}`],
        report: null,
        durationMs: Date.now() - started,
      });
    } finally {
      await cluster?.close();
      current = null;
      writeSummary();
    }
  }
}

// Per fault: runs ok, what the checker counted in all, and each run's recovery times.
for (const f of faults) {
  const rows = summary.filter((s) => s.fault === f.name);
  const sum = (k: keyof NonNullable<(typeof rows)[number]['counts']>) =>
    rows.reduce((a, r) => a + (r.counts?.[k] ?? 0), 0);
  log(
    `${f.name}: ${rows.filter((r) => r.ok).length}/${rows.length} ok; acked ${sum('acked')}, failed ${sum('failed')}, lost ${sum('lost')}, inconsistent ${sum('inconsistent')}, divergent ${sum('divergent')}, backwards ${sum('backwards')}, duplicates ${sum('duplicates')}`,
  );
  for (const r of rows)
    if (r.recovery) log(`  run ${r.run} (${(r.durationMs / 1000).toFixed(0)} s): ${recoveryLine(r.recovery)}`);
}
const bad = summary.filter((s) => !s.ok);
log(`${summary.length - bad.length}/${summary.length} runs ok; summary: ${join(out, 'summary.json')}`);
for (const b of bad) log(`  NOT OK ${b.fault} run ${b.run}: ${b.problems.join('; ')}`);
process.exit(bad.length === 0 ? 0 : 1);
