/**
 * What `kstream top` does to the cluster besides watching it: read a page of records (the record browser),
 * and the actions a user confirms (delete a topic, trim a partition, reset a group's offsets). Each is planned
 * first, so the question says what will happen (how many records, which partitions), then run. Only Kafka
 * APIs (DeleteTopics, DeleteRecords, OffsetCommit through the services the CLI uses), over a client of its
 * own, made again after a failure.
 */
import type { Admin } from '../client/index.js';
import { type PageFrom, type RecordPage, readPage } from '../services/browse.js';
import type { ConnectOptions } from '../services/connect.js';
import { compact } from './format.js';
import { type Notice, type Pending, parseTimeText } from './state/reducer.js';

export interface TopActions {
  readPage(topic: string, partition: number, from: PageFrom, limit: number): Promise<RecordPage>;
  /** What the action will do, as a question (y/N), with anything it resolved (a trim's log end). */
  plan(p: Pending): Promise<{ question: string; pending: Pending }>;
  run(p: Pending): Promise<Notice>;
  close(): Promise<void>;
}

const plural = (n: number | bigint, one: string) => `${n} ${one}${n === 1 || n === 1n ? '' : 's'}`;

function seekTo(to: string): import('../services/groups.js').SeekTo {
  if (to === 'earliest' || to === 'latest') return { kind: to };
  if (/^\d+$/.test(to)) return { kind: 'offset', offset: BigInt(to) };
  const ms = parseTimeText(to);
  if (ms === null) throw new Error(`reset to what? "${to}"`);
  return { kind: 'time', ms };
}

export function adminActions(conn: ConnectOptions, makeAdmin: () => Admin): TopActions {
  let admin: Admin | null = null;
  const withAdmin = async <T>(fn: (a: Admin) => Promise<T>): Promise<T> => {
    admin ??= makeAdmin();
    try {
      return await fn(admin);
    } catch (e) {
      const a = admin;
      admin = null;
      a?.close().catch(() => {});
      throw e;
    }
  };
  return {
    readPage: (topic, partition, from, limit) => withAdmin((a) => readPage(a, conn, topic, partition, from, limit)),
    async plan(p) {
      const topics = await import('../services/topics.js');
      const groups = await import('../services/groups.js');
      return withAdmin(async (a) => {
        switch (p.kind) {
          case 'delete-topic': {
            const [plan] = await topics.planDeleteTopics(a, [p.topic]);
            if (!plan?.ok) throw new Error(`topic ${p.topic}: ${plan?.status ?? 'no answer'}`);
            return {
              pending: p,
              question: `delete topic ${p.topic} (${plural(plan.partitions, 'partition')}, ${plural(plan.records, 'record')})?`,
            };
          }
          case 'trim': {
            // The one partition's log end (not every partition of the topic's, then one picked out).
            const [end] = await a.listOffsets([{ topic: p.topic, partition: p.partition, spec: 'latest' }]);
            if (!end || end.error || end.offset < 0n) throw new Error(`${p.topic}-${p.partition}: no log end offset`);
            const before = p.offset ?? end.offset;
            const [plan] = await topics.planTrim(a, p.topic, { offset: before }, [p.partition]);
            if (!plan) throw new Error(`${p.topic}-${p.partition}: no plan`);
            const resolved = { ...p, offset: plan.logStartOffset };
            if (plan.deleted === 0n)
              throw new Error(`nothing to trim: ${p.topic}-${p.partition} starts at ${plan.current} already`);
            return {
              pending: resolved,
              question: `trim ${p.topic}-${p.partition}: delete ${plural(plan.deleted, 'record')} (offsets ${plan.current}-${plan.logStartOffset - 1n})?`,
            };
          }
          case 'reset': {
            const plan = await groups.seekGroup(a, p.group, seekTo(p.to), { dryRun: true });
            const moved = plan.filter((r) => r.current !== r.new);
            const shown = moved.slice(0, 4).map((r) => `${r.topic}-${r.partition} ${r.current ?? '-'}→${r.new}`);
            if (moved.length === 0) throw new Error(`group ${p.group} is already at ${p.to} on every partition`);
            return {
              pending: p,
              question: `reset group ${p.group} to ${p.to}: ${plural(moved.length, 'partition')} of ${plan.length} move (${shown.join(', ')}${moved.length > 4 ? ', …' : ''})?`,
            };
          }
        }
      });
    },
    async run(p) {
      const topics = await import('../services/topics.js');
      const groups = await import('../services/groups.js');
      return withAdmin(async (a): Promise<Notice> => {
        switch (p.kind) {
          case 'delete-topic': {
            const [r] = await topics.deleteTopics(a, [p.topic]);
            return r?.ok
              ? { text: `topic ${p.topic} deleted`, level: 'ok' }
              : { text: `topic ${p.topic}: ${r?.status}`, level: 'bad' };
          }
          case 'trim': {
            const plan = await topics.planTrim(a, p.topic, { offset: p.offset ?? 0n }, [p.partition]);
            const [r] = await topics.applyTrim(a, plan);
            return r?.ok
              ? {
                  text: `${p.topic}-${p.partition} trimmed: ${compact(r.deleted)} records deleted, it starts at ${r.logStartOffset}`,
                  level: 'ok',
                }
              : { text: `${p.topic}-${p.partition}: ${r?.status}`, level: 'bad' };
          }
          case 'reset': {
            const rows = await groups.seekGroup(a, p.group, seekTo(p.to));
            const bad = rows.find((r) => !/^OK\b/.test(r.status));
            return bad
              ? { text: `group ${p.group}: ${bad.topic}-${bad.partition}: ${bad.status}`, level: 'bad' }
              : { text: `group ${p.group} reset to ${p.to} (${plural(rows.length, 'partition')})`, level: 'ok' };
          }
        }
      });
    },
    async close() {
      await admin?.close().catch(() => {});
      admin = null;
    },
  };
}
