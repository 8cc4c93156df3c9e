/**
 * Runs Debian's etcd on free loopback ports with a temp data dir, for cluster tests. Stopped by the test.
 * With `tls`, etcd serves clients over TLS (an https:// URL) with the certificate given and, with
 * `clientCertAuth`, asks every client for a certificate signed by `ca` (etcd's --client-cert-auth).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { removeDir, tempDir } from './broker.js';

export interface EtcdOptions {
  tls?: {
    /** PEM files: the CA client certificates are checked against, etcd's certificate and its key. */
    ca: string;
    cert: string;
    key: string;
    /** Refuse clients without a certificate signed by `ca`. */
    clientCertAuth?: boolean;
  };
}

export interface EtcdProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT, to make etcd unreachable without losing its data. */
  pause(): void;
  resume(): void;
  /** Stops the etcd process (SIGTERM; `SIGKILL` for a crash) and keeps its data dir: an outage, undone by restart(). */
  halt(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts etcd again after halt(), on the same ports with the same data dir (the same cluster, its data kept). */
  restart(): Promise<void>;
}

/**
 * `n` distinct free loopback ports. All listeners stay open until every port is picked, so the kernel cannot
 * hand out the same port twice; another process can still take one before etcd binds it, which startEtcd
 * survives by retrying.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Starts etcd; a port taken between picking and binding ("address already in use") means new ports, up to 5 tries. */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEtcdOnce(opts);
    } catch (e) {
      if (attempt >= 5 || !(e instanceof PortTakenError)) throw e;
    }
  }
}

class PortTakenError extends Error {}

async function startEtcdOnce(opts: EtcdOptions): Promise<EtcdProcess> {
  const dir = tempDir('kstream-etcd-');
  const [client, peer] = await freePorts(2);
  const tls = opts.tls;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${client}`;
  const tlsArgs = tls
    ? [
        '--cert-file',
        tls.cert,
        '--key-file',
        tls.key,
        '--trusted-ca-file',
        tls.ca,
        ...(tls.clientCertAuth ? ['--client-cert-auth'] : []),
      ]
    : [];
  let proc: RunningEtcd;
  try {
    proc = await spawnEtcd(dir, url, `http://127.0.0.1:${peer}`, tlsArgs);
  } catch (e) {
    removeDir(dir);
    throw e;
  }
  const handle: EtcdProcess = {
    url,
    child: proc.child,
    async stop() {
      await handle.halt();
      removeDir(dir);
    },
    pause: () => proc.child.kill('SIGSTOP'),
    resume: () => proc.child.kill('SIGCONT'),
    async halt(signal = 'SIGTERM') {
      const { child } = proc;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill(signal);
        await proc.exited;
      }
    },
    async restart() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) throw new Error('etcd is still running');
      // Its ports were free a moment ago; a process that grabbed one meanwhile gets a few seconds to let go.
      for (let attempt = 1; ; attempt++) {
        try {
          proc = await spawnEtcd(dir, url, `http://127.0.0.1:${peer}`, tlsArgs);
          handle.child = proc.child;
          return;
        } catch (e) {
          if (attempt >= 10 || !(e instanceof PortTakenError)) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
  };
  return handle;
}

interface RunningEtcd {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Runs etcd on `dir` with these URLs; resolves once it serves clients (a new member, or the same one again). */
async function spawnEtcd(dir: string, url: string, peerUrl: string, tlsArgs: string[]): Promise<RunningEtcd> {
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
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `test=${peerUrl}`,
      ...tlsArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`etcd did not start in 20 s: ${log.slice(-2000)}`));
    }, 20_000);
    const check = () => {
      if (/ready to serve client requests|serving insecure client requests/.test(log)) {
        clearTimeout(t);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(t);
        const Err = /address already in use/.test(log) ? PortTakenError : Error;
        reject(new Err(`etcd exited: ${log.slice(-2000)}`));
      } else setTimeout(check, 50);
    };
    check();
  });
  return { child, exited };
}
