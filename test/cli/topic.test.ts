/**
 * `kstream topic ...` as the real bin/run.js against a running `kstream serve`: exact text and json output,
 * a row per item for batch operations, a clear error for an unknown topic. A broker that is down or mute:
 * topic-timeout.test.ts (its time bounds run alone).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type BrokerProcess, startBroker } from '../helpers/broker.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
const b = () => ['-b', broker.bootstrap];

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
});

test('create, list (text, json, --all), describe (text, json), alter-config, add-partitions, trim, delete', async () => {
  let r = await kstream(['topic', 'create', 'orders', 'users', '-p', '3', '-c', 'cleanup.policy=compact', ...b()]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'TOPIC   STATUS\norders  OK\nusers   OK\n');

  r = await kstream(['topic', 'create', 'orders', ...b()]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^TOPIC {3}STATUS\norders {2}TOPIC_ALREADY_EXISTS: /);

  r = await kstream(['topic', 'list', ...b()]);
  assert.equal(r.stdout, 'NAME    PARTITIONS  REPLICAS\norders  3           1\nusers   3           1\n');
  r = await kstream(['topic', 'list', '-o', 'json', ...b()]);
  assert.deepEqual(JSON.parse(r.stdout), [
    { name: 'orders', partitions: 3, replicas: 1, internal: false },
    { name: 'users', partitions: 3, replicas: 1, internal: false },
  ]);
  assert.equal(r.stdout.endsWith(']\n'), true);

  r = await kstream(['produce', 'orders', '--partition', '1', ...b()], { input: 'a\nb\n' });
  const produced = r.code === 0; // produce may not exist yet in a partial build of the CLI

  r = await kstream(['topic', 'describe', 'orders', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  const end1 = produced ? 2 : 0;
  assert.equal(
    r.stdout,
    `NAME        orders
INTERNAL    false
PARTITIONS  3
REPLICAS    1

PARTITIONS
PARTITION  LEADER  EPOCH  REPLICAS  ISR  LOG-START  LOG-END
0          1       0      1         1    0          0
1          1       0      1         1    0          ${end1}
2          1       0      1         1    0          0

CONFIGS
NAME            VALUE    SOURCE
cleanup.policy  compact  dynamic-topic
`,
  );
  r = await kstream(['topic', 'describe', 'orders', '-o', 'json', ...b()]);
  const d = JSON.parse(r.stdout) as {
    name: string;
    topicId: string;
    partitions: unknown[];
    configs: { name: string; value: string; source: string }[];
  };
  assert.equal(d.name, 'orders');
  assert.match(d.topicId, /^[0-9a-f]{32}$/);
  assert.deepEqual(d.partitions[1], {
    partition: 1,
    leader: 1,
    leaderEpoch: 0,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
    logStartOffset: 0,
    logEndOffset: end1,
  });
  assert.deepEqual(
    d.configs.find((c) => c.name === 'cleanup.policy'),
    { name: 'cleanup.policy', value: 'compact', source: 'dynamic-topic', readOnly: false, sensitive: false },
  );
  assert.equal(d.configs.find((c) => c.name === 'retention.ms')?.source, 'default');

  r = await kstream([
    'topic',
    'alter-config',
    'orders',
    '--set',
    'retention.ms=60000',
    '--delete',
    'cleanup.policy',
    ...b(),
  ]);
  assert.equal(r.stdout, 'TOPIC   STATUS\norders  OK\n');
  r = await kstream(['topic', 'describe', 'orders', ...b()]);
  assert.match(r.stdout, /\nCONFIGS\nNAME {10}VALUE {2}SOURCE\nretention.ms {2}60000 {2}dynamic-topic\n$/);
  // A rejected value: the row's status does not repeat the topic ("topic orders: INVALID_CONFIG: …").
  r = await kstream(['topic', 'alter-config', 'orders', '--set', 'retention.ms=abc', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stdout,
    'TOPIC   STATUS\norders  INVALID_CONFIG: Invalid value "abc" for configuration retention.ms: must be an integer (long)\n',
  );

  r = await kstream(['topic', 'add-partitions', 'orders', 'nope', '-p', '2', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'TOPIC   STATUS\norders  OK\nnope    UNKNOWN_TOPIC_OR_PARTITION: no such topic\n');
  r = await kstream(['topic', 'list', '-o', 'yaml', ...b()]);
  assert.equal(
    r.stdout,
    '- name: orders\n  partitions: 5\n  replicas: 1\n  internal: false\n- name: users\n  partitions: 3\n  replicas: 1\n  internal: false\n',
  );

  if (produced) {
    r = await kstream(['topic', 'trim', 'orders', '--offset', '1', '--partition', '1', ...b()]);
    assert.equal(
      r.stdout,
      'TOPIC   PARTITION  CURRENT  NEW  DELETED  STATUS\norders  1          0        1    1        OK\n',
    );
  }
  // -p as in produce and consume (was "unknown flag -p").
  r = await kstream(['topic', 'trim', 'orders', '--offset', '0', '-p', '0', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'TOPIC   PARTITION  CURRENT  NEW  DELETED  STATUS\norders  0          0        0    0        OK\n',
  );

  // __consumer_offsets exists once a group is used (FindCoordinator creates it, as in Kafka).
  r = await kstream(['topic', 'list', '--all', ...b()]);
  assert.ok(!r.stdout.includes('__consumer_offsets'));
  r = await kstream(['group', 'describe', 'nobody', ...b()]);
  r = await kstream(['topic', 'list', '--all', '-o', 'wide', ...b()]);
  assert.match(r.stdout, /^NAME {16}PARTITIONS {2}REPLICAS {2}INTERNAL\n__consumer_offsets +\d+ +1 +true\n/);

  r = await kstream(['topic', 'delete', 'users', 'nope', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'TOPIC  STATUS\nusers  OK\nnope   UNKNOWN_TOPIC_OR_PARTITION: no such topic\n');
});

test("topic create takes kafka-topics.sh's --replication-factor for -r/--replicas", async () => {
  let r = await kstream(['topic', 'create', 'rf', '--partitions', '2', '--replication-factor', '1', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'TOPIC  STATUS\nrf     OK\n');
  r = await kstream(['topic', 'create', 'rf3', '--replication-factor', '3', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stdout,
    'TOPIC  STATUS\nrf3    INVALID_REPLICATION_FACTOR: replication factor 3 is larger than the 1 available broker\n',
  );
  r = await kstream(['topic', 'delete', 'rf', ...b()]);
  assert.equal(r.code, 0, r.stderr);
});

test('unknown topic: one clear line on stderr, exit 1', async () => {
  const r = await kstream(['topic', 'describe', 'no-such-topic', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'kstream: topic no-such-topic does not exist\n');
});
