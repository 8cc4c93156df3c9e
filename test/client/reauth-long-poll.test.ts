/**
 * KIP-368 with long polls: kstream's client re-authenticates on a connection whose Fetch requests wait on the
 * broker (max wait 1 s, nothing to read) while the session lasts 1.5 s. A broker answers in request order, so
 * a login sent behind a waiting Fetch is answered only after it; requests sent meanwhile must wait for the
 * new session (as the Java client's do), or the broker closes the connection at the first one past the old
 * session's end. Replica fetchers work this way (test/cluster/secure-cluster.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { Api } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/until.js';

const PASSWORD = `adm-${randomBytes(12).toString('hex')}`;
let b: BrokerProcess | undefined;

before(async () => {
  b = await startBroker({
    noHostPort: true,
    args: ['--bootstrap-user', 'admin'],
    env: { ...process.env, KSTREAM_BOOTSTRAP_PASSWORD: PASSWORD },
    props: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'connections.max.reauth.ms': '1500',
    },
  });
});

after(async () => {
  await b?.stop();
  if (b) removeDir(b.dataDir);
});

test('long-poll Fetches go on across re-authentications: the connection outlives four session lifetimes', async () => {
  const conn = await Connection.connect({
    host: '127.0.0.1',
    port: (b as BrokerProcess).listeners.SASL_PLAINTEXT as number,
    sasl: { mechanism: 'SCRAM-SHA-512', user: 'admin', password: PASSWORD },
  });
  try {
    await until('topic quiet has a leader', async () => {
      const md = await conn.request(Api.Metadata, { topics: [{ name: 'quiet' }], allowAutoTopicCreation: true });
      return md.topics[0]?.errorCode === 0 && (md.topics[0]?.partitions[0]?.leaderId ?? -1) >= 0;
    });
    const started = Date.now();
    let fetches = 0;
    while (Date.now() - started < 6000) {
      const r = await conn.request(
        Api.Fetch,
        {
          replicaId: -1,
          maxWaitMs: 1000,
          minBytes: 1,
          maxBytes: 1024 * 1024,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: 'quiet',
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0n,
                  logStartOffset: -1n,
                  partitionMaxBytes: 1024 * 1024,
                  lastFetchedEpoch: -1,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
        { timeoutMs: 10_000 },
      );
      assert.equal(r.responses[0]?.partitions[0]?.errorCode, 0);
      fetches++;
    }
    assert.equal(conn.closed, false);
    assert.ok(fetches >= 3);
    assert.doesNotMatch((b as BrokerProcess).logs(), /SASL session expired/);
  } finally {
    conn.close();
  }
});
