/**
 * Admin APIs through real clients: CreatePartitions, DeleteRecords, AlterConfigs (kafkajs) and
 * IncrementalAlterConfigs (raw protocol), with per-item errors and data left intact.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const run = promisify(execFile);
let broker: BrokerProcess;
let admin: Admin;

async function topicConfig(name: string): Promise<Record<string, string>> {
  const r = await admin.describeConfigs({ resources: [{ type: 2, name }], includeSynonyms: false });
  return Object.fromEntries((r.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
}

describe('admin APIs', () => {
  before(async () => {
    broker = await startBroker();
    admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'adm', numPartitions: 2 }] });
  });
  after(async () => {
    await admin?.disconnect();
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
  });

  test('CreatePartitions grows a topic; shrinking or unknown topics are per-topic errors', async () => {
    await admin.createPartitions({ topicPartitions: [{ topic: 'adm', count: 5 }] });
    const md = await admin.fetchTopicMetadata({ topics: ['adm'] });
    assert.equal(md.topics[0]?.partitions.length, 5);
    await assert.rejects(
      admin.createPartitions({ topicPartitions: [{ topic: 'adm', count: 3 }] }),
      /INVALID_PARTITIONS|partitions/i,
    );
    await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: 'ghost', count: 3 }] }));
    const p = run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'adm', '-p', '4'], { timeout: 20_000 });
    p.child.stdin?.end('to the new partition\n');
    await p;
    const { stdout } = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', 'adm', '-p', '4', '-e', '-q'], {
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), 'to the new partition');
  });

  test('DeleteRecords moves the log start offset; reads start there', async () => {
    const p = run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'adm', '-p', '0'], { timeout: 20_000 });
    p.child.stdin?.end(`${Array.from({ length: 10 }, (_, i) => `r${i}`).join('\n')}\n`);
    await p;
    await admin.deleteTopicRecords({ topic: 'adm', partitions: [{ partition: 0, offset: '4' }] });
    const offsets = await admin.fetchTopicOffsets('adm');
    const p0 = offsets.find((o) => o.partition === 0);
    assert.equal(p0?.low, '4');
    assert.equal(p0?.high, '10');
    const { stdout } = await run(
      'kcat',
      ['-b', broker.bootstrap, '-C', '-t', 'adm', '-p', '0', '-o', 'beginning', '-e', '-q'],
      {
        timeout: 20_000,
      },
    );
    assert.deepEqual(stdout.trim().split('\n'), ['r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
  });

  test('AlterConfigs replaces overrides; bad values are rejected and change nothing', async () => {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: 'adm', configEntries: [{ name: 'retention.ms', value: '60000' }] }],
    });
    assert.equal((await topicConfig('adm'))['retention.ms'], '60000');
    await assert.rejects(
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name: 'adm', configEntries: [{ name: 'retention.ms', value: 'forever' }] }],
      }),
    );
    assert.equal((await topicConfig('adm'))['retention.ms'], '60000', 'unchanged after a bad value');
    await admin.alterConfigs({
      validateOnly: true,
      resources: [{ type: 2, name: 'adm', configEntries: [{ name: 'segment.bytes', value: '2000000' }] }],
    });
    assert.equal((await topicConfig('adm'))['segment.bytes'], '1073741824', 'validate-only changes nothing');
  });

  test('IncrementalAlterConfigs: SET, DELETE, APPEND to a list; per-resource errors', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const r = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [
          {
            resourceType: 2,
            resourceName: 'adm',
            configs: [
              { name: 'segment.ms', configOperation: 0, value: '3600000' },
              { name: 'retention.ms', configOperation: 1, value: null },
              { name: 'cleanup.policy', configOperation: 2, value: 'compact' },
            ],
          },
          { resourceType: 2, resourceName: 'ghost', configs: [{ name: 'segment.ms', configOperation: 0, value: '1' }] },
          { resourceType: 2, resourceName: 'adm', configs: [{ name: 'no.such', configOperation: 0, value: '1' }] },
        ],
        validateOnly: false,
      });
      assert.deepEqual(
        r.responses.map((x: { errorCode: number }) => x.errorCode),
        [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_CONFIG],
      );
    } finally {
      c.close();
    }
    const cfg = await topicConfig('adm');
    assert.equal(cfg['segment.ms'], '3600000');
    assert.equal(cfg['retention.ms'], '604800000', 'deleted override falls back to the default');
    assert.equal(cfg['cleanup.policy'], 'delete,compact');
  });

  test('DescribeCluster v0/v1 and DescribeConfigs for the broker', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      for (const v of [0, 1]) {
        const r = await c.request(ApiKey.DescribeCluster, v, {
          includeClusterAuthorizedOperations: false,
          endpointType: 1,
        });
        assert.equal(r.errorCode, 0);
        assert.equal(r.controllerId, 1);
        assert.deepEqual(
          r.brokers.map((b: { brokerId: number; host: string; port: number }) => [b.brokerId, b.host, b.port]),
          [[1, '127.0.0.1', broker.port]],
        );
        assert.match(r.clusterId, /^[A-Za-z0-9_-]{22}$/);
      }
    } finally {
      c.close();
    }
    const cfg = await admin.describeConfigs({ resources: [{ type: 4, name: '1' }], includeSynonyms: false });
    const entries = cfg.resources[0]?.configEntries ?? [];
    assert.equal(entries.find((e) => e.configName === 'num.partitions')?.configValue, '1');
    assert.equal(entries.find((e) => e.configName === 'num.partitions')?.isDefault, true);
  });
});
