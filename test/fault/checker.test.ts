/**
 * The fault checker and the replica reader on hand-made inputs: each anomaly the checker claims to find is
 * planted once and found, a clean history gives no violation, and the reader reads real segment files
 * (batches encoded by our record codec) including a torn tail.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildBatch } from '../../src/protocol/records/record.js';
import { type Ack, type CommitSample, checkHistory, type FinalPartition, type History, type Read } from './checker.js';
import { type ReplicaLog, readReplica } from './replicas.js';

function replica(
  node: number,
  values: (string | null)[],
  opts: { first?: number; checkpointedHw?: number } = {},
): ReplicaLog {
  const first = opts.first ?? 0;
  return {
    node,
    exists: true,
    records: values.map((value, i) => ({ offset: first + i, value, epoch: 0 })),
    firstOffset: values.length > 0 ? first : null,
    logEndOffset: first + values.length,
    checkpointedHw: opts.checkpointedHw ?? null,
    problems: [],
  };
}

const LOG = ['a-0', 'a-1', 'b-0', 'a-2', 'b-1'];

/** One partition, three identical replicas holding LOG, leader 1, HW at the end. */
function clean(): FinalPartition[] {
  return [{ partition: 0, leader: 1, hw: LOG.length, isr: [1, 2, 3], replicas: [1, 2, 3].map((n) => replica(n, LOG)) }];
}

function acksOf(values: string[]): Ack[] {
  return values.map((value) => ({
    client: value.split('-')[0] as string,
    partition: 0,
    offset: LOG.indexOf(value),
    value,
    at: 0,
  }));
}

function readsOf(group: string, values: string[]): Read[] {
  return values.map((value) => ({ client: 'c', group, partition: 0, offset: LOG.indexOf(value), value, at: 0 }));
}

function history(h: Partial<History>): History {
  return { attempted: LOG.length, acks: [], failures: [], reads: [], commits: [], ...h };
}

describe('fault checker', () => {
  test('a clean history: every acknowledged write read back, replicas identical, commits rising: no violation', () => {
    const commits: CommitSample[] = [0, 2, 5].map((offset, at) => ({ group: 'g', partition: 0, offset, at }));
    const r = checkHistory(history({ acks: acksOf(LOG), reads: readsOf('g', LOG), commits }), clean());
    assert.deepEqual(r.violations, []);
    assert.equal(r.counts.acked, 5);
    assert.equal(r.counts.committed, 5);
    assert.equal(r.info.unreadAcked.g, 0);
    assert.equal(r.duplicates.count, 0);
  });

  test('an acknowledged value missing from the committed log is a lost write', () => {
    const acks = [...acksOf(LOG), { client: 'a', partition: 0, offset: 5, value: 'a-3', at: 10 }];
    const r = checkHistory(history({ acks }), clean());
    assert.deepEqual(r.violations, ['lostWrites']);
    assert.equal(r.lostWrites.count, 1);
    assert.deepEqual(r.lostWrites.examples[0], { partition: 0, offset: 5, value: 'a-3', client: 'a', at: 10 });
  });

  test('a value stored above the high watermark is not committed: acknowledged, it counts as lost', () => {
    const final = clean();
    (final[0] as FinalPartition).hw = 3;
    const r = checkHistory(history({ acks: acksOf(LOG) }), final);
    assert.equal(r.lostWrites.count, 2, 'a-2 and b-1 sit at offsets 3 and 4, above HW 3');
    assert.ok(r.violations.includes('lostWrites'));
  });

  test('the same offset read with another value than the log holds is an inconsistent offset', () => {
    const reads: Read[] = [{ client: 'c', group: 'g', partition: 0, offset: 2, value: 'zz-9', at: 1 }];
    const r = checkHistory(history({ reads }), clean());
    assert.deepEqual(r.violations, ['inconsistentOffsets']);
    assert.equal(r.inconsistentOffsets.kinds.differentValues, 1);
    assert.deepEqual(r.inconsistentOffsets.examples[0]?.seen, { 'zz-9': ['read:c'], 'b-0': ['final'] });
  });

  test('an offset a consumer read that the final log does not have is a record read and later gone', () => {
    const reads: Read[] = [{ client: 'c', group: 'g', partition: 0, offset: 7, value: 'a-9', at: 1 }];
    const r = checkHistory(history({ reads }), clean());
    assert.deepEqual(r.violations, ['inconsistentOffsets']);
    assert.equal(r.inconsistentOffsets.kinds.readGone, 1);
    assert.equal(r.inconsistentOffsets.examples[0]?.kind, 'read-gone');
  });

  test('an acknowledged offset that holds nothing while its value sits elsewhere is an inconsistent offset', () => {
    // Acknowledged at 9, stored at 1 (the log ends at 5): not lost, but the offset the producer was told is wrong.
    const acks: Ack[] = [{ client: 'a', partition: 0, offset: 9, value: 'a-1', at: 1 }];
    const r = checkHistory(history({ acks }), clean());
    assert.deepEqual(r.violations, ['inconsistentOffsets']);
    assert.equal(r.inconsistentOffsets.kinds.ackedGone, 1);
    assert.equal(r.lostWrites.count, 0);
  });

  test('acknowledged and read at one offset with two values: inconsistent, both sources named', () => {
    const acks: Ack[] = [{ client: 'a', partition: 0, offset: 1, value: 'a-1', at: 1 }];
    const reads: Read[] = [{ client: 'c', group: 'g', partition: 0, offset: 1, value: 'q-1', at: 2 }];
    const r = checkHistory(history({ acks, reads }), clean());
    assert.equal(r.inconsistentOffsets.count, 1);
    assert.deepEqual(r.inconsistentOffsets.examples[0]?.seen, { 'a-1': ['ack:a', 'final'], 'q-1': ['read:c'] });
  });

  test('a replica that differs below the HW is divergent; differences above the HW and shorter logs are not', () => {
    const final: FinalPartition[] = [
      {
        partition: 0,
        leader: 1,
        hw: 4,
        isr: [1, 2],
        replicas: [
          replica(1, LOG),
          replica(2, ['a-0', 'a-1', 'x-0', 'a-2', 'other']), // offset 2 differs (below HW 4); offset 4 is above
          replica(3, ['a-0', 'a-1']), // behind, not divergent
        ],
      },
    ];
    const r = checkHistory(history({}), final);
    assert.deepEqual(r.violations, ['divergentLogs']);
    assert.equal(r.divergentLogs.count, 1);
    assert.deepEqual(r.divergentLogs.examples[0], {
      partition: 0,
      offset: 2,
      replicas: { 'node 1 (leader)': 'b-0', 'node 2': 'x-0' },
    });
    assert.deepEqual(r.info.partitions[0]?.behind, [3]);
  });

  test('a gap in a replica below the HW is divergent', () => {
    const gappy = replica(2, LOG);
    gappy.records.splice(1, 1);
    const final: FinalPartition[] = [
      { partition: 0, leader: 1, hw: 5, isr: [1, 2], replicas: [replica(1, LOG), gappy] },
    ];
    const r = checkHistory(history({}), final);
    assert.equal(r.divergentLogs.count, 1);
    assert.equal(r.divergentLogs.examples[0]?.replicas['node 2'], '<missing>');
  });

  test('a committed offset lower than one seen before goes backwards, a lost commit (-1) too', () => {
    const commits: CommitSample[] = [
      { group: 'g', partition: 0, offset: -1, at: 0 },
      { group: 'g', partition: 0, offset: 10, at: 1 },
      { group: 'g', partition: 0, offset: 12, at: 2 },
      { group: 'g', partition: 0, offset: 8, at: 3 },
      { group: 'g', partition: 1, offset: 4, at: 1 },
      { group: 'g', partition: 1, offset: -1, at: 4 },
      { group: 'h', partition: 0, offset: 3, at: 1 },
    ];
    const r = checkHistory(history({ commits }), clean());
    assert.deepEqual(r.violations, ['committedOffsetsBackwards']);
    assert.equal(r.committedOffsetsBackwards.count, 2);
    assert.deepEqual(
      r.committedOffsetsBackwards.examples.map((e) => [e.group, e.partition, e.from, e.to]),
      [
        ['g', 0, 12, 8],
        ['g', 1, 4, -1],
      ],
    );
  });

  test('a value stored twice is a duplicate: counted, not a violation', () => {
    const dup = [...LOG, 'a-1'];
    const final: FinalPartition[] = [{ partition: 0, leader: 1, hw: 6, isr: [1], replicas: [replica(1, dup)] }];
    const r = checkHistory(history({ acks: acksOf(LOG) }), final);
    assert.deepEqual(r.violations, []);
    assert.equal(r.duplicates.count, 1);
    assert.equal(r.duplicates.extraCopies, 1);
    assert.deepEqual(r.duplicates.examples[0], { partition: 0, value: 'a-1', offsets: [1, 5] });
  });

  test('failed and unacknowledged writes found in the log are counted, not violations', () => {
    const r = checkHistory(
      history({
        acks: acksOf(['a-0', 'a-1']),
        failures: [{ client: 'b', partition: 0, value: 'b-0', error: 'timed out', at: 1 }],
      }),
      clean(),
    );
    assert.deepEqual(r.violations, []);
    assert.equal(r.counts.failedButPresent, 1);
    assert.equal(r.counts.unacknowledgedPresent, 2);
  });

  test('without a known leader the longest replica stands in, up to the highest checkpointed HW', () => {
    const final: FinalPartition[] = [
      {
        partition: 0,
        leader: null,
        hw: null,
        isr: [],
        replicas: [replica(1, LOG.slice(0, 3), { checkpointedHw: 3 }), replica(2, LOG, { checkpointedHw: 4 })],
      },
    ];
    const r = checkHistory(history({ acks: acksOf(LOG) }), final);
    assert.deepEqual(r.info.leaderUnknown, [0]);
    assert.equal(r.counts.committed, 4);
    assert.equal(r.lostWrites.count, 1, 'b-1 at offset 4 is above every checkpointed HW');
  });
});

describe('replica reader', () => {
  test('reads every segment of a partition dir in offset order, with epochs; a torn tail is a problem, not records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstream-replica-'));
    try {
      const pdir = join(dir, 't-0');
      mkdirSync(pdir);
      const b0 = await buildBatch({
        baseOffset: 0n,
        partitionLeaderEpoch: 1,
        records: [{ value: 'v-0' }, { value: 'v-1' }],
      });
      const b1 = await buildBatch({ baseOffset: 2n, partitionLeaderEpoch: 1, records: [{ value: 'v-2' }] });
      const b2 = await buildBatch({
        baseOffset: 3n,
        partitionLeaderEpoch: 2,
        records: [{ value: 'v-3' }, { value: null }],
      });
      const torn = await buildBatch({ baseOffset: 5n, partitionLeaderEpoch: 2, records: [{ value: 'v-5' }] });
      writeFileSync(join(pdir, '00000000000000000000.log'), Buffer.concat([b0, b1]));
      writeFileSync(join(pdir, '00000000000000000003.log'), Buffer.concat([b2, torn.subarray(0, torn.length - 3)]));
      writeFileSync(join(pdir, '00000000000000000000.index'), Buffer.alloc(0));
      writeFileSync(join(dir, 'replication-offset-checkpoint'), '0\n1\nt 0 4\n');
      const r = await readReplica(2, dir, 't', 0);
      assert.equal(r.exists, true);
      assert.deepEqual(
        r.records.map((x) => [x.offset, x.value, x.epoch]),
        [
          [0, 'v-0', 1],
          [1, 'v-1', 1],
          [2, 'v-2', 1],
          [3, 'v-3', 2],
          [4, null, 2],
        ],
      );
      assert.equal(r.firstOffset, 0);
      assert.equal(r.logEndOffset, 5);
      assert.equal(r.checkpointedHw, 4);
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0] as string, /00000000000000000003\.log: torn or impossible batch/);

      const missing = await readReplica(3, dir, 't', 1);
      assert.equal(missing.exists, false);
      assert.deepEqual(missing.records, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a batch whose CRC does not match is reported and ends the read of its segment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstream-replica-'));
    try {
      mkdirSync(join(dir, 't-0'));
      const good = await buildBatch({ baseOffset: 0n, records: [{ value: 'ok' }] });
      const bad = await buildBatch({ baseOffset: 1n, records: [{ value: 'flipped' }] });
      bad[bad.length - 2] ^= 0xff;
      writeFileSync(join(dir, 't-0', '00000000000000000000.log'), Buffer.concat([good, bad]));
      const r = await readReplica(1, dir, 't', 0);
      assert.deepEqual(
        r.records.map((x) => x.value),
        ['ok'],
      );
      assert.match(r.problems[0] ?? '', /does not decode/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
