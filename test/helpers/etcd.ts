/**
 * Runs Debian's etcd on free loopback ports with a temp data dir, for cluster tests. Stopped by the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { removeDir, tempDir } from './broker.js';

export interface EtcdProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT, to make etcd unreachable without losing its data. */
  pause(): void;
  resume(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startEtcd(): Promise<EtcdProcess> {
  const dir = tempDir('kstream-etcd-');
  const client = await freePort();
  const peer = await freePort();
  const url = `http://127.0.0.1:${client}`;
  const child = spawn(
    'etcd',
    [
      '--name',
      'test',
      '--data-dir',
      dir,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `test=http://127.0.0.1:${peer}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`etcd did not start in 20 s: ${log.slice(-2000)}`)), 20_000);
    const check = () => {
      if (/ready to serve client requests|serving insecure client requests/.test(log)) {
        clearTimeout(t);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(t);
        reject(new Error(`etcd exited: ${log.slice(-2000)}`));
      } else setTimeout(check, 50);
    };
    check();
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        await exited;
      }
      removeDir(dir);
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}
