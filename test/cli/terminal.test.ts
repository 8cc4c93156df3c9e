/**
 * Issue 21, the CLI typed into a real terminal (tmux, test/tui/tmux.ts) against one `kstream serve`:
 *  - `produce TOPIC` on a terminal prompts each line ("> ") and says Ctrl-D finishes; no progress line shares
 *    the line being typed;
 *  - `consume --group` with a group that has no committed offsets says, once, that it starts at the end;
 *  - `topic trim`, `topic delete`, `group delete` show the plan and ask; anything but y deletes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type BrokerProcess, startBroker } from '../helpers/broker.js';
import { startTerminal, type Terminal } from '../tui/tmux.js';
import { kstream } from './run.js';

let broker: BrokerProcess;
const terms: Terminal[] = [];
const b = () => ['-b', broker.bootstrap];

before(async () => {
  broker = await startBroker();
  const r = await kstream(['topic', 'create', 'typed', 'gone', ...b()]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});
after(async () => {
  for (const t of terms) t.kill();
  await broker?.stop();
});

/** `kstream <args>` in a fresh 150×30 terminal; the shell prints EXIT=<code> when it ends. */
function terminal(args: string): Terminal {
  const t = startTerminal(`node bin/run.js ${args} -b ${broker.bootstrap}; echo EXIT=$?; sleep 60`, {
    width: 150,
    height: 30,
  });
  terms.push(t);
  return t;
}

const exited = (t: Terminal) => t.waitFor('exit', (s) => /EXIT=(\d+)/.exec(s)?.[1]);

test('produce on a terminal: a prompt per line, "Ctrl-D to finish", no progress line in the typing', async () => {
  const t = terminal('produce typed');
  await t.waitFor('the hint and the first prompt', (s) =>
    /^type records for typed, one per line; Ctrl-D to finish, Ctrl-C to abort\n> $/m.test(`${s.trimEnd()} `),
  );
  t.keys('hello', 'Enter');
  await t.waitFor('the second prompt', (s) => /^> hello\n> $/m.test(`${s.trimEnd()} `));
  t.keys('world', 'Enter', 'C-d');
  assert.equal(await exited(t), '0');
  const screen = t.screen();
  assert.match(screen, /^> hello\n> world\nproduced 2 records, 10 B, 1 partition, \d+\.\d\ds to typed\nEXIT=0$/m);
  assert.doesNotMatch(screen, /producing:/);
  const r = await kstream(['consume', 'typed', '--from-beginning', '-e', ...b()]);
  assert.equal(r.stdout, 'hello\nworld\n');
});

test('consume --group on a terminal: a group without committed offsets says it starts at the end', async () => {
  const t = terminal('consume typed --group fresh -n 1');
  await t.waitFor('where the group starts', (s) =>
    s.includes(
      'group fresh has no committed offsets: starting at the end (new records only); --from-beginning to read what is there',
    ),
  );
  const p = await kstream(['produce', 'typed', ...b()], { input: 'new one\n' });
  assert.equal(p.code, 0, p.stderr);
  assert.equal(await exited(t), '0');
  assert.match(t.screen(), /^new one$/m);
  // Said once; a second run continues from the committed offset and says so.
  const again = terminal('consume typed --group fresh -n 1');
  await again.waitFor('continuing', (s) => s.includes('group fresh: continuing from its committed offsets'));
  await kstream(['produce', 'typed', ...b()], { input: 'newer\n' });
  assert.equal(await exited(again), '0');
  assert.equal(again.screen().match(/group fresh/g)?.length, 1);
});

test('topic trim asks on a terminal: n deletes nothing, y trims; --yes does not ask', async () => {
  let t = terminal('topic trim typed --offset 2');
  await t.waitFor('the plan and the question', (s) =>
    /TOPIC +PARTITION +CURRENT +NEW +DELETED +STATUS\ntyped +0 +0 +2 +2 +planned\ndelete 2 records from 1 partition of typed\? \[y\/N\]/.test(
      s,
    ),
  );
  t.keys('n', 'Enter');
  assert.equal(await exited(t), '1');
  assert.match(t.screen(), /^kstream: aborted: nothing was deleted$/m);
  let d = JSON.parse((await kstream(['topic', 'describe', 'typed', '-o', 'json', ...b()])).stdout);
  assert.equal(d.partitions[0].logStartOffset, 0, 'nothing was deleted');

  t = terminal('topic trim typed --offset 2');
  await t.waitFor('the question', (s) => s.includes('[y/N]'));
  t.keys('y', 'Enter');
  assert.equal(await exited(t), '0');
  assert.match(t.screen(), /^typed +0 +0 +2 +2 +OK$/m);
  d = JSON.parse((await kstream(['topic', 'describe', 'typed', '-o', 'json', ...b()])).stdout);
  assert.equal(d.partitions[0].logStartOffset, 2);

  t = terminal('topic trim typed --offset 3 --yes');
  assert.equal(await exited(t), '0');
  assert.doesNotMatch(t.screen(), /\[y\/N\]/);
  assert.match(t.screen(), /^typed +0 +2 +3 +1 +OK$/m);
});

test('topic delete and group delete ask on a terminal', async () => {
  let t = terminal('topic delete gone');
  await t.waitFor('the question', (s) => s.includes('delete topic gone (1 partition, 0 records)? [y/N]'));
  t.keys('C-c');
  assert.equal(await exited(t), '1');
  assert.match((await kstream(['topic', 'list', ...b()])).stdout, /^gone /m, 'Ctrl-C deleted nothing');
  t = terminal('topic delete gone');
  await t.waitFor('the question', (s) => s.includes('[y/N]'));
  t.keys('yes', 'Enter');
  assert.equal(await exited(t), '0');
  assert.doesNotMatch((await kstream(['topic', 'list', ...b()])).stdout, /^gone /m);

  t = terminal('group delete fresh');
  await t.waitFor('the question', (s) =>
    s.includes('delete group fresh and the committed offsets of 1 partition? [y/N]'),
  );
  t.keys('Enter');
  assert.equal(await exited(t), '1');
  assert.match((await kstream(['group', 'list', ...b()])).stdout, /^fresh /m);
});
