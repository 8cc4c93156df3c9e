/**
 * The admin HTTP listener of one node (issue 20): /metrics in Prometheus text that `promtool check metrics`
 * accepts and in OpenMetrics on request, per-topic counters fed by kcat, /health failing when the data dir
 * cannot be written, 404 / 405, a slow or idle client not holding the listener, bad admin.listeners refused.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import { freePorts } from '../helpers/etcd.js';
import { http, sample } from '../helpers/http.js';
import { until } from '../helpers/until.js';

const run = promisify(execFile);

function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      out += d;
    });
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

describe('admin HTTP listener', () => {
  let broker: BrokerProcess;
  let port: number;

  before(async () => {
    [port] = (await freePorts(1)) as [number];
    broker = await startBroker({ args: ['--http-port', String(port)] });
    assert.equal(broker.adminPort, port, 'the ready line names the admin listener');
  });
  after(async () => {
    await broker?.stop();
    if (broker) removeDir(broker.dataDir);
  });

  test('/metrics: counters of a topic fed by kcat, valid for promtool, OpenMetrics on Accept', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => `m${i}`).join('\n');
    await new Promise<void>((resolve, reject) => {
      const p = spawn('kcat', [
        '-P',
        '-b',
        broker.bootstrap,
        '-t',
        'metered',
        '-X',
        'topic.metadata.refresh.interval.ms=100',
      ]);
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}`))));
      p.stdin.end(`${lines}\n`);
    });
    const text = await until('25 messages counted', async () => {
      const r = await http(port, '/metrics');
      return sample(r.body, 'kafka_server_brokertopicmetrics_messagesin_total{topic="metered"}') === 25 ? r : null;
    });
    assert.equal(text.status, 200);
    assert.match(String(text.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.ok((sample(text.body, 'kafka_server_brokertopicmetrics_bytesin_total{topic="metered"}') ?? 0) > 0);
    assert.equal(sample(text.body, 'kafka_log_log_logendoffset{topic="metered",partition="0"}'), 25);
    assert.equal(sample(text.body, 'kafka_controller_kafkacontroller_activecontrollercount'), 1);
    assert.match(text.body, /kafka_network_requestmetrics_totaltime_seconds_bucket\{le="0\.005",request="Produce"\}/);
    assert.match(text.body, /^process_resident_memory_bytes \d+/m);
    const checked = await promtool(text.body);
    assert.equal(checked.code, 0, `promtool check metrics: ${checked.out}`);

    const om = await http(port, '/metrics', { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.equal(om.status, 200);
    assert.match(String(om.headers['content-type']), /^application\/openmetrics-text; version=1\.0\.0/);
    assert.match(om.body, /# TYPE kafka_server_brokertopicmetrics_messagesin counter\n/);
    assert.match(om.body, /\nkafka_server_brokertopicmetrics_messagesin_total\{topic="metered"\} 25\n/);
    assert.ok(om.body.endsWith('# EOF\n'));
    // The Prometheus text after an OpenMetrics scrape still names counters with _total.
    const again = await http(port, '/metrics');
    assert.match(again.body, /# TYPE kafka_server_brokertopicmetrics_messagesin_total counter/);
    assert.equal((await promtool(again.body)).code, 0);
  });

  test('HEAD like GET without a body; other methods 405; other paths 404', async () => {
    const head = await http(port, '/metrics', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await http(port, '/metrics', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    for (const path of ['/', '/metricsx', '/admin/../metrics2', '/health/x']) {
      const r = await http(port, path);
      assert.equal(r.status, 404, path);
      assert.match(JSON.parse(r.body).error, /no such path/);
    }
  });

  test('a slow client and many idle sockets do not hold the listener; the slow one is cut off', async () => {
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => {});
        sockets.push(s);
      }
      // Slowloris: a request line, then one header byte every 300 ms, never finishing the headers.
      const slow = connect(port, '127.0.0.1');
      slow.on('error', () => {});
      sockets.push(slow);
      let slowClosed = false;
      slow.on('close', () => {
        slowClosed = true;
      });
      slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => {
        if (!slow.destroyed) slow.write('X');
      }, 300);
      try {
        const r = await http(port, '/health');
        assert.equal(r.status, 200, 'answered while 200 idle sockets and a slow one are open');
        await until('the slow client is disconnected (headers timeout)', async () => slowClosed, 30_000);
      } finally {
        clearInterval(drip);
      }
      assert.equal((await http(port, '/ready')).status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  test('/health is 503 while the data dir cannot be written, 200 again once it can', async () => {
    assert.equal((await http(port, '/health')).status, 200);
    // Root writes through permissions and there is no read-only remount here: the data dir's path is made a
    // plain file (the directory moved aside), so creating anything under it fails with ENOTDIR.
    const moved = `${broker.dataDir}.moved`;
    renameSync(broker.dataDir, moved);
    writeFileSync(broker.dataDir, 'not a directory\n');
    try {
      const r = await http(port, '/health');
      assert.equal(r.status, 503);
      const body = JSON.parse(r.body);
      assert.equal(body.status, 'unhealthy');
      assert.match(body.dataDir, /not writable \(ENOTDIR\)/);
    } finally {
      rmSync(broker.dataDir);
      renameSync(moved, broker.dataDir);
    }
    const back = await http(port, '/health');
    assert.equal(back.status, 200);
    assert.deepEqual(JSON.parse(back.body), { nodeId: 1, status: 'ok', dataDir: 'writable' });
  });

  test('docs/kstream-alerts.yml passes promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', join(ROOT, 'docs', 'kstream-alerts.yml')]);
    assert.match(stdout, /SUCCESS: 5 rules found/);
  });

  test('bad admin.listeners and a busy configured admin port stop the start with one clear line', async () => {
    const dir = tempDir();
    try {
      const props = join(dir, 'bad.properties');
      writeFileSync(props, 'admin.listeners=ftp://nowhere\n');
      mkdirSync(join(dir, 'data'));
      const bad = await run(
        process.execPath,
        [BIN, 'serve', '--port', '0', '--data-dir', join(dir, 'data'), '--config', props],
        {
          cwd: ROOT,
          timeout: 20_000,
        },
      ).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      assert.ok(bad !== null && bad.code !== 0);
      assert.match(bad.stderr, /kstream: invalid value "ftp:\/\/nowhere" for admin\.listeners/);
      const busy = await run(
        process.execPath,
        [BIN, 'serve', '--port', '0', '--data-dir', join(dir, 'data'), '--http-port', String(port)],
        { cwd: ROOT, timeout: 20_000 },
      ).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      assert.ok(busy !== null && busy.code !== 0);
      assert.match(busy.stderr, new RegExp(`kstream: admin port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      removeDir(dir);
    }
  });
});
