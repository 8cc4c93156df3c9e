/**
 * Issue 21, the CLI as a new user meets it, through the real bin/run.js against one `kstream serve` (no
 * terminal here; test/cli/terminal.test.ts types into a real one):
 *  - one vocabulary: -f is the format in produce as in consume (and kcat, rpk), --linger-ms in bench as in
 *    produce, acks all by default in both, consume's -o offers only what it accepts, a missing flag is named
 *    with its dashes, `kstream topc` suggests `topic` first;
 *  - errors that name the culprit: --replicas with a broker that does not exist, a seek past the log end, a
 *    reassignment to the replicas a partition already has, internal partitions counted apart;
 *  - consume ranges (--offset 10:20, :end), kcat's -c, kafka-console-consumer's --max-messages and print.*;
 *  - trim / topic delete / group delete --dry-run plans.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type BrokerProcess, startBroker } from '../helpers/broker.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
const b = () => ['-b', broker.bootstrap];

before(async () => {
  broker = await startBroker();
  const r = await kstream(['topic', 'create', 'nu', '-p', '2', ...b()]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // 10 records on partition 0 (k0..k9 / v0..v9), 3 on partition 1.
  const lines = Array.from({ length: 10 }, (_, i) => `k${i}:v${i}`).join('\n');
  let p = await kstream(['produce', 'nu', '-K', ':', '-p', '0', ...b()], { input: `${lines}\n` });
  assert.equal(p.code, 0, p.stderr);
  p = await kstream(['produce', 'nu', '-p', '1', ...b()], { input: 'a\nb\nc\n' });
  assert.equal(p.code, 0, p.stderr);
});
after(async () => {
  await broker?.stop();
});

/** stderr of a run that must fail with `code`, with nothing on stdout. */
async function fails(argv: string[], code = 2): Promise<string> {
  const r = await kstream(argv);
  assert.equal(r.code, code, `kstream ${argv.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '', `kstream ${argv.join(' ')}`);
  return r.stderr;
}

test('one vocabulary: -f, --linger-ms, acks all, consume -o text|json, --to named, topc → topic', async () => {
  const produceHelp = (await kstream(['produce', '--help'])).stdout;
  assert.match(produceHelp, /-f, --format=<option>/);
  assert.match(produceHelp, /^ {6}--file=<value>/m, '--file has no -f any more');
  assert.equal(
    await fails(['produce', 'nu', '-f', 'data.txt', ...b()]),
    'kstream: Expected --format=data.txt to be one of: text, json; -f is the input format here, to read a file use --file data.txt (see --help)\n',
  );
  const r = await kstream(['produce', 'nu', '-p', '1', '--linger', '2', '-f', 'json', ...b()], {
    input: '{"value":"d"}\n',
  });
  assert.equal(r.code, 0, r.stderr);

  for (const bench of ['produce', 'e2e']) {
    const help = (await kstream(['bench', bench, '--help'])).stdout;
    assert.match(help, /--linger-ms=<value>/, `bench ${bench}`);
    assert.doesNotMatch(help, /--linger=/, `bench ${bench}`);
    assert.match(help, /--acks=<option>\s+\[default: all\]/, `bench ${bench}: acks all, like produce`);
  }
  assert.match((await kstream(['produce', '--help'])).stdout, /--acks=<option>\s+\[default: all\]/);

  const consumeHelp = (await kstream(['consume', '--help'])).stdout;
  assert.match(consumeHelp, /<options: text\|json>/);
  assert.doesNotMatch(consumeHelp, /wide|yaml/);
  assert.equal(
    await fails(['consume', 'nu', '-o', 'yaml', ...b()]),
    'kstream: Expected --output=yaml to be one of: text, json (see --help)\n',
  );
  assert.equal(await fails(['group', 'seek', 'g', ...b()]), 'kstream: missing required flag --to (see --help)\n');
  assert.equal(await fails(['topc']), 'kstream: unknown command "topc". Did you mean "topic" or "top"?\n');
  assert.match(
    await fails(['grop', 'list']),
    /^kstream: unknown command "grop"\. Did you mean "group"/,
    'a topic is suggested as such',
  );
});

test('errors name the culprit: an unknown broker in --replicas, a seek past the log end, nothing to reassign', async () => {
  assert.equal(
    await fails(['cluster', 'reassign', '--topic', 'nu', '--partition', '0', '--replicas', '1,7', ...b()], 1),
    'kstream: --replicas 1,7: broker 7 is not in the cluster (live brokers: 1)\n',
  );
  assert.equal(
    await fails(['cluster', 'reassign', '--topic', 'nu', '--partition', '0', '--replicas', '1,1', ...b()], 1),
    'kstream: --replicas 1,1: broker 1 is named twice\n',
  );
  let r = await kstream(['cluster', 'reassign', '--topic', 'nu', '--partition', '0', '--replicas', '1', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'PARTITION  STATUS\nnu/0       nothing to do: already on 1\n');

  r = await kstream(['consume', 'nu', '-g', 'seeker', '--from-beginning', '-e', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['group', 'seek', 'seeker', '--to', 'offset', '1000', '--dry-run', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'TOPIC  PARTITION  CURRENT  NEW  STATUS\n' +
      'nu     0          10       10   planned (1000 is past the log end)\n' +
      'nu     1          4        4    planned (1000 is past the log end)\n',
  );
  r = await kstream(['group', 'seek', 'seeker', '--to', 'offset', '5', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'TOPIC  PARTITION  CURRENT  NEW  STATUS\nnu     0          10       5    OK\nnu     1          4        4    OK (5 is past the log end)\n',
  );
});

test('cluster info counts internal topics apart; elect-leaders says how many of its partitions are internal', async () => {
  const all = JSON.parse((await kstream(['topic', 'list', '--all', '-o', 'json', ...b()])).stdout) as {
    name: string;
    partitions: number;
    internal: boolean;
  }[];
  const internal = all.filter((t) => t.internal);
  assert.ok(internal.length > 0, 'a group made __consumer_offsets');
  const ip = internal.reduce((n, t) => n + t.partitions, 0);
  const own = all.filter((t) => !t.internal);
  const op = own.reduce((n, t) => n + t.partitions, 0);
  const r = await kstream(['cluster', 'info', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^TOPICS {12}${own.length} \\(\\+${internal.length} internal\\)$`, 'm'));
  assert.match(r.stdout, new RegExp(`^PARTITIONS {8}${op} \\(\\+${ip} internal\\)$`, 'm'));
  const info = JSON.parse((await kstream(['cluster', 'info', '-o', 'json', ...b()])).stdout);
  assert.deepEqual(
    [info.topics, info.partitions, info.internalTopics, info.internalPartitions],
    [own.length, op, internal.length, ip],
  );
  const e = await kstream(['cluster', 'elect-leaders', ...b()]);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(
    e.stderr,
    `${op + ip} partitions (${ip} of internal topics) already led by their preferred replica (not needed)\n`,
  );
});

test('consume: ranges START:END, :end, -c, --max-messages, --print-key / offset / partition', async () => {
  const out = async (...argv: string[]) => {
    const r = await kstream(['consume', 'nu', ...argv, ...b()]);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  assert.equal(await out('-p', '0', '--offset', '2:5', '-f', '%o %v\\n'), '2 v2\n3 v3\n4 v4\n', 'END not included');
  // Every partition stops at END: partition 1 has fewer records and would wait without -e.
  assert.equal(await out('--offset', '3:4', '-e', '-f', '%p %o\\n'), '0 3\n1 3\n');
  assert.equal(
    (await out('--offset', ':end', '-f', '%p %o\\n')).split('\n').filter(Boolean).sort().join(' '),
    '0 0 0 1 0 2 0 3 0 4 0 5 0 6 0 7 0 8 0 9 1 0 1 1 1 2 1 3',
    ':end reads everything there is and stops',
  );
  assert.equal(await out('-p', '0', '--offset', '7:end'), 'v7\nv8\nv9\n');
  assert.equal(await out('-p', '0', '--offset', ':2'), 'v0\nv1\n');
  assert.equal(await out('-p', '0', '--from-beginning', '-c', '2'), 'v0\nv1\n', "kcat's -c");
  assert.equal(await out('-p', '0', '--from-beginning', '--max-messages', '1'), 'v0\n');
  assert.equal(
    await out('-p', '0', '--offset', '8:end', '--print-key', '--print-offset', '--print-partition'),
    'Partition:0\tOffset:8\tk8\tv8\nPartition:0\tOffset:9\tk9\tv9\n',
  );
  assert.equal(
    await fails(['consume', 'nu', '--offset', '5:2', ...b()]),
    'kstream: invalid --offset 5:2: the range is empty (it stops before 2)\n',
  );
  assert.equal(
    await fails(['consume', 'nu', '--offset', '1:x', ...b()]),
    'kstream: invalid --offset 1:x: expected N, -N, beginning, end, or a range START:END (10:20, :end, 10:end)\n',
  );
  assert.equal(
    await fails(['consume', 'nu', '--offset', '1:2', '-g', 'x', ...b()]),
    'kstream: a range (--offset START:END) cannot be used with --group\n',
  );
  assert.equal(
    await fails(['consume', 'nu', '--print-key', '-o', 'json', ...b()]),
    'kstream: --print-key adds to the default text output: not with -o json\n',
  );
});

test('topic trim / topic delete / group delete --dry-run: the plan, nothing changed', async () => {
  let r = await kstream(['topic', 'trim', 'nu', '--offset', '4', '--dry-run', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'TOPIC  PARTITION  CURRENT  NEW  DELETED  STATUS\nnu     0          0        4    4        planned\nnu     1          0        4    4        planned\n',
  );
  r = await kstream(['topic', 'trim', 'nu', '--offset', '2', '--partition', '1', '--dry-run', '-o', 'json', ...b()]);
  assert.deepEqual(JSON.parse(r.stdout), [
    { topic: 'nu', partition: 1, current: 0, logStartOffset: 2, deleted: 2, status: 'planned', ok: true },
  ]);
  r = await kstream(['topic', 'delete', 'nu', 'nope', '--dry-run', ...b()]);
  assert.equal(r.code, 1, 'nope does not exist');
  assert.equal(
    r.stdout,
    'TOPIC  PARTITIONS  RECORDS  STATUS\nnu     2           14       planned\nnope   -           -        UNKNOWN_TOPIC_OR_PARTITION: no such topic\n',
  );
  r = await kstream(['group', 'delete', 'seeker', '--dry-run', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'GROUP   STATE  MEMBERS  COMMITTED     STATUS\nseeker  Empty  0        2 partitions  planned\n',
  );
  // Nothing changed.
  r = await kstream(['topic', 'describe', 'nu', '-o', 'json', ...b()]);
  const d = JSON.parse(r.stdout) as { partitions: { logStartOffset: number }[] };
  assert.deepEqual(
    d.partitions.map((p) => p.logStartOffset),
    [0, 0],
  );
  assert.equal((await kstream(['group', 'list', ...b()])).stdout, 'GROUP   STATE\nseeker  Empty\n');
  // Without a terminal there is no question: it trims at once (scripts), printing the same columns.
  r = await kstream(['topic', 'trim', 'nu', '--offset', '1', '--partition', '0', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'TOPIC  PARTITION  CURRENT  NEW  DELETED  STATUS\nnu     0          0        1    1        OK\n',
  );
});
