/**
 * Partition moves and leader elections for `kstream cluster reassign|elect-leaders`: plan a move (explicit
 * replicas, or draining a broker onto the least-loaded others), start it, and follow it until done.
 */
import type { Admin } from '../client/index.js';
import { errorText } from './connect.js';

export interface Move {
  topic: string;
  partition: number;
  from: number[];
  to: number[];
}

export interface MoveStatus {
  name: string;
  status: string;
  ok: boolean;
}

/** Moves that take every replica off `broker`, each onto the live broker holding the fewest replicas. */
export async function planDrain(admin: Admin, broker: number, topics?: string[]): Promise<Move[]> {
  const { brokers } = await admin.describeCluster();
  const live = brokers.map((b) => b.nodeId).filter((id) => id !== broker);
  const described = await admin.describeTopics(topics);
  const load = new Map<number, number>(live.map((id) => [id, 0]));
  for (const t of described)
    for (const p of t.partitions) for (const r of p.replicas) load.set(r, (load.get(r) ?? 0) + 1);
  const moves: Move[] = [];
  for (const t of described) {
    for (const p of t.partitions) {
      if (!p.replicas.includes(broker)) continue;
      const candidates = live
        .filter((id) => !p.replicas.includes(id))
        .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || a - b);
      const dest = candidates[0];
      if (dest === undefined)
        throw new Error(
          `no broker can take ${t.topic}/${p.partition} off broker ${broker}: every live broker already holds it`,
        );
      load.set(dest, (load.get(dest) ?? 0) + 1);
      moves.push({
        topic: t.topic,
        partition: p.partition,
        from: p.replicas,
        to: p.replicas.map((r) => (r === broker ? dest : r)),
      });
    }
  }
  return moves;
}

export async function planExplicit(
  admin: Admin,
  topic: string,
  partition: number,
  replicas: number[],
): Promise<Move[]> {
  const [t] = await admin.describeTopics([topic]);
  if (!t || t.error) throw new Error(`topic ${topic} does not exist`);
  const p = t.partitions.find((x) => x.partition === partition);
  if (!p) throw new Error(`topic ${topic} has no partition ${partition} (it has ${t.partitions.length})`);
  const twice = replicas.find((id, i) => replicas.indexOf(id) !== i);
  if (twice !== undefined) throw new Error(`--replicas ${replicas.join(',')}: broker ${twice} is named twice`);
  // Name the culprit: the broker's answer (INVALID_REPLICA_ASSIGNMENT) does not say which one.
  const { brokers } = await admin.describeCluster();
  const live = brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  const unknown = replicas.filter((id) => !live.includes(id));
  if (unknown.length > 0)
    throw new Error(
      `--replicas ${replicas.join(',')}: ${unknown.length === 1 ? 'broker' : 'brokers'} ${unknown.join(', ')} ${
        unknown.length === 1 ? 'is' : 'are'
      } not in the cluster (live brokers: ${live.join(', ')})`,
    );
  return [{ topic, partition, from: p.replicas, to: replicas }];
}

/** A move whose replicas are already the partition's, in the same order (the first is the preferred leader). */
export function isNoop(m: Move): boolean {
  return m.from.length === m.to.length && m.from.every((id, i) => id === m.to[i]);
}

/**
 * Start the moves; one that would change nothing (the partition already has exactly those replicas) is not
 * sent and its row says so, rather than "started".
 */
export async function startMoves(admin: Admin, moves: Move[]): Promise<(MoveStatus & { started: boolean })[]> {
  const todo = moves.filter((m) => !isNoop(m));
  const res =
    todo.length === 0
      ? []
      : await admin.alterPartitionReassignments(
          todo.map((m) => ({ topic: m.topic, partition: m.partition, replicas: m.to })),
        );
  const byName = new Map(res.map((r) => [`${r.topic}/${r.partition}`, r]));
  return moves.map((m) => {
    const name = `${m.topic}/${m.partition}`;
    if (isNoop(m)) return { name, status: `nothing to do: already on ${m.to.join(',')}`, ok: true, started: false };
    const r = byName.get(name);
    const error = r?.error ?? null;
    return { name, status: error ? rowText(name, error) : 'started', ok: error === null, started: error === null };
  });
}

/** An error for a row that names the partition already: without a leading "orders/0: " or "orders-0: ". */
function rowText(name: string, error: unknown): string {
  // Like topic rows' "UNKNOWN_TOPIC_OR_PARTITION: no such topic" (the bare text was Kafka's "This server does
  // not host this topic-partition.").
  if ((error as { code?: unknown }).code === 3) return 'UNKNOWN_TOPIC_OR_PARTITION: no such topic or partition';
  const text = errorText(error);
  const slash = name.lastIndexOf('/');
  const dashed = `${name.slice(0, slash)}-${name.slice(slash + 1)}`;
  const prefix = [`${name}: `, `${dashed}: `].find((p) => text.startsWith(p));
  return prefix ? text.slice(prefix.length) : text;
}

/** Wait until no move is in progress (or `timeoutMs`), reporting how many are left. */
export async function waitForMoves(admin: Admin, timeoutMs: number, progress: (left: number) => void): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = (await admin.listPartitionReassignments()).length;
    progress(left);
    if (left === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function electLeaders(
  admin: Admin,
  type: 'preferred' | 'unclean',
  partitions: { topic: string; partition: number }[] | null,
): Promise<MoveStatus[]> {
  const res = await admin.electLeaders(partitions, type);
  return res.map((r) => {
    const notNeeded = r.error?.code === 84; // ELECTION_NOT_NEEDED
    return {
      name: `${r.topic}/${r.partition}`,
      status: r.error === null ? 'elected' : notNeeded ? 'not needed' : rowText(`${r.topic}/${r.partition}`, r.error),
      ok: r.error === null || notNeeded,
    };
  });
}
