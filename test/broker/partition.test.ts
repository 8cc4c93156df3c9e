/**
 * The Partition (src/broker/partition.ts) over a real PartitionLog in a temp dir: appendAsLeader's
 * durability per acks (acks=1 after the append; acks=all on a one-replica ISR after an fsync covering the
 * batch; with a follower in the ISR once the follower's fetch moved the high watermark past it), its refusals
 * (not the leader, NOT_ENOUGH_REPLICAS), and acks=all waits answered when leadership moves or time runs out.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Partition } from '../../src/broker/partition.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { config, produced, simpleBatch, tempDir } from '../storage/helpers.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function partition(name: string): Promise<{ p: Partition; log: PartitionLog }> {
  const { dir, cleanup } = await tempDir();
  const log = await PartitionLog.open(`${dir}/${name}-0`, config());
  cleanups.push(async () => {
    await log.close();
    await cleanup();
  });
  return { p: new Partition(name, 0, log, 1), log };
}

const code = (e: unknown) => (e instanceof KafkaError ? e.code : -1);

describe('Partition.appendAsLeader', () => {
  test('alone in the ISR: acks=1 is answered after the append, acks=all after an fsync covering the batch', async () => {
    const { p, log } = await partition('alone');
    p.becomeLeader(0, [1], [1], Date.now());
    const one = produced(simpleBatch(3));
    const a = p.appendAsLeader(one.buf, one.batches, { acks: 1, timeoutMs: 1000 });
    await a.durable;
    assert.equal(a.info.lastOffset, 2n);
    assert.equal(log.highWatermark, 3n, 'consumers see it at once');
    assert.equal(log.flushedOffset, 0n, 'acks=1 does not wait for an fsync');
    const all = produced(simpleBatch(2));
    const b = p.appendAsLeader(all.buf, all.batches, { acks: -1, timeoutMs: 1000 });
    assert.equal(log.flushedOffset, 0n);
    await b.durable;
    assert.ok(log.flushedOffset >= 5n, `acks=all answered with the batch on disk (flushed to ${log.flushedOffset})`);
  });

  test('with a follower in the ISR: acks=all waits for its fetch to move the high watermark', async () => {
    const { p, log } = await partition('replicated');
    p.becomeLeader(3, [1, 2], [1, 2], Date.now());
    const batch = produced(simpleBatch(4));
    const a = p.appendAsLeader(batch.buf, batch.batches, { acks: -1, timeoutMs: 5000 });
    let done = false;
    void a.durable.then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'not durable before the follower has it');
    assert.equal(log.highWatermark, 0n);
    p.followerFetched(2, 2n, Date.now());
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'the follower has half of it');
    p.followerFetched(2, 4n, Date.now());
    await a.durable;
    assert.equal(log.highWatermark, 4n);
    assert.equal(log.flushedOffset, 0n, 'replicated: no fsync waited for');
  });

  test('refusals: not the leader, NOT_ENOUGH_REPLICAS; nothing is appended', async () => {
    const { p, log } = await partition('refused');
    const batch = produced(simpleBatch(1));
    assert.throws(
      () => p.appendAsLeader(batch.buf, batch.batches, { acks: 1, timeoutMs: 1000 }),
      (e) => code(e) === ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    p.becomeLeader(0, [1, 2, 3], [1], Date.now());
    assert.throws(
      () => p.appendAsLeader(batch.buf, batch.batches, { acks: -1, timeoutMs: 1000, minInsyncReplicas: 2 }),
      (e) => code(e) === ErrorCode.NOT_ENOUGH_REPLICAS && /min.insync.replicas 2/.test((e as Error).message),
    );
    assert.equal(log.logEndOffset, 0n);
    p.appendAsLeader(batch.buf, batch.batches, { acks: 1, timeoutMs: 1000, minInsyncReplicas: 2 });
    assert.equal(log.logEndOffset, 1n, 'acks=1 is not held to min.insync.replicas');
  });

  test('an acks=all wait ends with NOT_LEADER_OR_FOLLOWER when leadership moves, REQUEST_TIMED_OUT in time', async () => {
    const { p } = await partition('waits');
    p.becomeLeader(0, [1, 2], [1, 2], Date.now());
    const first = produced(simpleBatch(1));
    const timedOut = p.appendAsLeader(first.buf, first.batches, { acks: -1, timeoutMs: 50 });
    await assert.rejects(timedOut.durable, (e) => code(e) === ErrorCode.REQUEST_TIMED_OUT);
    const second = produced(simpleBatch(1));
    const moved = p.appendAsLeader(second.buf, second.batches, { acks: -1, timeoutMs: 60_000 });
    p.becomeFollower(2, 1, [1, 2], [2]);
    await assert.rejects(moved.durable, (e) => code(e) === ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  test('a long poll is woken by an append and by a high watermark the followers move', async () => {
    const { p } = await partition('polls');
    p.becomeLeader(0, [1, 2], [1, 2], Date.now());
    let woken = 0;
    p.addReader(() => woken++);
    const batch = produced(simpleBatch(1));
    p.appendAsLeader(batch.buf, batch.batches, { acks: 1, timeoutMs: 1000 });
    assert.equal(woken, 1, 'the append woke it (once)');
    p.addReader(() => woken++);
    p.followerFetched(2, 1n, Date.now());
    assert.equal(woken, 2, 'the high watermark moved');
  });
});
