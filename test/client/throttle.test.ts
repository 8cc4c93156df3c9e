/**
 * KIP-219 in kstream's client: a broker that throttles a request answers at once with throttle_time_ms and then
 * mutes the connection for that time. The client must hold its next requests on that connection until the
 * throttle ends and not count the wait against their request timeout (before the fix, the next request was
 * written at once, sat unread in the muted broker and timed out; after the fix it is answered once the throttle
 * is over). Against a real `kstream serve` with a controller_mutation_rate quota for the client id.
 *
 * The numbers: controller_mutation_rate 1 per second with the default window (11 x 1 s) gives a burst of 11
 * partitions; a topic of 19 partitions takes the bucket to -8 and the next topic in the request is refused (KIP-599
 * strict from CreateTopics v6) with a throttle of about 8 s, longer than the client's
 * request timeout of 3 s, whatever the machine's speed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Api } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';

const REQUEST_TIMEOUT_MS = 3_000;

let broker: BrokerProcess;
let admin: Connection;
const conns: Connection[] = [];

async function connect(clientId: string, requestTimeoutMs?: number): Promise<Connection> {
  const c = await Connection.connect({ host: '127.0.0.1', port: broker.port, clientId, requestTimeoutMs });
  conns.push(c);
  return c;
}

async function setQuota(clientId: string, key: string, value: number): Promise<void> {
  const r = await admin.request(Api.AlterClientQuotas, {
    entries: [{ entity: [{ entityType: 'client-id', entityName: clientId }], ops: [{ key, value, remove: false }] }],
    validateOnly: false,
  });
  assert.equal(r.entries[0]?.errorCode, 0, JSON.stringify(r.entries));
}

describe('client throttling (KIP-219)', () => {
  before(async () => {
    broker = await startBroker();
    admin = await connect('throttle-admin');
  });
  after(async () => {
    for (const c of conns) c.close();
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });

  test('requests after a throttled answer wait for the throttle to end and are answered, not timed out', async () => {
    await setQuota('thr-client', 'controller_mutation_rate', 1);
    const c = await connect('thr-client', REQUEST_TIMEOUT_MS);
    const created = await c.request(Api.CreateTopics, {
      topics: [
        { name: 'thr-a', numPartitions: 19, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'thr-b', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    // thr-a fits (credit 11 >= 0) and takes the bucket to -8; thr-b meets it below zero and is refused.
    const codes = created.topics.map((t) => [t.name, t.errorCode]);
    assert.deepEqual(codes, [
      ['thr-a', 0],
      ['thr-b', ErrorCode.THROTTLING_QUOTA_EXCEEDED],
    ]);
    assert.ok(
      created.throttleTimeMs > REQUEST_TIMEOUT_MS,
      `the broker throttles longer than the request timeout (${created.throttleTimeMs} ms)`,
    );
    // Two requests made during the throttle: both held, written in order once it ends, both answered.
    const [meta, versions] = await Promise.all([
      c.request(Api.Metadata, { topics: [{ name: 'thr-a' }], allowAutoTopicCreation: false }),
      c.request(Api.ApiVersions, { clientSoftwareName: 'kstream-test', clientSoftwareVersion: '1' }),
    ]);
    assert.equal(meta.topics[0]?.partitions.length, 19);
    assert.equal(versions.errorCode, 0);
    assert.equal(c.closed, false);
  });
});
