/**
 * The partition side of transactions over the wire (issue 17, KIP-98): the test plays the transaction
 * coordinator (WriteTxnMarkers) and a transactional producer (transactional batches of the record-batch builder)
 * against a real `kstream serve`. A transactional batch is invisible to read_committed fetches (and to
 * ListOffsets read_committed) until its COMMIT marker; after an ABORT marker a read_committed fetch names the
 * aborted transaction and confluent-kafka-python's read_committed consumer skips its records while a
 * read_uncommitted one reads them. Bad markers get Kafka's error codes and change nothing stored.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { pyScript } from '../helpers/python.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  batch,
  createTopic,
  fetch,
  initProducerId,
  latest,
  type Pid,
  produce,
  writeMarkers,
} from './partition-helpers.js';

describe('transaction markers and read_committed (raw wire)', () => {
  const dirs: string[] = [];
  const brokers: BrokerProcess[] = [];
  after(async () => {
    for (const b of brokers) await b.kill();
    for (const d of dirs) removeDir(d);
  });
  async function start(): Promise<BrokerProcess> {
    const dir = tempDir();
    dirs.push(dir);
    const b = await startBroker({ dataDir: dir });
    brokers.push(b);
    return b;
  }

  test('ApiVersions advertises WriteTxnMarkers v0-1 and TxnOffsetCommit v0-3', async () => {
    const b = await start();
    await RawClient.using(b.port, async (c) => {
      const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
      const keys = r.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[];
      const m = keys.find((k) => k.apiKey === ApiKey.WriteTxnMarkers);
      assert.deepEqual([m?.minVersion, m?.maxVersion], [0, 1]);
      const t = keys.find((k) => k.apiKey === ApiKey.TxnOffsetCommit);
      assert.deepEqual([t?.minVersion, t?.maxVersion], [0, 3]);
    });
  });

  test('a transactional batch is invisible to read_committed until its COMMIT marker', async () => {
    const b = await start();
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'commit-me');
      const pid = await initProducerId(c);
      const plain = await initProducerId(c);
      // A non-transactional record first (offset 0): stable at once.
      assert.equal((await produce(c, 'commit-me', await batch(plain, 0, ['plain-0'], false), null)).errorCode, 0);
      const r = await produce(c, 'commit-me', await batch(pid, 0, ['t-1', 't-2', 't-3']));
      assert.equal(r.errorCode, 0, String(r.errorMessage));
      assert.equal(r.baseOffset, 1n);
      // Another non-transactional record after the open transaction (offset 4): held back by the LSO too.
      assert.equal((await produce(c, 'commit-me', await batch(plain, 1, ['plain-4'], false), null)).errorCode, 0);

      const ru = await fetch(c, 'commit-me', 0n, 0);
      assert.deepEqual(ru.values, ['plain-0', 't-1', 't-2', 't-3', 'plain-4']);
      assert.equal(ru.highWatermark, 5n);
      assert.equal(ru.lastStableOffset, 1n, 'the open transaction holds the LSO at its first offset');
      assert.equal(ru.aborted, null, 'read_uncommitted gets no aborted list');
      const rc = await fetch(c, 'commit-me', 0n, 1);
      assert.deepEqual(rc.values, ['plain-0'], 'read_committed stops at the LSO');
      assert.equal(rc.lastStableOffset, 1n);
      assert.deepEqual((await fetch(c, 'commit-me', 1n, 1)).values, []);
      assert.equal(await latest(c, 'commit-me', 1), 1n, 'ListOffsets read_committed latest is the LSO');
      assert.equal(await latest(c, 'commit-me', 0), 5n);

      assert.deepEqual(await writeMarkers(c, pid, true, [{ topic: 'commit-me', partition: 0 }]), [0]);
      const after = await fetch(c, 'commit-me', 0n, 1);
      assert.deepEqual(after.values, ['plain-0', 't-1', 't-2', 't-3', 'plain-4']);
      assert.equal(after.highWatermark, 6n, 'the marker takes an offset');
      assert.equal(after.lastStableOffset, 6n);
      assert.deepEqual(after.aborted, [], 'read_committed: an empty aborted list');
      assert.equal(await latest(c, 'commit-me', 1), 6n);
      // The same producer's next transaction opens at its first batch again.
      assert.equal((await produce(c, 'commit-me', await batch(pid, 3, ['t-7']))).errorCode, 0);
      assert.equal((await fetch(c, 'commit-me', 0n, 1)).lastStableOffset, 6n);
    });
  });

  test('after an ABORT marker read_committed gets the aborted transaction; confluent-kafka skips it', async () => {
    const b = await start();
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'abort-me');
      const a = await initProducerId(c);
      const k = await initProducerId(c);
      // a: committed; k: aborted, interleaved with a's records.
      assert.equal((await produce(c, 'abort-me', await batch(a, 0, ['a-0', 'a-1']))).errorCode, 0);
      assert.equal((await produce(c, 'abort-me', await batch(k, 0, ['k-2', 'k-3']))).errorCode, 0);
      assert.equal((await produce(c, 'abort-me', await batch(a, 2, ['a-4']))).errorCode, 0);
      assert.equal((await produce(c, 'abort-me', await batch(k, 2, ['k-5']))).errorCode, 0);
      assert.deepEqual(await writeMarkers(c, k, false, [{ topic: 'abort-me', partition: 0 }]), [0]); // 6
      assert.equal((await fetch(c, 'abort-me', 0n, 1)).lastStableOffset, 0n, 'a is still open');
      assert.deepEqual(await writeMarkers(c, a, true, [{ topic: 'abort-me', partition: 0 }]), [0]); // 7
      assert.equal((await produce(c, 'abort-me', await batch(a, 3, ['a-8'], false), null)).errorCode, 0);

      const rc = await fetch(c, 'abort-me', 0n, 1);
      assert.equal(rc.lastStableOffset, 9n);
      assert.deepEqual(rc.aborted, [{ producerId: k.producerId, firstOffset: 2n }]);
      // Fetching past the aborted transaction's marker: it is not named any more.
      assert.deepEqual((await fetch(c, 'abort-me', 7n, 1)).aborted, []);

      const committed = await pyScript('confluent_isolation_read.py', [b.bootstrap, 'abort-me', 'read_committed']);
      assert.deepEqual(committed.values, ['a-0', 'a-1', 'a-4', 'a-8']);
      const all = await pyScript('confluent_isolation_read.py', [b.bootstrap, 'abort-me', 'read_uncommitted']);
      assert.deepEqual(all.values, ['a-0', 'a-1', 'k-2', 'k-3', 'a-4', 'k-5', 'a-8']);
    });
  });

  test('bad markers: unknown partitions, stale producer and coordinator epochs; nothing stored changes', async () => {
    const b = await start();
    await RawClient.using(b.port, async (c) => {
      await createTopic(c, 'bad-markers');
      const pid = await initProducerId(c);
      assert.equal((await produce(c, 'bad-markers', await batch(pid, 0, ['x']))).errorCode, 0);
      const codes = await writeMarkers(c, pid, true, [
        { topic: 'no-such-topic', partition: 0 },
        { topic: 'bad-markers', partition: 7 },
      ]);
      assert.deepEqual(codes, [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
      assert.equal(await latest(c, 'bad-markers', 0), 1n, 'nothing written');
      assert.equal(await latest(c, 'bad-markers', 1), 0n, 'still open');

      // The producer moved to epoch 3 (a bumped epoch's marker, coordinator epoch 5): older ones are refused.
      const bumped: Pid = { producerId: pid.producerId, producerEpoch: 3 };
      assert.deepEqual(await writeMarkers(c, bumped, false, [{ topic: 'bad-markers', partition: 0 }], 5), [0]);
      assert.equal(await latest(c, 'bad-markers', 0), 2n);
      assert.deepEqual(await writeMarkers(c, pid, true, [{ topic: 'bad-markers', partition: 0 }], 5), [
        ErrorCode.INVALID_PRODUCER_EPOCH,
      ]);
      assert.deepEqual(await writeMarkers(c, bumped, true, [{ topic: 'bad-markers', partition: 0 }], 4), [
        ErrorCode.TRANSACTION_COORDINATOR_FENCED,
      ]);
      assert.equal(await latest(c, 'bad-markers', 0), 2n, 'nothing written for the refused markers');
      // The aborted transaction is named; the producer's old epoch cannot produce any more.
      assert.deepEqual((await fetch(c, 'bad-markers', 0n, 1)).aborted, [
        { producerId: pid.producerId, firstOffset: 0n },
      ]);
      assert.equal(
        (await produce(c, 'bad-markers', await batch(pid, 1, ['late']))).errorCode,
        ErrorCode.INVALID_PRODUCER_EPOCH,
      );
      // v0 (not flexible) works the same.
      assert.deepEqual(await writeMarkers(c, bumped, true, [{ topic: 'bad-markers', partition: 0 }], 5, 0), [0]);
      assert.equal(await latest(c, 'bad-markers', 0), 3n);
    });
  });
});
