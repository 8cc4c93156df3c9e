/**
 * request_percentage (issue 19, KIP-124) against a real `kstream serve`, over raw requests: the event-loop time
 * a client's requests take (their handlers' synchronous part and the encoding of their answers), as a
 * percentage of one thread over the quota window, metered per quota entity with a token bucket. A client over
 * it gets throttle_time_ms (at most one window, as Kafka bounds request throttles) and its connection is muted
 * that long; another client on the same broker doing the same is not throttled; requests Kafka exempts (the
 * cluster's own: a follower's Fetch) are not metered.
 *
 * The numbers: request_percentage 0.01 with the default window (11 x 1 s) lets a client use 1.1 ms of the loop
 * at once and 0.1 ms per second after that; a Metadata request takes tens of microseconds or more of it, so some
 * hundred of them in a row exceed it on any machine (the loop below is bounded), and none of it depends on how
 * fast the machine is beyond that.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Struct } from '../../src/protocol/codec/schema.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: BrokerProcess;
let admin: RawClient;

async function setQuota(clientId: string, value: number | null): Promise<void> {
  const r = await admin.request(ApiKey.AlterClientQuotas, 1, {
    entries: [
      {
        entity: [{ entityType: 'client-id', entityName: clientId }],
        ops: [{ key: 'request_percentage', value: value ?? 0, remove: value === null }],
      },
    ],
    validateOnly: false,
  });
  assert.equal((r.entries as Struct[])[0]?.errorCode, 0, JSON.stringify(r.entries));
}

/** One Metadata v9 request (clients throttle themselves from v6): its throttle_time_ms. */
async function metadata(c: RawClient, clientId: string): Promise<number> {
  const r = await c.request(
    ApiKey.Metadata,
    9,
    { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false },
    { clientId },
  );
  assert.ok(Array.isArray(r.brokers) && (r.brokers as Struct[]).length === 1);
  return r.throttleTimeMs as number;
}

const BOUND = 20_000;

/** A raw connection that sends each request at once (RawClient writes a frame in pieces: no Nagle delay). */
async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(broker.port);
  c.socket.setNoDelay(true);
  return c;
}

describe('request_percentage', () => {
  before(async () => {
    broker = await startBroker();
    admin = await RawClient.connect(broker.port);
    const ct = await admin.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'rq', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
    });
    assert.equal((ct.topics as Struct[])[0]?.errorCode, 0);
  });
  after(async () => {
    admin?.close();
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });

  test('a client over request_percentage gets throttle_time_ms (at most one window) and is muted; another client is not throttled', async () => {
    await setQuota('busy', 0.01);
    const busy = await connect();
    const calm = await connect();
    try {
      let throttle = 0;
      let sent = 0;
      while (throttle === 0 && sent < BOUND) {
        throttle = await metadata(busy, 'busy');
        sent++;
      }
      assert.ok(throttle > 0, `no throttle_time_ms after ${sent} Metadata requests`);
      // Kafka bounds a request throttle by one quota window (quota.window.size.seconds, 1 s).
      assert.ok(throttle <= 1000, `throttle_time_ms ${throttle}`);
      // Muted (KIP-219): the next request is read only once the throttle is over (a lower bound of the mute,
      // not a speed figure).
      const t0 = Date.now();
      await metadata(busy, 'busy');
      const waited = Date.now() - t0;
      assert.ok(waited >= throttle * 0.8, `answered after ${waited} ms, throttled for ${throttle} ms`);
      // The same burst from another client id on the same broker: never throttled.
      for (let i = 0; i < sent + 10; i++) assert.equal(await metadata(calm, 'calm'), 0);
    } finally {
      busy.close();
      calm.close();
    }
  });

  test('a follower fetch (the cluster’s own request) is exempt; a consumer fetch of the same client id is metered', async () => {
    await setQuota('fetcher', 0.01);
    const c = await connect();
    const fetchOnce = async (replicaId: number) => {
      const r = await c.request(
        ApiKey.Fetch,
        11,
        {
          replicaId,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 'rq',
              partitions: [
                { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1024 },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
        { clientId: 'fetcher' },
      );
      return r.throttleTimeMs as number;
    };
    try {
      // As many follower fetches as it takes a consumer to be throttled, and more: never throttled.
      let consumer = 0;
      let n = 0;
      while (consumer === 0 && n < BOUND) {
        assert.equal(await fetchOnce(2), 0, `follower fetch ${n} throttled`);
        n++;
        if (n % 50 === 0) consumer = await fetchOnce(-1);
      }
      assert.ok(consumer > 0, `a consumer fetch was not throttled after ${n} fetches`);
    } finally {
      c.close();
    }
  });

  test('removing the quota ends the throttling', async () => {
    await setQuota('busy', null);
    const c = await connect();
    try {
      for (let i = 0; i < 200; i++) assert.equal(await metadata(c, 'busy'), 0);
    } finally {
      c.close();
    }
  });
});
