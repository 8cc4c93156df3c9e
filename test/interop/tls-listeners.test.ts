/**
 * Listeners and TLS (issue 18, slice 1) with kcat (librdkafka) against a real `kstream serve` that has three
 * listeners: PLAINTEXT, SSL (server certificate only) and MTLS (an SSL listener with ssl.client.auth=required).
 * Certificates are made here with openssl. Shows: produce and consume over TLS and over mutual TLS; Metadata
 * answers each client with the addresses of the listener it connected on; a client certificate from another
 * CA, a missing client certificate, plaintext to a TLS port and TLS to a plaintext port are refused while the
 * broker keeps serving the others.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { encodeRequest } from '../../src/protocol/wire.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { type Ca, type Cert, makeCa, makeCert } from '../helpers/certs.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);
let broker: BrokerProcess;
let work: string;
let ca: Ca;
let server: Cert;
let client: Cert;
let rogue: Cert;

function kcat(port: number, args: string[], input?: string, wait = 10): Promise<{ stdout: string; stderr: string }> {
  const p = run('kcat', ['-b', `127.0.0.1:${port}`, '-m', String(wait), ...args], { timeout: 60_000 });
  if (input !== undefined) p.child.stdin?.end(input);
  return p;
}

const ssl = () => ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.cert}`];
const mtls = (c: Cert) => [...ssl(), '-X', `ssl.certificate.location=${c.cert}`, '-X', `ssl.key.location=${c.key}`];

describe('TLS listeners (kcat)', () => {
  before(async () => {
    work = tempDir('kstream-tls-');
    ca = makeCa(work, 'test-ca');
    server = makeCert(work, ca, 'broker', '/O=kstream test/CN=broker', true);
    client = makeCert(work, ca, 'client', '/C=DE/O=kstream test/OU=apps/CN=client-app', false);
    const other = makeCa(work, 'other-ca');
    rogue = makeCert(work, other, 'rogue', '/O=elsewhere/CN=rogue', false);
    broker = await startBroker({
      noHostPort: true,
      props: {
        listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': server.pem,
        'ssl.truststore.location': ca.cert,
        'listener.name.mtls.ssl.client.auth': 'required',
        'listener.name.mtls.ssl.principal.mapping.rules': 'RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/U,DEFAULT',
        'log.level': 'debug',
      },
    });
  });

  after(async () => {
    await broker?.stop();
    removeDir(broker?.dataDir ?? '');
    removeDir(work);
  });

  test('three listeners bound, each on its own port', () => {
    const { PLAINTEXT, SSL, MTLS } = broker.listeners;
    assert.ok(PLAINTEXT && SSL && MTLS, JSON.stringify(broker.listeners));
    assert.equal(new Set([PLAINTEXT, SSL, MTLS]).size, 3);
  });

  test('kcat produces and consumes over SSL; Metadata gives the SSL listener address', async () => {
    const port = broker.listeners.SSL as number;
    await kcat(port, [...ssl(), '-P', '-t', 'over-tls', '-K', ':'], 'k1:hello tls\nk2:second\n');
    const { stdout } = await kcat(port, [...ssl(), '-C', '-t', 'over-tls', '-e', '-q', '-f', '%k=%s\n']);
    assert.deepEqual(stdout.trim().split('\n').sort(), ['k1=hello tls', 'k2=second']);
    const meta = await kcat(port, [...ssl(), '-L']);
    assert.match(meta.stdout, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${port}\\b`));
    const plain = await kcat(broker.listeners.PLAINTEXT as number, ['-L']);
    assert.match(plain.stdout, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${broker.listeners.PLAINTEXT}\\b`));
  });

  test('kcat over mutual TLS with a client certificate from the trusted CA', async () => {
    const port = broker.listeners.MTLS as number;
    await kcat(port, [...mtls(client), '-P', '-t', 'over-mtls'], 'mutual\n');
    const { stdout } = await kcat(port, [...mtls(client), '-C', '-t', 'over-mtls', '-e', '-q']);
    assert.equal(stdout.trim(), 'mutual');
    const meta = await kcat(port, [...mtls(client), '-L']);
    assert.match(meta.stdout, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${port}\\b`));
    // The principal: the certificate subject as an RFC 2253 name, through ssl.principal.mapping.rules.
    assert.match(broker.logs(), /TLS client certificate accepted.*principal=User:CLIENT-APP@APPS/);
  });

  test('a client certificate from another CA, or none, is refused on the mutual TLS listener', async () => {
    const port = broker.listeners.MTLS as number;
    await assert.rejects(kcat(port, [...mtls(rogue), '-L'], undefined, 3), (e: Error & { stderr?: string }) => {
      assert.doesNotMatch(e.stderr ?? '', /broker 1 at/);
      return true;
    });
    await assert.rejects(kcat(port, [...ssl(), '-L'], undefined, 3));
    // Node's TLS client too: the handshake (TLS 1.3: the first read) ends in an error, never a Kafka answer.
    const refused = await tlsTry(port, {
      ca: readFileSync(ca.cert),
      cert: readFileSync(rogue.cert),
      key: readFileSync(rogue.key),
    });
    assert.equal(refused, 'closed');
    await until('the broker logs the refused handshake', async () => /TLS handshake failed/.test(broker.logs()));
    // The others are still served.
    const ok = await kcat(port, [...mtls(client), '-L']);
    assert.match(ok.stdout, /broker 1 at/);
  });

  test('plaintext to a TLS port and TLS to a plaintext port are refused; the others are served', async () => {
    // A Kafka ApiVersions request in the clear on the SSL listener: no Kafka answer, the connection ends.
    const plainOnTls = await plainTry(broker.listeners.SSL as number);
    assert.equal(plainOnTls, 'closed');
    // A TLS handshake on the plaintext listener: closed, no handshake completes.
    const tlsOnPlain = await tlsTry(broker.listeners.PLAINTEXT as number, { ca: readFileSync(ca.cert) });
    assert.equal(tlsOnPlain, 'closed');
    await until('the broker logs the TLS handshake on the plaintext port', async () =>
      /TLS handshake on a plaintext listener/.test(broker.logs()),
    );
    const a = await kcat(broker.listeners.PLAINTEXT as number, ['-L']);
    assert.match(a.stdout, /broker 1 at/);
    const b = await kcat(broker.listeners.SSL as number, [...ssl(), '-L']);
    assert.match(b.stdout, /broker 1 at/);
  });

  test('a renewed certificate on disk is used for new connections without a restart', async () => {
    const renewed = makeCert(work, ca, 'broker-renewed', '/O=kstream test/CN=broker-renewed', true);
    const port = broker.listeners.SSL as number;
    assert.equal(await peerCn(port), 'broker');
    writeFileSync(server.pem, readFileSync(renewed.pem));
    await until('new connections get the renewed certificate', async () => (await peerCn(port)) === 'broker-renewed');
    await until('the broker logs the reload', async () => /TLS certificates reloaded/.test(broker.logs()));
    const meta = await kcat(port, [...ssl(), '-L']);
    assert.match(meta.stdout, /broker 1 at/);
  });

  test('no private key in the broker log', () => {
    assert.doesNotMatch(broker.logs(), /PRIVATE KEY/);
  });
});

const API_VERSIONS = encodeRequest(
  { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: 1, clientId: 'raw' },
  {},
);

/** Send an ApiVersions request in the clear; 'answered' if any bytes come back, else 'closed'. */
async function plainTry(port: number): Promise<'answered' | 'closed'> {
  const s = netConnect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  await once(s, 'connect');
  let got = 0;
  s.on('data', (d: Buffer) => {
    // A TLS alert (0x15) is not a Kafka answer.
    if (d[0] !== 0x15) got += d.length;
  });
  for (const b of API_VERSIONS) s.write(b);
  await once(s, 'close');
  return got > 0 ? 'answered' : 'closed';
}

/** A TLS connection that sends ApiVersions once the handshake is done; 'answered' if a Kafka answer comes back. */
function tlsTry(port: number, opts: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<'answered' | 'closed'> {
  return new Promise((res) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      for (const b of API_VERSIONS) s.write(b);
    });
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      s.destroy();
    });
    s.on('error', () => {});
    s.on('close', () => res(got > 0 ? 'answered' : 'closed'));
  });
}

/** The CN of the certificate a TLS listener presents to a new connection. */
function peerCn(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(ca.cert) }, () => {
      const cn = s.getPeerCertificate().subject?.CN;
      s.destroy();
      res(String(cn));
    });
    s.on('error', rej);
  });
}
