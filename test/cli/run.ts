/** Runs the real CLI (bin/run.js on the built dist/) as a child process and collects its output. */
import { spawn } from 'node:child_process';
import { BIN, ROOT } from '../helpers/broker.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export function kstream(
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    delete env.KSTREAM_BROKERS;
    if (opts.env?.KSTREAM_BROKERS) env.KSTREAM_BROKERS = opts.env.KSTREAM_BROKERS;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kstream ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 20_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stderr, stdoutBytes });
    });
    child.stdin.end(opts.input ?? '');
  });
}
