/**
 * Issue 21: `kstream top` fits any terminal. In a real terminal (tmux) at 80×24, 60×15 and 250×50 against a
 * `kstream serve` with a topic whose name is longer than the screen, a busy topic and a group with lag:
 *  - every column on screen is complete: a number ends exactly under the right edge of its title (right
 *    aligned), a text starts under its title (left aligned), and no number is cut (no "…" in it);
 *  - the columns that matter stay (name, msg/s, lag, messages on topics; leader, ISR, lag, msg/s on partitions;
 *    state, lag, catch-up on groups), the long name is cut with an ellipsis;
 *  - the footer's `? help` and `q quit` are always on the last line, the header fits on its lines;
 *  - at 250 columns the rate sparkline starts under its RATE title;
 *  - after a tab switch `/ord` filters the topics (the drill-in was left), it used to show "(no partitions)".
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kstream } from '../cli/run.js';
import { type BrokerProcess, startBroker } from '../helpers/broker.js';
import { startTerminal, type Terminal } from './tmux.js';

const LONG = 'customer-events-from-the-eu-west-checkout-service-version-two-archive';
let broker: BrokerProcess;
const terms: Terminal[] = [];

before(async () => {
  broker = await startBroker();
  const b = ['-b', broker.bootstrap];
  let r = await kstream(['topic', 'create', 'orders', '-p', '6', ...b]);
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['topic', 'create', LONG, '-p', '2', ...b]);
  assert.equal(r.code, 0, r.stderr);
  const lines = Array.from({ length: 3000 }, (_, i) => `k${i}:value-${i}`).join('\n');
  r = await kstream(['produce', 'orders', '-K', ':', ...b], { input: `${lines}\n` });
  assert.equal(r.code, 0, r.stderr);
  r = await kstream(['consume', 'orders', '-g', 'billing', '--from-beginning', '-n', '1000', ...b]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  for (const t of terms) t.kill();
  await broker?.stop();
});

/** A column of a table on screen: its title and where the title starts and ends. */
interface ScreenColumn {
  title: string;
  start: number;
  end: number;
}

/** The header line of the table whose first title is `first`, and its columns (titles as `known` lists them). */
function header(screen: string, first: string, known: string[]): { line: number; columns: ScreenColumn[] } | null {
  const lines = screen.split('\n');
  const line = lines.findIndex((l) => l.startsWith(`${first} `) || l === first);
  if (line < 0) return null;
  const text = lines[line]!;
  const columns: ScreenColumn[] = [];
  // Longest titles first, so "LOG END" is not taken for "LAG"-like prefixes; each position used once.
  const taken = new Set<number>();
  for (const title of [...known].sort((a, b) => b.length - a.length)) {
    const re = new RegExp(`(?<=^| )${title.replace(/[/]/g, '\\/')}(?= |$)`, 'g');
    for (const m of text.matchAll(re)) {
      if ([...Array(title.length).keys()].some((i) => taken.has(m.index! + i))) continue;
      for (let i = 0; i < title.length; i++) taken.add(m.index! + i);
      columns.push({ title, start: m.index!, end: m.index! + title.length });
      break;
    }
  }
  columns.sort((a, b) => a.start - b.start);
  // Every word of the header line is a known title: nothing cut, nothing unknown.
  const covered = text.split('').every((c, i) => c === ' ' || taken.has(i));
  assert.ok(covered, `header line has only known titles: ${JSON.stringify(text)} (known ${known})`);
  return { line, columns };
}

/** The table's data rows: the lines after the header up to a blank line or the "rows x-y of n" line. */
function rows(screen: string, headerLine: number): string[] {
  const out: string[] = [];
  for (const l of screen.split('\n').slice(headerLine + 1)) {
    if (l.trim() === '' || /^rows \d+-\d+ of \d+/.test(l)) break;
    out.push(l);
  }
  return out;
}

const NUMBER = /^(-|\d+(\.\d)?[kMG]?|\d+(\.\d)?(B|KiB|MiB|GiB|TiB)|∞|steady|\d+s|\d+m\d\ds|\d+h\d\dm)$/;

/**
 * Checks every cell by position: right-aligned columns (`right`) end exactly at their title's end with a
 * complete number; the others start at their title's start. Returns the cells by title, per row.
 */
function cells(screen: string, first: string, known: string[], right: string[]): Record<string, string>[] {
  const h = header(screen, first, known);
  assert.ok(h, `a table starting with ${first}:\n${screen}`);
  const out: Record<string, string>[] = [];
  const data = rows(screen, h.line);
  assert.ok(data.length > 0, `rows under ${first}:\n${screen}`);
  for (const row of data) {
    const got: Record<string, string> = {};
    h.columns.forEach((c, i) => {
      const next = h.columns[i + 1];
      if (right.includes(c.title)) {
        assert.notEqual(row[c.end - 1] ?? ' ', ' ', `${c.title} ends under its title in ${JSON.stringify(row)}`);
        assert.equal(row[c.end] ?? ' ', ' ', `${c.title} ends under its title in ${JSON.stringify(row)}`);
        const value = row.slice(0, c.end).split(' ').pop()!;
        assert.match(value, NUMBER, `${c.title}: a whole number in ${JSON.stringify(row)}`);
        got[c.title] = value;
      } else {
        // (a row that ends before the column has nothing in it, e.g. a sparkline with no history yet)
        assert.equal(c.start === 0 ? ' ' : (row[c.start - 1] ?? ' '), ' ', `${c.title} starts under its title: ${row}`);
        got[c.title] = row.slice(c.start, next ? next.start : undefined).trim();
      }
    });
    out.push(got);
  }
  return out;
}

const TOPIC_TITLES = [
  'TOPIC',
  'PARTS',
  'RF',
  'UNDER-REP',
  'OFFLINE',
  'MESSAGES',
  'MSG/S',
  'BYTES/S',
  'LAG',
  'SIZE',
  'RATE',
];
const TOPIC_RIGHT = ['PARTS', 'RF', 'UNDER-REP', 'OFFLINE', 'MESSAGES', 'MSG/S', 'BYTES/S', 'LAG', 'SIZE'];
const PART_TITLES = [
  'P',
  'LEADER',
  'REPLICAS',
  'ISR',
  'STATUS',
  'LOG START',
  'LOG END',
  'MSG/S',
  'BYTES/S',
  'LAG',
  'SIZE',
  'RATE',
];
const PART_RIGHT = ['P', 'LEADER', 'LOG START', 'LOG END', 'MSG/S', 'BYTES/S', 'LAG', 'SIZE'];
const GROUP_TITLES = ['GROUP', 'STATE', 'MEMBERS', 'PARTS', 'LAG', 'CONSUMED/S', 'CATCH-UP', 'LAG TREND'];
const GROUP_RIGHT = ['MEMBERS', 'PARTS', 'LAG', 'CONSUMED/S', 'CATCH-UP'];

function lastLine(screen: string): string {
  const lines = screen.split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1]!;
}

async function check(width: number, height: number): Promise<void> {
  const t = startTerminal(`node bin/run.js top -b ${broker.bootstrap} --interval 500ms`, { width, height });
  terms.push(t);
  // At 250 columns, once the rate has a history to draw.
  const screen = await t.waitFor('topics with data', (s) =>
    /^orders .*3\.0k/m.test(s) && /q quit/.test(s) && (width < 250 || /^orders .*[▁▂▃▄▅▆▇█]/m.test(s)) ? s : null,
  );
  for (const l of screen.split('\n')) assert.ok(l.length <= width, `fits ${width}: ${l}`);
  assert.match(lastLine(screen), /\? help · q quit$/, 'the footer keys');
  assert.match(screen, /brokers 1 up 0 down/);
  assert.match(screen, /under-replicated 0 {2}offline 0/);
  const topics = cells(screen, 'TOPIC', TOPIC_TITLES, TOPIC_RIGHT);
  const orders = topics.find((r) => r.TOPIC === 'orders')!;
  assert.deepEqual([orders.MESSAGES, orders.LAG], ['3.0k', '2.0k']);
  assert.ok('MSG/S' in orders, 'MSG/S on screen');
  const long = topics.find((r) => r.TOPIC !== 'orders')!;
  if (width < LONG.length + 40) assert.match(long.TOPIC!, /^customer-.*…$/, 'a long name is cut with …');
  else assert.equal(long.TOPIC, LONG);
  if (width >= 80) for (const c of ['UNDER-REP', 'OFFLINE', 'PARTS']) assert.ok(c in orders, `${c} at ${width}`);
  if (width >= 250) {
    for (const c of TOPIC_TITLES) assert.ok(c in orders || c === 'RATE', `${c} at ${width}`);
    // The sparkline starts under RATE (it used to sit at the far right of a wide column).
    const h = header(screen, 'TOPIC', TOPIC_TITLES)!;
    const rate = h.columns.find((c) => c.title === 'RATE')!;
    const row = screen.split('\n').find((l) => l.startsWith('orders '))!;
    assert.match(row.slice(rate.start, rate.start + 1), /[▁▂▃▄▅▆▇█]/, `sparkline under RATE: ${row}\n${screen}`);
    assert.ok(row.trimEnd().length - rate.start <= 60, 'no wider than its history');
  }

  // Partitions of orders: leader, ISR, lag, msg/s stay.
  t.keys('/');
  t.keys('orders');
  t.keys('Enter');
  await t.waitFor('filtered', (s) => /filter "orders"/.test(s));
  t.keys('Enter');
  const parts = await t.waitFor('partitions', (s) => (/^P +LEADER/m.test(s) && /q quit/.test(lastLine(s)) ? s : null));
  const p = cells(parts, 'P', PART_TITLES, PART_RIGHT);
  for (const c of ['P', 'LEADER', 'ISR', 'LAG', 'MSG/S'])
    assert.ok(c in p[0]!, `${c} at ${width}: ${JSON.stringify(p[0])}`);
  assert.equal(p[0]!.ISR, '1');

  // Groups: state, lag and catch-up stay (CATCH-UP was lost at 80 columns).
  t.keys('2');
  const groups = await t.waitFor('groups', (s) => (/^GROUP /m.test(s) && /^billing .*∞/m.test(s) ? s : null));
  assert.match(lastLine(groups), /\? help · q quit$/);
  const g = cells(groups, 'GROUP', GROUP_TITLES, GROUP_RIGHT)[0]!;
  assert.deepEqual([g.GROUP, g.STATE, g.LAG, g['CATCH-UP']], ['billing', 'Empty', '2.0k', '∞']);

  // Back on topics after the tab switch: the drill-in was left, so `/ord` filters topics.
  t.keys('1');
  await t.waitFor('topics list', (s) => /^TOPIC /m.test(s));
  t.keys('/');
  t.keys('ord');
  t.keys('Enter');
  const filtered = await t.waitFor('filtered topics', (s) => (/filter "ord"/.test(s) ? s : null));
  assert.match(filtered, /^orders /m);
  assert.doesNotMatch(filtered, /no partitions/);
  t.keys('q');
  t.kill();
}

describe('kstream top fits the terminal', { timeout: 180_000 }, () => {
  test('80×24', () => check(80, 24));
  test('60×15', () => check(60, 15));
  test('250×50', () => check(250, 50));
});
