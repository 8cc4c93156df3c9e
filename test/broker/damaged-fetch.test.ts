/**
 * A damaged closed segment on a real `kstream serve`: records written through the wire, the broker stopped,
 * bytes of one partition's closed segment damaged (a negative batch length) and one segment of another
 * partition deleted, the broker started again. One Fetch of all partitions serves the intact one whole and
 * the damaged ones up to the damage, then answers CORRUPT_MESSAGE for them on the same connection (it used
 * to close the connection, stalling every partition of the fetch); the broker logs each damage once.
 * confluent-kafka-python and kafka-python read the intact partition whole and see the error. A follower's
 * fetch of only damaged partitions waits out its max wait instead of coming back at once (no spin).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { OFF } from '../../src/protocol/records/batch.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const run = promisify(execFile);
const TOPIC = 'damaged';
const PARTITIONS = 3;
/** Produce requests per partition, each one batch of RECORDS records. */
const BATCHES = 40;
const RECORDS = 10;
const TOTAL = BATCHES * RECORDS;

let broker: BrokerProcess | undefined;
let dataDir = '';
/** Per damaged partition: the first offset that cannot be read, and the segment file the log line names. */
const damaged = new Map<number, { offset: bigint; file: string }>();

function fetchAll(c: RawClient, offsets: bigint[], replicaId = -1, maxWaitMs = 0): Promise<Struct> {
  return c.request(ApiKey.Fetch, 11, {
    replicaId,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 50 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic: TOPIC,
        partitions: offsets.map((o, p) => ({
          partition: p,
          currentLeaderEpoch: -1,
          fetchOffset: o,
          logStartOffset: -1n,
          partitionMaxBytes: 1024 * 1024,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
}

/** Base offsets and positions of the batches in a segment file. */
function batchesIn(file: string): { position: number; baseOffset: bigint }[] {
  const b = readFileSync(file);
  const out: { position: number; baseOffset: bigint }[] = [];
  for (let pos = 0; pos + 12 <= b.length; pos += b.readInt32BE(pos + OFF.batchLength) + 12) {
    out.push({ position: pos, baseOffset: b.readBigInt64BE(pos) });
  }
  return out;
}

function segmentsOf(partition: number): string[] {
  const dir = join(dataDir, `${TOPIC}-${partition}`);
  return readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort()
    .map((n) => join(dir, n));
}

/** The last offset of each batch in a fetched record set, to advance. */
function nextOffset(records: Buffer | null, from: bigint): bigint {
  let next = from;
  let pos = 0;
  while (records && pos + 61 <= records.length) {
    const size = records.readInt32BE(pos + OFF.batchLength) + 12;
    if (pos + size > records.length) break;
    next = records.readBigInt64BE(pos) + BigInt(records.readInt32BE(pos + OFF.lastOffsetDelta)) + 1n;
    pos += size;
  }
  return next;
}

describe('fetching from a partition with a damaged closed segment', () => {
  before(async () => {
    dataDir = tempDir();
    broker = await startBroker({ dataDir });
    await RawClient.using(broker.port, async (c) => {
      const created = await c.request(ApiKey.CreateTopics, 5, {
        topics: [
          {
            name: TOPIC,
            numPartitions: PARTITIONS,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'segment.bytes', value: '4096' }],
          },
        ],
        timeoutMs: 5000,
        validateOnly: false,
      });
      assert.equal((created.topics as Struct[])[0]!.errorCode, 0);
      for (let i = 0; i < BATCHES; i++) {
        const partitionData = [];
        for (let p = 0; p < PARTITIONS; p++) {
          const records = await buildBatch({
            records: Array.from({ length: RECORDS }, (_, j) => ({
              key: null,
              value: Buffer.from(`p${p}-${i * RECORDS + j}-${'x'.repeat(40)}`),
            })),
          });
          partitionData.push({ index: p, records });
        }
        const r = await c.request(ApiKey.Produce, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: TOPIC, partitionData }],
        });
        for (const pr of (r.responses as Struct[])[0]!.partitionResponses as Struct[]) assert.equal(pr.errorCode, 0);
      }
    });
    assert.equal(await broker.stop(), 0);

    // Partition 1: a negative length in the third batch of its second (closed) segment.
    const seg1 = segmentsOf(1);
    assert.ok(seg1.length >= 4, `partition 1 has ${seg1.length} segments`);
    const victim = batchesIn(seg1[1]!)[2]!;
    const bytes = readFileSync(seg1[1]!);
    bytes.writeInt32BE(-1, victim.position + OFF.batchLength);
    writeFileSync(seg1[1]!, bytes);
    damaged.set(1, { offset: victim.baseOffset, file: seg1[1]! });
    // Partition 2: its second segment deleted (offsets missing between the first and the third).
    const seg2 = segmentsOf(2);
    const gapStart = batchesIn(seg2[1]!)[0]!.baseOffset;
    for (const suffix of ['.log', '.index', '.timeindex']) unlinkSync(seg2[1]!.replace(/\.log$/, suffix));
    damaged.set(2, { offset: gapStart, file: seg2[0]! });

    broker = await startBroker({ dataDir });
  });

  after(async () => {
    await broker?.stop();
    removeDir(dataDir);
  });

  test('one Fetch serves the intact partition whole and the damaged ones up to the damage, then CORRUPT_MESSAGE', async () => {
    await RawClient.using(broker!.port, async (c) => {
      const offsets = [0n, 0n, 0n];
      const errors = new Map<number, number>();
      for (let round = 0; round < 200 && (offsets[0]! < BigInt(TOTAL) || errors.size < 2); round++) {
        const r = await fetchAll(c, offsets);
        for (const part of (r.responses as Struct[])[0]!.partitions as Struct[]) {
          const p = part.partitionIndex as number;
          if (part.errorCode !== 0) {
            errors.set(p, part.errorCode as number);
            continue;
          }
          offsets[p] = nextOffset(part.records as Buffer | null, offsets[p]!);
        }
      }
      assert.equal(offsets[0], BigInt(TOTAL), 'the intact partition is read to its end');
      assert.deepEqual([...errors].sort(), [
        [1, ErrorCode.CORRUPT_MESSAGE],
        [2, ErrorCode.CORRUPT_MESSAGE],
      ]);
      assert.equal(offsets[1], damaged.get(1)!.offset, 'partition 1 is served up to the damaged batch');
      assert.equal(offsets[2], damaged.get(2)!.offset, 'partition 2 is served up to the missing segment');
      assert.ok(!c.closed, 'the connection stays open');
      // Asked again (a consumer retrying): the same answer, the connection still open.
      const again = await fetchAll(c, offsets);
      const codes = ((again.responses as Struct[])[0]!.partitions as Struct[]).map((x) => x.errorCode);
      assert.deepEqual(codes, [0, ErrorCode.CORRUPT_MESSAGE, ErrorCode.CORRUPT_MESSAGE]);
      // Seeking past the damage reads the intact segments after it.
      const next1 = BigInt(segmentsOf(1)[2]!.slice(-24, -4));
      const past = await fetchAll(c, [BigInt(TOTAL), next1, BigInt(segmentsOf(2)[1]!.slice(-24, -4))]);
      for (const part of ((past.responses as Struct[])[0]!.partitions as Struct[]).slice(1)) {
        assert.equal(part.errorCode, 0);
        assert.ok((part.records as Buffer).length > 0);
      }
    });
    // Each damage is logged once, with its file and offset, however many fetches met it.
    for (const [p, d] of damaged) {
      const lines = broker!
        .logs()
        .split('\n')
        .filter((l) => l.includes(d.file));
      assert.equal(lines.length, 1, `partition ${p}: ${lines.join('\n')}`);
      assert.match(lines[0]!, new RegExp(`offset ${d.offset}\\b`));
      assert.match(lines[0]!, /check-log/);
    }
  });

  test('a follower fetching only damaged partitions waits out max_wait_ms instead of spinning', async () => {
    await RawClient.using(broker!.port, async (c) => {
      const at = [BigInt(TOTAL), damaged.get(1)!.offset, damaged.get(2)!.offset];
      const start = Date.now();
      const r = await fetchAll(c, at, 2, 1000);
      const waited = Date.now() - start;
      const codes = ((r.responses as Struct[])[0]!.partitions as Struct[]).map((x) => x.errorCode);
      assert.deepEqual(codes, [0, ErrorCode.CORRUPT_MESSAGE, ErrorCode.CORRUPT_MESSAGE]);
      assert.ok(waited >= 900, `answered after ${waited} ms: a follower would ask again at once`);
    });
  });

  for (const client of ['confluent', 'kafka-python']) {
    test(`${client}: the intact partition is read whole, the damaged ones up to the damage, with an error`, async () => {
      const { stdout } = await run(
        '/usr/bin/python3',
        [join(ROOT, 'test/interop/py/consume_report.py'), broker!.bootstrap, TOPIC, String(PARTITIONS), '60', client],
        { timeout: 90_000 },
      );
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as {
        partitions: Record<string, { count: number; last: number; errors: { code: number; name: string }[] }>;
      };
      assert.equal(r.partitions['0']!.count, TOTAL, stdout);
      assert.deepEqual(r.partitions['0']!.errors, []);
      for (const p of [1, 2]) {
        const got = r.partitions[String(p)]!;
        assert.equal(got.count, Number(damaged.get(p)!.offset), `partition ${p}: ${stdout}`);
        assert.ok(got.errors.length > 0, `partition ${p} reports an error: ${stdout}`);
        assert.equal(got.errors[0]!.code, ErrorCode.CORRUPT_MESSAGE, stdout);
      }
    });
  }
});
