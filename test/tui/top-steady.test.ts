/**
 * Issue 21: a consumer group keeping pace is `steady` in `kstream top`, not `∞` once per commit cycle. A
 * `kstream serve`, `kstream produce --rate 50` writing 50 records/s, kcat (librdkafka) consuming them as group
 * `steady` with its auto-commit every 5 s (Kafka's default interval), and top polling every second in a real
 * terminal: once top has measured the group (its CATCH-UP shows `steady`), it shows `steady` at every look for
 * the next 60 s (a look about every half second).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { kstream } from '../cli/run.js';
import { BIN, type BrokerProcess, ROOT, startBroker } from '../helpers/broker.js';
import { startTerminal, type Terminal } from './tmux.js';

const hasKcat = spawnSync('kcat', ['-V']).status === 0;
let broker: BrokerProcess;
let term: Terminal | undefined;
const children: ChildProcess[] = [];

before(async () => {
  broker = await startBroker();
  const r = await kstream(['topic', 'create', 'paced', '-p', '3', '-b', broker.bootstrap]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  term?.kill();
  for (const c of children) {
    c.kill('SIGKILL');
    if (c.exitCode === null && c.signalCode === null) await new Promise((res) => c.once('exit', res));
  }
  await broker?.stop();
});

/** The cell of `column` (right-aligned under its title) in the group's row on the groups screen. */
function cell(screen: string, column: string): string | null {
  const lines = screen.split('\n');
  const h = lines.find((l) => l.startsWith('GROUP '));
  const row = lines.find((l) => l.startsWith('steady '));
  if (!h || !row) return null;
  const end = h.indexOf(`${column} `) + column.length;
  return row.slice(0, end).split(' ').pop() || null;
}

const catchUp = (screen: string) => cell(screen, 'CATCH-UP');

test('a group at 50 records/s with a 5 s auto-commit stays steady for 60 s', {
  skip: !hasKcat,
  timeout: 240_000,
}, async () => {
  // 50 records/s for as long as the test runs (400 s of input; killed at the end).
  const producer = spawn(process.execPath, [BIN, 'produce', 'paced', '--rate', '50', '-b', broker.bootstrap], {
    cwd: ROOT,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  children.push(producer);
  producer.stdin!.on('error', () => {});
  producer.stdin!.write(`${Array.from({ length: 20_000 }, (_, i) => `record ${i}`).join('\n')}\n`);
  const consumer = spawn(
    'kcat',
    [
      '-b',
      broker.bootstrap,
      '-G',
      'steady',
      '-X',
      'auto.commit.interval.ms=5000',
      '-X',
      'auto.offset.reset=earliest',
      '-q',
      '-u',
      'paced',
    ],
    { stdio: 'ignore' },
  );
  children.push(consumer);

  term = startTerminal(`node bin/run.js top -b ${broker.bootstrap} --interval 1s`, { width: 120, height: 30 });
  await term.waitFor('top', (s) => /brokers 1 up/.test(s));
  term.keys('2');
  // Measured after 20 s of commits (commits every 5 s): within about a minute.
  await term.waitFor('the group steady', (s) => catchUp(s) === 'steady', 90_000);
  const seen = new Map<string, number>();
  const end = Date.now() + 60_000;
  let looks = 0;
  while (Date.now() < end) {
    const screen: string = term.screen();
    const c = catchUp(screen);
    looks++;
    seen.set(String(c), (seen.get(String(c)) ?? 0) + 1);
    // Keeping pace: `steady`; at the moment a commit covers everything produced there is no lag at all, and
    // the catch-up time is honestly 0s (it was seen once just after a commit). Never ∞ or a time to catch up.
    const expected: string = cell(screen, 'LAG') === '0' ? '0s' : 'steady';
    assert.equal(c, expected, `look ${looks}, ${Math.round((end - Date.now()) / 1000)} s left:\n${screen}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(looks >= 60, `${looks} looks`);
  assert.ok((seen.get('steady') ?? 0) > looks / 2, `mostly steady: ${JSON.stringify([...seen])}`);
  assert.ok(producer.exitCode === null && consumer.exitCode === null, 'producer and consumer ran throughout');
});
