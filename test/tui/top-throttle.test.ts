/**
 * Issue 19: `kstream top` in a real terminal (tmux) against `kstream serve` (admin listener on) tells a group
 * whose members a client quota throttles at this moment from one that merely has a quota. Two kcat consumer
 * groups: `slow-group` (client id slow-client, consumer_byte_rate 2048 B/s, reading a topic of ~1 MB: throttled
 * all the time once its burst is spent) and `easy-group` (client id easy-client, consumer_byte_rate 100 MB/s,
 * reading a few records: never throttled). top marks both ⏱ (a quota) and only slow-group THROTTLED, lists
 * slow-client under "throttled now", and the broker's /metrics has Kafka's `kafka_server_fetch_throttle_time`
 * and kstream's throttle counter for slow-client alone (an exposition promtool accepts).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Producer } from '../../src/client/index.js';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, removeDir, startBroker } from '../helpers/broker.js';
import { freePorts } from '../helpers/etcd.js';
import { until } from '../helpers/until.js';
import { startTerminal, type Terminal } from './tmux.js';

let broker: BrokerProcess;
let term: Terminal | undefined;
const consumers: ChildProcess[] = [];

before(async () => {
  const [http] = (await freePorts(1)) as [number];
  broker = await startBroker({ args: ['--http-port', String(http)] });
  for (const t of ['slow-t', 'easy-t']) {
    const r = await kstream(['topic', 'create', t, '-p', '1', '-b', broker.bootstrap]);
    assert.equal(r.code, 0, r.stderr);
  }
  const p = new Producer({ brokers: broker.bootstrap });
  try {
    const value = 'x'.repeat(1000);
    await p.sendBatch(Array.from({ length: 1000 }, () => ({ topic: 'slow-t', value })));
    await p.sendBatch(Array.from({ length: 5 }, (_, i) => ({ topic: 'easy-t', value: `easy-${i}` })));
  } finally {
    await p.close();
  }
  for (const [client, rate] of [
    ['slow-client', '2048'],
    ['easy-client', '104857600'],
  ] as const) {
    const r = await kstream([
      'quota',
      'alter',
      '--client-id',
      client,
      '--add',
      `consumer_byte_rate=${rate}`,
      '-b',
      broker.bootstrap,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  term?.kill();
  for (const c of consumers) c.kill('SIGKILL');
  await broker?.stop();
  removeDir(broker?.dataDir ?? '');
});

/** A kcat balanced consumer in `group` with `clientId`, reading `topic` from the start until killed. */
function kcatConsumer(group: string, clientId: string, topic: string): void {
  const args = ['-b', broker.bootstrap, '-G', group, '-X', `client.id=${clientId}`];
  args.push('-X', 'auto.offset.reset=earliest', '-q', topic);
  consumers.push(spawn('kcat', args, { stdio: ['ignore', 'ignore', 'ignore'] }));
}

test('top marks the group a quota throttles now THROTTLED, and the one with an unused quota only ⏱', {
  timeout: 240_000,
}, async () => {
  kcatConsumer('slow-group', 'slow-client', 'slow-t');
  kcatConsumer('easy-group', 'easy-client', 'easy-t');

  // The broker's metrics say slow-client is throttled (fetch), and nothing about easy-client.
  const metrics = await until(
    'slow-client in the throttle metrics',
    async () => {
      const r = await fetch(`http://127.0.0.1:${broker.adminPort}/metrics`);
      const text = await r.text();
      return /^kstream_client_throttle_time_seconds_total\{quota="fetch",user="",client_id="slow-client"\} [1-9]/m.test(
        text,
      )
        ? text
        : null;
    },
    120_000,
  );
  assert.match(metrics, /^kafka_server_fetch_throttle_time\{user="",client_id="slow-client"\} [1-9]/m);
  assert.doesNotMatch(metrics, /easy-client/);
  // promtool accepts the exposition with these series in it.
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
  assert.equal(lint.status, 0, `${lint.stdout}${lint.stderr}`);
  // The name[] filter: that family alone.
  const only = await (
    await fetch(`http://127.0.0.1:${broker.adminPort}/metrics?name[]=kafka_server_fetch_throttle_time`)
  ).text();
  assert.match(only, /^kafka_server_fetch_throttle_time\{user="",client_id="slow-client"\}/m);
  assert.doesNotMatch(only, /kstream_client_throttle_time_seconds_total|process_cpu/);

  term = startTerminal(`node bin/run.js top -b ${broker.bootstrap} --interval 1s; echo TOP_EXIT=$?; sleep 60`, {
    width: 160,
    height: 40,
  });
  await term.waitFor('the topics screen', (s) => /slow-t/.test(s));
  term.keys('2');
  const screen = await term.waitFor(
    'slow-group THROTTLED and easy-group with its quota mark alone',
    (s) => (/^\s*slow-group ⏱ THROTTLED\s/m.test(s) && /^\s*easy-group ⏱\s+\S/m.test(s) ? s : null),
    120_000,
  );
  assert.doesNotMatch(screen, /easy-group ⏱ THROTTLED/);
  assert.match(screen, /throttled now: fetch client-id=slow-client \d+\.\ds/);
  // It stays marked while the quota keeps holding it back (not a flicker of one poll).
  await new Promise((r) => setTimeout(r, 3000));
  assert.match(term.screen(), /^\s*slow-group ⏱ THROTTLED\s/m);

  // Drilled into the group (the second row, by name): its line says so.
  term.keys('Down', 'Enter');
  await term.waitFor('the group line', (s) => /group slow-group · .*⏱ quota 2\.0KiB\/s · THROTTLED \d+\.\ds/.test(s));
  term.keys('q');
  await term.waitFor('top to exit', (s) => /TOP_EXIT=0/.test(s));
});
