/**
 * The single executable as a user gets it: built once (scripts/build-binary.js, or the file named by
 * KSTREAM_BINARY when CI built it in an earlier step), copied alone into a temp dir and run from there with an
 * empty environment except PATH and a temp HOME, so nothing of the repo (node_modules, dist/, package.json)
 * can be found or used.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Build dist/kstream (or take KSTREAM_BINARY); returns its path, how long the build took (0 if prebuilt) and what
 * the build printed on stderr.
 */
export function buildBinary(): { path: string; seconds: number; stderr: string } {
  const prebuilt = process.env.KSTREAM_BINARY;
  if (prebuilt) return { path: resolve(prebuilt), seconds: 0, stderr: '' };
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-binary.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`build-binary.js exited ${r.status ?? r.signal}: ${r.stderr}`);
  return { path: join(ROOT, 'dist', 'kstream'), seconds: (performance.now() - t0) / 1000, stderr: r.stderr };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A temp dir holding only a copy of the binary and an empty HOME; every run starts from that dir. */
export class Sandbox {
  readonly dir: string;
  readonly home: string;
  readonly exe: string;
  private readonly children = new Set<ChildProcess>();

  constructor(binary: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'kstream-binary-'));
    this.home = join(this.dir, 'home');
    mkdirSync(this.home);
    this.exe = join(this.dir, 'kstream');
    copyFileSync(binary, this.exe);
  }

  /** `env -i PATH=/usr/bin:/bin HOME=<temp home>`, plus `extra` (which may drop HOME by setting it undefined). */
  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: Record<string, string | undefined> = { PATH: '/usr/bin:/bin', HOME: this.home, ...extra };
    return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
  }

  run(
    args: string[],
    opts: { input?: string; env?: Record<string, string | undefined>; timeout?: number } = {},
  ): Promise<RunResult> {
    const t0 = performance.now();
    return new Promise((res) => {
      const child = execFile(
        this.exe,
        args,
        { cwd: this.dir, env: this.env(opts.env), timeout: opts.timeout ?? 60_000, maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
          res({
            code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
            signal: e?.signal ?? null,
            stdout,
            stderr,
            ms: performance.now() - t0,
          });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  }

  /** A long-running command (e.g. serve); killed by cleanup() if still alive. */
  spawn(args: string[]): ChildProcess {
    const child = spawn(this.exe, args, { cwd: this.dir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  cleanup(): void {
    for (const c of this.children) c.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A broker started from the binary: `serve --port 0 --data-dir ./d` (127.0.0.1, a free port). */
export interface BinaryBroker {
  child: ChildProcess;
  bootstrap: string;
  /** What serve printed so far (stdout: the ready line; stderr: its log). */
  output(): { stdout: string; stderr: string };
  /** SIGTERM; resolves with the exit code (null if it died of a signal). */
  stop(): Promise<number | null>;
}

/** `httpPort`: the admin HTTP listener's port (0: off). */
export async function startServe(box: Sandbox, dataDir = './d', httpPort = 0): Promise<BinaryBroker> {
  const child = box.spawn(['serve', '--port', '0', '--http-port', String(httpPort), '--data-dir', dataDir]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`serve did not start in 20 s\n${stdout}\n${stderr}`)), 20_000);
    child.stdout?.on('data', () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`serve exited with ${code} before it was ready\n${stdout}\n${stderr}`));
    });
  });
  return {
    child,
    bootstrap: `127.0.0.1:${port}`,
    output: () => ({ stdout, stderr }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
