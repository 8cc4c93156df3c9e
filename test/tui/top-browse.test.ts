/**
 * Issue 21: what kaskade and k9s users expect of `kstream top`, in a real terminal (tmux) against a
 * `kstream serve`:
 *  - the record browser: enter on a partition lists its records (the last page), pages with n / b / g, goes to
 *    an offset (o) or a time (t); enter on a record shows it in full: a JSON value pretty-printed, a binary
 *    value as a hex dump, with its key and headers; v shows values as hex;
 *  - actions, asked first: T trims a partition, R resets a group's offsets, D deletes a topic; n cancels;
 *  - --read-only refuses them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, startBroker } from '../helpers/broker.js';
import { startTerminal, type Terminal } from './tmux.js';

let broker: BrokerProcess;
const terms: Terminal[] = [];
const b = () => ['-b', broker.bootstrap];

const JSON_VALUE = '{"id":7,"name":"ann","tags":["a","b"]}';

before(async () => {
  broker = await startBroker();
  let r = await kstream(['topic', 'create', 'mixed', 'doomed', '-p', '1', ...b()]);
  assert.equal(r.code, 0, r.stderr);
  const lines = [
    JSON.stringify({ key: 'user-1', value: JSON_VALUE, headers: [{ key: 'source', value: 'web' }] }),
    // de ad be ef 00 01 02 03: not text
    JSON.stringify({ key: 'Ymlu', value: '3q2+7wABAgM=', encoding: 'base64' }),
    ...Array.from({ length: 28 }, (_, i) => JSON.stringify({ key: `k${i + 2}`, value: `line ${i + 2}` })),
  ];
  r = await kstream(['produce', 'mixed', '-f', 'json', ...b()], { input: `${lines.join('\n')}\n` });
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['consume', 'mixed', '-g', 'readers', '--from-beginning', '-e', ...b()]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  for (const t of terms) t.kill();
  await broker?.stop();
});

function top(args = ''): Terminal {
  const t = startTerminal(`node bin/run.js top -b ${broker.bootstrap} --interval 500ms ${args}`, {
    width: 120,
    height: 30,
  });
  terms.push(t);
  return t;
}

/** Offsets in the OFFSET column of the record list on screen. */
function offsets(screen: string): number[] {
  const lines = screen.split('\n');
  const h = lines.findIndex((l) => /^OFFSET +TIMESTAMP/.test(l));
  if (h < 0) return [];
  const out: number[] = [];
  for (const l of lines.slice(h + 1)) {
    const m = /^ *(\d+) \d{4}-\d\d-\d\d /.exec(l);
    if (!m) break;
    out.push(Number(m[1]));
  }
  return out;
}

/** Keys one at a time (an escape followed at once by a letter reads as alt-letter). */
async function press(t: Terminal, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    t.keys(k);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('kstream top: record browser and actions', { timeout: 180_000 }, () => {
  test('the record browser: pages, offsets, times; JSON pretty-printed, binary as hex', async () => {
    const t = top();
    await t.waitFor('topics', (s) => /^mixed /m.test(s));
    await press(t, '/', 'mixed', 'Enter', 'Enter');
    await t.waitFor('partitions of mixed', (s) => /^topic mixed/m.test(s) && /^0 +1 /m.test(s));
    await press(t, 'Enter');
    // The last page first: up to the log end (30 records, offsets 0-29).
    const last = await t.waitFor('the last page', (s) => {
      const o = offsets(s);
      return o.length > 0 && o[o.length - 1] === 29 ? o : null;
    });
    assert.ok(last[0]! > 0, 'not from the start');
    assert.match(t.screen(), /^mixed-0 · offsets 0-29 · showing \d+-29 · the last page · values: auto/m);
    await press(t, 'g');
    const first = await t.waitFor('the first page', (s) => (offsets(s)[0] === 0 ? offsets(s) : null));
    const listed = t.screen();
    assert.match(listed, new RegExp(`^ +0 \\S+ \\S+ user-1 +1 ${JSON_VALUE.replace(/[[\]{}]/g, '\\$&')}$`, 'm'));
    assert.match(listed, /^ +1 \S+ \S+ bin +0 de ad be ef 00 01 02 03$/m);
    await press(t, 'n');
    await t.waitFor('the next page', (s) => offsets(s)[0] === first[first.length - 1]! + 1);
    await press(t, 'o', '20', 'Enter');
    await t.waitFor('from offset 20', (s) => offsets(s)[0] === 20 && /from offset 20/.test(s));
    await press(t, 't', '-1h', 'Enter');
    await t.waitFor('from an hour ago: everything', (s) => offsets(s)[0] === 0 && /from -1h/.test(s));

    // Record 0 in full: its key, headers, and the JSON value pretty-printed.
    await press(t, 'Enter');
    const json = await t.waitFor('the JSON record', (s) => (/^value \(json, auto, 38 bytes\)$/m.test(s) ? s : null));
    assert.match(json, /^offset 0 · /m);
    assert.match(json, /^key user-1$/m);
    assert.match(json, /^headers source=web$/m);
    assert.match(json, /^\{\n {2}"id": 7,\n {2}"name": "ann",\n {2}"tags": \[\n {4}"a",\n {4}"b"\n {2}\]\n\}$/m);
    // Record 1: binary, a hex dump.
    await press(t, 'Escape', 'j', 'Enter');
    const hex = await t.waitFor('the binary record', (s) => (/^value \(hex, auto, 8 bytes\)$/m.test(s) ? s : null));
    assert.match(hex, /^offset 1 · /m);
    assert.match(hex, /^00000000 {2}de ad be ef 00 01 02 03 {26}\|\.\.\.\.\.\.\.\.\|$/m);
    // v: values as text → json → hex; as hex the JSON value is its bytes.
    await press(t, 'Escape', 'v', 'v', 'v');
    await t.waitFor('values as hex', (s) => /values: hex/.test(s) && /^ +0 .* 7b 22 69 64 22 3a 37/m.test(s));
    t.kill();
  });

  test('actions ask first: T trims a partition, R resets a group, D deletes a topic; n cancels', async () => {
    const t = top();
    await t.waitFor('topics', (s) => /^mixed /m.test(s));
    await press(t, '/', 'mixed', 'Enter', 'Enter');
    await t.waitFor('partitions of mixed', (s) => /^0 +1 /m.test(s));
    await press(t, 'T', '5', 'Enter');
    await t.waitFor('the question', (s) => /\[y\/N\] trim mixed-0: delete 5 records \(offsets 0-4\)\?/.test(s));
    await press(t, 'y');
    await t.waitFor('trimmed', (s) => /mixed-0 trimmed: 5 records deleted, it starts at 5/.test(s));
    let d = JSON.parse((await kstream(['topic', 'describe', 'mixed', '-o', 'json', ...b()])).stdout);
    assert.equal(d.partitions[0].logStartOffset, 5);

    await press(t, '2');
    await t.waitFor('groups', (s) => /^readers /m.test(s));
    await press(t, 'R', 'earliest', 'Enter');
    await t.waitFor('the question', (s) =>
      /\[y\/N\] reset group readers to earliest: 1 partition of 1 move \(mixed-0 30→5\)\?/.test(s),
    );
    await press(t, 'n');
    await t.waitFor('cancelled', (s) => /cancelled: nothing was changed/.test(s));
    d = JSON.parse((await kstream(['group', 'describe', 'readers', '-o', 'json', ...b()])).stdout);
    assert.equal(d.partitions[0].committed, 30, 'n changed nothing');
    await press(t, 'R', 'earliest', 'Enter');
    await t.waitFor('the question', (s) => /\[y\/N\] reset group readers/.test(s));
    await press(t, 'y');
    await t.waitFor('reset', (s) => /group readers reset to earliest \(1 partition\)/.test(s));
    d = JSON.parse((await kstream(['group', 'describe', 'readers', '-o', 'json', ...b()])).stdout);
    assert.equal(d.partitions[0].committed, 5);

    await press(t, '1', '/', 'doomed', 'Enter', 'D');
    await t.waitFor('the question', (s) => /\[y\/N\] delete topic doomed \(1 partition, 0 records\)\?/.test(s));
    await press(t, 'y');
    await t.waitFor('deleted', (s) => /topic doomed deleted/.test(s));
    assert.doesNotMatch((await kstream(['topic', 'list', ...b()])).stdout, /^doomed /m);
    t.kill();
  });

  test('--read-only: no actions', async () => {
    const t = top('--read-only');
    await t.waitFor('topics', (s) => /^mixed /m.test(s) && / read-only/.test(s));
    await press(t, 'D');
    await t.waitFor('refused', (s) => /read-only: kstream top was started with --read-only/.test(s));
    await press(t, '2', 'R');
    await t.waitFor('refused', (s) => /read-only: kstream top was started with --read-only/.test(s));
    assert.doesNotMatch(t.screen(), /\[y\/N\]/);
    assert.match((await kstream(['topic', 'list', ...b()])).stdout, /^mixed /m);
    t.kill();
  });
});
