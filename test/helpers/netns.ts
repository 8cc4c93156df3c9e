/**
 * A small network lab for fault tests (root only): one Linux bridge in the root namespace and one network
 * namespace per host, each joined to the bridge by a veth pair, all in a private /24 that collides with no
 * address or route of this machine. Processes started with `lab.command(host, argv)` run inside the host's
 * namespace (`ip netns exec`, which execs, so the child's pid is the program's) under `setpriv --pdeathsig
 * KILL`: they die with the process that started them, also when it is SIGKILLed.
 *
 * Faults: `block(host, peers, 'both' | 'in' | 'out')` drops packets to and/or from peers with nft rules inside
 * the host's namespace (a table `inet ksfault`), `unblock(host)` removes them. Small tmpfs mounts
 * (`mountTmpfs`) give a node a disk that can be filled.
 *
 * Clean-up: `close()` kills what still runs in the namespaces, deletes them, the veths and the bridge, unmounts
 * the tmpfs mounts and removes the dirs it was told about. Everything a lab creates is named after the pid of
 * its process (`ksf<pid>…`) and recorded in /run/kstream-netns/<pid>.json; `createLab()` first removes every
 * lab whose process is gone (a crashed or killed run), so nothing stale piles up or collides.
 *
 *   const lab = await createLab(['etcd', 'n1', 'n2', 'n3']);
 *   try {
 *     spawn(...lab.command('n1', ['node', 'server.js', '--host', lab.ip('n1')]));
 *     lab.block('n1', [lab.ip('n2'), lab.ip('etcd')], 'both');
 *   } finally {
 *     await lab.close();
 *   }
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LAB_STATE_DIR = '/run/kstream-netns';
const PREFIX = 'ksf';

export type BlockDirection = 'both' | 'in' | 'out';

export interface Lab {
  /** `ksf<pid>`: the prefix of every name this lab created. */
  readonly id: string;
  /** e.g. "10.213.45.0/24". */
  readonly subnet: string;
  /** The root namespace's address on the bridge (where clients in the root namespace come from). */
  readonly bridgeIp: string;
  readonly hosts: readonly string[];
  ip(host: string): string;
  netns(host: string): string;
  /** [command, args] that run `argv` inside the host's namespace, killed when this process dies. */
  command(host: string, argv: readonly string[]): [string, string[]];
  /** Drops packets between `host` and `peers` (addresses), inside `host`'s namespace, replacing earlier rules. */
  block(host: string, peers: readonly string[], direction: BlockDirection): void;
  /** Removes `host`'s drop rules (no-op when there are none). */
  unblock(host: string): void;
  /** The rules in place, for reports: host → {peers, direction}. */
  blocked(): Record<string, { peers: string[]; direction: BlockDirection }>;
  /** Mounts a tmpfs of `sizeMb` on `dir` (created), unmounted by close() or by the next lab after a crash. */
  mountTmpfs(dir: string, sizeMb: number): void;
  /** A dir close() removes (after unmounting), also the next lab's clean-up after a crash. */
  ownDir(dir: string): void;
  close(): Promise<void>;
}

interface LabRecord {
  pid: number;
  /** The process's start time (field 22 of /proc/<pid>/stat): a pid reused by another process is not ours. */
  start: string;
  id: string;
  subnet: string;
  netns: string[];
  links: string[];
  mounts: string[];
  dirs: string[];
}

function run(cmd: string, args: readonly string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs and ignores failure (clean-up of things that may already be gone). */
function tryRun(cmd: string, args: readonly string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function alive(pid: number, start: string | null): boolean {
  const now = processStart(pid);
  return now !== null && (start === null || now === start);
}

function readRecords(): LabRecord[] {
  if (!existsSync(LAB_STATE_DIR)) return [];
  const out: LabRecord[] = [];
  for (const f of readdirSync(LAB_STATE_DIR)) {
    if (!f.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(LAB_STATE_DIR, f), 'utf8')) as LabRecord);
    } catch {
      // A record torn by a crash: the name sweep below still finds its namespaces and links.
      rmSync(join(LAB_STATE_DIR, f), { force: true });
    }
  }
  return out;
}

function listNetns(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function listLinks(): string[] {
  return run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n !== '');
}

const mounted = (dir: string) =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir);

/** Kills what runs in a namespace (by pid: those are the processes of the lab that made it), then deletes it. */
function deleteNetns(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const p of pids.split('\n').filter((s) => /^\d+$/.test(s))) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  tryRun('ip', ['netns', 'delete', ns]);
}

function teardown(rec: Pick<LabRecord, 'netns' | 'links' | 'mounts' | 'dirs'>): void {
  for (const ns of rec.netns) deleteNetns(ns);
  for (const l of rec.links) tryRun('ip', ['link', 'delete', l]);
  for (const m of rec.mounts) {
    // Lazily: a process of the crashed run may still be on its way out.
    if (mounted(m)) tryRun('umount', ['-l', m]);
  }
  for (const d of rec.dirs) rmSync(d, { recursive: true, force: true });
}

/** Removes every lab whose process is gone; returns the names removed. Safe to call while other labs run. */
export function cleanStaleLabs(): string[] {
  const removed: string[] = [];
  const live = new Set<number>();
  for (const rec of readRecords()) {
    if (rec.pid !== process.pid && alive(rec.pid, rec.start)) {
      live.add(rec.pid);
      continue;
    }
    if (rec.pid === process.pid) {
      live.add(rec.pid);
      continue;
    }
    teardown(rec);
    rmSync(join(LAB_STATE_DIR, `${rec.pid}.json`), { force: true });
    removed.push(rec.id);
  }
  // Names whose record is missing (a crash between creating and recording): owned by ksf<pid>, pid gone.
  const owner = (name: string) => {
    const m = new RegExp(`^${PREFIX}(\\d+)`).exec(name);
    return m ? Number(m[1]) : null;
  };
  for (const ns of listNetns()) {
    const pid = owner(ns);
    if (pid !== null && pid !== process.pid && !live.has(pid) && !alive(pid, null)) {
      deleteNetns(ns);
      removed.push(ns);
    }
  }
  for (const link of listLinks()) {
    const pid = owner(link);
    if (pid !== null && pid !== process.pid && !live.has(pid) && !alive(pid, null)) {
      tryRun('ip', ['link', 'delete', link]);
      removed.push(link);
    }
  }
  return removed;
}

/** /24 prefixes ("10.a.b") that this machine's addresses and routes do not touch, nor live labs. */
function pickSubnet(taken: readonly string[]): string {
  const used = run('ip', ['-4', 'route', 'show', 'table', 'all']) + run('ip', ['-4', '-o', 'addr', 'show']);
  const inUse = new Set<string>(taken);
  for (const m of used.matchAll(/\b(\d+\.\d+\.\d+)\.\d+(\/(\d+))?/g)) {
    const bits = m[3] === undefined ? 32 : Number(m[3]);
    if (bits >= 24) inUse.add(m[1] as string);
    else {
      // A wider route (e.g. 10.0.0.0/8) covers every /24 inside it: skip its whole first octet(s).
      const [a, b] = (m[1] as string).split('.');
      if (bits >= 16) inUse.add(`${a}.${b}.*`);
      else inUse.add(`${a}.*`);
    }
  }
  const free = (s: string) => {
    const [a, b] = s.split('.');
    return !inUse.has(s) && !inUse.has(`${a}.${b}.*`) && !inUse.has(`${a}.*`);
  };
  for (let i = 0; i < 2000; i++) {
    const n = (process.pid + i * 7919) % (50 * 250);
    const s = `10.${200 + Math.floor(n / 250)}.${(n % 250) + 1}`;
    if (free(s)) return s;
  }
  throw new Error('no free private /24 in 10.200.0.0-10.249.255.0 for the network lab');
}

export async function createLab(hosts: readonly string[]): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error('the network lab needs root (ip netns, bridges, nft, mount)');
  if (hosts.length > 200) throw new Error('at most 200 hosts');
  cleanStaleLabs();
  const pid = process.pid;
  const id = `${PREFIX}${pid}`;
  const others = readRecords().filter((r) => r.pid !== pid);
  const subnet = pickSubnet(others.map((r) => r.subnet.replace(/\.0\/24$/, '')));
  const bridge = `${id}br`;
  const rec: LabRecord = {
    pid,
    start: processStart(pid) ?? '',
    id,
    subnet: `${subnet}.0/24`,
    netns: [],
    links: [],
    mounts: [],
    dirs: [],
  };
  mkdirSync(LAB_STATE_DIR, { recursive: true });
  const recordFile = join(LAB_STATE_DIR, `${pid}.json`);
  const save = () => writeFileSync(recordFile, JSON.stringify(rec, null, 1));
  const ips = new Map<string, string>();
  const nsOf = new Map<string, string>();
  const rules = new Map<string, { peers: string[]; direction: BlockDirection }>();
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    teardown(rec);
    // Deleting a namespace removes its veth end, and the kernel removes the pair asynchronously.
    for (let i = 0; i < 50 && listLinks().some((l) => l.startsWith(id)); i++)
      await new Promise((r) => setTimeout(r, 100));
    rmSync(recordFile, { force: true });
  };

  try {
    rec.links.push(bridge);
    save();
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    hosts.forEach((host, i) => {
      if (nsOf.has(host)) throw new Error(`host ${host} twice`);
      const ns = `${id}-${host}`;
      const outside = `${id}h${i}`;
      const inside = `${id}p${i}`;
      const ip = `${subnet}.${10 + i}`;
      rec.netns.push(ns);
      rec.links.push(outside);
      save();
      run('ip', ['netns', 'add', ns]);
      run('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      run('ip', ['link', 'set', inside, 'netns', ns]);
      run('ip', ['-n', ns, 'link', 'set', inside, 'name', 'eth0']);
      run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['link', 'set', outside, 'master', bridge]);
      run('ip', ['link', 'set', outside, 'up']);
      ips.set(host, ip);
      nsOf.set(host, ns);
    });
  } catch (e) {
    await close();
    throw e;
  }

  const need = <T>(m: Map<string, T>, host: string): T => {
    const v = m.get(host);
    if (v === undefined) throw new Error(`no host ${host} in the lab (${hosts.join(', ')})`);
    return v;
  };

  return {
    id,
    subnet: rec.subnet,
    bridgeIp: `${subnet}.1`,
    hosts,
    ip: (host) => need(ips, host),
    netns: (host) => need(nsOf, host),
    command: (host, argv) => ['ip', ['netns', 'exec', need(nsOf, host), 'setpriv', '--pdeathsig', 'KILL', ...argv]],
    block(host, peers, direction) {
      const ns = need(nsOf, host);
      const set = `{ ${peers.join(', ')} }`;
      const input = direction !== 'out' ? `ip saddr ${set} drop;` : '';
      const output = direction !== 'in' ? `ip daddr ${set} drop;` : '';
      // One transaction: the old table (if any) goes and the new one comes in the same step.
      tryRun('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'ksfault']);
      run(
        'ip',
        ['netns', 'exec', ns, 'nft', '-f', '-'],
        `table inet ksfault {
  chain input { type filter hook input priority 0; policy accept; ${input} }
  chain output { type filter hook output priority 0; policy accept; ${output} }
}
`,
      );
      rules.set(host, { peers: [...peers], direction });
    },
    unblock(host) {
      const ns = need(nsOf, host);
      if (rules.has(host)) run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'ksfault']);
      rules.delete(host);
    },
    blocked: () => Object.fromEntries(rules),
    mountTmpfs(dir, sizeMb) {
      mkdirSync(dir, { recursive: true });
      rec.mounts.push(dir);
      save();
      run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', dir]);
    },
    ownDir(dir) {
      rec.dirs.push(dir);
      save();
    },
    close,
  };
}

/** For tests of the clean-up: whether anything named after `id` is left (namespaces, links, the record). */
export function labLeftovers(id: string): string[] {
  const pid = id.slice(PREFIX.length);
  return [
    ...listNetns().filter((n) => n.startsWith(id)),
    ...listLinks().filter((l) => l.startsWith(id)),
    ...(existsSync(join(LAB_STATE_DIR, `${pid}.json`)) ? [`${LAB_STATE_DIR}/${pid}.json`] : []),
  ];
}

/** Removes a stale record file (tests). */
export function removeLabRecord(pid: number): void {
  try {
    unlinkSync(join(LAB_STATE_DIR, `${pid}.json`));
  } catch {
    // none
  }
}
