/**
 * The fault checker, after Jepsen's Kafka checker: given what the clients saw (acknowledged writes, records
 * read, committed offsets sampled over time) and what every replica holds at the end, it reports
 *
 * - lostWrites: acknowledged writes (acks=all) whose value is not in the partition's committed log (the
 *   leader's log below its high watermark);
 * - inconsistentOffsets: offsets seen with different values (acknowledged at, read at, or stored at), and
 *   offsets a client was told about that the committed log no longer has: a record read by a consumer and
 *   later gone (readGone), a write acknowledged at an offset that now holds nothing while its value sits at
 *   another one (ackedGone);
 * - divergentLogs: offsets below the high watermark where a replica differs from the leader (another value,
 *   or a gap in one of them);
 * - committedOffsetsBackwards: a group's committed offset of a partition, as read from the cluster, lower
 *   than one read before (a lost or rewound commit);
 * - duplicates: values stored at more than one offset (expected without an idempotent producer: counted,
 *   not a violation).
 *
 * Pure: no I/O, so each rule is tested on hand-made histories (checker.test.ts).
 */
import type { ReplicaLog } from './replicas.js';

export interface Ack {
  client: string;
  partition: number;
  offset: number;
  value: string;
  /** ms since the run started. */
  at: number;
}

export interface Failure {
  client: string;
  partition: number;
  value: string;
  error: string;
  at: number;
}

export interface Read {
  client: string;
  group: string;
  partition: number;
  offset: number;
  value: string;
  at: number;
}

export interface CommitSample {
  group: string;
  partition: number;
  /** The committed offset (the next to read), -1 when the group has none. */
  offset: number;
  at: number;
  /** Who answered, for the report (e.g. "coordinator 2, found through node 1"). */
  source?: string;
}

export interface History {
  /** Records handed to producers. */
  attempted: number;
  acks: Ack[];
  failures: Failure[];
  reads: Read[];
  commits: CommitSample[];
}

export interface FinalPartition {
  partition: number;
  /** The leader at the end (null: none known). */
  leader: number | null;
  /** The leader's high watermark at the end (null: not known). */
  hw: number | null;
  isr: number[];
  replicas: ReplicaLog[];
}

export interface Check<E> {
  count: number;
  /** At most MAX_EXAMPLES. */
  examples: E[];
}

export interface CheckResult {
  counts: {
    attempted: number;
    acked: number;
    failed: number;
    reads: number;
    /** Distinct (partition, offset) read. */
    readOffsets: number;
    /** Records in the committed logs (all partitions). */
    committed: number;
    /** Failed writes found in the log anyway (a timeout is not a no: expected, indeterminate). */
    failedButPresent: number;
    /** Writes neither acknowledged nor failed that are in the log (in flight when a producer stopped). */
    unacknowledgedPresent: number;
  };
  lostWrites: Check<{ partition: number; offset: number; value: string; client: string; at: number }>;
  inconsistentOffsets: Check<{
    partition: number;
    offset: number;
    kind: 'different-values' | 'read-gone' | 'acked-gone';
    /** value → who saw it there ("final" is the committed log). */
    seen: Record<string, string[]>;
  }> & { kinds: { differentValues: number; readGone: number; ackedGone: number } };
  divergentLogs: Check<{ partition: number; offset: number; replicas: Record<string, string | null> }>;
  committedOffsetsBackwards: Check<{
    group: string;
    partition: number;
    from: number;
    to: number;
    /** When the lower value was read, and who answered it and the higher one before. */
    at: number;
    fromAt: number;
    source?: string;
    fromSource?: string;
  }>;
  duplicates: Check<{ partition: number; value: string; offsets: number[] }> & { extraCopies: number };
  /** Informational. */
  info: {
    /** Per partition: leader, HW, each replica's log end and problems. */
    partitions: {
      partition: number;
      leader: number | null;
      hw: number | null;
      isr: number[];
      replicas: { node: number; logEnd: number; records: number; checkpointedHw: number | null; problems: string[] }[];
      /** Replicas whose log ends below the HW (behind: not divergent, but not a full copy). */
      behind: number[];
    }[];
    /** Per group: acknowledged values no member ever read. */
    unreadAcked: Record<string, number>;
    /** Per group and partition: last committed offset seen above the partition's HW. */
    committedBeyondHw: { group: string; partition: number; committed: number; hw: number }[];
    /** The leader was unknown for these partitions at the end: the longest replica stood in for it. */
    leaderUnknown: number[];
  };
  /** The names of the checks that found a violation (duplicates never count). */
  violations: string[];
}

export const MAX_EXAMPLES = 20;

function push<E>(c: Check<E>, e: E): void {
  c.count++;
  if (c.examples.length < MAX_EXAMPLES) c.examples.push(e);
}

const check = <E>(): Check<E> => ({ count: 0, examples: [] });

export function checkHistory(history: History, final: readonly FinalPartition[]): CheckResult {
  const result: CheckResult = {
    counts: {
      attempted: history.attempted,
      acked: history.acks.length,
      failed: history.failures.length,
      reads: history.reads.length,
      readOffsets: new Set(history.reads.map((r) => `${r.partition}:${r.offset}`)).size,
      committed: 0,
      failedButPresent: 0,
      unacknowledgedPresent: 0,
    },
    lostWrites: check(),
    inconsistentOffsets: { ...check(), kinds: { differentValues: 0, readGone: 0, ackedGone: 0 } },
    divergentLogs: check(),
    committedOffsetsBackwards: check(),
    duplicates: { ...check(), extraCopies: 0 },
    info: { partitions: [], unreadAcked: {}, committedBeyondHw: [], leaderUnknown: [] },
    violations: [],
  };

  /** partition → offset → value, the committed log. */
  const committed = new Map<number, Map<number, string | null>>();
  /** partition → value → offsets in the committed log. */
  const where = new Map<number, Map<string, number[]>>();
  const hwOf = new Map<number, number>();

  for (const fp of final) {
    const byNode = new Map(fp.replicas.map((r) => [r.node, r]));
    let ref = fp.leader !== null ? byNode.get(fp.leader) : undefined;
    let hw = fp.hw;
    if (!ref || hw === null) {
      // No leader to ask: the longest replica stands in, up to the highest HW any replica checkpointed.
      result.info.leaderUnknown.push(fp.partition);
      ref = [...fp.replicas].sort((a, b) => b.logEndOffset - a.logEndOffset)[0];
      hw = Math.max(0, ...fp.replicas.map((r) => r.checkpointedHw ?? 0));
    }
    hwOf.set(fp.partition, hw);
    const log = new Map<number, string | null>();
    const values = new Map<string, number[]>();
    for (const r of ref?.records ?? []) {
      if (r.offset >= hw) break;
      log.set(r.offset, r.value);
      if (r.value !== null) {
        const list = values.get(r.value);
        if (list) list.push(r.offset);
        else values.set(r.value, [r.offset]);
      }
    }
    committed.set(fp.partition, log);
    where.set(fp.partition, values);
    result.counts.committed += log.size;

    // Divergence: every replica against the reference, offset by offset below the HW (where it has a log).
    const divergent = new Map<number, Record<string, string | null>>();
    const maps = fp.replicas.map((r) => ({
      node: r.node,
      end: r.logEndOffset,
      byOffset: new Map(r.records.map((x) => [x.offset, x.value])),
    }));
    const refMap = maps.find((m) => m.node === ref?.node);
    for (const m of maps) {
      if (!refMap || m === refMap) continue;
      const upTo = Math.min(hw, m.end);
      const start = Math.min(fp.replicas.find((r) => r.node === m.node)?.firstOffset ?? 0, ref?.firstOffset ?? 0);
      for (let o = start; o < upTo; o++) {
        const a = refMap.byOffset.get(o);
        const b = m.byOffset.get(o);
        if (a === b) continue;
        const row = divergent.get(o) ?? {};
        row[`node ${refMap.node}${refMap.node === fp.leader ? ' (leader)' : ''}`] = a === undefined ? '<missing>' : a;
        row[`node ${m.node}`] = b === undefined ? '<missing>' : b;
        divergent.set(o, row);
      }
    }
    for (const [offset, replicas] of [...divergent].sort((x, y) => x[0] - y[0])) {
      push(result.divergentLogs, { partition: fp.partition, offset, replicas });
    }

    result.info.partitions.push({
      partition: fp.partition,
      leader: fp.leader,
      hw: fp.hw,
      isr: fp.isr,
      replicas: fp.replicas.map((r) => ({
        node: r.node,
        logEnd: r.logEndOffset,
        records: r.records.length,
        checkpointedHw: r.checkpointedHw,
        problems: r.problems,
      })),
      behind: fp.replicas.filter((r) => r.logEndOffset < hw).map((r) => r.node),
    });

    for (const [value, offsets] of values) {
      if (offsets.length > 1) {
        result.duplicates.extraCopies += offsets.length - 1;
        push(result.duplicates, { partition: fp.partition, value, offsets });
      }
    }
  }

  // Lost writes and acknowledged offsets.
  const acked = new Set<string>();
  const ackedAt = new Map<string, Ack>();
  for (const a of history.acks) {
    acked.add(`${a.partition}\u0000${a.value}`);
    ackedAt.set(`${a.partition}:${a.offset}`, a);
    const offsets = where.get(a.partition)?.get(a.value);
    if (!offsets)
      push(result.lostWrites, { partition: a.partition, offset: a.offset, value: a.value, client: a.client, at: a.at });
  }
  const failed = new Set(history.failures.map((f) => `${f.partition}\u0000${f.value}`));
  for (const [p, values] of where) {
    for (const v of values.keys()) {
      const k = `${p}\u0000${v}`;
      if (acked.has(k)) continue;
      if (failed.has(k)) result.counts.failedButPresent++;
      else result.counts.unacknowledgedPresent++;
    }
  }

  // Inconsistent offsets: every (partition, offset) anyone was told about, with the values seen there.
  const seen = new Map<
    string,
    { partition: number; offset: number; values: Map<string, Set<string>>; read: boolean; acked: boolean }
  >();
  const see = (partition: number, offset: number, value: string, who: string, kind: 'read' | 'ack') => {
    const k = `${partition}:${offset}`;
    let s = seen.get(k);
    if (!s) {
      s = { partition, offset, values: new Map(), read: false, acked: false };
      seen.set(k, s);
    }
    if (kind === 'read') s.read = true;
    else s.acked = true;
    const who2 = s.values.get(value) ?? new Set<string>();
    who2.add(who);
    s.values.set(value, who2);
  };
  for (const a of history.acks) see(a.partition, a.offset, a.value, `ack:${a.client}`, 'ack');
  for (const r of history.reads) see(r.partition, r.offset, r.value, `read:${r.client}`, 'read');
  const examples: CheckResult['inconsistentOffsets']['examples'] = [];
  for (const s of [...seen.values()].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const log = committed.get(s.partition);
    const has = log?.has(s.offset) ?? false;
    const stored = log?.get(s.offset);
    const values = new Map(s.values);
    if (has) {
      const key = stored === null || stored === undefined ? '<null>' : stored;
      const who = values.get(key) ?? new Set<string>();
      who.add('final');
      values.set(key, who);
    }
    let kind: 'different-values' | 'read-gone' | 'acked-gone' | null = null;
    if (values.size > 1) kind = 'different-values';
    else if (!has && s.read) kind = 'read-gone';
    else if (!has && s.acked) {
      // Only when the value is stored elsewhere: an acknowledged value stored nowhere is a lost write.
      const a = ackedAt.get(`${s.partition}:${s.offset}`);
      if (a && where.get(s.partition)?.has(a.value)) kind = 'acked-gone';
    }
    if (kind === null) continue;
    result.inconsistentOffsets.count++;
    if (kind === 'different-values') result.inconsistentOffsets.kinds.differentValues++;
    else if (kind === 'read-gone') result.inconsistentOffsets.kinds.readGone++;
    else result.inconsistentOffsets.kinds.ackedGone++;
    if (examples.length < MAX_EXAMPLES) {
      examples.push({
        partition: s.partition,
        offset: s.offset,
        kind,
        seen: Object.fromEntries([...values].map(([v, who]) => [v, [...who].sort()])),
      });
    }
  }
  result.inconsistentOffsets.examples = examples;

  // Committed offsets per group and partition, in the order they were sampled.
  const commits = [...history.commits].sort((a, b) => a.at - b.at);
  const highest = new Map<string, CommitSample>();
  const last = new Map<string, CommitSample>();
  for (const c of commits) {
    const k = `${c.group}\u0000${c.partition}`;
    const prev = highest.get(k);
    if (prev !== undefined && c.offset < prev.offset) {
      push(result.committedOffsetsBackwards, {
        group: c.group,
        partition: c.partition,
        from: prev.offset,
        to: c.offset,
        at: c.at,
        fromAt: prev.at,
        ...(c.source ? { source: c.source } : {}),
        ...(prev.source ? { fromSource: prev.source } : {}),
      });
    }
    if (prev === undefined || c.offset > prev.offset) highest.set(k, c);
    last.set(k, c);
  }
  for (const c of last.values()) {
    const hw = hwOf.get(c.partition);
    if (hw !== undefined && c.offset > hw) {
      result.info.committedBeyondHw.push({ group: c.group, partition: c.partition, committed: c.offset, hw });
    }
  }

  // Acknowledged values no member of a group read (informational: did the consumers keep up and drain?).
  const groups = new Set(history.reads.map((r) => r.group));
  for (const g of groups) {
    const readValues = new Set(history.reads.filter((r) => r.group === g).map((r) => `${r.partition}\u0000${r.value}`));
    result.info.unreadAcked[g] = history.acks.filter((a) => !readValues.has(`${a.partition}\u0000${a.value}`)).length;
  }

  if (result.lostWrites.count > 0) result.violations.push('lostWrites');
  if (result.inconsistentOffsets.count > 0) result.violations.push('inconsistentOffsets');
  if (result.divergentLogs.count > 0) result.violations.push('divergentLogs');
  if (result.committedOffsetsBackwards.count > 0) result.violations.push('committedOffsetsBackwards');
  return result;
}
