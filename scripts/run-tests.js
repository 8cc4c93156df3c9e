#!/usr/bin/env node
// Runs every test file under test/ with node's own runner (Node 20 does not glob, so files are listed here),
// after building dist/ (integration tests run the real bin/run.js). Extra arguments narrow the files:
//   npm test -- test/protocol        npm test -- test/interop/kcat.test.ts
//
// Files run two at a time (--test-concurrency=2): most of a file's time is spent waiting on the brokers, etcd,
// clients and timeouts it starts, so two files share CI's 2 cores well (each file is its own process with free
// ports and its own temp dirs). The files in ALONE assert something timing-dependent that a busy neighbour
// could break; they run after the others, one at a time. KSTREAM_TEST_CONCURRENCY=1 runs everything one at a time.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join, normalize, relative, sep } from 'node:path';

/** Files whose assertions depend on timing (the issue's bounds, a client's timeout plus start-up), run alone. */
const ALONE = new Set(
  [
    'test/cluster/failover.test.ts', // acks=all resumes within 5 s of a SIGKILL; no ack gap over 1 s
    'test/cluster/replication-timing.test.ts', // leadership moves inside the 3 s lease on a controlled shutdown
    'test/cluster/etcd-outage.test.ts', // converged within 10 s of etcd's return
    'test/client/connection.test.ts', // request and connect timeouts measured in ms
    'test/client/consumer-abort.test.ts', // an aborted consumer returns within 2 s
    'test/cli/topic-timeout.test.ts', // an unreachable or mute broker fails within --timeout plus 1-2 s
    'test/tui/top-steady.test.ts', // top's catch-up estimate from commit timing (it showed "0s" once on a loaded machine)
    'test/cluster/prometheus.test.ts', // under-replicated partitions seen by Prometheus within 10 s of a SIGKILL (issue 20)
    'test/txn/eos-cluster.test.ts', // kills two nodes under a 50,000-record copy; progress within 120 s of each (timed out once beside another file)
  ].map(normalize),
);

/**
 * The longest files (one to three minutes each: measured) start first, so that the two lanes end together
 * rather than with one long file running alone at the end.
 */
const FIRST = [
  'test/fault/faults.test.ts',
  'test/cli/readme.test.ts',
  'test/client/ride-out-cluster.test.ts',
  'test/cli/produce-consume.test.ts',
  'test/cluster/idempotence.test.ts',
  'test/binary/binary.test.ts',
].map(normalize);

/**
 * Unit tests of a few seconds each (no broker, no cluster): they start last, so that whichever lane frees first
 * picks them up and neither lane ends with a long file while the other has nothing left.
 */
const LAST_DIRS = ['test/protocol', 'test/util', 'test/coordinator'].map((d) => normalize(d) + sep);

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.test.ts') || e.name.endsWith('.test.tsx')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const roots = args.length > 0 ? args : ['test'];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? walk(r) : [r])).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
execFileSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
// Type-check the tests too (tsconfig.test.json): the `@ts-expect-error` lines of test/protocol/message-types.test.ts
// fail this step the day message types stop catching a field a message does not have.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.test.json'], { stdio: 'inherit' });

const concurrency = Math.max(1, Number(process.env.KSTREAM_TEST_CONCURRENCY ?? 2) || 1);
const rank = (f) => {
  const i = FIRST.indexOf(normalize(f));
  if (i >= 0) return i;
  return LAST_DIRS.some((d) => normalize(f).startsWith(d)) ? FIRST.length + 1 : FIRST.length;
};
const together =
  concurrency > 1 ? files.filter((f) => !ALONE.has(normalize(f))).sort((a, b) => rank(a) - rank(b)) : files;
const alone = concurrency > 1 ? files.filter((f) => ALONE.has(normalize(f))) : [];

/** Where scripts/file-times-reporter.mjs writes each run's per-file wall times (`<ms>\t<ok|fail>\t<file>` lines). */
const timesDir = mkdtempSync(join(tmpdir(), 'kstream-test-times-'));

/** Totals of the runs' closing TAP lines (`# pass N`, `# fail N`, …), for one summary at the end. */
const totals = new Map();

/** Whether two runs (together, then alone) make up the suite: their summaries are then added up into one. */
const twoRuns = together.length > 0 && alone.length > 0;
const SUMMARY = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/;

/**
 * One `node --test` run; its TAP goes to stdout line by line as it comes; resolves with its exit code. With two
 * runs each run's closing summary lines are renamed (`# run 1: pass N`), so that the only `# pass` / `# fail`
 * lines of the output are the totals printed at the end, which is what CI reads.
 */
function runFiles(list, n, run) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=tap',
        '--test-reporter-destination=stdout',
        '--test-reporter=./scripts/file-times-reporter.mjs',
        `--test-reporter-destination=${join(timesDir, `run-${run}.tsv`)}`,
        '--test-timeout=600000',
        `--test-concurrency=${n}`,
        ...list,
      ],
      { stdio: ['inherit', 'pipe', 'inherit'] },
    );
    let partial = '';
    const out = (l) => {
      const m = SUMMARY.exec(l);
      if (!m) return `${l}\n`;
      totals.set(m[1], (totals.get(m[1]) ?? 0) + Number(m[2]));
      return twoRuns ? `# run ${run}: ${m[1]} ${m[2]}\n` : `${l}\n`;
    };
    child.stdout.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      process.stdout.write(lines.map(out).join(''));
    });
    child.once('exit', (code, signal) => {
      if (partial) process.stdout.write(out(partial));
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * CPU seconds (user + system) of every process this script started and that has ended: Linux adds a process's
 * time to its parent's when the parent reaps it, so once a `node --test` run has exited this holds its test
 * files, brokers, etcd and clients (not a process orphaned by a killed parent). Null off Linux.
 */
function childCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of proc(5) (cutime, cstime), in clock ticks: 100 a second on Linux.
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null;
  }
}

/** One run's line: its wall time and how busy it kept the machine's cores (is a third lane worth trying?). */
async function timedRun(list, n, run) {
  const wall0 = Date.now();
  const cpu0 = childCpuSeconds();
  const code = await runFiles(list, n, run);
  const wall = (Date.now() - wall0) / 1000;
  const cpu = childCpuSeconds();
  const busy =
    cpu === null || cpu0 === null
      ? ''
      : `, cpu ${(cpu - cpu0).toFixed(0)} s: ${((cpu - cpu0) / wall).toFixed(2)} of ${availableParallelism()} cores busy on average`;
  process.stdout.write(`# run ${run}: ${list.length} files ${n} at a time, wall ${wall.toFixed(0)} s${busy}\n`);
  return code;
}

const t0 = Date.now();
let status = 0;
if (together.length > 0) status = (await timedRun(together, concurrency, 1)) || status;
if (alone.length > 0) status = (await timedRun(alone, 1, 2)) || status;
if (twoRuns) {
  process.stdout.write(
    `# all ${files.length} files (${together.length} ${concurrency} at a time, then ${alone.length} alone), ` +
      `wall ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  for (const [k, v] of totals) process.stdout.write(`# ${k} ${k === 'duration_ms' ? Math.round(v) : v}\n`);
}
printSlowest(15);
rmSync(timesDir, { recursive: true, force: true });
process.exit(status);

/**
 * The `n` slowest files of this run by their own wall time (a file's process from start to exit), as TAP
 * comments after the totals, so that CI's log shows where the suite's time goes. Files that ran alone are marked:
 * their time adds to the suite's whole, the others' about half of it (two at a time).
 */
function printSlowest(n) {
  const rows = [];
  for (const name of readdirSync(timesDir)) {
    const alone = name === 'run-2.tsv';
    for (const line of readFileSync(join(timesDir, name), 'utf8').split('\n')) {
      const [ms, result, file] = line.split('\t');
      if (file) rows.push({ ms: Number(ms), result, file: relative(process.cwd(), file), alone });
    }
  }
  if (rows.length === 0) return;
  rows.sort((a, b) => b.ms - a.ms);
  const sum = rows.reduce((s, r) => s + r.ms, 0);
  process.stdout.write(
    `# slowest ${Math.min(n, rows.length)} of ${rows.length} files (wall s of each file's process; sum of all ${(sum / 1000).toFixed(0)} s):\n`,
  );
  for (const r of rows.slice(0, n)) {
    const notes = [r.alone ? 'alone' : '', r.result === 'fail' ? 'failed' : ''].filter(Boolean).join(', ');
    process.stdout.write(`#   ${(r.ms / 1000).toFixed(1).padStart(6)}  ${r.file}${notes ? `  (${notes})` : ''}\n`);
  }
}
