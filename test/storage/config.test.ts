import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigError,
  DEFAULT_LOG_CONFIG,
  LOG_CONFIG_KEYS,
  LONG_MAX,
  logConfigFromProps,
  logConfigToProps,
  overriddenKeys,
} from '../../src/storage/config.js';

test('defaults match Kafka', () => {
  const c = DEFAULT_LOG_CONFIG;
  assert.equal(c.segmentBytes, 1073741824);
  assert.equal(c.segmentMs, 604800000);
  assert.equal(c.retentionMs, 604800000);
  assert.equal(c.retentionBytes, -1);
  assert.equal(c.indexIntervalBytes, 4096);
  assert.equal(c.flushMessages, Number.MAX_SAFE_INTEGER);
  assert.equal(c.flushMs, Number.MAX_SAFE_INTEGER);
  assert.equal(c.messageTimestampType, 'CreateTime');
  assert.equal(c.maxMessageBytes, 1048588);
  assert.equal(c.cleanupPolicy, 'delete');
  // the table renders the defaults the config holds
  const rendered = logConfigToProps(DEFAULT_LOG_CONFIG);
  for (const k of LOG_CONFIG_KEYS) assert.equal(rendered[k.name], k.default, k.name);
  assert.ok(LOG_CONFIG_KEYS.every((k) => k.doc.length > 10));
});

test('topic keys and broker keys parse, topic keys win, coarser units lose', () => {
  const c = logConfigFromProps({
    'log.segment.bytes': '1000',
    'log.retention.hours': '2',
    'log.roll.hours': '1',
    'retention.bytes': '5000',
    'flush.messages': LONG_MAX,
    'message.timestamp.type': 'LogAppendTime',
    'cleanup.policy': 'delete, compact',
    'unclean.leader.election.enable': 'true',
    'something.else': 'ignored',
  });
  assert.equal(c.segmentBytes, 1000);
  assert.equal(c.retentionMs, 2 * 3600_000);
  assert.equal(c.segmentMs, 3600_000);
  assert.equal(c.retentionBytes, 5000);
  assert.equal(c.flushMessages, Number.MAX_SAFE_INTEGER);
  assert.equal(c.messageTimestampType, 'LogAppendTime');
  assert.equal(c.cleanupPolicy, 'compact,delete');
  assert.equal(c.uncleanLeaderElectionEnable, true);
  const d = logConfigFromProps({ 'log.retention.hours': '2', 'log.retention.minutes': '3', 'log.retention.ms': '7' });
  assert.equal(d.retentionMs, 7);
  const e = logConfigFromProps({ 'log.retention.ms': '7', 'retention.ms': '-1' });
  assert.equal(e.retentionMs, -1);
  const base = logConfigFromProps({ 'segment.bytes': '2000' });
  const topic = logConfigFromProps({ 'retention.ms': '10' }, base);
  assert.equal(topic.segmentBytes, 2000);
  assert.deepEqual(overriddenKeys(topic, base), ['retention.ms']);
  assert.equal(logConfigToProps(topic)['flush.ms'], LONG_MAX);
});

test('bad values throw a ConfigError naming the key', () => {
  const cases: Record<string, string>[] = [
    { 'segment.bytes': 'abc' },
    { 'segment.bytes': '10' },
    { 'segment.bytes': '3000000000' },
    { 'retention.ms': '-2' },
    { 'log.retention.ms': '1.5' },
    { 'message.timestamp.type': 'Now' },
    { 'cleanup.policy': 'keep' },
    { 'flush.messages': '0' },
    { 'min.insync.replicas': '0' },
    { 'compression.type': 'brotli' },
    { 'unclean.leader.election.enable': 'yes' },
  ];
  for (const props of cases) {
    const key = Object.keys(props)[0]!;
    assert.throws(
      () => logConfigFromProps(props),
      (e: unknown) => e instanceof ConfigError && e.key === key && e.message.includes(key),
      key,
    );
  }
  assert.throws(
    () => logConfigFromProps({ 'log.segment.bytes': '1' }, DEFAULT_LOG_CONFIG, { mode: 'strict-topic' }),
    (e: unknown) => e instanceof ConfigError && e.key === 'log.segment.bytes',
  );
});
