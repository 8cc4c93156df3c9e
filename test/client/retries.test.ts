/**
 * Retries with metadata refresh, against two scripted brokers whose metadata we control: the leader of a
 * partition moves after NOT_LEADER_OR_FOLLOWER, and the producer, consumer and admin client follow it; a
 * non-retriable error fails at once; a dropped connection is retried.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildBatch } from '../../src/protocol/records/record.js';
import { apiVersionsBody, type FakeBroker, type FakeRequest, startFakeBroker } from './fake-broker.js';

const RANGES: Record<number, [number, number]> = {
  [ApiKey.ApiVersions]: [0, 3],
  [ApiKey.Produce]: [3, 9],
  [ApiKey.Fetch]: [4, 12],
  [ApiKey.ListOffsets]: [1, 7],
  [ApiKey.Metadata]: [1, 12],
  [ApiKey.FindCoordinator]: [0, 3],
  [ApiKey.DescribeGroups]: [0, 5],
};

let a: FakeBroker;
let b: FakeBroker;
let leader = 1;
/** The leader of a second partition of t (none when null). */
let leader1: number | null = null;
/** The brokers the metadata lists (a broker that died drops out before its partitions get new leaders). */
let listed = [1, 2];
/** Metadata answers wait this long, and name the leader as it was when the request arrived. */
let metadataDelayMs = 0;
let log: string[] = [];
let onProduce: (node: number, req: FakeRequest) => void;
let onFetch: (node: number, req: FakeRequest) => void;
let onListOffsets: (node: number, req: FakeRequest) => void;
let onFindCoordinator: (node: number, req: FakeRequest) => void;
let onDescribeGroups: (node: number, req: FakeRequest) => void;

function metadata(leaderId = leader): Struct {
  return {
    throttleTimeMs: 0,
    brokers: [
      { nodeId: 1, host: '127.0.0.1', port: a.port, rack: null },
      { nodeId: 2, host: '127.0.0.1', port: b.port, rack: null },
    ].filter((x) => listed.includes(x.nodeId)),
    clusterId: 'fake',
    controllerId: 1,
    topics: [
      {
        errorCode: 0,
        name: 't',
        topicId: '00000000000000000000000000000000',
        isInternal: false,
        partitions: [
          {
            errorCode: 0,
            partitionIndex: 0,
            leaderId,
            leaderEpoch: leaderId,
            replicaNodes: [1, 2],
            isrNodes: [1, 2],
            offlineReplicas: [],
          },
          ...(leader1 === null
            ? []
            : [
                {
                  errorCode: 0,
                  partitionIndex: 1,
                  leaderId: leader1,
                  leaderEpoch: leader1,
                  replicaNodes: [1, 2],
                  isrNodes: [1, 2],
                  offlineReplicas: [],
                },
              ]),
        ],
        topicAuthorizedOperations: 0,
      },
    ],
  };
}

function handler(node: number) {
  return (req: FakeRequest) => {
    switch (req.header.apiKey) {
      case ApiKey.ApiVersions:
        return req.reply(apiVersionsBody(RANGES));
      case ApiKey.Metadata: {
        log.push(`metadata@${node}`);
        const answer = metadata();
        if (metadataDelayMs > 0) setTimeout(() => req.reply(answer), metadataDelayMs);
        else req.reply(answer);
        return;
      }
      case ApiKey.Produce:
        log.push(`produce@${node}`);
        return onProduce(node, req);
      case ApiKey.Fetch:
        log.push(`fetch@${node}`);
        return onFetch(node, req);
      case ApiKey.ListOffsets:
        log.push(`listoffsets@${node}`);
        return onListOffsets(node, req);
      case ApiKey.FindCoordinator:
        return onFindCoordinator(node, req);
      case ApiKey.DescribeGroups:
        log.push(`describegroups@${node}`);
        return onDescribeGroups(node, req);
    }
  };
}

function produceReply(req: FakeRequest, errorCode: number, baseOffset: bigint): void {
  req.reply({
    responses: [
      {
        name: 't',
        partitionResponses: [{ index: 0, errorCode, baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n }],
      },
    ],
    throttleTimeMs: 0,
  });
}

describe('retries follow the partition leader', () => {
  before(async () => {
    a = await startFakeBroker(handler(1));
    b = await startFakeBroker(handler(2));
  });
  after(async () => {
    await a.close();
    await b.close();
  });
  beforeEach(() => {
    leader = 1;
    leader1 = null;
    listed = [1, 2];
    metadataDelayMs = 0;
    log = [];
  });

  test('producer: NOT_LEADER_OR_FOLLOWER → metadata refresh → the new leader gets the batch', async () => {
    onProduce = (node, req) => {
      if (node === 1) {
        leader = 2;
        produceReply(req, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n);
      } else produceReply(req, 0, 42n);
    };
    const p = new Producer({ brokers: `127.0.0.1:${a.port}`, retryBackoffMs: 10 });
    try {
      const md = await p.send({ topic: 't', key: 'k', value: 'v' });
      assert.deepEqual([md.partition, md.offset], [0, 42n]);
      assert.deepEqual(
        log.filter((l) => l.startsWith('produce')),
        ['produce@1', 'produce@2'],
      );
      assert.ok(log.filter((l) => l.startsWith('metadata')).length >= 2, 'metadata was refreshed');
    } finally {
      await p.close();
    }
  });

  test('producer: a retry after NOT_LEADER_OR_FOLLOWER waits for metadata asked for after the error', async () => {
    // The race of the old flake, made certain: a metadata refresh is already in flight (it will name the old
    // leader) when the produce fails, and every metadata answer takes far longer than the retry backoff. The
    // retry must neither fire before a refresh answers nor trust the refresh that was sent before the error.
    onProduce = (node, req) => {
      if (node === 1) {
        leader = 2;
        produceReply(req, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n);
      } else produceReply(req, 0, 43n);
    };
    // Bootstrapped from broker 2: metadata goes to broker 2, the produce to broker 1, on another connection (a
    // broker answers a connection's requests in order, so only there can the two answers cross).
    const p = new Producer({ brokers: `127.0.0.1:${b.port}`, retryBackoffMs: 5, lingerMs: 0 });
    try {
      await p.connect();
      metadataDelayMs = 300;
      p.cluster.markStale();
      const stale = p.cluster.refreshMetadata(); // asked before the error: answers leader 1
      const md = await p.send({ topic: 't', key: 'k', value: 'v' });
      await stale;
      assert.deepEqual([md.partition, md.offset], [0, 43n]);
      assert.deepEqual(
        log.filter((l) => l.startsWith('produce')),
        ['produce@1', 'produce@2'],
        'the retry went to the new leader only',
      );
    } finally {
      await p.close();
    }
  });

  test('producer: a non-retriable error fails the records at once, without a retry', async () => {
    onProduce = (_node, req) => produceReply(req, ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1n);
    const p = new Producer({ brokers: `127.0.0.1:${a.port}`, retryBackoffMs: 10 });
    try {
      await assert.rejects(
        p.sendBatch([
          { topic: 't', value: '1' },
          { topic: 't', value: '2' },
        ]),
        /^KafkaError: TOPIC_AUTHORIZATION_FAILED: produce to t\/0: /,
      );
      assert.equal(log.filter((l) => l.startsWith('produce')).length, 1);
    } finally {
      await p.close();
    }
  });

  test('producer: a connection dropped mid-request is retried; retries are bounded', async () => {
    let drops = 1;
    onProduce = (_node, req) => {
      if (drops-- > 0) req.socket.destroy();
      else produceReply(req, 0, 7n);
    };
    const p = new Producer({ brokers: `127.0.0.1:${a.port}`, retryBackoffMs: 10 });
    assert.equal((await p.send({ topic: 't', value: 'x' })).offset, 7n);
    await p.close();

    onProduce = (_node, req) => produceReply(req, ErrorCode.NOT_ENOUGH_REPLICAS, -1n);
    const q = new Producer({ brokers: `127.0.0.1:${a.port}`, retries: 2, retryBackoffMs: 10 });
    await assert.rejects(q.send({ topic: 't', value: 'x' }), /NOT_ENOUGH_REPLICAS: .*\(after 3 attempts\)/);
    await q.close();
  });

  test('consumer: a fetch answered NOT_LEADER_OR_FOLLOWER moves to the new leader', async () => {
    const records = await buildBatch({
      baseOffset: 5n,
      records: [{ value: 'five' }, { value: 'six' }],
    });
    onFetch = (node, req) => {
      const partition = (base: Struct) => ({
        responses: [{ topic: 't', partitions: [{ partitionIndex: 0, ...base }] }],
      });
      if (node === 1) {
        leader = 2;
        req.reply(partition({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1n, records: null }));
      } else {
        const offset = (req.body!.topics as Struct[])[0]!.partitions[0].fetchOffset as bigint;
        req.reply(partition({ errorCode: 0, highWatermark: 7n, records: offset <= 5n ? records : Buffer.alloc(0) }));
      }
    };
    const c = new Consumer({ brokers: `127.0.0.1:${a.port}`, retry: { initialBackoffMs: 10 } });
    c.assign([{ topic: 't', partition: 0, offset: 5 }]);
    const got: string[] = [];
    try {
      for await (const r of c.records({ untilEnd: true })) got.push(`${r.offset}:${r.value}`);
    } finally {
      await c.close();
    }
    assert.deepEqual(got, ['5:five', '6:six']);
    assert.ok(log.includes('fetch@1') && log.includes('fetch@2'));
  });

  test('producer: a leader gone from the metadata is waited out, not an error', async () => {
    // Broker 2 died: the metadata no longer lists it, but partition 1 still names it until a new leader is
    // elected. The record waits (retrying with refreshes) and goes to the new leader. It used to fail at once
    // with BROKER_NOT_AVAILABLE "broker 2 is not in the cluster metadata".
    leader1 = 2;
    listed = [1];
    onProduce = (node, req) => {
      const part = (req.body!.topicData as Struct[])[0]!.partitionData[0].index as number;
      req.reply({
        responses: [
          {
            name: 't',
            partitionResponses: [
              { index: part, errorCode: 0, baseOffset: 11n, logAppendTimeMs: -1n, logStartOffset: 0n },
            ],
          },
        ],
        throttleTimeMs: 0,
      });
      log.push(`produced p${part}@${node}`);
    };
    const p = new Producer({ brokers: `127.0.0.1:${a.port}`, retryBackoffMs: 10, lingerMs: 0 });
    try {
      const sent = p.send({ topic: 't', partition: 1, value: 'x' });
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        log.filter((l) => l.startsWith('produce')),
        [],
        'nothing sent while the partition has no reachable leader',
      );
      leader1 = 1; // the election
      assert.equal((await sent).offset, 11n);
      assert.deepEqual(
        log.filter((l) => l.startsWith('produce')),
        ['produce@1', 'produced p1@1'],
      );
    } finally {
      await p.close();
    }
  });

  test('consumer: a leader gone from the metadata pauses only its partitions; the others go on', async () => {
    // Partition 0 is led by broker 1 (alive), partition 1 by broker 2, which died and left the metadata. The
    // consumer reads partition 0 meanwhile, and partition 1 once broker 1 leads it. It used to fail with
    // "broker 2 is not in the cluster metadata" (BROKER_NOT_AVAILABLE, not retriable).
    leader1 = 2;
    listed = [1];
    const batches = new Map<string, Buffer>();
    for (const part of [0, 1])
      for (let off = 0; off < 3; off++)
        batches.set(
          `${part}/${off}`,
          await buildBatch({ baseOffset: BigInt(off), records: [{ value: `p${part}-${off}` }] }),
        );
    onFetch = (node, req) => {
      const partitions = (req.body!.topics as Struct[])[0]!.partitions as Struct[];
      let any = false;
      const answers = partitions.map((q) => {
        const part = q.partition as number;
        const led = part === 0 ? leader : leader1;
        if (led !== node)
          return {
            partitionIndex: part,
            errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
            highWatermark: -1n,
            records: null,
          };
        const records = batches.get(`${part}/${q.fetchOffset}`) ?? null;
        if (records) any = true;
        return { partitionIndex: part, errorCode: 0, highWatermark: 3n, records };
      });
      const reply = () => req.reply({ responses: [{ topic: 't', partitions: answers }] });
      if (any) reply();
      else setTimeout(reply, 50);
    };
    const c = new Consumer({ brokers: `127.0.0.1:${a.port}`, retry: { initialBackoffMs: 10, maxBackoffMs: 100 } });
    c.assign([
      { topic: 't', partition: 0, offset: 0 },
      { topic: 't', partition: 1, offset: 0 },
    ]);
    const got: string[] = [];
    try {
      for await (const r of c.records()) {
        got.push(String(r.value));
        if (got.length === 3) leader1 = 1; // partition 0 read in full while 1 had no live leader: now elected
        if (got.length === 6) break;
      }
    } finally {
      await c.close();
    }
    assert.deepEqual(got, ['p0-0', 'p0-1', 'p0-2', 'p1-0', 'p1-1', 'p1-2']);
    assert.ok(!log.includes('fetch@2'), 'broker 2 (gone) was never asked');
  });

  test('admin: a group whose coordinator is down is retried through the failover (retry timeoutMs)', async () => {
    // For 1 s FindCoordinator names broker 3, which is down (its port refuses connections), then broker 1 (the
    // coordinator moved). With 3 retries alone the admin gave up after ~0.3 s; the retry timeout carries it
    // through, as Kafka's default.api.timeout.ms does.
    const dead = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    const movedAt = Date.now() + 1000;
    onFindCoordinator = (_node, req) => {
      const moved = Date.now() >= movedAt;
      req.reply({
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        nodeId: moved ? 1 : 3,
        host: '127.0.0.1',
        port: moved ? a.port : dead,
      });
    };
    onDescribeGroups = (_node, req) =>
      req.reply({
        throttleTimeMs: 0,
        groups: [
          {
            errorCode: 0,
            groupId: 'g',
            groupState: 'Empty',
            protocolType: 'consumer',
            protocolData: '',
            members: [],
            authorizedOperations: -2147483648,
          },
        ],
      });
    const admin = new Admin({
      brokers: `127.0.0.1:${a.port}`,
      retry: { retries: 3, initialBackoffMs: 50, maxBackoffMs: 200, timeoutMs: 5000 },
    });
    try {
      const [g] = await admin.describeGroups(['g']);
      assert.equal(g?.error, null);
      assert.equal(g?.state, 'Empty');
      assert.equal(g?.coordinator, 1);
    } finally {
      await admin.close();
    }
  });

  test('admin: ListOffsets retried on the new leader', async () => {
    onListOffsets = (node, req) => {
      const body = (errorCode: number, offset: bigint) => ({
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode, timestamp: -1n, offset, leaderEpoch: 2 }] }],
      });
      if (node === 1) {
        leader = 2;
        req.reply(body(ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n));
      } else req.reply(body(0, 99n));
    };
    const admin = new Admin({ brokers: `127.0.0.1:${a.port}`, retry: { initialBackoffMs: 10 } });
    try {
      const [r] = await admin.listOffsets([{ topic: 't', partition: 0, spec: 'latest' }]);
      assert.equal(r?.error, null);
      assert.equal(r?.offset, 99n);
      assert.deepEqual(
        log.filter((l) => l.startsWith('listoffsets')),
        ['listoffsets@1', 'listoffsets@2'],
      );
    } finally {
      await admin.close();
    }
  });
});
