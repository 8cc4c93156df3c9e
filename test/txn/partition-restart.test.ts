/**
 * The last stable offset and the aborted-transaction index survive a restart (issue 17): after a clean stop (the
 * producer snapshot at the log end holds the open transactions) and after kill -9 (the state rebuilt from an
 * older snapshot, written at a segment roll while a transaction was open, and the batches after it), a
 * read_committed fetch answers the same LSO and the same aborted transactions, and the open transaction can
 * still be committed.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { batch, createTopic, fetch, initProducerId, type Pid, produce, writeMarkers } from './partition-helpers.js';

describe('LSO and aborted transactions across restarts', () => {
  const dirs: string[] = [];
  const brokers: BrokerProcess[] = [];
  after(async () => {
    for (const b of brokers) await b.kill();
    for (const d of dirs) removeDir(d);
  });
  async function start(dir: string): Promise<BrokerProcess> {
    const b = await startBroker({ dataDir: dir });
    brokers.push(b);
    return b;
  }

  for (const how of ['clean stop', 'kill -9'] as const) {
    test(`after a ${how}`, async () => {
      const dir = tempDir();
      dirs.push(dir);
      let b = await start(dir);
      const topic = 'durable';
      let open: Pid = { producerId: -1n, producerEpoch: 0 };
      let aborter: Pid = open;
      const before = await RawClient.using(b.port, async (c) => {
        // Small segments: the open transaction spans rolls, so snapshots are written while it is open.
        await createTopic(c, topic, { 'segment.bytes': '1024' });
        open = await initProducerId(c);
        aborter = await initProducerId(c);
        const filler = await initProducerId(c);
        assert.equal((await produce(c, topic, await batch(filler, 0, ['f-0'], false), null)).errorCode, 0);
        assert.equal((await produce(c, topic, await batch(open, 0, ['open-1']))).errorCode, 0);
        assert.equal((await produce(c, topic, await batch(aborter, 0, ['gone-2', 'gone-3']))).errorCode, 0);
        assert.deepEqual(await writeMarkers(c, aborter, false, [{ topic, partition: 0 }]), [0]); // 4
        let seq = 1;
        for (let i = 0; i < 40; i++) {
          const values = Array.from({ length: 5 }, (_, j) => `filler-${i}-${j}-${'x'.repeat(40)}`);
          assert.equal((await produce(c, topic, await batch(filler, seq, values, false), null)).errorCode, 0);
          seq += 5;
        }
        return fetch(c, topic, 0n, 1);
      });
      assert.equal(before.lastStableOffset, 1n);
      assert.ok(before.highWatermark > 200n);
      const files = readdirSync(join(dir, `${topic}-0`));
      assert.ok(files.filter((f) => f.endsWith('.log')).length > 3, `rolled: ${files.join(' ')}`);
      assert.ok(
        files.some((f) => f.endsWith('.txnindex')),
        `an aborted-transaction index: ${files.join(' ')}`,
      );

      if (how === 'clean stop') assert.equal(await b.stop(), 0);
      else await b.kill();
      b = await start(dir);
      await RawClient.using(b.port, async (c) => {
        const again = await fetch(c, topic, 0n, 1);
        assert.equal(again.highWatermark, before.highWatermark);
        assert.equal(again.lastStableOffset, 1n, 'the open transaction still holds the LSO');
        assert.deepEqual(again.values, ['f-0']);
        // Commit the open transaction: everything is stable; the aborted one is still named.
        assert.deepEqual(await writeMarkers(c, open, true, [{ topic, partition: 0 }]), [0]);
        const done = await fetch(c, topic, 0n, 1);
        assert.equal(done.lastStableOffset, done.highWatermark);
        assert.deepEqual(done.aborted, [{ producerId: aborter.producerId, firstOffset: 2n }]);
        assert.deepEqual(done.values.slice(0, 2), ['f-0', 'open-1']);
        assert.ok(done.values.includes('gone-2'), 'the fetch returns the records; the aborted list says to drop them');
      });
    });
  }
});
