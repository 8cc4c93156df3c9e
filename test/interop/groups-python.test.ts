/**
 * Consumer groups with librdkafka and kafka-python against a real `kstream serve`: confluent-kafka-python
 * with partition.assignment.strategy range and cooperative-sticky, kafka-python 2.0.2 and `kcat -G` each
 * join a group, consume and commit; the broker restarts; a new consumer in the same group resumes exactly at
 * the committed offsets and reads everything after them, nothing before.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { pyScript } from '../helpers/python.js';
import { type GroupBroker, startGroupBroker } from './groups-helpers.js';

const run = promisify(execFile);
const PER_TOPIC = 1000;
const FIRST = 600;
let gb: GroupBroker;

interface Phase {
  read: [number, number][];
  committed: Record<string, number>;
}

function py(script: string, args: string[]): Promise<Record<string, unknown>> {
  return pyScript(script, [gb.broker.bootstrap, ...args], 120_000);
}

async function kcat(args: string[], input?: string): Promise<string> {
  const p = run('kcat', ['-b', gb.broker.bootstrap, ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) p.child.stdin?.end(input);
  return (await p).stdout;
}

async function produce(topic: string): Promise<void> {
  const lines = Array.from({ length: PER_TOPIC }, (_, i) => `k${i}:v${i}`).join('\n');
  await kcat(['-P', '-t', topic, '-K', ':'], `${lines}\n`);
}

/** kcat -G: balanced consumer; -c stops after a count, -e at the end; offsets committed on close. */
async function kcatGroup(topic: string, group: string, count: number | null): Promise<Phase> {
  const args = ['-G', group, '-X', 'auto.offset.reset=earliest', '-q', '-f', '%p %o\n'];
  if (count !== null) args.push('-c', String(count));
  else args.push('-e');
  const out = await kcat([...args, topic]);
  const read = out
    .split('\n')
    .filter((l) => l)
    .map((l) => l.split(' ').map(Number) as [number, number]);
  return { read, committed: {} };
}

/** partition → next offset after the last one read. */
function nextOffsets(read: [number, number][]): Map<number, number> {
  const m = new Map<number, number>();
  for (const [p, o] of read) m.set(p, Math.max(m.get(p) ?? 0, o + 1));
  return m;
}

interface Client {
  name: string;
  first(topic: string, group: string): Promise<Phase>;
  rest(topic: string, group: string): Promise<Phase>;
}

const CLIENTS: Client[] = [
  ...(['range', 'cooperative-sticky'] as const).map((strategy) => ({
    name: `confluent-kafka-python ${strategy}`,
    first: async (topic: string, group: string) =>
      (await py('group_confluent.py', [topic, group, strategy, 'consume', String(FIRST)])) as unknown as Phase,
    rest: async (topic: string, group: string) =>
      (await py('group_confluent.py', [topic, group, strategy, 'drain', String(PER_TOPIC)])) as unknown as Phase,
  })),
  {
    name: 'kafka-python 2.0.2',
    first: async (topic, group) =>
      (await py('group_kafka_python.py', [topic, group, 'consume', String(FIRST)])) as unknown as Phase,
    rest: async (topic, group) =>
      (await py('group_kafka_python.py', [topic, group, 'drain', String(PER_TOPIC)])) as unknown as Phase,
  },
  {
    name: 'kcat -G',
    first: (topic, group) => kcatGroup(topic, group, FIRST),
    rest: (topic, group) => kcatGroup(topic, group, null),
  },
];

const slug = (s: string) => s.replace(/[^a-z0-9]+/gi, '-');
const firstPhase = new Map<string, Phase>();

describe('Python clients and kcat in consumer groups, across a broker restart', () => {
  before(async () => {
    gb = await startGroupBroker({ 'num.partitions': '3' });
  });
  after(async () => {
    await gb?.cleanup();
  });

  for (const c of CLIENTS) {
    test(`${c.name}: joins, consumes ${FIRST} of ${PER_TOPIC} records, commits`, async () => {
      const topic = `resume-${slug(c.name)}`;
      await produce(topic);
      const r = await c.first(topic, `grp-${slug(c.name)}`);
      assert.equal(r.read.length, FIRST);
      const next = nextOffsets(r.read);
      for (const [p, o] of Object.entries(r.committed)) {
        // -1001 (librdkafka): nothing committed for a partition nothing was read from.
        assert.equal(o, next.get(Number(p)) ?? -1001, `committed offset of partition ${p}`);
      }
      firstPhase.set(c.name, r);
    });
  }

  test('confluent-kafka-python: two members of a range / cooperative-sticky group split the partitions', async () => {
    for (const strategy of ['range', 'cooperative-sticky']) {
      const topic = `share-${strategy}`;
      await produce(topic);
      const r = (await py('group_confluent.py', [
        topic,
        `share-${strategy}`,
        strategy,
        'share',
        String(PER_TOPIC),
      ])) as {
        assignments: number[][];
        distinct: number;
      };
      assert.equal(r.distinct, PER_TOPIC, `${strategy}: every record read`);
      const all = r.assignments.flat().sort();
      assert.deepEqual(
        all,
        [0, 1, 2],
        `${strategy}: partitions split without overlap: ${JSON.stringify(r.assignments)}`,
      );
      assert.ok(
        r.assignments.every((a) => a.length > 0),
        `${strategy}: both members own partitions`,
      );
    }
  });

  test('the broker restarts (clean stop) on the same data dir', async () => {
    assert.equal(await gb.broker.stop(), 0);
    await gb.restart();
  });

  for (const c of CLIENTS) {
    test(`${c.name}: a new consumer in the group resumes exactly at the committed offsets`, async () => {
      const first = firstPhase.get(c.name);
      assert.ok(first, 'the first phase ran');
      const topic = `resume-${slug(c.name)}`;
      const r = await c.rest(topic, `grp-${slug(c.name)}`);
      const committed = nextOffsets(first.read);
      const firstSeen = new Map<number, number>();
      for (const [p, o] of r.read) if (!firstSeen.has(p)) firstSeen.set(p, o);
      for (const p of [0, 1, 2]) {
        const start = committed.get(p) ?? 0;
        const seen = firstSeen.get(p);
        if (seen !== undefined) assert.equal(seen, start, `partition ${p} resumes at ${start}`);
      }
      assert.equal(r.read.length, PER_TOPIC - FIRST, 'reads exactly the records after the committed offsets');
      const keys = new Set([...first.read, ...r.read].map(([p, o]) => `${p}:${o}`));
      assert.equal(keys.size, PER_TOPIC, 'together the two consumers read every record once');
    });
  }
});
