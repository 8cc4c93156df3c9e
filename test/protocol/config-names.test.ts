/**
 * The one rule for secret config names (broker DescribeConfigs and debug bundle redaction share it), and the
 * text / URL redaction built on it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSensitiveConfigName, redactConfigText, redactUrlCredentials } from '../../src/protocol/config-names.js';

test('secret names: Kafka password-typed keys, secrets, private keys, tokens; not look-alikes', () => {
  for (const name of [
    'ssl.keystore.password',
    'ssl.key.password',
    'ssl.truststore.password',
    'ssl.keystore.key',
    'sasl.jaas.config',
    'listener.name.sasl_ssl.plain.sasl.jaas.config',
    'sasl.oauthbearer.client.credentials.client.secret',
    'delegation.token.master.key',
    'delegation.token.secret.key',
    'token',
    'access.token',
    'api_key',
    'private-key',
    'PASSWORD',
  ])
    assert.equal(isSensitiveConfigName(name), true, name);
  for (const name of [
    'key.serializer',
    'message.key.schema',
    'delegation.token.expiry.time.ms',
    'log.dirs',
    'etcd.endpoints',
    'num.partitions',
    'keystore.type',
    'ssl.keystore.location',
    'monkey',
  ])
    assert.equal(isSensitiveConfigName(name), false, name);
});

test('URL credentials: the password goes, user and host stay', () => {
  assert.equal(
    redactUrlCredentials('http://root:pw@10.0.0.1:2379,https://u:p%40ss@h/x'),
    'http://root:[REDACTED]@10.0.0.1:2379,https://u:[REDACTED]@h/x',
  );
  assert.equal(redactUrlCredentials('http://10.0.0.1:2379 mailto:a@b'), 'http://10.0.0.1:2379 mailto:a@b');
});

test('text: sensitive name=value, name: value and JSON pairs redacted; JSON stays valid; others untouched', () => {
  assert.equal(
    redactConfigText('ssl.keystore.password=hunter2 token: s3cr3t retention.ms=100 url=http://a:b@h'),
    'ssl.keystore.password=[REDACTED] token: [REDACTED] retention.ms=100 url=http://a:[REDACTED]@h',
  );
  const json = JSON.stringify({ 'sasl.jaas.config': 'x y z', key: 'k', name: 'n', nested: { password: 'p' } });
  assert.deepEqual(JSON.parse(redactConfigText(json)), {
    'sasl.jaas.config': '[REDACTED]',
    key: '[REDACTED]',
    name: 'n',
    nested: { password: '[REDACTED]' },
  });
});
