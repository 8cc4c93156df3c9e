/**
 * The real CLI (bin/run.js) against a Kafka-compatible cluster we did not write: librdkafka's mock cluster
 * (3 brokers in a /usr/bin/python3 confluent_kafka process, see ../shared/TOOLCHAIN.md and
 * test/client/mock-cluster.test.ts). `kstream produce` with every codec, keys and headers, `kstream consume`
 * (plain and with a group that commits), `kstream topic list` and `kstream topic describe`, text and json.
 *
 * The mock encodes ListOffsets v4+ answers wrongly (an 8-byte leader epoch; Kafka's is 4 bytes), which breaks
 * every partition after the first in an answer; the CLI uses ListOffsets v3 (no leader epoch, none needed), as
 * kstream top does, so these runs need no setting. The mock has no admin APIs for topics or configs: `topic
 * create` says so per topic, `topic describe` shows its configs as unavailable rather than empty.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { hasMockCluster, type MockCluster, startMockCluster } from '../helpers/mock-cluster.js';
import { kstream as run } from './run.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
/** 30 keyed lines: keys spread over the mock's partitions (4 per auto-created topic). */
const LINES = Array.from({ length: 30 }, (_, i) => `key-${i}:value ${i} ${'ü'.repeat(i % 5)}`);

let mock: MockCluster;
let brokers: string;
const b = () => ['-b', brokers];
const kstream = (args: string[], input?: string) => run(args, { input, timeoutMs: 30_000 });

interface Described {
  name: string;
  partitions: { partition: number; leader: number; replicas: number[]; logStartOffset: number; logEndOffset: number }[];
  configs: unknown[];
  configsError?: string;
}

describe("kstream CLI against librdkafka's mock cluster", { skip: !hasMockCluster }, () => {
  before(async () => {
    mock = await startMockCluster();
    brokers = mock.brokers;
  });
  after(() => mock?.close());

  test('produce (every codec, keys, headers) → consume back identical, partitions on several leaders', async () => {
    const leaders = new Set<number>();
    for (const codec of CODECS) {
      const topic = `cli-mock-${codec}`;
      // The mock creates topics on first use (4 partitions); produce checks the topic through Metadata.
      let r = await kstream(
        ['produce', topic, '-K', ':', '-H', 'h1=x', '-H', `codec=${codec}`, '-z', codec, ...b()],
        `${LINES.join('\n')}\n`,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^produced 30 records, \\d+ B, [2-4] partitions, \\d+\\.\\d\\ds to ${topic}\\n$`),
      );
      r = await kstream(['consume', topic, '--from-beginning', '-e', '--format', '%k:%v|%h\\n', ...b()]);
      assert.equal(r.code, 0, r.stderr);
      // Order holds within a partition only: compare as sets of lines.
      assert.deepEqual(
        r.stdout.trimEnd().split('\n').sort(),
        LINES.map((l) => `${l}|h1=x,codec=${codec}`).sort(),
        codec,
      );
      r = await kstream(['topic', 'describe', topic, '-o', 'json', ...b()]);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as Described;
      assert.equal(
        d.partitions.reduce((n, p) => n + p.logEndOffset, 0),
        30,
        `${codec}: log end offsets add up`,
      );
      for (const p of d.partitions) leaders.add(p.leader);
    }
    assert.ok(leaders.size > 1, `partitions led by different brokers: ${[...leaders]}`);
  });

  test('consume -o json: offsets, keys, headers per partition', async () => {
    const r = await kstream(['consume', 'cli-mock-zstd', '--from-beginning', '-e', '-o', 'json', ...b()]);
    assert.equal(r.code, 0, r.stderr);
    const recs = r.stdout
      .trimEnd()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            topic: string;
            partition: number;
            offset: number;
            key: string;
            value: string;
            headers: unknown;
          },
      );
    assert.equal(recs.length, 30);
    const next = new Map<number, number>();
    for (const x of recs) {
      assert.equal(x.topic, 'cli-mock-zstd');
      assert.equal(x.offset, next.get(x.partition) ?? 0, 'offsets in order from 0 within a partition');
      next.set(x.partition, x.offset + 1);
      assert.equal(`${x.key}:${x.value}`, LINES[Number(x.key.slice(4))]);
      assert.deepEqual(x.headers, [
        { key: 'h1', value: 'x' },
        { key: 'codec', value: 'zstd' },
      ]);
    }
  });

  test('consume --group commits on the mock: confluent-kafka reads the committed offsets (OffsetFetch)', async () => {
    const r = await kstream([
      'consume',
      'cli-mock-none',
      '--group',
      'cli-mock-g',
      '--from-beginning',
      '-n',
      '10',
      ...b(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 10);
    // A second kstream run in the same group would show the commits too, but the mock holds a group's rebalance
    // until the previous member's session times out (45 s, LeaveGroup or not; librdkafka's own consumer waits
    // the same): the committed offsets are read with OffsetFetch by confluent-kafka instead.
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': '${brokers}', 'group.id': 'cli-mock-g'})
tps = c.committed([TopicPartition('cli-mock-none', p) for p in range(4)], timeout=10)
print(sum(tp.offset for tp in tps if tp.offset >= 0))
c.close()
`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(py.status, 0, py.stderr);
    assert.equal(py.stdout.trim(), '10', 'the 10 records consumed are committed, no more');
  });

  test('topic list: text and json', async () => {
    let r = await kstream(['topic', 'list', ...b()]);
    assert.equal(r.code, 0, r.stderr);
    const names = CODECS.map((c) => `cli-mock-${c}`).sort();
    const width = Math.max(...names.map((n) => n.length));
    assert.equal(
      r.stdout,
      `${'NAME'.padEnd(width)}  PARTITIONS  REPLICAS\n${names.map((n) => `${n.padEnd(width)}  4           3\n`).join('')}`,
    );
    r = await kstream(['topic', 'list', '-o', 'json', ...b()]);
    assert.deepEqual(
      JSON.parse(r.stdout),
      names.map((name) => ({ name, partitions: 4, replicas: 3, internal: false })),
    );
  });

  test('topic describe: partitions with leaders and offsets; configs unavailable (no DescribeConfigs on the mock)', async () => {
    let r = await kstream(['topic', 'describe', 'cli-mock-gzip', '-o', 'json', ...b()]);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as Described;
    assert.deepEqual(
      d.partitions.map((p) => p.partition),
      [0, 1, 2, 3],
    );
    assert.deepEqual(d.configs, []);
    assert.match(d.configsError ?? '', /does not support DescribeConfigs .*broker: not offered/);
    r = await kstream(['topic', 'describe', 'cli-mock-gzip', ...b()]);
    assert.equal(r.code, 0, r.stderr);
    const rows = d.partitions
      .map(
        (p) =>
          `${String(p.partition).padEnd(9)}  ${String(p.leader).padEnd(6)}  -1     ${p.replicas.join(',')}     ${p.replicas.join(',')}  ${String(p.logStartOffset).padEnd(9)}  ${p.logEndOffset}\n`,
      )
      .join('');
    assert.equal(
      r.stdout,
      `NAME        cli-mock-gzip
INTERNAL    false
PARTITIONS  4
REPLICAS    3

PARTITIONS
PARTITION  LEADER  EPOCH  REPLICAS  ISR    LOG-START  LOG-END
${rows}
CONFIGS
(unavailable: ${d.configsError})
`,
    );
  });

  test('topic create: the mock has no CreateTopics, said per topic with exit 1', async () => {
    const r = await kstream(['topic', 'create', 'cli-mock-new', ...b()]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^TOPIC {9}STATUS\ncli-mock-new {2}UNSUPPORTED_VERSION: broker 127\.0\.0\.1:\d+ does not support CreateTopics /,
    );
  });
});
