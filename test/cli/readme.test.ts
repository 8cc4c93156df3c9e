/**
 * Issue 21: every `kstream` example of README.md runs as written, so the README cannot drift from the CLI.
 *
 * The examples are read from the README's ```sh blocks (a line that runs `kstream`, its `# comment` left out)
 * and run in README order by bash, in a temp dir holding the files they name (data.txt, lines.txt,
 * records.jsonl, server.properties, …), with `kstream` on PATH (bin/run.js), HOME in the temp dir (the
 * autocomplete example appends to ~/.bashrc) and KSTREAM_BROKERS pointing at a 4-node cluster on etcd (the
 * reassign example names brokers 2, 3 and 4). Each example has a driver below: what it needs first, how it is
 * run (as written; stopped with Ctrl-C when it runs "until Ctrl-C"; in a terminal for top) and what it must
 * print or exit with. An example without a driver fails the test, and so does a driver without its example.
 * Only `kstream serve` with its fixed port (9092, 9093) and /var/lib path is checked without running it: its
 * flags are parsed by the command's own definition.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Parser } from '@oclif/core';
import { COMMANDS } from '../../commands/index.js';
import { BIN, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { until } from '../helpers/until.js';
import { startTerminal, type Terminal } from '../tui/tmux.js';

/** The `kstream` command lines of the README's sh blocks, in order, without their comments. */
export function readmeExamples(readme: string): string[] {
  const out: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const command = withoutComment(line).trim();
      // A line may set environment variables first (KSTREAM_PASSWORD=… kstream …).
      if (/(^(?:[A-Z_]+=\S*\s+)*|[|;&]\s*|\$\()(\.\/dist\/)?kstream\b/.test(command)) out.push(command);
    }
  }
  return out;
}

/** The line up to a ` #` that is not inside quotes. */
function withoutComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Driver {
  /** State the example needs first. */
  before?: () => Promise<void>;
  /**
   * run: as written (default). ctrl-c: it runs until Ctrl-C; stopped with SIGINT once running. group: it waits
   * for new records as a group; records are produced once the group has joined. terminal: in tmux, then q.
   * serve: a broker; stopped with SIGTERM once it listens. parse: its flags parsed, not run (`why`).
   */
  how?: 'run' | 'ctrl-c' | 'group' | 'terminal' | 'serve' | 'parse';
  /** Expected exit code (default 0). */
  code?: number;
  check?: (r: Run) => void | Promise<void>;
  /** terminal: what the screen must show. */
  screen?: RegExp;
  why?: string;
  /** After it ran: state for the examples that follow. */
  after?: () => Promise<void>;
}

let cluster: Cluster;
let dir: string;
/** Where the `kstream` wrapper is (on PATH). */
let bin: string;
/** Records of orders and payments when they were exported (import must bring them all back). */
let exported = -1;
let env: NodeJS.ProcessEnv;
const terms: Terminal[] = [];
const children: ChildProcess[] = [];

/** `bash -c line` in the temp dir with kstream on PATH; resolves when it exits (killed after `ms`). */
function sh(
  line: string,
  opts: { input?: string; ms?: number; onStart?: (c: ChildProcess) => void } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', line], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`${line}: did not finish in ${(opts.ms ?? 120_000) / 1000} s\n${stdout}\n${stderr}`));
    }, opts.ms ?? 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
    opts.onStart?.(child);
  });
}

/** A kstream command for set-up (must succeed). */
async function ks(args: string, input?: string): Promise<string> {
  const r = await sh(`kstream ${args}`, { input });
  assert.equal(r.code, 0, `kstream ${args}: ${r.stderr}`);
  return r.stdout;
}

const topics = async () => JSON.parse(await ks('topic list -o json')).map((t: { name: string }) => t.name);

async function recreate(...specs: string[]): Promise<void> {
  for (const spec of specs) {
    const name = spec.split(' ')[0]!;
    if ((await topics()).includes(name)) await ks(`topic delete ${name} --yes`);
    await until(`${name} deleted`, async () => !(await topics()).includes(name));
    await ks(`topic create ${spec}`);
  }
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

const DRIVERS: Record<string, Driver> = {
  'kstream serve': { how: 'parse', why: 'binds 127.0.0.1:9092, a fixed port' },
  'kstream serve --port 9093 --data-dir /var/lib/kstream --node-id 2': {
    how: 'parse',
    why: 'binds the fixed port 9093 and writes to /var/lib',
  },
  'KSTREAM_BOOTSTRAP_PASSWORD=change-me kstream serve --config secured.properties --bootstrap-user admin': {
    how: 'parse',
    why: 'binds the fixed port 9094 (the secured node: test/cli/security.test.ts runs one on a free port)',
  },
  'KSTREAM_PASSWORD=change-me kstream topic list -b 127.0.0.1:9094 --tls-ca broker.crt --user admin': {
    how: 'parse',
    why: 'talks to the secured node above on its fixed port (test/cli/security.test.ts does it on a free one)',
  },
  'kstream serve --config server.properties --log-level debug': {
    how: 'serve',
    check: (r) => assert.match(r.stdout, /listening on 127\.0\.0\.1:\d+/),
  },
  'kstream topic create orders -p 6 -r 1 -c retention.ms=86400000': {
    check: (r) => assert.equal(r.stdout, 'TOPIC   STATUS\norders  OK\n'),
  },
  'kstream topic list': { check: (r) => assert.match(r.stdout, /^orders +6 +1$/m) },
  'kstream topic describe orders': {
    check: (r) => assert.match(r.stdout, /^retention\.ms +86400000 +dynamic-topic$/m),
  },
  'kstream topic describe orders --all-configs -o yaml': {
    check: (r) => assert.match(r.stdout, /name: cleanup\.policy/),
  },
  'kstream topic alter-config orders --set retention.ms=3600000 --delete cleanup.policy': {
    check: (r) => assert.equal(r.stdout, 'TOPIC   STATUS\norders  OK\n'),
  },
  'kstream topic add-partitions orders -p 2': {
    check: async () => assert.match(await ks('topic list'), /^orders +8 +1$/m),
  },
  'kstream topic trim orders --offset 1000 --dry-run': {
    before: () => ks('produce orders -p 0', 'a\nb\nc\n').then(() => {}),
    check: (r) => assert.match(r.stdout, /^orders +0 +0 +3 +3 +planned$/m),
  },
  'kstream topic trim orders --offset 1000 -p 0': { check: (r) => assert.match(r.stdout, /^orders +0 +0 +3 +3 +OK$/m) },
  'kstream topic delete orders payments --dry-run': {
    before: () => ks('topic create payments -p 2').then(() => {}),
    check: (r) => assert.match(r.stdout, /^orders +8 +0 +planned\npayments +2 +0 +planned$/m),
  },
  'kstream topic delete orders payments': {
    check: (r) => assert.equal(r.stdout, 'TOPIC     STATUS\norders    OK\npayments  OK\n'),
    // The examples after this one use both again.
    after: () => recreate('orders -p 6', 'payments -p 2'),
  },
  'echo hello | kstream produce orders': { check: (r) => assert.match(r.stderr, /^produced 1 record, 5 B, /) },
  'kstream produce orders --file data.txt -K : -z zstd': {
    check: (r) => assert.match(r.stderr, /^produced 50 records, /),
  },
  'kstream produce orders -H source=cli --acks 1 -p 0 < lines.txt': {
    check: (r) => assert.match(r.stderr, /^produced 30 records, .* 1 partition, /),
  },
  'kstream produce orders -f json < records.jsonl': { check: (r) => assert.match(r.stderr, /^produced 3 records, /) },
  'seq 100 | kstream produce orders --rate 50': { check: (r) => assert.match(r.stderr, /^produced 100 records, /) },
  'kstream produce orders --file records.jsonl --format json --rate 0.5': {
    check: (r) => assert.match(r.stderr, /^produced 3 records, .* [4-9]\.\d\ds to orders/),
  },
  'kstream consume orders': { how: 'ctrl-c', check: (r) => assert.equal(r.stderr, '') },
  // 1 + 50 + 30 + 3 + 100 + 3 records produced above.
  'kstream consume orders --from-beginning -e': { check: (r) => assert.equal(lines(r.stdout).length, 187) },
  "kstream consume orders --offset -10 -e --format '%p/%o %k=%v %h\\n'": {
    check: (r) => {
      assert.ok(lines(r.stdout).length >= 10 && lines(r.stdout).length <= 60, r.stdout);
      for (const l of lines(r.stdout)) assert.match(l, /^[0-5]\/\d+ \S*=/);
    },
  },
  'kstream consume orders payments --from-time -10m -e -o json': {
    check: (r) => assert.equal(lines(r.stdout).length, 187),
  },
  'kstream consume orders --group billing -n 100': {
    how: 'group',
    check: (r) => assert.deepEqual(lines(r.stdout), Array.from({ length: 100 }, (_, i) => `new ${i}`).sort(byNumber)),
  },
  "kstream consume orders --from-beginning -e --grep 'user-4[0-9]'": {
    check: (r) => assert.equal(lines(r.stdout).length, 10),
  },
  'kstream consume orders --offset 10:20 -p 0 --print-key --print-offset': {
    check: (r) => {
      assert.equal(lines(r.stdout).length, 10);
      assert.match(lines(r.stdout)[0]!, /^Offset:10\t\S*\t/);
    },
  },
  'kstream consume orders --offset :end -c 5': { check: (r) => assert.equal(lines(r.stdout).length, 5) },
  'seq 1000 | kstream produce transfers --transactional-id loader-1 --txn-size 100': {
    before: () => recreate('transfers -p 3'),
    check: (r) => assert.match(r.stderr, /^produced 1000 records, .* to transfers in 10 transactions$/m),
  },
  'kstream consume transfers --from-beginning -e --isolation read_committed': {
    check: (r) => assert.equal(lines(r.stdout).length, 1000),
  },
  'kstream txn list': { check: (r) => assert.match(r.stdout, /^loader-1 +\w+ +\d+$/m) },
  'kstream txn describe loader-1': {
    check: (r) => {
      assert.match(r.stdout, /^TRANSACTIONAL ID +loader-1$/m);
      assert.match(r.stdout, /^PRODUCER ID +\d+$/m);
      assert.match(r.stdout, /^TIMEOUT +60000 ms$/m);
    },
  },
  'kstream group list': { check: (r) => assert.match(r.stdout, /^billing +Empty$/m) },
  'kstream group describe billing': { check: (r) => assert.match(r.stdout, /^TOTAL LAG +0$/m) },
  'kstream group seek billing --to earliest --dry-run': {
    check: (r) => assert.match(r.stdout, /^orders +0 +\d+ +0 +planned$/m),
  },
  'kstream group seek billing --to offset 1000': {
    check: (r) => assert.match(r.stdout, /OK \(1000 is past the log end\)/),
  },
  'kstream group delete billing old-group': {
    before: () => ks('consume orders -g old-group --from-beginning -e').then(() => {}),
    check: (r) => assert.equal(r.stdout, 'GROUP      STATUS\nbilling    OK\nold-group  OK\n'),
  },
  'kstream cluster info': { check: (r) => assert.match(r.stdout, /^BROKERS +4$/m) },
  'kstream cluster health': {
    before: () =>
      until('a healthy cluster', async () => (await sh('kstream cluster health')).code === 0, 60_000).then(() => {}),
    check: (r) => assert.match(r.stdout, /^HEALTHY +true$/m),
  },
  'kstream cluster reassign --topic orders --partition 0 --replicas 2,3,4 --wait': {
    check: async (r) => {
      assert.equal(r.stdout, 'PARTITION  STATUS\norders/0   started\n');
      assert.match(r.stderr, /all moves complete\n$/);
      const d = JSON.parse(await ks('topic describe orders -o json'));
      assert.deepEqual(d.partitions[0].replicas, [2, 3, 4]);
    },
  },
  'kstream cluster reassign --drain 1 --dry-run': { check: (r) => assert.match(r.stdout, /^PARTITION +FROM +TO$/m) },
  'kstream cluster elect-leaders': { check: (r) => assert.match(r.stderr, /already led by their preferred replica/) },
  'kstream bench produce --records 1000000 --record-size 100 --acks 1': {
    check: (r) => assert.match(r.stdout, /^produce kstream-bench: 1,000,000 records /),
  },
  'kstream bench produce -n 200000 --acks all --compression lz4 -o json': {
    check: (r) => assert.equal(JSON.parse(r.stdout).records, 200000),
  },
  'kstream bench consume --topic kstream-bench --records 1000000': {
    check: (r) => assert.match(r.stdout, /^consume kstream-bench: 1,000,000 records /),
  },
  'kstream bench e2e --throughput 100000 --records 1000000': {
    check: (r) => assert.match(r.stdout, /^end-to-end latency \(ms\): p50 /m),
  },
  'kstream topic export orders payments -o backup.tar.gz': {
    before: async () => {
      exported = lines(await ks('consume orders payments --from-beginning -e')).length;
    },
    check: (r) => {
      assert.match(r.stdout, /^orders: \d+ records from 6 partitions$/m);
      assert.match(r.stdout, /^wrote backup\.tar\.gz /m);
    },
  },
  'kstream topic export orders -o window.tar.gz --from-time 2026-11-25T10:00Z --to-time -10m': {},
  'kstream topic import backup.tar.gz': {
    // It creates the topics: they must not be there (with records) already.
    before: async () => {
      await ks('topic delete orders payments --yes');
      await until('deleted', async () => !(await topics()).some((t: string) => t === 'orders' || t === 'payments'));
    },
    check: async (r) => {
      assert.match(r.stdout, /^orders +\d+ +\d+ +OK$/m);
      assert.equal(lines(await ks('consume orders payments --from-beginning -e')).length, exported);
    },
  },
  'kstream topic import orders.tar.gz --to-topic orders-restored': {
    before: () => ks('topic export orders -o orders.tar.gz').then(() => {}),
    check: async () => assert.match(await ks('topic list'), /^orders-restored +/m),
  },
  'kstream topic import damaged.tar.gz --partial': {
    before: async () => {
      await ks('topic create dmg -p 3');
      for (const p of [0, 1, 2])
        await ks(`produce dmg -p ${p}`, `${Array.from({ length: 2000 }, (_, i) => `r${i}`).join('\n')}\n`);
      await ks('topic export dmg -o dmg.tar.gz');
      await ks('topic delete dmg --yes');
      await until('dmg deleted', async () => !(await topics()).includes('dmg'));
      const whole = readFileSync(join(dir, 'dmg.tar.gz'));
      writeFileSync(join(dir, 'damaged.tar.gz'), whole.subarray(0, Math.floor(whole.length * 0.5)));
    },
    code: 1,
    check: (r) => {
      assert.match(r.stdout, /dmg +0 +2000 +OK/);
      assert.match(r.stderr, /skipped \d damaged partition/);
    },
  },
  'kstream debug bundle': { check: (r) => assert.match(r.stdout, /wrote kstream-bundle-.*\.zip\n$/) },
  'kstream debug bundle -o support.zip --data-dir ./kstream-data --log-file broker.log': {
    check: (r) => {
      assert.match(r.stdout, /^logs\/broker\.log /m);
      assert.match(r.stdout, /wrote support\.zip\n$/);
    },
  },
  'kstream debug check-log ./kstream-data': {
    // The example's data dir is a stopped broker's (the README says so): one that took records, then stopped.
    before: async () => {
      const broker = await startBroker({ dataDir: join(dir, 'stopped-data') });
      try {
        await sh(`kstream topic create checked -p 2 -b ${broker.bootstrap}`).then((r) =>
          assert.equal(r.code, 0, r.stderr),
        );
        const r = await sh(`kstream produce checked -b ${broker.bootstrap}`, { input: 'a\nb\nc\n' });
        assert.equal(r.code, 0, r.stderr);
      } finally {
        await broker.stop();
      }
      unlinkSync(join(dir, 'kstream-data'));
      symlinkSync(join(dir, 'stopped-data'), join(dir, 'kstream-data'));
    },
    check: (r) => {
      // The three records went to one partition (sticky, no key); both partitions are whole.
      assert.match(r.stdout, /^checked-\d +1 +0 +3 +\d+ +ok$/m);
      assert.match(r.stdout, /^2 partitions, 2 segments checked, no problems$/m);
    },
  },
  'kstream autocomplete bash': { check: (r) => assert.match(r.stdout, /kstream autocomplete script bash/) },
  'kstream autocomplete zsh': { check: (r) => assert.match(r.stdout, /kstream autocomplete script zsh/) },
  'printf "$(kstream autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc': {
    check: () => assert.match(readFileSync(join(dir, 'home', '.bashrc'), 'utf8'), /KSTREAM_AC_BASH_SETUP_PATH=/),
  },
  'kstream autocomplete --refresh-cache': {},
  'kstream top -b kafka1:9092,kafka2:9092 --interval 2s': { how: 'terminal', screen: /UNREACHABLE · no data yet/ },
  'kstream top --read-only': { how: 'terminal', screen: /brokers 4 up 0 down[\s\S]* read-only/ },
  './dist/kstream --version': {
    how: 'parse',
    why: 'the single executable: `npm run build:binary` first; test/binary runs it (and --version)',
  },
};

function byNumber(a: string, b: string): number {
  return Number(a.split(' ')[1]) - Number(b.split(' ')[1]);
}

before(async () => {
  cluster = await startCluster({ nodes: 4 });
  dir = tempDir('kstream-readme-');
  bin = join(dir, 'bin');
  mkdirSync(bin);
  mkdirSync(join(dir, 'home'));
  writeFileSync(join(bin, 'kstream'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(bin, 'kstream'), 0o755);
  env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    HOME: join(dir, 'home'),
    KSTREAM_BROKERS: cluster.bootstrap(),
  };
  delete env.KSTREAM_CACHE_DIR;
  delete env.XDG_CACHE_HOME;
  // The files the examples name. 50 keyed lines (user-0 … user-49), 30 lines for partition 0, 3 JSON records.
  writeFileSync(join(dir, 'data.txt'), Array.from({ length: 50 }, (_, i) => `user-${i}:order ${i}\n`).join(''));
  writeFileSync(join(dir, 'lines.txt'), Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join(''));
  writeFileSync(
    join(dir, 'records.jsonl'),
    `${[1, 2, 3].map((i) => JSON.stringify({ key: `j${i}`, value: JSON.stringify({ n: i }), headers: [{ key: 'h', value: 'x' }] })).join('\n')}\n`,
  );
  writeFileSync(join(dir, 'server.properties'), `port=0\nlog.dirs=${join(dir, 'serve-data')}\n`);
  writeFileSync(join(dir, 'broker.log'), 'a broker log\n');
  symlinkSync(cluster.dataDir(1), join(dir, 'kstream-data'));
});

after(async () => {
  for (const t of terms) t.kill();
  for (const c of children)
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
  await cluster?.close();
  if (dir) removeDir(dir);
});

/** Runs one example by its driver. */
async function runExample(line: string, d: Driver): Promise<Run | null> {
  const how = d.how ?? 'run';
  if (how === 'parse') {
    const argv = line
      .replace(/^(?:[A-Z_]+=\S*\s+)*/, '')
      .split(/\s+/)
      .slice(1);
    const words: string[] = [];
    while (argv.length > 0 && !argv[0]!.startsWith('-')) words.push(argv.shift()!);
    const id = words.join(':') || 'version';
    if (line.startsWith('./dist/')) return null;
    const cls = COMMANDS[id];
    assert.ok(cls, `${line}: a command`);
    const flags = { ...(cls.baseFlags ?? {}), ...(cls.flags ?? {}) };
    await Parser.parse(argv, { flags, args: cls.args ?? {}, strict: cls.strict ?? true });
    return null;
  }
  if (how === 'terminal') {
    const t = startTerminal(
      `env KSTREAM_BROKERS=${cluster.bootstrap()} PATH=${bin}:$PATH HOME=${join(dir, 'home')} ${line}; echo EXIT=$?; sleep 30`,
      { width: 120, height: 30 },
    );
    terms.push(t);
    await t.waitFor(String(d.screen), (s) => d.screen!.test(s));
    t.keys('q');
    const code = await t.waitFor('exit', (s) => /EXIT=(\d+)/.exec(s)?.[1]);
    t.kill();
    return { code: Number(code), stdout: '', stderr: '' };
  }
  if (how === 'serve') {
    let listening: () => void;
    const ready = new Promise<void>((res) => {
      listening = res;
    });
    const run = sh(line, {
      ms: 60_000,
      onStart: (c) =>
        c.stdout!.on('data', (x: Buffer) => {
          if (/listening on/.test(String(x))) listening();
        }),
    });
    const child = children[children.length - 1]!;
    await Promise.race([ready, run]);
    process.kill(-child.pid!, 'SIGTERM');
    return run;
  }
  if (how === 'ctrl-c') {
    const run = sh(line, { ms: 60_000 });
    const child = children[children.length - 1]!;
    // Until Ctrl-C: once it is connected to the cluster it waits for records; then Ctrl-C. (A fixed 3 s wait
    // sent SIGINT to a CLI still starting on a loaded machine: killed by the signal, exit code null.)
    await until('the consumer is connected to the cluster', () => connectedToCluster(child.pid!), 60_000);
    process.kill(-child.pid!, 'SIGINT');
    return run;
  }
  if (how === 'group') {
    const run = sh(line, { ms: 90_000 });
    await until(
      'the group joined',
      async () => /"state": "Stable"/.test((await sh('kstream group describe billing -o json')).stdout),
      60_000,
    );
    await ks('produce orders', `${Array.from({ length: 100 }, (_, i) => `new ${i}`).join('\n')}\n`);
    const r = await run;
    return { ...r, stdout: `${lines(r.stdout).sort(byNumber).join('\n')}\n` };
  }
  return sh(line, { ms: 180_000 });
}

/**
 * Whether a process of the group `pgid` (the example's shell and what it started) holds an established TCP
 * connection to one of the cluster's nodes (`ss` names each socket's processes).
 */
async function connectedToCluster(pgid: number): Promise<boolean> {
  const run = (cmd: string, args: string[]) =>
    new Promise<string>((res) => {
      const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => {
        out += String(d);
      });
      c.once('close', () => res(out));
      c.once('error', () => res(''));
    });
  const pids = new Set<string>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // /proc/PID/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces, so read after its last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2] === String(pgid)) pids.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  const ports = new Set(
    cluster
      .bootstrap()
      .split(',')
      .map((hp) => hp.slice(hp.lastIndexOf(':') + 1)),
  );
  for (const line of (await run('ss', ['-Htnp', 'state', 'established'])).split('\n')) {
    const peer = line.trim().split(/\s+/)[3] ?? '';
    if (!ports.has(peer.slice(peer.lastIndexOf(':') + 1))) continue;
    for (const m of line.matchAll(/pid=(\d+)/g)) if (pids.has(m[1] as string)) return true;
  }
  return false;
}

test('every kstream example of the README runs as written', { timeout: 1_200_000 }, async (t) => {
  const examples = readmeExamples(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(examples.length > 40, `examples found: ${examples.length}`);
  const unknown = examples.filter((e) => !(e in DRIVERS));
  assert.deepEqual(unknown, [], 'README examples this test does not know (add a driver)');
  const gone = Object.keys(DRIVERS).filter((k) => !examples.includes(k));
  assert.deepEqual(gone, [], 'drivers whose example left the README');
  let ran = 0;
  for (const line of examples) {
    const d = DRIVERS[line]!;
    await d.before?.();
    const r = await runExample(line, d);
    if (r) {
      assert.equal(r.code, d.code ?? 0, `${line}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      await d.check?.(r);
      ran++;
    } else t.diagnostic(`checked, not run: ${line} (${d.why})`);
    await d.after?.();
  }
  t.diagnostic(`${ran} of ${examples.length} examples ran`);
});
