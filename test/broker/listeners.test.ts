/**
 * Listener config (listeners, advertised.listeners, listener.security.protocol.map, inter.broker.listener.name)
 * and ssl.principal.mapping.rules, as Kafka defines them: parsed values, and a clear ConfigError for bad ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerConfig, ConfigError } from '../../src/broker/config.js';
import { applyPrincipalRules, parsePrincipalRules } from '../../src/broker/listeners.js';

test('listeners with advertised addresses, a protocol map and the inter-broker listener', () => {
  const c = brokerConfig({
    props: {
      listeners: 'PLAINTEXT://127.0.0.1:9092,CLIENT://0.0.0.0:9094',
      'advertised.listeners': 'CLIENT://kafka1.example.com:19094',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CLIENT:SASL_SSL',
      'inter.broker.listener.name': 'PLAINTEXT',
    },
  });
  assert.deepEqual(
    c.listeners.map((l) => [l.name, l.protocol, l.host, l.port, l.advertisedHost, l.advertisedPort]),
    [
      ['PLAINTEXT', 'PLAINTEXT', '127.0.0.1', 9092, '127.0.0.1', 9092],
      ['CLIENT', 'SASL_SSL', '0.0.0.0', 9094, 'kafka1.example.com', 19094],
    ],
  );
  assert.equal(c.advertisedPort, 9092, 'the node registers its inter-broker listener');
});

test('--host/--port stay the one PLAINTEXT listener', () => {
  const c = brokerConfig({ host: '127.0.0.1', port: 9093, advertisedHost: 'h.example', advertisedPort: 1234 });
  assert.deepEqual(
    c.listeners.map((l) => [l.name, l.protocol, l.port, l.advertisedHost, l.advertisedPort]),
    [['PLAINTEXT', 'PLAINTEXT', 9093, 'h.example', 1234]],
  );
});

test('bad listener configs are refused with a clear message', () => {
  const bad: [Record<string, string>, RegExp, { port?: number }?][] = [
    [{ listeners: 'PLAINTEXT:9092' }, /expected NAME:\/\/host:port/],
    [{ listeners: 'CLIENT://127.0.0.1:9094' }, /CLIENT has no security protocol/],
    [{ listeners: 'SSL://:1,SSL://:2' }, /appears twice/],
    [{ listeners: 'PLAINTEXT://:1', 'advertised.listeners': 'SSL://h:1' }, /SSL, which is not in listeners/],
    [{ listeners: 'PLAINTEXT://:1', 'inter.broker.listener.name': 'X' }, /not one of the listeners/],
    [{ 'listener.security.protocol.map': 'A:TLS' }, /PROTOCOL one of/],
    [{ listeners: 'PLAINTEXT://:1' }, /either listeners .* or --host\/--port/, { port: 9092 }],
    [
      { listeners: 'PLAINTEXT://:1,SSL://:2', 'inter.broker.listener.name': 'SSL', 'etcd.endpoints': 'http://e:2379' },
      /replication over TLS or SASL is not supported yet/,
    ],
  ];
  for (const [props, message, o] of bad) {
    assert.throws(
      () => brokerConfig({ props, ...o }),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      JSON.stringify(props),
    );
  }
});

test('ssl.principal.mapping.rules as Kafka applies them', () => {
  const rules = parsePrincipalRules(
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$2/L,DEFAULT',
  );
  assert.equal(applyPrincipalRules('CN=kafka-app,OU=ServiceUsers,O=Example,C=DE', rules), 'kafka-app');
  assert.equal(applyPrincipalRules('CN=Duke,OU=SME,O=mycp', rules), 'duke@sme');
  assert.equal(applyPrincipalRules('CN=other,O=x', rules), 'CN=other,O=x');
  assert.throws(() => parsePrincipalRules('RULE:broken'), ConfigError);
});
