/**
 * `kstream group list|describe|seek|delete` and `kstream cluster info|health` as the real bin/run.js against a
 * running `kstream serve`: exact text and json, seek's dry-run plan, refusal for a group with members.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BIN, type BrokerProcess, ROOT, startBroker } from '../helpers/broker.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
const b = () => ['-b', broker.bootstrap];

before(async () => {
  broker = await startBroker();
  assert.equal((await kstream(['topic', 'create', 'gt', '-p', '2', ...b()])).code, 0);
  const input = Array.from({ length: 6 }, (_, i) => `${i}`).join('\n');
  // Keys are not given: fix the partitions with two runs so the test knows where records are.
  assert.equal((await kstream(['produce', 'gt', '-p', '0', ...b()], { input })).code, 0);
  assert.equal((await kstream(['produce', 'gt', '-p', '1', ...b()], { input: 'a\nb\n' })).code, 0);
});
after(async () => {
  await broker?.stop();
});

test('group describe / seek --dry-run / seek / list / delete', async () => {
  let r = await kstream(['consume', 'gt', '--group', 'g1', '--from-beginning', '-p', '0', ...b()]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'kstream: --partition cannot be used with --group (the group assigns partitions)\n');
  r = await kstream(['consume', 'gt', '--group', 'g1', '--from-beginning', '-e', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['group', 'describe', 'g1', ...b()]);
  assert.equal(
    r.stdout,
    `GROUP      g1
STATE      Empty
MEMBERS    0
TOTAL LAG  0

PARTITIONS
TOPIC  PARTITION  COMMITTED  LOG-END  LAG
gt     0          6          6        0
gt     1          2          2        0
`,
  );
  r = await kstream(['group', 'seek', 'g1', '--to', 'offset', '4', '--dry-run', ...b()]);
  assert.equal(
    r.stdout,
    'TOPIC  PARTITION  CURRENT  NEW  STATUS\ngt     0          6        4    planned\ngt     1          2        2    planned (4 is past the log end)\n',
  );
  r = await kstream(['group', 'describe', 'g1', '-o', 'json', ...b()]);
  assert.equal(JSON.parse(r.stdout).totalLag, 0, 'dry run changed nothing');
  // A typo in --topic: was "topic gtt: topic gtt: This server does not host this topic-partition."
  r = await kstream(['group', 'seek', 'g1', '--to', 'earliest', '--topic', 'gtt', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kstream: topic gtt does not exist\n');
  // A negative offset: was "--to offset needs an offset" although one was given.
  r = await kstream(['group', 'seek', 'g1', '--to', 'offset', '-5', ...b()]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'kstream: invalid offset -5: expected N >= 0 (--to offset N)\n');
  r = await kstream(['group', 'seek', 'g1', '--to', 'earliest', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'TOPIC  PARTITION  CURRENT  NEW  STATUS\ngt     0          6        0    OK\ngt     1          2        0    OK\n',
  );
  r = await kstream(['group', 'describe', 'g1', '-o', 'json', ...b()]);
  assert.deepEqual(JSON.parse(r.stdout), {
    group: 'g1',
    state: 'Empty',
    protocol: '',
    coordinator: 1,
    members: [],
    partitions: [
      { topic: 'gt', partition: 0, committed: 0, logEnd: 6, lag: 6, memberId: null },
      { topic: 'gt', partition: 1, committed: 0, logEnd: 2, lag: 2, memberId: null },
    ],
    totalLag: 8,
  });
  r = await kstream(['group', 'list', ...b()]);
  assert.equal(r.stdout, 'GROUP  STATE\ng1     Empty\n');
  r = await kstream(['group', 'delete', 'g1', 'nope', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'GROUP  STATUS\ng1     OK\nnope   GROUP_ID_NOT_FOUND: no such group\n');
  r = await kstream(['group', 'describe', 'g1', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kstream: group g1 does not exist\n');
});

test('group seek refuses a group with active members', async () => {
  const child = spawn(process.execPath, [BIN, 'consume', 'gt', '--group', 'live', ...b()], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  try {
    let state = '';
    for (let i = 0; i < 100 && state !== 'Stable'; i++) {
      await new Promise((res) => setTimeout(res, 200));
      const r = await kstream(['group', 'describe', 'live', '-o', 'json', ...b()]);
      if (r.code === 0) state = (JSON.parse(r.stdout) as { state: string }).state;
    }
    assert.equal(state, 'Stable');
    const r = await kstream(['group', 'seek', 'live', '--to', 'earliest', '--dry-run', ...b()]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'kstream: group live has 1 active member (state Stable): stop its consumers first\n');
    // Delete refuses it too, in the rows' CODE: text form (was the bare "The group is not empty.").
    const d = await kstream(['group', 'delete', 'live', ...b()]);
    assert.equal(d.code, 1);
    assert.equal(
      d.stdout,
      'GROUP  STATUS\nlive   NON_EMPTY_GROUP: the group has active members (stop its consumers first)\n',
    );
  } finally {
    child.kill('SIGINT');
    await new Promise((res) => child.once('exit', res));
  }
});

test('group describe: a member that never committed has no known lag ("-", json null), not 0', async () => {
  const child = spawn(
    'kcat',
    ['-b', broker.bootstrap, '-G', 'nocommit', '-X', 'enable.auto.commit=false', '-q', '-u', 'gt'],
    { stdio: 'ignore' },
  );
  try {
    let g: { state: string; totalLag: number | null; partitions: { lag: number | null }[] } | null = null;
    for (let i = 0; i < 150 && g?.state !== 'Stable'; i++) {
      await new Promise((res) => setTimeout(res, 200));
      const r = await kstream(['group', 'describe', 'nocommit', '-o', 'json', ...b()]);
      if (r.code === 0) g = JSON.parse(r.stdout);
    }
    assert.equal(g?.state, 'Stable');
    assert.deepEqual(
      g?.partitions.map((p) => p.lag),
      [null, null],
    );
    assert.equal(g?.totalLag, null);
    const r = await kstream(['group', 'describe', 'nocommit', ...b()]);
    assert.match(r.stdout, /\nTOTAL LAG {2}-\n/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((res) => child.once('exit', res));
  }
});

test('cluster info and health', async () => {
  let r = await kstream(['cluster', 'info', ...b()]);
  assert.equal(
    r.stdout,
    `CONTROLLER        1
BROKERS           1
TOPICS            1 (+1 internal)
PARTITIONS        2 (+50 internal)
UNDER-REPLICATED  0
OFFLINE           0

BROKERS
ID  HOST       ${'PORT'.padEnd(String(broker.port).length)}  STATUS  LEADERS  REPLICAS
1   127.0.0.1  ${broker.port}  up      52       52
`,
  );
  r = await kstream(['cluster', 'health', '-o', 'json', ...b()]);
  assert.equal(r.code, 0);
  const h = JSON.parse(r.stdout) as { healthy: boolean; problems: string[]; brokers: unknown[] };
  assert.equal(h.healthy, true);
  assert.deepEqual(h.problems, []);
  r = await kstream(['cluster', 'health', '-b', '127.0.0.1:1', '--timeout', '2s']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^kstream: could not reach any broker/);
});

test('cluster reassign to the replicas a partition has: nothing to do, exit 0, and --wait claims nothing', async () => {
  const r = await kstream([
    'cluster',
    'reassign',
    '--topic',
    'gt',
    '--partition',
    '0',
    '--replicas',
    '1',
    '--wait',
    ...b(),
  ]);
  // Was "started" (issue 21), or here the single node's "reassignment needs a cluster": nothing is sent.
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'PARTITION  STATUS\ngt/0       nothing to do: already on 1\n');
  // No move started: --wait has nothing to wait for (it used to print "all moves complete").
  assert.equal(r.stderr, '');
});

test('cluster reassign --wait-timeout takes a duration; a bare number or a bad one is a usage error', async () => {
  const args = ['cluster', 'reassign', '--topic', 'gt', '--partition', '0', '--replicas', '1', '--wait'];
  let r = await kstream([...args, '--wait-timeout', '600', ...b()]);
  assert.equal(r.stderr, 'kstream: invalid --wait-timeout "600": add a unit: 600s or 600ms\n');
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  r = await kstream([...args, '--wait-timeout', 'soon', ...b()]);
  assert.equal(r.stderr, 'kstream: invalid --wait-timeout "soon": use a duration like 500ms, 10s or 2m\n');
  assert.equal(r.code, 2);
  // A duration is taken: then as above.
  r = await kstream([...args, '--wait-timeout', '30s', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'PARTITION  STATUS\ngt/0       nothing to do: already on 1\n');
});

test('cluster elect-leaders: over the whole cluster one line counts the "not needed"; named partitions get rows', async () => {
  const topics = JSON.parse((await kstream(['topic', 'list', '--all', '-o', 'json', ...b()])).stdout) as {
    partitions: number;
    internal: boolean;
  }[];
  const total = topics.reduce((n, t) => n + t.partitions, 0);
  const internal = topics.filter((t) => t.internal).reduce((n, t) => n + t.partitions, 0);
  let r = await kstream(['cluster', 'elect-leaders', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  // Was a table of a "not needed" row per partition (__consumer_offsets' 50 too).
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `${total} partitions (${internal} of internal topics) already led by their preferred replica (not needed)\n`,
  );
  r = await kstream(['cluster', 'elect-leaders', '-o', 'json', ...b()]);
  assert.equal((JSON.parse(r.stdout) as unknown[]).length, total, 'json keeps every row');
  r = await kstream(['cluster', 'elect-leaders', 'gt/0', 'nope/0', ...b()]);
  assert.equal(r.code, 1);
  // The unknown one was "nope-0: This server does not host this topic-partition."
  assert.equal(
    r.stdout,
    'PARTITION  STATUS\ngt/0       not needed\nnope/0     UNKNOWN_TOPIC_OR_PARTITION: no such topic or partition\n',
  );
});
