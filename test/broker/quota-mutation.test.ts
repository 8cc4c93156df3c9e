/**
 * controller_mutation_rate (issue 19, KIP-599) against a real `kstream serve`, over raw requests (none of the
 * installed Kafka clients sends CreateTopics v6 / DeleteTopics v5 with quotas in mind) and kstream's CLI:
 * partitions created or deleted per second, metered per quota entity with a token bucket whose burst is
 * quota x controller.quota.window.num x controller.quota.window.size.seconds. From CreateTopics v6,
 * CreatePartitions v3 and DeleteTopics v5 a topic met with the bucket already below zero is refused with
 * THROTTLING_QUOTA_EXCEEDED and nothing of it is done, while the topics before it are; older versions are done
 * and throttled. Each case uses its own client id (the bucket belongs to the entity, and the throttles here are
 * tens of seconds: a throttled connection is muted that long, so each case opens its own connection).
 *
 * The numbers: controller_mutation_rate 0.1 per second with the default window (11 x 1 s) gives a burst of
 * 1.1 partitions; a topic of 4 partitions takes the bucket to -2.9, which takes 29 s to refill, far longer than
 * the test takes to send the next topic, so the refusal does not depend on the machine's speed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: BrokerProcess;
let admin: RawClient;
const conns: RawClient[] = [];

const RATE = 0.1;
/** The most a throttle can be here: the deepest debt a case runs into (3.9 partitions) at 0.1 per second. */
const MAX_THROTTLE_MS = 39_000;

async function conn(): Promise<RawClient> {
  const c = await RawClient.connect(broker.port);
  conns.push(c);
  return c;
}

async function setQuota(clientId: string, key: string, value: number | null): Promise<void> {
  const r = await admin.request(ApiKey.AlterClientQuotas, 1, {
    entries: [
      {
        entity: [{ entityType: 'client-id', entityName: clientId }],
        ops: [{ key, value: value ?? 0, remove: value === null }],
      },
    ],
    validateOnly: false,
  });
  assert.equal((r.entries as Struct[])[0]?.errorCode, 0, JSON.stringify(r.entries));
}

async function createTopics(
  c: RawClient,
  clientId: string,
  version: number,
  topics: [string, number][],
  validateOnly = false,
): Promise<{ throttle: number; codes: Record<string, number>; messages: Record<string, string | null> }> {
  const r = await c.request(
    ApiKey.CreateTopics,
    version,
    {
      topics: topics.map(([name, n]) => ({
        name,
        numPartitions: n,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 30_000,
      validateOnly,
    },
    { clientId },
  );
  const codes: Record<string, number> = {};
  const messages: Record<string, string | null> = {};
  for (const t of r.topics as Struct[]) {
    codes[t.name as string] = t.errorCode as number;
    messages[t.name as string] = t.errorMessage as string | null;
  }
  return { throttle: r.throttleTimeMs as number, codes, messages };
}

async function deleteTopics(c: RawClient, clientId: string, version: number, names: string[]) {
  const r = await c.request(ApiKey.DeleteTopics, version, { topicNames: names, timeoutMs: 30_000 }, { clientId });
  const codes: Record<string, number> = {};
  const messages: Record<string, string | null> = {};
  for (const t of r.responses as Struct[]) {
    codes[t.name as string] = t.errorCode as number;
    messages[t.name as string] = (t.errorMessage as string | null | undefined) ?? null;
  }
  return { throttle: r.throttleTimeMs as number, codes, messages };
}

async function createPartitions(c: RawClient, clientId: string, version: number, counts: [string, number][]) {
  const r = await c.request(
    ApiKey.CreatePartitions,
    version,
    {
      topics: counts.map(([name, count]) => ({ name, count, assignments: null })),
      timeoutMs: 30_000,
      validateOnly: false,
    },
    { clientId },
  );
  const codes: Record<string, number> = {};
  for (const t of r.results as Struct[]) codes[t.name as string] = t.errorCode as number;
  return { throttle: r.throttleTimeMs as number, codes };
}

/** Partition count of each topic (-1: it does not exist), from Metadata. */
async function partitionsOf(names: string[]): Promise<Record<string, number>> {
  const r = await admin.request(ApiKey.Metadata, 9, {
    topics: names.map((name) => ({ name })),
    allowAutoTopicCreation: false,
  });
  const out: Record<string, number> = {};
  for (const t of r.topics as Struct[]) {
    out[t.name as string] =
      t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? -1 : (t.partitions as Struct[]).length;
  }
  return out;
}

const throttled = (ms: number) => ms > 0 && ms <= MAX_THROTTLE_MS;

describe('controller_mutation_rate', () => {
  before(async () => {
    broker = await startBroker();
    admin = await RawClient.connect(broker.port);
  });
  after(async () => {
    for (const c of conns) c.close();
    admin?.close();
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });

  test('CreateTopics v6: the topics after the bucket went below zero get THROTTLING_QUOTA_EXCEEDED, nothing of them is created, the answer is throttled', async () => {
    await setQuota('mut-create', 'controller_mutation_rate', RATE);
    const r = await createTopics(await conn(), 'mut-create', 6, [
      ['ct-a', 4],
      ['ct-b', 1],
      ['ct-c', 2],
    ]);
    // ct-a fits while credit is left (1.1 >= 0) and takes the bucket to -2.9; ct-b and ct-c meet it below zero.
    assert.deepEqual(r.codes, {
      'ct-a': 0,
      'ct-b': ErrorCode.THROTTLING_QUOTA_EXCEEDED,
      'ct-c': ErrorCode.THROTTLING_QUOTA_EXCEEDED,
    });
    assert.match(String(r.messages['ct-b']), /controller_mutation_rate/);
    assert.ok(throttled(r.throttle), `throttle_time_ms ${r.throttle}`);
    assert.deepEqual(await partitionsOf(['ct-a', 'ct-b', 'ct-c']), { 'ct-a': 4, 'ct-b': -1, 'ct-c': -1 });
    // The same request from a client without a quota: everything is created, no throttle.
    const free = await createTopics(await conn(), 'mut-free', 6, [
      ['ct-b', 1],
      ['ct-c', 2],
      ['ct-d', 4],
    ]);
    assert.deepEqual(free, {
      throttle: 0,
      codes: { 'ct-b': 0, 'ct-c': 0, 'ct-d': 0 },
      messages: { 'ct-b': null, 'ct-c': null, 'ct-d': null },
    });
  });

  test('CreateTopics v5 (before KIP-599 made it strict): every topic is created and the answer is throttled', async () => {
    await setQuota('mut-old', 'controller_mutation_rate', RATE);
    const r = await createTopics(await conn(), 'mut-old', 5, [
      ['old-a', 4],
      ['old-b', 1],
    ]);
    assert.deepEqual(r.codes, { 'old-a': 0, 'old-b': 0 });
    assert.ok(throttled(r.throttle), `throttle_time_ms ${r.throttle}`);
    assert.deepEqual(await partitionsOf(['old-a', 'old-b']), { 'old-a': 4, 'old-b': 1 });
  });

  test('CreateTopics v6 validate_only is metered as a creation (as Kafka’s controller does) and creates nothing', async () => {
    await setQuota('mut-validate', 'controller_mutation_rate', RATE);
    const r = await createTopics(
      await conn(),
      'mut-validate',
      6,
      [
        ['vo-a', 4],
        ['vo-b', 1],
      ],
      true,
    );
    assert.deepEqual(r.codes, { 'vo-a': 0, 'vo-b': ErrorCode.THROTTLING_QUOTA_EXCEEDED });
    assert.ok(throttled(r.throttle), `throttle_time_ms ${r.throttle}`);
    assert.deepEqual(await partitionsOf(['vo-a', 'vo-b']), { 'vo-a': -1, 'vo-b': -1 });
    // A topic refused for another reason (it exists) spends nothing: a fresh client's burst still covers one.
    await setQuota('mut-exists', 'controller_mutation_rate', RATE);
    const c = await conn();
    const e = await createTopics(c, 'mut-exists', 6, [
      ['old-a', 1],
      ['vo-c', 1],
    ]);
    assert.deepEqual(e.codes, { 'old-a': ErrorCode.TOPIC_ALREADY_EXISTS, 'vo-c': 0 });
    assert.equal(e.throttle, 0);
  });

  test('CreatePartitions v3: strict per topic; v2: done and throttled', async () => {
    const free = await createTopics(await conn(), 'mut-free', 6, [
      ['cp-a', 1],
      ['cp-b', 1],
      ['cp-c', 1],
      ['cp-d', 1],
    ]);
    assert.deepEqual(Object.values(free.codes), [0, 0, 0, 0]);
    await setQuota('mut-parts', 'controller_mutation_rate', RATE);
    const r = await createPartitions(await conn(), 'mut-parts', 3, [
      ['cp-a', 5],
      ['cp-b', 2],
    ]);
    assert.deepEqual(r.codes, { 'cp-a': 0, 'cp-b': ErrorCode.THROTTLING_QUOTA_EXCEEDED });
    assert.ok(throttled(r.throttle), `throttle_time_ms ${r.throttle}`);
    assert.deepEqual(await partitionsOf(['cp-a', 'cp-b']), { 'cp-a': 5, 'cp-b': 1 });

    await setQuota('mut-parts-old', 'controller_mutation_rate', RATE);
    const old = await createPartitions(await conn(), 'mut-parts-old', 2, [
      ['cp-c', 5],
      ['cp-d', 2],
    ]);
    assert.deepEqual(old.codes, { 'cp-c': 0, 'cp-d': 0 });
    assert.ok(throttled(old.throttle), `throttle_time_ms ${old.throttle}`);
    assert.deepEqual(await partitionsOf(['cp-c', 'cp-d']), { 'cp-c': 5, 'cp-d': 2 });
  });

  test('DeleteTopics v5: strict per topic, the refused topic stays; v4: done and throttled', async () => {
    const free = await createTopics(await conn(), 'mut-free', 6, [
      ['dt-a', 4],
      ['dt-b', 1],
      ['dt-c', 4],
      ['dt-d', 1],
    ]);
    assert.deepEqual(Object.values(free.codes), [0, 0, 0, 0]);
    await setQuota('mut-delete', 'controller_mutation_rate', RATE);
    const r = await deleteTopics(await conn(), 'mut-delete', 5, ['dt-a', 'dt-b']);
    assert.deepEqual(r.codes, { 'dt-a': 0, 'dt-b': ErrorCode.THROTTLING_QUOTA_EXCEEDED });
    assert.match(String(r.messages['dt-b']), /controller_mutation_rate/);
    assert.ok(throttled(r.throttle), `throttle_time_ms ${r.throttle}`);
    assert.deepEqual(await partitionsOf(['dt-a', 'dt-b']), { 'dt-a': -1, 'dt-b': 1 });

    await setQuota('mut-delete-old', 'controller_mutation_rate', RATE);
    const old = await deleteTopics(await conn(), 'mut-delete-old', 4, ['dt-c', 'dt-d']);
    assert.deepEqual(old.codes, { 'dt-c': 0, 'dt-d': 0 });
    assert.ok(throttled(old.throttle), `throttle_time_ms ${old.throttle}`);
    assert.deepEqual(await partitionsOf(['dt-c', 'dt-d']), { 'dt-c': -1, 'dt-d': -1 });
  });

  test('kstream quota alter sets controller_mutation_rate and request_percentage; kstream topic create is refused over it', async () => {
    const b = ['-b', `127.0.0.1:${broker.port}`];
    // The CLI's client id is kstream-cli. 0.25 partitions per second: a burst of 2.75; the first topic of 4
    // takes the bucket to -1.25 (5 s to refill, the throttle: short enough for the CLI's next request on that
    // connection to be answered within its timeout once the mute is over).
    let r = await kstream([
      'quota',
      'alter',
      ...b,
      '--client-id',
      'kstream-cli',
      '--add-config',
      'controller_mutation_rate=0.25,request_percentage=250.5',
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await kstream(['quota', 'describe', ...b, '--client-id', 'kstream-cli', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      { clientId: 'kstream-cli', values: { controller_mutation_rate: 0.25, request_percentage: 250.5 } },
    ]);
    r = await kstream(['topic', 'create', ...b, 'cli-a', 'cli-b', '-p', '4'], { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /cli-a\s+OK/);
    assert.match(r.stdout, /cli-b\s+THROTTLING_QUOTA_EXCEEDED/);
    assert.deepEqual(await partitionsOf(['cli-a', 'cli-b']), { 'cli-a': 4, 'cli-b': -1 });
    r = await kstream([
      'quota',
      'alter',
      ...b,
      '--client-id',
      'kstream-cli',
      '--delete-config',
      'controller_mutation_rate,request_percentage',
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await kstream(['quota', 'describe', ...b, '--client-id', 'kstream-cli', '-o', 'json']);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  test('bad values of request_percentage and controller_mutation_rate: INVALID_REQUEST, nothing stored', async () => {
    await setQuota('keep', 'request_percentage', 12.5);
    const before = await admin.request(ApiKey.DescribeClientQuotas, 1, { components: [], strict: false });
    const cases: [string, number, RegExp][] = [
      ['request_percentage', 0, /greater than 0/],
      ['request_percentage', -5, /greater than 0/],
      ['request_percentage', Number.NaN, /must be a number/],
      ['request_percentage', Number.POSITIVE_INFINITY, /finite/],
      ['controller_mutation_rate', -0.5, /greater than 0/],
      ['controller_mutation_rate', 0, /greater than 0/],
      ['controller_mutation_rate', Number.POSITIVE_INFINITY, /finite/],
    ];
    // One request per case (the same entity twice in a request is refused as a duplicate).
    for (const [key, value, why] of cases) {
      const one = await admin.request(ApiKey.AlterClientQuotas, 1, {
        entries: [{ entity: [{ entityType: 'client-id', entityName: 'keep' }], ops: [{ key, value, remove: false }] }],
        validateOnly: false,
      });
      const e = (one.entries as Struct[])[0] as Struct;
      assert.equal(e.errorCode, ErrorCode.INVALID_REQUEST, `${key}=${value}`);
      assert.match(String(e.errorMessage), why, `${key}=${value}`);
    }
    // Fractions are fine for these doubles (not for the byte rates).
    const frac = await admin.request(ApiKey.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'keep' }],
          ops: [{ key: 'controller_mutation_rate', value: 0.25, remove: false }],
        },
      ],
      validateOnly: true,
    });
    assert.equal((frac.entries as Struct[])[0]?.errorCode, 0);
    const after = await admin.request(ApiKey.DescribeClientQuotas, 1, { components: [], strict: false });
    assert.deepEqual(after.entries, before.entries);
    // The CLI: a broker refusal is a row and exit 1; a value that is not a number, one line and a usage exit.
    const b = ['-b', `127.0.0.1:${broker.port}`];
    let c = await kstream(['quota', 'alter', ...b, '--client-id', 'keep', '--add-config', 'request_percentage=-1']);
    assert.equal(c.code, 1);
    assert.match(c.stdout, /INVALID_REQUEST: Quota request_percentage must be greater than 0/);
    c = await kstream(['quota', 'alter', ...b, '--client-id', 'keep', '--add-config', 'controller_mutation_rate=fast']);
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /^kstream: .+\n$/);
    const last = await admin.request(ApiKey.DescribeClientQuotas, 1, { components: [], strict: false });
    assert.deepEqual(last.entries, before.entries);
  });
});
