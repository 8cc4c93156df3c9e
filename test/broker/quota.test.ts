/**
 * Client quotas (issue 19) against a real `kstream serve`: DescribeClientQuotas / AlterClientQuotas on the wire
 * (v0 and v1; none of the installed Kafka clients has these admin calls — kafkajs 2.2.4, kafka-python 2.0.2 and
 * confluent-kafka 1.7 lack them — so raw requests and kstream's CLI), Kafka's validation with nothing stored on
 * error, and enforcement: a client over producer_byte_rate / consumer_byte_rate gets throttle_time_ms and its
 * connection is muted, while another client on the same broker is not throttled. Real clients: kcat
 * (librdkafka reports each throttle time it is given).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const run = promisify(execFile);
let broker: BrokerProcess;
let work: string;
let admin: RawClient;

type Entity = { entityType: string; entityName: string | null }[];
type Op = { key: string; value: number; remove?: boolean };

async function alter(entries: { entity: Entity; ops: Op[] }[], validateOnly = false, version = 1) {
  const r = await admin.request(ApiKey.AlterClientQuotas, version, {
    entries: entries.map((e) => ({ entity: e.entity, ops: e.ops.map((o) => ({ remove: false, ...o })) })),
    validateOnly,
  });
  return r.entries as { errorCode: number; errorMessage: string | null; entity: Entity }[];
}

async function describeQuotas(
  components: { entityType: string; matchType: number; match: string | null }[] = [],
  strict = false,
  version = 1,
) {
  return admin.request(ApiKey.DescribeClientQuotas, version, { components, strict });
}

/** Every stored entity and its values, sorted: what must not change after refused requests. */
async function everything(): Promise<string[]> {
  const r = await describeQuotas();
  assert.equal(r.errorCode, 0);
  return (r.entries as { entity: Entity; values: { key: string; value: number }[] }[])
    .map((e) => JSON.stringify([e.entity, e.values]))
    .sort();
}

const user = (n: string | null) => ({ entityType: 'user', entityName: n });
const client = (n: string | null) => ({ entityType: 'client-id', entityName: n });

async function produceReq(c: RawClient, clientId: string, records: Buffer, version = 7) {
  const r = await c.request(
    ApiKey.Produce,
    version,
    {
      transactionalId: null,
      acks: 1,
      timeoutMs: 10_000,
      topicData: [{ name: 'q', partitionData: [{ index: 0, records }] }],
    },
    { clientId },
  );
  const p = (r.responses as Struct[])[0]?.partitionResponses as Struct[];
  assert.equal(p[0]?.errorCode, 0);
  return r.throttleTimeMs as number;
}

function kcat(args: string[], input?: string) {
  const p = run('kcat', ['-b', `127.0.0.1:${broker.port}`, ...args], { timeout: 120_000, maxBuffer: 64 << 20 });
  if (input !== undefined) p.child.stdin?.end(input);
  return p;
}

/** Throttle times librdkafka reports on stderr ("throttled request for N ms"). */
function throttles(stderr: string): number[] {
  return [...stderr.matchAll(/throttled request for (\d+)ms/g)].map((m) => Number(m[1]));
}

describe('client quotas on one node', () => {
  before(async () => {
    work = tempDir('kstream-quota-');
    // 3 samples of 1 s (Kafka's default is 11): the rate is measured over at least 2 s, so a client may burst
    // some 2 s worth of its quota before it is throttled, not 10 s worth; the tests move less data.
    broker = await startBroker({ props: { 'quota.window.num': '3' } });
    admin = await RawClient.connect(broker.port);
    const ct = await admin.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'q', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
    });
    assert.equal((ct.topics as Struct[])[0]?.errorCode, 0);
  });
  after(async () => {
    admin?.close();
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
    if (work) removeDir(work);
  });

  test('AlterClientQuotas and DescribeClientQuotas (v0, v1): entities, defaults, filters, removal', async () => {
    const set = await alter(
      [
        { entity: [user('alice')], ops: [{ key: 'producer_byte_rate', value: 1048576 }] },
        {
          entity: [user('alice'), client('app')],
          ops: [
            { key: 'producer_byte_rate', value: 2048 },
            { key: 'consumer_byte_rate', value: 4096 },
          ],
        },
        { entity: [user(null)], ops: [{ key: 'consumer_byte_rate', value: 10e6 }] },
        { entity: [client(null)], ops: [{ key: 'producer_byte_rate', value: 5e6 }] },
      ],
      false,
      0,
    );
    assert.deepEqual(
      set.map((e) => e.errorCode),
      [0, 0, 0, 0],
    );
    // Exact user alone (strict): only user=alice.
    let d = await describeQuotas([{ entityType: 'user', matchType: 0, match: 'alice' }], true, 0);
    assert.equal(d.errorCode, 0);
    assert.deepEqual(d.entries, [{ entity: [user('alice')], values: [{ key: 'producer_byte_rate', value: 1048576 }] }]);
    // Not strict: alice's entities with or without a client id.
    d = await describeQuotas([{ entityType: 'user', matchType: 0, match: 'alice' }], false);
    assert.equal((d.entries as Struct[]).length, 2);
    // The default user (match type 1).
    d = await describeQuotas([{ entityType: 'user', matchType: 1, match: null }]);
    assert.deepEqual(d.entries, [{ entity: [user(null)], values: [{ key: 'consumer_byte_rate', value: 10e6 }] }]);
    // Any client id specified (match type 2), strict: client-id=<default> alone.
    d = await describeQuotas([{ entityType: 'client-id', matchType: 2, match: null }], true);
    assert.deepEqual(d.entries, [{ entity: [client(null)], values: [{ key: 'producer_byte_rate', value: 5e6 }] }]);
    // No filter: all four.
    assert.equal((await everything()).length, 4);

    // Remove one key; removing every key removes the entity; removing a key it lacks changes nothing.
    const rm = await alter([
      { entity: [user('alice'), client('app')], ops: [{ key: 'consumer_byte_rate', value: 0, remove: true }] },
      { entity: [user(null)], ops: [{ key: 'consumer_byte_rate', value: 0, remove: true }] },
      { entity: [client(null)], ops: [{ key: 'consumer_byte_rate', value: 0, remove: true }] },
    ]);
    assert.deepEqual(
      rm.map((e) => e.errorCode),
      [0, 0, 0],
    );
    d = await describeQuotas([{ entityType: 'client-id', matchType: 0, match: 'app' }]);
    assert.deepEqual(d.entries, [
      { entity: [user('alice'), client('app')], values: [{ key: 'producer_byte_rate', value: 2048 }] },
    ]);
    assert.equal((await everything()).length, 3);
    await alter([
      { entity: [user('alice')], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] },
      { entity: [user('alice'), client('app')], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] },
      { entity: [client(null)], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] },
    ]);
    assert.deepEqual(await everything(), []);
  });

  test("bad input: Kafka's INVALID_REQUEST per entity, nothing stored changes; validate_only stores nothing", async () => {
    assert.deepEqual(
      (await alter([{ entity: [user('keep')], ops: [{ key: 'producer_byte_rate', value: 1000 }] }])).map(
        (e) => e.errorCode,
      ),
      [0],
    );
    const before = await everything();
    const p = (value: number) => [{ key: 'producer_byte_rate', value }];
    const cases: { entity: Entity; ops: Op[]; why: RegExp }[] = [
      { entity: [user('keep')], ops: p(-1), why: /greater than 0/ },
      { entity: [user('keep')], ops: p(0), why: /greater than 0/ },
      { entity: [user('keep')], ops: p(1.5), why: /fractional/ },
      { entity: [user('keep')], ops: p(2 ** 64), why: /too large/ },
      { entity: [user('keep')], ops: p(Number.NaN), why: /must be a number/ },
      { entity: [user('keep')], ops: [{ key: 'no_such_quota', value: 1 }], why: /Invalid configuration key/ },
      { entity: [user('keep')], ops: [{ key: 'request_percentage', value: Number.POSITIVE_INFINITY }], why: /finite/ },
      { entity: [user('keep')], ops: [{ key: 'controller_mutation_rate', value: -2 }], why: /greater than 0/ },
      {
        entity: [user('keep')],
        ops: [
          { key: 'consumer_byte_rate', value: 10 },
          { key: 'consumer_byte_rate', value: 20 },
        ],
        why: /Duplicate quota key/,
      },
      // A good value and a bad one for the same entity: neither is stored.
      {
        entity: [user('keep')],
        ops: [
          { key: 'consumer_byte_rate', value: 10 },
          { key: 'producer_byte_rate', value: -5 },
        ],
        why: /greater than 0/,
      },
      { entity: [], ops: p(1), why: /empty client quota entity/ },
      { entity: [{ entityType: 'topic', entityName: 'x' }], ops: p(1), why: /Unhandled client quota entity type/ },
      { entity: [user('a'), user('b')], ops: p(1), why: /duplicate entity entry/ },
      { entity: [user('')], ops: p(1), why: /Empty user not supported/ },
      { entity: [{ entityType: 'ip', entityName: '10.0.0.1' }], ops: p(1), why: /not supported/ },
    ];
    const res = await alter(cases.map((c) => ({ entity: c.entity, ops: c.ops })));
    res.forEach((r, i) => {
      const c = cases[i] as (typeof cases)[number];
      assert.equal(r.errorCode, ErrorCode.INVALID_REQUEST, `case ${i}: ${JSON.stringify(c.ops)}`);
      assert.match(String(r.errorMessage), c.why, `case ${i}`);
    });
    // The same entity twice in one request: both refused.
    const dup = await alter([
      { entity: [user('twice')], ops: p(100) },
      { entity: [user('twice')], ops: p(200) },
    ]);
    assert.deepEqual(
      dup.map((e) => e.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    // validate_only: a good change is answered OK and not stored.
    const v = await alter([{ entity: [user('keep')], ops: p(999) }], true);
    assert.equal(v[0]?.errorCode, 0);
    assert.deepEqual(await everything(), before);

    // Bad describe filters: a top-level error and no entries.
    const bad: [{ entityType: string; matchType: number; match: string | null }[], number][] = [
      [[{ entityType: 'user', matchType: 0, match: null }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'user', matchType: 1, match: 'x' }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'user', matchType: 7, match: null }], ErrorCode.INVALID_REQUEST],
      [
        [
          { entityType: 'user', matchType: 2, match: null },
          { entityType: 'user', matchType: 1, match: null },
        ],
        ErrorCode.INVALID_REQUEST,
      ],
      [[{ entityType: 'topic', matchType: 2, match: null }], ErrorCode.UNSUPPORTED_VERSION],
    ];
    for (const [components, code] of bad) {
      const d = await describeQuotas(components);
      assert.equal(d.errorCode, code, JSON.stringify(components));
      assert.equal(d.entries, null);
      assert.ok(d.errorMessage);
    }
    await alter([{ entity: [user('keep')], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] }]);
  });

  test('kstream quota alter|describe, with kafka-configs vocabulary; bad values: one line, non-zero exit', async () => {
    const b = ['-b', `127.0.0.1:${broker.port}`];
    let r = await kstream([
      'quota',
      'alter',
      ...b,
      '--quota-user',
      'bob',
      '--client-id',
      'etl',
      '--add',
      'producer_byte_rate=1048576,consumer_byte_rate=2097152',
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await kstream([
      'quota',
      'alter',
      ...b,
      '--entity-type',
      'users',
      '--entity-default',
      '--add-config',
      'consumer_byte_rate=5000000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await kstream([
      'quota',
      'alter',
      ...b,
      '--quota-user',
      'bob',
      '--client-id',
      'etl',
      '--delete',
      'consumer_byte_rate',
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await kstream(['quota', 'describe', ...b, '--quota-user', 'bob', '--client-id', 'etl', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [{ user: 'bob', clientId: 'etl', values: { producer_byte_rate: 1048576 } }]);
    r = await kstream(['quota', 'describe', ...b, '--default-user', '-o', 'json']);
    assert.deepEqual(JSON.parse(r.stdout), [{ user: null, values: { consumer_byte_rate: 5000000 } }]);
    r = await kstream(['quota', 'describe', ...b]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /bob\s+etl\s+producer_byte_rate=1048576/);
    assert.match(r.stdout, /<default>\s+consumer_byte_rate=5000000/);

    const before = await everything();
    // Refused by the broker: the error in the row, exit 1.
    r = await kstream(['quota', 'alter', ...b, '--quota-user', 'bob', '--add', 'producer_byte_rate=-1']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /INVALID_REQUEST: Quota producer_byte_rate must be greater than 0/);
    // Refused by the CLI: one line on stderr, usage exit.
    for (const args of [
      ['--quota-user', 'bob', '--add', 'producer_byte_rate=lots'],
      ['--add', 'producer_byte_rate=1'],
      ['--quota-user', 'bob'],
      ['--entity-type', 'topics', '--entity-name', 'x', '--add', 'producer_byte_rate=1'],
    ]) {
      r = await kstream(['quota', 'alter', ...b, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, /^kstream: .+\n$/, args.join(' '));
    }
    assert.deepEqual(await everything(), before);
    await alter([
      { entity: [user('bob'), client('etl')], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] },
      { entity: [user(null)], ops: [{ key: 'consumer_byte_rate', value: 0, remove: true }] },
    ]);
  });

  test('a producer over producer_byte_rate gets throttle_time_ms and its connection is muted; another client is not throttled', async () => {
    assert.equal(
      (await alter([{ entity: [client('raw-slow')], ops: [{ key: 'producer_byte_rate', value: 1048576 }] }]))[0]
        ?.errorCode,
      0,
    );
    const records = await buildBatch({ records: [{ key: null, value: randomBytes(512 * 1024) }] });
    const slow = await RawClient.connect(broker.port);
    const fast = await RawClient.connect(broker.port);
    try {
      // 1 MiB/s measured over at least 2 s: some 2 MiB sent at once pass, then the rate is over the quota.
      let throttle = 0;
      let sent = 0;
      while (throttle === 0 && sent < 60) {
        throttle = await produceReq(slow, 'raw-slow', records);
        sent++;
      }
      assert.ok(throttle > 0, `no throttle_time_ms after ${sent} requests of 512 KiB`);
      // Muted (KIP-219): the next request of the throttled connection is read only once its throttle time is
      // up (a lower bound of the mute, not a speed figure), and it is throttled again.
      const t0 = Date.now();
      const next = await produceReq(slow, 'raw-slow', records);
      const waited = Date.now() - t0;
      assert.ok(waited >= throttle * 0.8, `answered after ${waited} ms, throttled for ${throttle} ms`);
      assert.ok(next >= 0);
      // The same load from another client id on the same broker: never throttled.
      for (let i = 0; i < sent + 5; i++) assert.equal(await produceReq(fast, 'raw-fast', records), 0);
    } finally {
      slow.close();
      fast.close();
    }
    await alter([{ entity: [client('raw-slow')], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] }]);
  });

  test('a consumer over consumer_byte_rate: an empty answer with throttle_time_ms; another client id gets data', async () => {
    assert.equal(
      (await alter([{ entity: [client('raw-reader')], ops: [{ key: 'consumer_byte_rate', value: 1048576 }] }]))[0]
        ?.errorCode,
      0,
    );
    const c = await RawClient.connect(broker.port);
    const fetchOnce = async (clientId: string) => {
      const r = await c.request(
        ApiKey.Fetch,
        11,
        {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 'q',
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0n,
                  logStartOffset: -1n,
                  partitionMaxBytes: 1 << 20,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
        { clientId },
      );
      const bytes = ((r.responses as Struct[])[0]?.partitions as Struct[] | undefined)?.[0]?.records as
        | Buffer
        | undefined;
      return {
        throttle: r.throttleTimeMs as number,
        responses: (r.responses as Struct[]).length,
        bytes: bytes?.length ?? 0,
      };
    };
    try {
      let f = await fetchOnce('raw-reader');
      assert.ok(f.bytes > 0, 'the topic holds records from the produce test');
      let n = 1;
      while (f.throttle === 0 && n < 60) {
        f = await fetchOnce('raw-reader');
        n++;
      }
      assert.ok(f.throttle > 0, `no throttle_time_ms after ${n} fetches of up to 1 MiB`);
      assert.equal(f.responses, 0, 'a throttled fetch is answered empty, as Kafka does');
      const other = await fetchOnce('raw-other');
      assert.equal(other.throttle, 0);
      assert.ok(other.bytes > 0);
    } finally {
      c.close();
    }
    await alter([{ entity: [client('raw-reader')], ops: [{ key: 'consumer_byte_rate', value: 0, remove: true }] }]);
  });

  test('kcat limited to 1 MB/s is throttled (librdkafka reports the throttle times); an unthrottled kcat is not', async () => {
    assert.equal(
      (await alter([{ entity: [client('kcat-slow')], ops: [{ key: 'producer_byte_rate', value: 1048576 }] }]))[0]
        ?.errorCode,
      0,
    );
    // 8 MB of 1000-character lines.
    const line = 'x'.repeat(999);
    const data = `${Array.from({ length: 8000 }, () => line).join('\n')}\n`;
    const file = join(work, 'lines');
    writeFileSync(file, data);
    const fast = await kcat(['-P', '-t', 'q', '-X', 'client.id=kcat-fast', '-l', file]);
    assert.deepEqual(throttles(fast.stderr), [], 'the unthrottled producer was told to wait');
    const t0 = Date.now();
    const slow = await kcat(['-P', '-t', 'q', '-X', 'client.id=kcat-slow', '-l', file]);
    const seconds = (Date.now() - t0) / 1000;
    const told = throttles(slow.stderr);
    assert.ok(
      told.some((ms) => ms > 0),
      `kcat-slow was never throttled (took ${seconds} s): ${slow.stderr.slice(0, 500)}`,
    );
    // 8 MB at 1 MiB/s cannot be done in 3 s (the burst, quota.window.num 3 x 1 s, lets 3 MiB through at once,
    // the other ~4.9 MB take 4.6 s): a generous lower bound showing the throttle held it back, not a speed
    // figure (bench/quota.sh measures the rate).
    assert.ok(seconds > 3, `8 MB at 1 MiB/s delivered in ${seconds} s`);
    await alter([{ entity: [client('kcat-slow')], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] }]);
  });
});
