/**
 * Partition limits on a real `kstream serve` (issue 23, defect 8): one CreateTopics of 100,000 partitions is
 * refused with POLICY_VIOLATION and a message, promptly, creating nothing (it used to be accepted and create
 * partitions for hours); `max.request.partitions` bounds a request (all its topics together),
 * `max.broker.partitions` the partitions a node hosts (CreateTopics, CreatePartitions, auto-creation through
 * Metadata, counted again after a restart), and the keys are broker configs DescribeConfigs reports. A topic
 * being created is visible to DeleteTopics (which waits for it), and SIGTERM stops a long creation promptly.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

function createTopics(
  c: RawClient,
  topics: { name: string; partitions: number }[],
  validateOnly = false,
): Promise<Struct[]> {
  return c
    .request(ApiKey.CreateTopics, 5, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.partitions,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 600_000,
      validateOnly,
    })
    .then((r) => r.topics as Struct[]);
}

async function createPartitions(c: RawClient, name: string, count: number): Promise<Struct> {
  const r = await c.request(ApiKey.CreatePartitions, 3, {
    topics: [{ name, count, assignments: null }],
    timeoutMs: 60_000,
    validateOnly: false,
  });
  return r.results[0] as Struct;
}

/** Partitions of each topic the broker knows (no auto-creation). */
async function partitionsOf(c: RawClient, names: string[]): Promise<Record<string, number | null>> {
  const md = await c.request(ApiKey.Metadata, 12, {
    topics: names.map((name) => ({ name, topicId: '00000000000000000000000000000000' })),
    allowAutoTopicCreation: false,
  });
  const out: Record<string, number | null> = {};
  for (const t of md.topics as Struct[]) out[t.name] = t.errorCode === 0 ? (t.partitions as Struct[]).length : null;
  return out;
}

function python(script: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('/usr/bin/python3', ['-c', script, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

describe('partition limits with the defaults', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });

  test('CreateTopics with 100,000 partitions: POLICY_VIOLATION with a message, nothing created', async () => {
    await RawClient.using(broker.port, async (c) => {
      const [r] = await createTopics(c, [{ name: 'huge', partitions: 100_000 }]);
      assert.equal(r?.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.match(r?.errorMessage as string, /100000 partitions.*at most 4000.*max\.request\.partitions/);
      assert.deepEqual(await partitionsOf(c, ['huge']), { huge: null });
      // The node goes on serving: a normal topic right after.
      const [ok] = await createTopics(c, [{ name: 'normal', partitions: 3 }]);
      assert.equal(ok?.errorCode, 0);
    });
  });

  test('a real client (confluent-kafka) gets the policy violation and its message', async () => {
    const out = await python(
      `
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({'bootstrap.servers': sys.argv[1]})
f = a.create_topics([NewTopic('huge2', 100000, 1)], request_timeout=30)['huge2']
try:
    f.result()
    print('created')
except Exception as e:
    print(e.args[0].name(), e.args[0].str())
`,
      broker.bootstrap,
    );
    assert.match(out, /^POLICY_VIOLATION .*max\.request\.partitions/);
  });

  test('the limits are broker configs DescribeConfigs reports, with their defaults', async () => {
    await RawClient.using(broker.port, async (c) => {
      const r = await c.request(ApiKey.DescribeConfigs, 4, {
        resources: [{ resourceType: 4, resourceName: '', configurationKeys: null }],
        includeSynonyms: false,
        includeDocumentation: true,
      });
      const configs = new Map((r.results[0].configs as Struct[]).map((x) => [x.name as string, x]));
      const expect: Record<string, string> = {
        'max.request.partitions': '4000',
        'max.broker.partitions': '10000',
        'max.partitions': '2147483647',
        'queued.max.request.bytes': '209715200',
        'queued.max.response.bytes.per.connection': '16777216',
      };
      for (const [k, v] of Object.entries(expect)) {
        assert.equal(configs.get(k)?.value, v, k);
        assert.equal(configs.get(k)?.configSource, 5, k); // DEFAULT_CONFIG
        assert.ok(String(configs.get(k)?.documentation ?? '').length > 20, k);
      }
    });
  });
});

describe('partition limits set low', () => {
  let broker: BrokerProcess;
  const dataDir = tempDir();
  const props = { 'max.request.partitions': '20', 'max.broker.partitions': '50' };
  before(async () => {
    broker = await startBroker({ dataDir, props });
  });
  after(async () => {
    await broker?.stop();
    removeDir(dataDir);
  });

  test('max.request.partitions counts every topic of a request; validateOnly is checked too', async () => {
    await RawClient.using(broker.port, async (c) => {
      const both = await createTopics(c, [
        { name: 'r1', partitions: 15 },
        { name: 'r2', partitions: 10 },
      ]);
      assert.deepEqual(
        both.map((t) => t.errorCode),
        [ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION],
      );
      assert.match(both[0]?.errorMessage as string, /25 partitions.*at most 20/);
      const [dry] = await createTopics(c, [{ name: 'r3', partitions: 21 }], true);
      assert.equal(dry?.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.deepEqual(await partitionsOf(c, ['r1', 'r2', 'r3']), { r1: null, r2: null, r3: null });
      const ok = await createTopics(c, [
        { name: 'r1', partitions: 10 },
        { name: 'r2', partitions: 10 },
      ]);
      assert.deepEqual(
        ok.map((t) => t.errorCode),
        [0, 0],
      );
    });
  });

  test('max.broker.partitions: CreateTopics, CreatePartitions and auto-creation stop at the node limit', async () => {
    await RawClient.using(broker.port, async (c) => {
      // 20 hosted (r1, r2); 20 more fit, then 10 more reach 50 exactly.
      assert.equal((await createTopics(c, [{ name: 'n1', partitions: 20 }]))[0]?.errorCode, 0);
      const [over] = await createTopics(c, [{ name: 'n2', partitions: 11 }]);
      assert.equal(over?.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.match(
        over?.errorMessage as string,
        /node 1 would host 51 partition replicas.*max\.broker\.partitions \(50\)/,
      );
      const grow = await createPartitions(c, 'n1', 31);
      assert.equal(grow.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.equal((await createPartitions(c, 'n1', 30)).errorCode, 0);
      // The node is full (50): auto-creation through Metadata answers the topic with the policy violation.
      const md = await c.request(ApiKey.Metadata, 12, {
        topics: [{ name: 'auto', topicId: '00000000000000000000000000000000' }],
        allowAutoTopicCreation: true,
      });
      assert.equal(md.topics[0].errorCode, ErrorCode.POLICY_VIOLATION);
      assert.deepEqual(await partitionsOf(c, ['n1', 'n2', 'auto']), { n1: 30, n2: null, auto: null });
    });
    assert.match(broker.logs(), /auto-creation refused.*topic=auto/);
  });

  test('CreatePartitions: max.request.partitions bounds what one request adds', async () => {
    await RawClient.using(broker.port, async (c) => {
      // Deleting frees room on the node; a request adding 21 is still over the request limit.
      const del = await c.request(ApiKey.DeleteTopics, 4, { topicNames: ['n1'], timeoutMs: 30_000 });
      assert.equal(del.responses[0].errorCode, 0);
      assert.equal((await createTopics(c, [{ name: 'g', partitions: 1 }]))[0]?.errorCode, 0);
      const r = await createPartitions(c, 'g', 22);
      assert.equal(r.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.match(r.errorMessage as string, /21 partitions.*max\.request\.partitions/);
      assert.equal((await createPartitions(c, 'g', 21)).errorCode, 0);
    });
  });

  test('after a restart the stored topics count against the node limit', async () => {
    await broker.stop();
    broker = await startBroker({ dataDir, props, port: broker.port });
    await RawClient.using(broker.port, async (c) => {
      // r1 10 + r2 10 + g 21 = 41 hosted.
      const [over] = await createTopics(c, [{ name: 'after', partitions: 10 }]);
      assert.equal(over?.errorCode, ErrorCode.POLICY_VIOLATION);
      assert.match(over?.errorMessage as string, /hosts 41 now/);
      assert.equal((await createTopics(c, [{ name: 'after', partitions: 9 }]))[0]?.errorCode, 0);
    });
  });
});

describe('a long creation', () => {
  test('DeleteTopics of a topic being created waits for it and deletes it (not UNKNOWN_TOPIC)', async () => {
    const broker = await startBroker();
    try {
      const creator = await RawClient.connect(broker.port);
      const deleter = await RawClient.connect(broker.port);
      try {
        const base = entries(broker);
        // (Its failure, if any, is asserted below, not left unhandled.)
        const created = createTopics(creator, [{ name: 'slow', partitions: 400 }]).catch((e: Error) => e);
        // Once its first partitions exist on disk, the creation is under way.
        await until('the creation started', async () => entries(broker) > base + 2);
        const del = await deleter.request(ApiKey.DeleteTopics, 4, { topicNames: ['slow'], timeoutMs: 120_000 });
        assert.equal(del.responses[0].errorCode, 0, `DeleteTopics answered ${del.responses[0].errorCode}`);
        const result = await created;
        assert.ok(Array.isArray(result), String(result));
        assert.equal(result[0]?.errorCode, 0);
        assert.deepEqual(await partitionsOf(deleter, ['slow']), { slow: null });
      } finally {
        creator.close();
        deleter.close();
      }
    } finally {
      await broker.stop();
      removeDir(broker.dataDir);
    }
  });

  test('SIGTERM during a creation of thousands of partitions stops the node promptly, exit 0', async () => {
    const broker = await startBroker({ props: { 'max.request.partitions': '10000' } });
    try {
      const c = await RawClient.connect(broker.port);
      const base = entries(broker);
      void createTopics(c, [{ name: 'many', partitions: 10_000 }]).catch(() => {});
      await until('the creation started', async () => entries(broker) > base + 10);
      const exited = new Promise<number | null>((res) => broker.child.once('exit', (code) => res(code)));
      broker.child.kill('SIGTERM');
      // Creating the rest takes minutes; stopping must not wait for it.
      const code = await Promise.race([exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 20_000))]);
      c.close();
      assert.equal(code, 0, 'the node exited with 0 within 20 s of SIGTERM');
    } finally {
      await broker.kill();
      removeDir(broker.dataDir);
    }
  });
});

/** Entries in the broker's data dir (partition directories appear as a creation goes on). */
function entries(b: BrokerProcess): number {
  return readdirSync(b.dataDir).length;
}

describe('limit configs that contradict each other', () => {
  for (const [props, message] of [
    [
      'queued.max.request.bytes=1048576\n',
      'kstream: queued.max.request.bytes (1048576) must be at least socket.request.max.bytes (104857600), or -1 for no bound',
    ],
    [
      'num.partitions=8\nmax.request.partitions=4\n',
      'kstream: num.partitions (8) is more than max.request.partitions (4): every topic created with the default partition count would be refused',
    ],
  ]) {
    test(`${props.trim().replaceAll('\n', ', ')}: the start stops with one line`, async () => {
      const dir = tempDir();
      try {
        const file = join(dir, 'server.properties');
        writeFileSync(file, props);
        const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const p = execFile(
            process.execPath,
            [BIN, 'serve', '--data-dir', join(dir, 'data'), '--port', '0', '--http-port', '0', '--config', file],
            { cwd: ROOT, timeout: 30_000 },
            (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
          );
          p.stdin?.end();
        });
        assert.notEqual(r.code, 0);
        assert.equal(r.stderr.trim(), message);
      } finally {
        removeDir(dir);
      }
    });
  }
});
