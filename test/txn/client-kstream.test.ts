/**
 * Issue 17, kstream's own client and CLI against a real `kstream serve`: the transactional producer commits
 * and aborts; `kstream consume --isolation read_committed` shows the committed records only (and the records
 * written outside transactions), read_uncommitted all of them, and kcat (librdkafka) with
 * isolation.level=read_committed agrees; an open transaction holds read_committed readers back at its first
 * record (and `kstream txn list` / `txn describe` show it) until it commits; sendOffsetsToTransaction commits
 * a group's offsets with the transaction only; a second instance with the same transactional id fences the
 * first (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH, as Kafka answers); `kstream produce --transactional-id`
 * writes in transactions of --txn-size records.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Admin, Consumer, ErrorCode, KafkaError, Producer } from '../../src/client/index.js';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
const hasKcat = spawnSync('kcat', ['-V']).status === 0;

let broker: BrokerProcess;
let admin: Admin;
const producers: Producer[] = [];

function producer(transactionalId: string, extra: Record<string, unknown> = {}): Producer {
  const p = new Producer({ brokers: broker.bootstrap, transactionalId, lingerMs: 1, ...extra });
  producers.push(p);
  return p;
}

/** `kstream consume TOPIC --from-beginning -e` with an isolation level: the values, sorted. */
async function consumeValues(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const r = await kstream(
    ['consume', topic, '--from-beginning', '-e', '--isolation', isolation, '-f', '%v\\n', '-b', broker.bootstrap],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

async function kcatValues(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const { stdout } = await run(
    'kcat',
    ['-b', broker.bootstrap, '-C', '-t', topic, '-e', '-q', '-X', `isolation.level=${isolation}`, '-f', '%s\n'],
    { timeout: 60_000 },
  );
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

/**
 * Until read_committed may read every record of `topic`'s partitions: the last stable offset at the high
 * watermark. A commit returns once its decision is durable; its markers follow, as in Kafka.
 */
async function untilStable(topic: string, partitions: number): Promise<void> {
  const specs = Array.from({ length: partitions }, (_, partition) => ({ topic, partition, spec: 'latest' as const }));
  await until(`${topic}: the last stable offset at the high watermark`, async () => {
    const hw = await admin.listOffsets(specs, { isolationLevel: 0 });
    const lso = await admin.listOffsets(specs, { isolationLevel: 1 });
    return hw.every((h, i) => h.error === null && lso[i]!.error === null && h.offset === lso[i]!.offset);
  });
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("kstream's transactional client and CLI against kstream serve (issue 17)", { timeout: 300_000 }, () => {
  before(async () => {
    broker = await startBroker();
    admin = new Admin({ brokers: broker.bootstrap });
    const created = await admin.createTopics([
      { topic: 'txc', numPartitions: 3 },
      { topic: 'txc-open', numPartitions: 2 },
      { topic: 'txc-src', numPartitions: 2 },
      { topic: 'txc-dst', numPartitions: 2 },
      { topic: 'txc-cli', numPartitions: 2 },
      { topic: 'txc-fence', numPartitions: 1 },
    ]);
    for (const c of created) assert.equal(c.error, null, c.error?.message);
  });

  after(async () => {
    for (const p of producers) await p.close().catch(() => {});
    await admin?.close().catch(() => {});
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('commit and abort: read_committed sees the committed records only, read_uncommitted all; kcat agrees', async () => {
    const tx = producer('txc-1');
    assert.equal(tx.transactionState, 'uninitialized');
    await assert.rejects(tx.send({ topic: 'txc', value: 'early' }), (e: unknown) => {
      assert.ok(e instanceof KafkaError && e.code === ErrorCode.INVALID_TXN_STATE, String(e));
      return true;
    });
    await tx.initTransactions();
    assert.equal(tx.transactionState, 'ready');

    tx.beginTransaction();
    await tx.sendBatch(values('committed-a', 30).map((v, i) => ({ topic: 'txc', key: `k${i}`, value: v })));
    await tx.commitTransaction();

    tx.beginTransaction();
    await tx.sendBatch(values('aborted', 30).map((v, i) => ({ topic: 'txc', key: `k${i}`, value: v })));
    await tx.abortTransaction();
    assert.equal(tx.transactionState, 'ready');

    // Records written outside any transaction are read in both isolation levels.
    const plain = new Producer({ brokers: broker.bootstrap });
    producers.push(plain);
    await plain.sendBatch(values('plain', 5).map((v) => ({ topic: 'txc', value: v })));

    tx.beginTransaction();
    await tx.sendBatch(values('committed-b', 30).map((v, i) => ({ topic: 'txc', key: `k${i}`, value: v })));
    await tx.commitTransaction();

    const committed = [...values('committed-a', 30), ...values('plain', 5), ...values('committed-b', 30)].sort();
    const all = [...committed, ...values('aborted', 30)].sort();
    await untilStable('txc', 3);
    assert.deepEqual(await consumeValues('txc', 'read_committed'), committed);
    assert.deepEqual(await consumeValues('txc', 'read_uncommitted'), all);
    if (hasKcat) {
      assert.deepEqual(await kcatValues('txc', 'read_committed'), committed, 'kcat read_committed agrees');
      assert.deepEqual(await kcatValues('txc', 'read_uncommitted'), all, 'kcat read_uncommitted agrees');
    }

    // The client's own consumer, read_committed, with records() and untilEnd.
    const consumer = new Consumer({ brokers: broker.bootstrap, isolation: 'read_committed' });
    try {
      consumer.assign([0, 1, 2].map((partition) => ({ topic: 'txc', partition, offset: 'earliest' as const })));
      const seen: string[] = [];
      for await (const r of consumer.records({ untilEnd: true })) seen.push(r.value!.toString());
      assert.deepEqual(seen.sort(), committed);
    } finally {
      await consumer.close();
    }
  });

  test('an open transaction holds read_committed readers back until it commits; txn list / describe show it', async () => {
    const before = producer('txc-before');
    await before.initTransactions();
    before.beginTransaction();
    await before.sendBatch(values('first', 4).map((v) => ({ topic: 'txc-open', partition: 0, value: v })));
    await before.commitTransaction();

    const open = producer('txc-open-1', { transactionTimeoutMs: 120_000 });
    await open.initTransactions();
    open.beginTransaction();
    await open.sendBatch(values('pending', 3).map((v) => ({ topic: 'txc-open', partition: 0, value: v })));
    // Written after the open transaction's first record: read_committed readers wait for it too.
    const plain = new Producer({ brokers: broker.bootstrap });
    producers.push(plain);
    await plain.send({ topic: 'txc-open', partition: 0, value: 'after' });

    assert.deepEqual(await consumeValues('txc-open', 'read_committed'), values('first', 4));
    assert.deepEqual(
      await consumeValues('txc-open', 'read_uncommitted'),
      [...values('first', 4), ...values('pending', 3), 'after'].sort(),
    );

    const list = await kstream(['txn', 'list', '--state', 'ongoing', '-o', 'json', '-b', broker.bootstrap]);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { transactionalId: string; state: string; producerId: number }[];
    assert.deepEqual(
      listed.map((t) => [t.transactionalId, t.state]),
      [['txc-open-1', 'Ongoing']],
    );
    const table = await kstream(['txn', 'list', '-b', broker.bootstrap]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TRANSACTIONAL-ID\s+STATE\s+PRODUCER-ID$/m);
    assert.match(table.stdout, /^txc-open-1\s+Ongoing\s+\d+$/m);
    assert.match(table.stdout, /^txc-before\s+\w+\s+\d+$/m, 'finished transactional ids are listed too');
    const byPid = await kstream([
      'txn',
      'list',
      '--producer-id',
      String(listed[0]!.producerId),
      '-o',
      'json',
      '-b',
      broker.bootstrap,
    ]);
    assert.deepEqual(
      (JSON.parse(byPid.stdout) as { transactionalId: string }[]).map((t) => t.transactionalId),
      ['txc-open-1'],
    );

    const described = await kstream(['txn', 'describe', 'txc-open-1', '-o', 'json', '-b', broker.bootstrap]);
    assert.equal(described.code, 0, described.stderr);
    const d = JSON.parse(described.stdout) as {
      state: string;
      producerId: number;
      producerEpoch: number;
      timeoutMs: number;
      startTimeMs: number | null;
      partitions: { topic: string; partition: number }[];
    };
    assert.equal(d.state, 'Ongoing');
    assert.equal(d.producerId, listed[0]!.producerId);
    assert.equal(d.timeoutMs, 120_000);
    assert.ok(d.startTimeMs !== null && d.startTimeMs > Date.now() - 300_000 && d.startTimeMs <= Date.now());
    assert.deepEqual(d.partitions, [{ topic: 'txc-open', partition: 0 }]);
    const text = await kstream(['txn', 'describe', 'txc-open-1', '-b', broker.bootstrap]);
    assert.match(text.stdout, /^STATE\s+Ongoing$/m);
    assert.match(text.stdout, /^TIMEOUT\s+120000 ms$/m);
    assert.match(text.stdout, /^PARTITIONS\nTOPIC\s+PARTITION\ntxc-open\s+0$/m);

    await open.commitTransaction();
    await untilStable('txc-open', 2);
    assert.deepEqual(
      await consumeValues('txc-open', 'read_committed'),
      [...values('first', 4), ...values('pending', 3), 'after'].sort(),
    );
    const after = JSON.parse(
      (await kstream(['txn', 'describe', 'txc-open-1', '-o', 'json', '-b', broker.bootstrap])).stdout,
    ) as { state: string; partitions: unknown[] };
    assert.notEqual(after.state, 'Ongoing');
    assert.deepEqual(after.partitions, []);
  });

  test('txn describe / list: bad input gets one clear line and a non-zero exit', async () => {
    const unknown = await kstream(['txn', 'describe', 'no-such-txn-id', '-b', broker.bootstrap]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'kstream: transactional id no-such-txn-id does not exist\n');
    const state = await kstream(['txn', 'list', '--state', 'Sleeping', '-b', broker.bootstrap]);
    assert.equal(state.code, 2);
    assert.match(state.stderr, /^kstream: unknown --state Sleeping \(one of Empty, Ongoing, /);
    const pid = await kstream(['txn', 'list', '--producer-id', 'x1', '-b', broker.bootstrap]);
    assert.equal(pid.code, 2);
    assert.equal(pid.stderr, 'kstream: invalid --producer-id x1: expected a producer id (a number >= 0)\n');
  });

  test('sendOffsetsToTransaction: the group offsets are committed with the transaction, not with an abort', async () => {
    const src = new Producer({ brokers: broker.bootstrap });
    producers.push(src);
    await src.sendBatch(values('in', 20).map((v, i) => ({ topic: 'txc-src', partition: i % 2, value: v })));

    const group = 'txc-copier';
    const copier = producer('txc-copier-1');
    await copier.initTransactions();
    const consumer = new Consumer({
      brokers: broker.bootstrap,
      groupId: group,
      isolation: 'read_committed',
      autoCommit: false,
      autoOffsetReset: 'earliest',
    });
    try {
      consumer.subscribe(['txc-src']);
      // A first transaction copies what is there and is aborted: neither the copies nor the offsets count.
      const copyAll = async (commit: boolean) => {
        copier.beginTransaction();
        const positions = new Map<number, bigint>();
        let n = 0;
        for await (const r of consumer.records()) {
          await copier.send({ topic: 'txc-dst', partition: r.partition, value: `copy-${r.value!.toString()}` });
          positions.set(r.partition, r.offset + 1n);
          if (++n === 20) break;
        }
        const meta = consumer.groupMetadata();
        assert.ok(meta && meta.generationId > 0 && meta.memberId !== '', 'a member of the group');
        await copier.sendOffsetsToTransaction(
          [...positions].map(([partition, offset]) => ({ topic: 'txc-src', partition, offset })),
          meta,
        );
        if (commit) await copier.commitTransaction();
        else await copier.abortTransaction();
      };
      await copyAll(false);
      const none = await admin.listConsumerGroupOffsets(group, [
        { topic: 'txc-src', partition: 0 },
        { topic: 'txc-src', partition: 1 },
      ]);
      assert.deepEqual(
        none.map((o) => o.offset),
        [-1n, -1n],
        'an aborted transaction commits no offsets',
      );
      // Again from the start (the consumer's positions moved on: seek back), this time committed.
      for (const partition of [0, 1]) consumer.seek({ topic: 'txc-src', partition }, 0n);
      await copyAll(true);
    } finally {
      await consumer.close();
    }
    const committed = await until('the transaction offsets to be readable', async () => {
      const offsets = await admin.listConsumerGroupOffsets(group, [
        { topic: 'txc-src', partition: 0 },
        { topic: 'txc-src', partition: 1 },
      ]);
      return offsets.every((o) => o.offset === 10n) ? offsets : null;
    });
    assert.equal(committed.length, 2);
    await untilStable('txc-dst', 2);
    assert.deepEqual(
      await consumeValues('txc-dst', 'read_committed'),
      values('in', 20)
        .map((v) => `copy-${v}`)
        .sort(),
    );
    assert.equal((await consumeValues('txc-dst', 'read_uncommitted')).length, 40, 'the aborted copies are stored');
  });

  test('a second instance with the same transactional id fences the first: its commit fails, for good', async () => {
    const zombie = producer('txc-fenced');
    await zombie.initTransactions();
    zombie.beginTransaction();
    await zombie.send({ topic: 'txc-fence', value: 'zombie' });
    const fresh = producer('txc-fenced');
    // Fences the zombie and aborts its open transaction.
    await fresh.initTransactions();
    await assert.rejects(zombie.commitTransaction(), (e: unknown) => {
      assert.ok(e instanceof KafkaError, String(e));
      assert.ok(
        e.code === ErrorCode.PRODUCER_FENCED || e.code === ErrorCode.INVALID_PRODUCER_EPOCH,
        `PRODUCER_FENCED or INVALID_PRODUCER_EPOCH, got ${e.message}`,
      );
      return true;
    });
    assert.equal(zombie.transactionState, 'fatal-error');
    assert.throws(() => zombie.beginTransaction(), /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/);
    fresh.beginTransaction();
    await fresh.send({ topic: 'txc-fence', value: 'fresh' });
    await fresh.commitTransaction();
    await untilStable('txc-fence', 1);
    assert.deepEqual(await consumeValues('txc-fence', 'read_committed'), ['fresh']);
  });

  test('kstream produce --transactional-id --txn-size: one transaction per N records, read back committed', async () => {
    const input = `${values('cli', 25).join('\n')}\n`;
    const r = await kstream(
      ['produce', 'txc-cli', '--transactional-id', 'txc-cli-1', '--txn-size', '10', '-b', broker.bootstrap],
      { input, timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^produced 25 records, .* to txc-cli in 3 transactions\n$/m);
    const json = await kstream(
      ['produce', 'txc-cli', '--transactional-id', 'txc-cli-1', '-o', 'json', '-b', broker.bootstrap],
      { input: 'one\ntwo\n', timeoutMs: 60_000 },
    );
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { transactions: number }).transactions, 1);
    await untilStable('txc-cli', 2);
    assert.deepEqual(await consumeValues('txc-cli', 'read_committed'), [...values('cli', 25), 'one', 'two'].sort());

    const usage = await kstream([
      'produce',
      'txc-cli',
      '--transactional-id',
      'x',
      '--acks',
      '1',
      '-b',
      broker.bootstrap,
    ]);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, 'kstream: --transactional-id needs --acks all (got --acks 1)\n');
    const noIdem = await kstream([
      'produce',
      'txc-cli',
      '--transactional-id',
      'x',
      '--no-idempotence',
      '-b',
      broker.bootstrap,
    ]);
    assert.equal(noIdem.code, 2);
    assert.equal(noIdem.stderr, 'kstream: --transactional-id needs idempotence: drop --no-idempotence\n');
    const size = await kstream(['produce', 'txc-cli', '--txn-size', '5', '-b', broker.bootstrap]);
    assert.equal(size.code, 2);
    assert.match(size.stderr, /transactional-id/);
  });
});
