/**
 * How long a fault took to notice and to recover from, as the operator would see it, computed from what a
 * run recorded (pure, no I/O): the fault's steps (timeline), every node's Metadata view sampled each second
 * (leader and ISR per partition, live brokers: what `kstream cluster health` and `kstream top` show) and the
 * producers' acknowledgements. Times are ms; the samples' resolution is about a second.
 */
import type { Ack } from './checker.js';
import type { BrokerViewChange, LeaderChange } from './workload.js';

export interface Recovery {
  /** ms since the run started: the fault's first step (injected) and its last (undone). */
  injectedAt: number | null;
  healedAt: number | null;
  /** The node the fault hit (none for etcd-down). */
  target: number | null;
  /** First time after the injection a node's Metadata lacked a broker (`cluster health`: brokers down). */
  brokerDownSeenAfterMs: number | null;
  /** After the fault was undone, until every node listed every broker again (0: they already did). */
  brokersBackAfterHealMs: number | null;
  /** First time after the injection a node showed a partition with a shrunk ISR or no leader (under-replicated / offline). */
  underReplicatedSeenAfterMs: number | null;
  /** First time after the injection a node named a new leader for a partition. */
  newLeaderAfterMs: number | null;
  /** After the fault was undone, until every node showed a leader and the full ISR for every partition (0: already). */
  fullIsrAfterHealMs: number | null;
  /**
   * Per partition, the longest time without an acknowledged write that ended after the injection (the pause
   * the fault caused), and when writes were acknowledged again, counted from the injection; null when none
   * was acknowledged after it.
   */
  writePauses: { partition: number; pausedMs: number | null; resumedAfterInjectMs: number | null }[];
}

export function recoveryTimes(
  timeline: readonly { at: number; action: string; detail?: Record<string, unknown> }[],
  leaderChanges: readonly LeaderChange[],
  brokerChanges: readonly BrokerViewChange[],
  acks: readonly Ack[],
  partitions: number,
  replicas: number,
): Recovery {
  const start = timeline.findIndex((s) => s.action === 'fault-start');
  const injected = start >= 0 ? timeline[start + 1] : undefined;
  const injectedAt = injected && injected.action !== 'fault-end' ? injected.at : null;
  const healedAt = timeline.find((s) => s.action === 'fault-end')?.at ?? null;
  const node = injected?.detail?.node;
  const out: Recovery = {
    injectedAt,
    healedAt,
    target: typeof node === 'number' ? node : null,
    brokerDownSeenAfterMs: null,
    brokersBackAfterHealMs: null,
    underReplicatedSeenAfterMs: null,
    newLeaderAfterMs: null,
    fullIsrAfterHealMs: null,
    writePauses: [],
  };
  if (injectedAt === null) return out;

  const byTime = <T extends { at: number }>(xs: readonly T[]) => [...xs].sort((a, b) => a.at - b.at);
  const brokers = byTime(brokerChanges);
  const down = brokers.find((b) => b.at >= injectedAt && b.brokers.length < replicas);
  if (down) out.brokerDownSeenAfterMs = down.at - injectedAt;

  const changes = byTime(leaderChanges);
  const full = (c: LeaderChange) => c.leader >= 0 && c.isr.length >= replicas;
  const under = changes.find((c) => c.at >= injectedAt && !full(c));
  if (under) out.underReplicatedSeenAfterMs = under.at - injectedAt;

  // The leader of each partition when the fault began (the last view of it before), then the first other one.
  const leaderAt = new Map<number, number>();
  for (const c of changes) if (c.at < injectedAt && c.leader >= 0) leaderAt.set(c.partition, c.leader);
  const moved = changes.find(
    (c) => c.at >= injectedAt && c.leader >= 0 && leaderAt.has(c.partition) && c.leader !== leaderAt.get(c.partition),
  );
  if (moved) out.newLeaderAfterMs = moved.at - injectedAt;

  if (healedAt !== null) {
    // When each view last turned whole again; null when one is not whole at the end.
    const lastTurn = (
      keyed: Map<string, { whole: boolean; at: number }>,
      key: string,
      whole: boolean,
      at: number,
    ): void => {
      const prev = keyed.get(key);
      if (prev === undefined) keyed.set(key, { whole, at: whole ? -Infinity : at });
      else if (whole && !prev.whole) keyed.set(key, { whole, at });
      else if (!whole) keyed.set(key, { whole, at });
    };
    const settle = (keyed: Map<string, { whole: boolean; at: number }>): number | null => {
      let last = Number.NEGATIVE_INFINITY;
      for (const v of keyed.values()) {
        if (!v.whole) return null;
        last = Math.max(last, v.at);
      }
      return Math.max(0, last - healedAt);
    };
    const isr = new Map<string, { whole: boolean; at: number }>();
    for (const c of changes) lastTurn(isr, `${c.node}:${c.partition}`, full(c), c.at);
    out.fullIsrAfterHealMs = settle(isr);
    const bs = new Map<string, { whole: boolean; at: number }>();
    for (const b of brokers) lastTurn(bs, String(b.node), b.brokers.length >= replicas, b.at);
    out.brokersBackAfterHealMs = settle(bs);
  }

  for (let p = 0; p < partitions; p++) {
    const ats = acks
      .filter((a) => a.partition === p)
      .map((a) => a.at)
      .sort((a, b) => a - b);
    let pausedMs: number | null = null;
    let resumedAfterInjectMs: number | null = null;
    for (let i = 1; i < ats.length; i++) {
      const end = ats[i] as number;
      if (end < injectedAt) continue;
      const gap = end - (ats[i - 1] as number);
      if (pausedMs === null || gap > pausedMs) {
        pausedMs = gap;
        resumedAfterInjectMs = end - injectedAt;
      }
    }
    out.writePauses.push({ partition: p, pausedMs, resumedAfterInjectMs });
  }
  return out;
}
