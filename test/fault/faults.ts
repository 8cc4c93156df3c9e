/**
 * The faults the harness injects, each a script of steps on the cluster: inject, hold for `holdMs`, heal.
 * The target is chosen when the fault starts: the node leading partition 0 (the case runner rotates which
 * node that is from run to run). Every step is noted with its time, for the report.
 */
import type { FaultCluster } from './harness.js';

export interface FaultContext {
  cluster: FaultCluster;
  topic: string;
  /** Records a step of the timeline (its time is taken now). */
  note(action: string, detail?: Record<string, unknown>): void;
  /** The leader of `partition` as the nodes see it now. */
  leaderOf(partition: number): Promise<number>;
}

export interface Fault {
  name: string;
  description: string;
  /** How long the fault lasts by default (ms). */
  holdMs: number;
  run(ctx: FaultContext, holdMs: number): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Isolates the leader of partition 0 from the other nodes and/or etcd for `holdMs`, then heals. */
function isolation(
  name: string,
  description: string,
  from: { nodes: boolean; etcd: boolean },
  direction: 'both' | 'in' | 'out',
): Fault {
  return {
    name,
    description,
    holdMs: 10_000,
    async run(ctx, holdMs) {
      const leader = await ctx.leaderOf(0);
      const peers = ctx.cluster.isolate(leader, from, direction);
      ctx.note('isolate', { node: leader, peers, direction });
      await sleep(holdMs);
      ctx.cluster.heal(leader);
      ctx.note('heal', { node: leader });
    },
  };
}

export const FAULTS: readonly Fault[] = [
  {
    name: 'kill-leader',
    description: 'SIGKILL the leader of partition 0, start it again after holdMs (same data dir and address)',
    holdMs: 5000,
    async run(ctx, holdMs) {
      const leader = await ctx.leaderOf(0);
      await ctx.cluster.kill(leader);
      ctx.note('kill', { node: leader, signal: 'SIGKILL' });
      await sleep(holdMs);
      ctx.note('restart', { node: leader });
      await ctx.cluster.start(leader);
      ctx.note('restarted', { node: leader });
    },
  },
  {
    name: 'pause-leader',
    description: 'SIGSTOP the leader of partition 0 for longer than the 3 s lease, then SIGCONT',
    holdMs: 6000,
    async run(ctx, holdMs) {
      const leader = await ctx.leaderOf(0);
      ctx.cluster.pause(leader);
      ctx.note('pause', { node: leader, signal: 'SIGSTOP' });
      await sleep(holdMs);
      ctx.cluster.resume(leader);
      ctx.note('resume', { node: leader, signal: 'SIGCONT' });
    },
  },
  isolation(
    'partition-leader',
    'cut the leader of partition 0 off from the other nodes and etcd (both ways; clients still reach it), then heal',
    { nodes: true, etcd: true },
    'both',
  ),
  isolation(
    'partition-leader-etcd',
    'cut the leader of partition 0 off from etcd alone (both ways; it still reaches the other nodes), then heal',
    { nodes: false, etcd: true },
    'both',
  ),
  isolation(
    'one-way-in',
    'one-way partition: the leader of partition 0 receives nothing from the other nodes and etcd (its packets still go out), then heal',
    { nodes: true, etcd: true },
    'in',
  ),
  isolation(
    'one-way-out',
    'one-way partition: nothing the leader of partition 0 sends reaches the other nodes and etcd (it still receives), then heal',
    { nodes: true, etcd: true },
    'out',
  ),
  {
    name: 'etcd-down',
    description:
      'stop etcd (SIGTERM) for the hold (20 s by default; 30 s in the soak), then start it again with its data',
    holdMs: 20_000,
    async run(ctx, holdMs) {
      await ctx.cluster.stopEtcd();
      ctx.note('etcd-stop');
      await sleep(holdMs);
      await ctx.cluster.startEtcd();
      ctx.note('etcd-start');
    },
  },
  {
    name: 'disk-full',
    description: 'fill the tmpfs data dir of the leader of partition 0 to the last byte, then free it',
    holdMs: 8000,
    async run(ctx, holdMs) {
      const leader = await ctx.leaderOf(0);
      const bytes = ctx.cluster.fillDisk(leader);
      ctx.note('disk-full', { node: leader, fillerBytes: bytes, freeBytes: ctx.cluster.freeBytes(leader) });
      await sleep(holdMs);
      ctx.cluster.freeDisk(leader);
      ctx.note('disk-freed', { node: leader, freeBytes: ctx.cluster.freeBytes(leader) });
    },
  },
];

export function fault(name: string): Fault {
  const f = FAULTS.find((x) => x.name === name);
  if (!f) throw new Error(`unknown fault ${name} (known: ${FAULTS.map((x) => x.name).join(', ')})`);
  return f;
}
