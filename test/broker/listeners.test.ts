/**
 * Listener config (listeners, advertised.listeners, listener.security.protocol.map, inter.broker.listener.name)
 * and ssl.principal.mapping.rules, as Kafka defines them: parsed values, and a clear ConfigError for bad ones.
 * A cluster node's inter-broker login (sasl.mechanism.inter.broker.protocol, inter.broker.sasl.*, Kafka's
 * listener.name.<l>.<mechanism>.sasl.jaas.config, the listener's TLS) and its etcd client's TLS (etcd.ssl.*).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { brokerConfig, ConfigError } from '../../src/broker/config.js';
import { applyPrincipalRules, parsePrincipalRules } from '../../src/broker/listeners.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { makeCa, makeCert } from '../helpers/certs.js';

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
  ];
  for (const [props, message, o] of bad) {
    assert.throws(
      () => brokerConfig({ props, ...o }),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      JSON.stringify(props),
    );
  }
});

const ETCD = { 'etcd.endpoints': 'http://127.0.0.1:2379' };
const SASL_INTER = {
  listeners: 'PLAINTEXT://:1,INTERNAL://:2',
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT',
  'inter.broker.listener.name': 'INTERNAL',
  'etcd.endpoints': 'http://127.0.0.1:2379',
};

test('a secured inter-broker listener in a cluster: its login and TLS are checked at start', () => {
  const dir = tempDir('kstream-inter-broker-');
  try {
    const pw = join(dir, 'broker.pw');
    writeFileSync(pw, 'pw-from-file\nignored\n');
    const bad: [Record<string, string>, RegExp][] = [
      [SASL_INTER, /INTERNAL is SASL_PLAINTEXT: give this node's login as inter\.broker\.sasl\.username/],
      [{ ...SASL_INTER, 'inter.broker.sasl.username': 'broker' }, /inter\.broker\.sasl\.password\.file/],
      [
        { ...SASL_INTER, 'inter.broker.sasl.username': 'b', 'inter.broker.sasl.password.file': join(dir, 'none') },
        /cannot read inter\.broker\.sasl\.password\.file .*none: ENOENT/,
      ],
      [
        { ...SASL_INTER, 'sasl.mechanism.inter.broker.protocol': 'PLAIN' },
        /PLAIN is not in sasl\.enabled\.mechanisms of the inter-broker listener INTERNAL/,
      ],
      [{ ...SASL_INTER, 'sasl.mechanism.inter.broker.protocol': 'GSSAPI' }, /GSSAPI is not supported/],
      [
        {
          ...SASL_INTER,
          'listener.name.internal.scram-sha-256.sasl.jaas.config': 'x required username="b";',
        },
        /scram-sha-256\.sasl\.jaas\.config needs username="…" and password="…"/,
      ],
      [
        {
          ...SASL_INTER,
          'inter.broker.sasl.username': 'b',
          'listener.name.internal.scram-sha-256.sasl.jaas.config': 'x required username="b" password="p";',
        },
        /either .*jaas\.config or inter\.broker\.sasl\.username/,
      ],
      [{ ...ETCD, 'etcd.ssl.ca.location': '/x' }, /etcd\.ssl\.\* are set but etcd\.endpoints are not https/],
      [{ 'etcd.endpoints': 'https://a:1,http://b:2' }, /mixes https:\/\/ and http:\/\//],
      [
        { 'etcd.endpoints': 'https://a:1', 'etcd.ssl.certificate.location': '/x' },
        /etcd\.ssl\.certificate\.location and etcd\.ssl\.key\.location go together/,
      ],
      [
        { 'etcd.endpoints': 'https://a:1', 'etcd.ssl.ca.location': join(dir, 'none') },
        /cannot read etcd\.ssl\.ca\.location/,
      ],
      [{ ...ETCD, 'etcd.username': 'root' }, /etcd\.username and etcd\.password\.file go together/],
    ];
    for (const [props, message] of bad) {
      assert.throws(
        () => brokerConfig({ props }),
        (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('pw-from-file'),
        JSON.stringify(props),
      );
    }
    // A node alone never connects to another: no inter-broker login is needed.
    const { 'etcd.endpoints': _, ...alone } = SASL_INTER;
    assert.equal(brokerConfig({ props: alone }).interBroker, null);

    const c = brokerConfig({
      props: { ...SASL_INTER, 'inter.broker.sasl.username': 'broker', 'inter.broker.sasl.password.file': pw },
    });
    assert.equal(c.advertisedPort, 2, 'the node registers its inter-broker listener');
    assert.equal(c.interBroker?.listener, 'INTERNAL');
    assert.equal(c.interBroker?.describe, 'SASL_PLAINTEXT as broker (SCRAM-SHA-256)');
    assert.deepEqual(c.interBroker?.connectOptions(), {
      sasl: { mechanism: 'SCRAM-SHA-256', user: 'broker', password: 'pw-from-file' },
    });
    writeFileSync(pw, 'rotated\n');
    assert.equal(c.interBroker?.connectOptions().sasl?.password, 'rotated', 'the file is read at each connection');

    // Kafka's own form, with TLS: the listener's truststore trusted, its keystore presented.
    const ca = makeCa(dir, 'ca');
    const node = makeCert(dir, ca, 'node', '/CN=node', 'both');
    const tls = brokerConfig({
      props: {
        ...SASL_INTER,
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL',
        'ssl.keystore.location': node.pem,
        'listener.name.internal.ssl.truststore.location': ca.cert,
        'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'listener.name.internal.scram-sha-512.sasl.jaas.config':
          'org.apache.kafka.common.security.scram.ScramLoginModule required username="kafka" password="s3\\"cret";',
        'ssl.endpoint.identification.algorithm': '',
      },
    }).interBroker;
    assert.equal(tls?.describe, 'SASL_SSL as kafka (SCRAM-SHA-512)');
    const o = tls?.connectOptions();
    assert.deepEqual(o?.sasl, { mechanism: 'SCRAM-SHA-512', user: 'kafka', password: 's3"cret' });
    assert.equal(o?.tls?.ca, readFileSync(ca.cert, 'utf8'));
    assert.match(String(o?.tls?.cert), /BEGIN CERTIFICATE/);
    assert.match(String(o?.tls?.key), /BEGIN PRIVATE KEY/);
    assert.equal(o?.tls?.rejectUnauthorized, true);
    assert.equal(typeof o?.tls?.checkServerIdentity, 'function', 'an empty algorithm skips the host check');

    const etcd = brokerConfig({
      props: {
        'etcd.endpoints': 'https://127.0.0.1:2379',
        'etcd.ssl.ca.location': ca.cert,
        'etcd.ssl.certificate.location': node.cert,
        'etcd.ssl.key.location': node.key,
      },
    }).etcdSecurity;
    assert.deepEqual(etcd.tls?.ca, readFileSync(ca.cert));
    assert.deepEqual(etcd.tls?.cert, readFileSync(node.cert));
    assert.deepEqual(etcd.tls?.key, readFileSync(node.key));
  } finally {
    removeDir(dir);
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
