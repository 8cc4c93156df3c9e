/**
 * The follower's side of fetch sessions (replica-fetcher.ts FollowerSession) against a real broker: the first
 * fetch names every partition and opens a session; then only partitions whose position moved are sent, and
 * only partitions with news come back; a partition no longer followed is forgotten; when the leader has lost
 * the session (here closed by a full fetch naming it, as a restart or an eviction would lose it) the answer is
 * FETCH_SESSION_ID_NOT_FOUND and the follower starts over with a full fetch that opens a new session, missing
 * nothing. The requests are the follower's own; the test appends the answers as a follower's log would.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FollowerReplica, FollowerSession } from '../../src/cluster/replica-fetcher.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch, decodeRecordSet } from '../../src/protocol/records/record.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

/** A follower's replica in memory: its log end moves with what it is given. */
class Replica implements FollowerReplica {
  readonly leaderEpoch = -1;
  readonly logStartOffset = 0n;
  readonly latestEpoch = -1;
  needsTruncation = false;
  logEndOffset = 0n;
  values: string[] = [];
  constructor(
    readonly topic: string,
    readonly index: number,
  ) {}
  appendFromLeader(): void {
    throw new Error('not used');
  }
  async truncateTo(): Promise<void> {}
  async take(records: Buffer | null): Promise<void> {
    if (!records || records.length === 0) return;
    for (const r of await decodeRecordSet(records)) {
      this.values.push(r.value?.toString() ?? '');
      this.logEndOffset = r.offset + 1n;
    }
  }
}

let broker: BrokerProcess;
let c: RawClient;

before(async () => {
  broker = await startBroker();
  c = await RawClient.connect(broker.port);
  const r = await c.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: 'f', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(r.topics[0].errorCode, 0);
});
after(async () => {
  c?.close();
  await broker?.stop();
  removeDir(broker?.dataDir ?? '');
});

async function produce(partition: number, v: string) {
  const records = await buildBatch({ records: [{ key: null, value: Buffer.from(v) }] });
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'f', partitionData: [{ index: partition, records }] }],
  });
  assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
}

/** One fetch as the follower's fetcher makes it; returns the request sent and the partitions answered. */
async function fetchOnce(s: FollowerSession, replicas: Replica[]) {
  const req = s.request(replicas);
  const res = await c.request(ApiKey.Fetch, 12, {
    replicaId: 7,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 16 << 20,
    isolationLevel: 0,
    sessionId: req.sessionId,
    sessionEpoch: req.sessionEpoch,
    topics: req.topics,
    forgottenTopicsData: req.forgotten,
    rackId: '',
  });
  const ok = s.answered(res.errorCode as number, res.sessionId as number);
  const answered: string[] = [];
  if (ok) {
    for (const t of res.responses as Struct[]) {
      for (const p of t.partitions as Struct[]) {
        answered.push(`${t.topic}-${p.partitionIndex}`);
        const r = replicas.find((x) => x.topic === t.topic && x.index === p.partitionIndex);
        await r?.take(p.records);
      }
    }
  }
  const sent = req.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p.partition}`));
  return { req, res, ok, sent: sent.sort(), answered: answered.sort() };
}

test('a follower fetches in a session: only moved partitions sent, only news answered, recovery after loss', async () => {
  const replicas = [0, 1, 2].map((i) => new Replica('f', i));
  const s = new FollowerSession();
  await produce(0, 'a0');

  const first = await fetchOnce(s, replicas);
  assert.equal(first.req.sessionId, 0);
  assert.equal(first.req.sessionEpoch, 0, 'the first fetch asks for a session');
  assert.deepEqual(first.sent, ['f-0', 'f-1', 'f-2']);
  assert.ok((first.res.sessionId as number) > 0);
  assert.ok(s.open);
  const id = first.res.sessionId as number;

  // Partition 0 moved (it took a0): only it is sent; nothing new is answered.
  const second = await fetchOnce(s, replicas);
  assert.deepEqual([second.req.sessionId, second.req.sessionEpoch], [id, 1]);
  assert.deepEqual(second.sent, ['f-0']);
  assert.deepEqual(second.answered, []);

  // Data in partition 2: nothing sent, only partition 2 answered.
  await produce(2, 'b2');
  const third = await fetchOnce(s, replicas);
  assert.deepEqual(third.sent, []);
  assert.deepEqual(third.answered, ['f-2']);

  // Partition 1 no longer followed here: forgotten.
  const fourth = await fetchOnce(s, [replicas[0] as Replica, replicas[2] as Replica]);
  assert.deepEqual(fourth.sent, ['f-2']);
  assert.deepEqual(fourth.req.forgotten, [{ topic: 'f', partitions: [1] }]);

  // The leader loses the session (closed by a full fetch naming it, as a restart or eviction would).
  const close = await c.request(ApiKey.Fetch, 12, {
    replicaId: 7,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1,
    isolationLevel: 0,
    sessionId: id,
    sessionEpoch: -1,
    topics: [],
    forgottenTopicsData: [],
    rackId: '',
  });
  assert.equal(close.errorCode, 0);
  await produce(0, 'c0');
  await produce(1, 'c1');
  const lost = await fetchOnce(s, replicas);
  assert.equal(lost.res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  assert.equal(lost.ok, false);
  assert.equal(s.open, false);

  // Starting over: a full fetch of every partition opens a new session; nothing was missed.
  const over = await fetchOnce(s, replicas);
  assert.deepEqual([over.req.sessionId, over.req.sessionEpoch], [0, 0]);
  assert.deepEqual(over.sent, ['f-0', 'f-1', 'f-2']);
  assert.ok((over.res.sessionId as number) > 0 && over.res.sessionId !== id);
  assert.deepEqual(
    replicas.map((r) => r.values),
    [['a0', 'c0'], ['c1'], ['b2']],
  );
  const after1 = await fetchOnce(s, replicas);
  assert.equal(after1.res.errorCode, 0);
  assert.deepEqual(after1.sent, ['f-0', 'f-1']);
  assert.deepEqual(after1.answered, []);
});
