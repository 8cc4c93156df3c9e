/**
 * The consumer's iteration on its own: records() and batches() over chunks handed to it by a stand-in for the
 * fetcher (real record batches, no broker). What is asserted is iteration's part: which items are handed out,
 * when a partition's position moves (an item counts as consumed when the next one is asked for, or the loop
 * ends), how control batches and records before the position move it without being handed out, how chunks of
 * paused or sought partitions are treated, and what the fetcher is told when a chunk is done.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AssignedPartition } from '../../src/client/consumer/assigned-partition.js';
import type { FetchedChunk } from '../../src/client/consumer/fetcher.js';
import { type ChunkSource, Iteration } from '../../src/client/consumer/iteration.js';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/record.js';

/** Batches of `count` records each from `base`, values "0", "1", … by offset. */
async function dataBatch(base: number, count: number): Promise<Buffer> {
  return buildBatch({
    baseOffset: BigInt(base),
    records: Array.from({ length: count }, (_, i) => ({ value: String(base + i) })),
  });
}

/** A commit marker (control batch) at `offset`. */
async function controlBatch(offset: number): Promise<Buffer> {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0); // version
  key.writeInt16BE(1, 2); // commit
  return buildBatch({
    baseOffset: BigInt(offset),
    attributesExtra: ATTR_TRANSACTIONAL | ATTR_CONTROL,
    records: [{ key, value: Buffer.alloc(6) }],
  });
}

/** A transactional producer's batch of `count` records from `base` (values by offset). */
async function txnBatch(base: number, count: number, producerId: bigint): Promise<Buffer> {
  return buildBatch({
    baseOffset: BigInt(base),
    producerId,
    producerEpoch: 0,
    baseSequence: base,
    attributesExtra: ATTR_TRANSACTIONAL,
    records: Array.from({ length: count }, (_, i) => ({ value: String(base + i) })),
  });
}

/** A transaction marker of `producerId` at `offset`: COMMIT or ABORT. */
async function marker(offset: number, producerId: bigint, type: 'commit' | 'abort'): Promise<Buffer> {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === 'commit' ? 1 : 0, 2);
  return buildBatch({
    baseOffset: BigInt(offset),
    producerId,
    producerEpoch: 0,
    attributesExtra: ATTR_TRANSACTIONAL | ATTR_CONTROL,
    records: [{ key, value: Buffer.alloc(6) }],
  });
}

/** The fetcher's side, kept minimal: chunks in order, and a log of what iteration reported. */
class Chunks implements ChunkSource {
  fatal: Error | null = null;
  closed = false;
  readonly done: { offsetOfChunk: bigint; completed: boolean }[] = [];
  private readonly queue: FetchedChunk[] = [];
  private wakeups: (() => void)[] = [];

  add(
    p: AssignedPartition,
    parts: Buffer[],
    nextOffset: bigint,
    aborted?: { producerId: bigint; firstOffset: bigint }[],
  ): FetchedChunk {
    const chunk = { partition: p, incarnation: p.incarnation, records: Buffer.concat(parts), nextOffset, aborted };
    this.queue.push(chunk);
    this.wake();
    return chunk;
  }
  wake(): void {
    const ws = this.wakeups;
    this.wakeups = [];
    for (const w of ws) w();
  }
  takeChunk(): FetchedChunk | undefined {
    return this.queue.shift();
  }
  holdBack(c: FetchedChunk): void {
    this.queue.push(c);
  }
  isLive(c: FetchedChunk): boolean {
    return c.incarnation === c.partition.incarnation;
  }
  onlyPausedBuffered(): boolean {
    return this.queue.every((c) => c.partition.paused);
  }
  caughtUp(): boolean {
    return this.queue.length === 0;
  }
  chunkDone(c: FetchedChunk, completed: boolean): void {
    this.done.push({ offsetOfChunk: c.nextOffset, completed });
  }
  changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      this.wakeups.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

function setup() {
  const chunks = new Chunks();
  const iteration = new Iteration(chunks, { start() {}, groupStable: () => true });
  return { chunks, iteration };
}

function partitionAt(position: number, partition = 0): AssignedPartition {
  const p = new AssignedPartition('t', partition, 1 << 20);
  p.setTarget(position);
  return p;
}

const numberIn = (v: Buffer | null) => Number(v!.toString());

describe('consumer iteration', () => {
  test('records(): a record is consumed when the next is asked for; leaving midway consumes the last one handed out', async () => {
    const { chunks, iteration } = setup();
    const p = partitionAt(0);
    chunks.add(p, [await dataBatch(0, 5)], 5n);
    const it = iteration.records({});
    let r = await it.next();
    assert.equal(r.value?.offset, 0n);
    assert.equal(p.position, 0n, 'record 0 is being processed: not consumed yet');
    r = await it.next();
    assert.equal(r.value?.offset, 1n);
    assert.equal(p.position, 1n, 'asking for record 1 consumed record 0');
    await it.return();
    assert.equal(p.position, 2n, 'leaving the loop consumed record 1 (handed out), not record 2');
    assert.deepEqual(chunks.done, [{ offsetOfChunk: 5n, completed: false }], 'the chunk was left midway');
  });

  test('batches(): a batch is consumed when the next is asked for; records before the position are left out', async () => {
    const { chunks, iteration } = setup();
    const p = partitionAt(2);
    chunks.add(p, [await dataBatch(0, 5), await dataBatch(5, 5)], 10n);
    const got: number[][] = [];
    const positions: (bigint | null)[] = [];
    for await (const b of iteration.batches({ untilEnd: true })) {
      positions.push(p.position);
      got.push(b.records.map((r) => numberIn(r.value)));
    }
    assert.deepEqual(got, [
      [2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
    assert.deepEqual(positions, [2n, 5n], 'the first batch counted as consumed only when the second was asked for');
    assert.equal(p.position, 10n);
    assert.deepEqual(chunks.done, [{ offsetOfChunk: 10n, completed: true }]);
  });

  for (const mode of ['records', 'batches'] as const) {
    test(`${mode}(): control batches and records before the position move the position and are not handed out`, async () => {
      const { chunks, iteration } = setup();
      const p = partitionAt(1);
      chunks.add(p, [await dataBatch(0, 3), await controlBatch(3), await dataBatch(4, 2), await controlBatch(6)], 7n);
      const values: number[] = [];
      if (mode === 'records') {
        for await (const r of iteration.records({ untilEnd: true })) values.push(numberIn(r.value));
      } else {
        for await (const b of iteration.batches({ untilEnd: true }))
          for (const r of b.records) values.push(numberIn(r.value));
      }
      assert.deepEqual(values, [1, 2, 4, 5], 'record 0 (before the position) and the markers left out');
      assert.equal(p.position, 7n, 'past the trailing commit marker');
      assert.deepEqual(chunks.done, [{ offsetOfChunk: 7n, completed: true }]);
    });
  }

  for (const mode of ['records', 'batches'] as const) {
    test(`${mode}(): read_committed skips the batches of aborted transactions up to their ABORT marker (issue 17)`, async () => {
      const { chunks, iteration } = setup();
      const p = partitionAt(0);
      // Producer 7 aborts its first transaction (offsets 0-1) and commits its second (7-8); producer 8 commits
      // (2-3) in between; offset 4 is written outside any transaction.
      chunks.add(
        p,
        [
          await txnBatch(0, 2, 7n),
          await txnBatch(2, 2, 8n),
          await dataBatch(4, 1),
          await marker(5, 7n, 'abort'),
          await marker(6, 8n, 'commit'),
          await txnBatch(7, 2, 7n),
          await marker(9, 7n, 'commit'),
        ],
        10n,
        [{ producerId: 7n, firstOffset: 0n }],
      );
      const values: number[] = [];
      if (mode === 'records') {
        for await (const r of iteration.records({ untilEnd: true })) values.push(numberIn(r.value));
      } else {
        for await (const b of iteration.batches({ untilEnd: true }))
          for (const r of b.records) values.push(numberIn(r.value));
      }
      assert.deepEqual(values, [2, 3, 4, 7, 8], "the aborted transaction's records (0, 1) and the markers left out");
      assert.equal(p.position, 10n, 'the position moved past the skipped batches and the last marker');
      assert.deepEqual(chunks.done, [{ offsetOfChunk: 10n, completed: true }]);
    });
  }

  test('a chunk of a paused partition is held back and handed out after resume, in order', async () => {
    const { chunks, iteration } = setup();
    const paused = partitionAt(0, 0);
    const running = partitionAt(0, 1);
    paused.paused = true;
    chunks.add(paused, [await dataBatch(0, 2)], 2n);
    chunks.add(running, [await dataBatch(0, 1)], 1n);
    const it = iteration.records({});
    const first = await it.next();
    assert.equal(first.value?.partition, 1, 'the running partition first');
    const next = it.next();
    const raced = await Promise.race([next, new Promise((r) => setTimeout(() => r('waiting'), 50))]);
    assert.equal(raced, 'waiting', 'nothing of the paused partition is handed out');
    paused.paused = false;
    chunks.wake();
    const after = await next;
    assert.deepEqual([after.value?.partition, after.value?.offset], [0, 0n]);
    await it.return();
  });

  test('a seek while a record is processed: the rest of that chunk is dropped, the new position kept', async () => {
    const { chunks, iteration } = setup();
    const p = partitionAt(0);
    chunks.add(p, [await dataBatch(0, 5)], 5n);
    const it = iteration.records({});
    await it.next();
    await it.next();
    p.seek(0); // while record 1 is processed, the application goes back to the start
    chunks.add(p, [await dataBatch(0, 5)], 5n);
    const r = await it.next();
    assert.equal(r.done ? null : r.value.offset, 0n, 'records 2-4 of the void chunk were not handed out');
    assert.deepEqual(chunks.done[0], { offsetOfChunk: 5n, completed: false });
    assert.equal(p.position, 0n, 'record 1 did not count as consumed after the seek');
    await it.return();
    assert.equal(p.position, 1n);
  });

  test('one iterator at a time', async () => {
    const { chunks, iteration } = setup();
    chunks.add(partitionAt(0), [await dataBatch(0, 1)], 1n);
    const a = iteration.records({});
    await a.next();
    await assert.rejects(iteration.batches({}).next(), /only one iterator/);
    await a.return();
  });
});
