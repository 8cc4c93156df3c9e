/**
 * The admin listener over TLS (issue 20): `admin.listeners=https://…` serves /metrics and /ready with the keys
 * of listener name ADMIN (`listener.name.admin.ssl.keystore.location`); a client trusting the test CA gets the
 * answers, plain HTTP on that port gets none. An https listener without a keystore stops the start with one line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { makeCa, makeCert } from '../helpers/certs.js';
import { freePorts } from '../helpers/etcd.js';
import { http } from '../helpers/http.js';

const run = promisify(execFile);

function https(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('admin listener over TLS', () => {
  let broker: BrokerProcess | undefined;
  let dir = '';
  let port = 0;
  let ca = '';

  before(async () => {
    dir = tempDir('kstream-admin-tls-');
    const authority = makeCa(dir, 'ca');
    const server = makeCert(dir, authority, 'admin', '/O=kstream test/CN=admin', true);
    ca = readFileSync(authority.cert, 'utf8');
    [port] = (await freePorts(1)) as [number];
    broker = await startBroker({
      props: {
        'admin.listeners': `https://127.0.0.1:${port}`,
        'listener.name.admin.ssl.keystore.location': server.pem,
      },
    });
    assert.equal(broker.adminPort, port);
  });
  after(async () => {
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
    if (dir) removeDir(dir);
  });

  test('/metrics and /ready over https; plain http on the port gets no answer', async () => {
    const m = await https(port, '/metrics', ca);
    assert.equal(m.status, 200);
    assert.match(m.body, /^# HELP /);
    const r = await https(port, '/ready', ca);
    assert.equal(r.status, 200);
    await assert.rejects(http(port, '/ready'));
  });

  test('an https admin listener without a keystore stops the start with one line', async () => {
    const props = join(dir, 'no-keystore.properties');
    const [p] = (await freePorts(1)) as [number];
    writeFileSync(props, `admin.listeners=https://127.0.0.1:${p}\n`);
    const e = await run(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--data-dir', join(dir, 'data'), '--config', props],
      {
        cwd: ROOT,
        timeout: 20_000,
      },
    ).then(
      () => null,
      (x: { code: number; stderr: string }) => x,
    );
    assert.ok(e !== null && e.code !== 0);
    assert.match(e.stderr, /^kstream: .*ssl/m);
  });
});
