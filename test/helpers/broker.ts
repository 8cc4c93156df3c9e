/**
 * Runs a real `kstream serve` (bin/run.js on the built dist/) as a child process on a free loopback port with
 * a temp data dir, for integration tests. Always stopped by the test (also on failure) via `stop()`/`kill()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export interface BrokerProcess {
  port: number;
  /** The admin HTTP listener's port (/metrics, /health, /ready); null when off (the default in tests). */
  adminPort: number | null;
  /** Bound port per listener name (PLAINTEXT alone without `listeners`). */
  listeners: Record<string, number>;
  bootstrap: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the broker wrote to stderr (its log) so far. */
  logs(): string;
  /** Graceful stop (SIGTERM), resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, resolves when the process is gone. */
  kill(): Promise<void>;
}

export function tempDir(prefix = 'kstream-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startBroker(
  opts: {
    dataDir?: string;
    port?: number;
    args?: string[];
    props?: Record<string, string>;
    /** Start it under `ulimit -n <nofile>` (a low file limit). */
    nofile?: number;
    /** The props give `listeners`: no --host/--port. */
    noHostPort?: boolean;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<BrokerProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const extra = [...(opts.args ?? [])];
  let propsDir: string | null = null;
  if (opts.props) {
    // Broker properties go through a --config file, as a user would give them (removed when the broker exits).
    propsDir = tempDir('kstream-props-');
    const file = join(propsDir, 'server.properties');
    writeFileSync(
      file,
      Object.entries(opts.props)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    extra.push('--config', file);
  }
  const hostPort = opts.noHostPort ? [] : ['--port', String(opts.port ?? 0), '--host', '127.0.0.1'];
  // The admin HTTP listener is off unless the test asks for it (its default port 9644 is one per machine).
  if (!extra.includes('--http-port') && opts.props?.['admin.listeners'] === undefined) extra.push('--http-port', '0');
  const args = [BIN, 'serve', '--data-dir', dataDir, ...hostPort, ...extra];
  const env = opts.env ?? process.env;
  const child =
    opts.nofile === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env })
      : spawn('/bin/sh', ['-c', `ulimit -n ${opts.nofile} && exec "$0" "$@"`, process.execPath, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          cwd: ROOT,
        });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  if (propsDir !== null) {
    const dir = propsDir;
    child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`broker did not start in 20 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 20_000);
    child.stdout?.on('data', (d) => {
      stdout += d;
      const m = /listening on [\d.]+:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`broker exited with ${code} before it was ready\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  const listeners: Record<string, number> = {};
  for (const m of stdout.matchAll(/\b([A-Z0-9_]+):\/\/[^\s,]*:(\d+)/g)) listeners[m[1] as string] = Number(m[2]);
  if (Object.keys(listeners).length === 0) listeners.PLAINTEXT = port;
  const admin = /, admin https?:\/\/[^\s,]*:(\d+)/.exec(stdout);
  return {
    port,
    adminPort: admin ? Number(admin[1]) : null,
    listeners,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    child,
    logs: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
