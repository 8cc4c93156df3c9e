/** Keys → UI state, through the reducer (pure): screens, moves, filter prompt, quit and refresh as state. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { footerParts } from '../../src/tui/components/footer.js';
import { eventLogRows, type LogLine, padLog } from '../../src/tui/hooks/use-event-log.js';
import { fitParts, layout } from '../../src/tui/layout.js';
import { type KeyInfo, splitKeys } from '../../src/tui/state/keys.js';
import { initialState, reducer, type UiState } from '../../src/tui/state/reducer.js';
import { visibleTopics } from '../../src/tui/state/select.js';
import { twoPolls } from './fixtures.js';

const snapshot = twoPolls();

function press(s: UiState, ...keys: (string | KeyInfo)[]): UiState {
  for (const k of keys)
    s = reducer(s, {
      type: 'key',
      input: typeof k === 'string' ? k : '',
      key: typeof k === 'string' ? {} : k,
      snapshot,
      events: [],
      pageSize: 10,
    });
  return s;
}

describe('kstream top keys', () => {
  test('screens: 1-4 and tab (wrapping)', () => {
    assert.equal(press(initialState, '2').screen, 'groups');
    assert.equal(press(initialState, '4').screen, 'events');
    assert.equal(press(initialState, { tab: true }, { tab: true }, { tab: true }, { tab: true }).screen, 'topics');
  });

  test('moves stay inside the list; enter drills in, esc goes back', () => {
    let s = press(initialState, 'j', 'j', 'j');
    assert.equal(s.cursor.topics, 1, 'two topics');
    s = press(s, 'g');
    assert.equal(s.cursor.topics, 0);
    s = press(s, { return: true });
    assert.equal(s.topic, 'orders');
    s = press(s, 'G');
    assert.equal(s.cursor.partitions, 2);
    s = press(s, { escape: true });
    assert.equal(s.topic, null);
  });

  test('while the / prompt is open every key is filter text, q included', () => {
    let s = press(initialState, '/', 'q', 'p', { backspace: true }, 'a', 'y');
    assert.equal(s.filter, 'qay');
    assert.equal(s.quit, false);
    assert.equal(s.paused, false);
    s = press(s, { return: true });
    assert.equal(s.filtering, false);
    assert.equal(s.filter, 'qay');
    s = press(s, { escape: true });
    assert.equal(s.filter, '');
  });

  test('q quits, r refreshes, p pauses, s sorts, ? helps: as state the app acts on', () => {
    assert.equal(press(initialState, 'q').quit, true);
    assert.equal(press(initialState, 'r', 'r').refreshes, 2);
    assert.equal(press(initialState, 'p').paused, true);
    assert.equal(press(initialState, 's', 's').sort, 'lag');
    assert.equal(press(initialState, '?').help, true);
    assert.equal(press(initialState, 'x'), initialState, 'an unknown key changes nothing');
  });
});

describe('kstream top: drill-ins, the record browser, actions (issue 21)', () => {
  test('switching screens leaves the drill-in: `/ord` then filters topics, not the partitions left behind', () => {
    let s = press(initialState, { return: true });
    assert.equal(s.topic, 'orders');
    s = press(s, '2', '1');
    assert.equal(s.topic, null, 'back on the topics list');
    s = press(s, '/', 'o', 'r', 'd', { return: true });
    assert.deepEqual(
      visibleTopics(snapshot, s).map((t) => t.name),
      ['orders'],
    );
    // tab too, and the group drill-in
    s = press(initialState, '2', { return: true });
    assert.equal(s.group, 'billing');
    s = press(s, { tab: true }, { tab: true }, { tab: true }, { tab: true });
    assert.deepEqual([s.screen, s.group], ['groups', null]);
  });

  test('enter on a partition browses its records; n / b page by the page shown; o goes to an offset; esc back', () => {
    let s = press(initialState, { return: true }, 'j', { return: true });
    assert.equal(s.partition, 1);
    assert.deepEqual(s.browse.from, { kind: 'end' });
    const page = { first: 40n, last: 49n, low: 0n, high: 100n, count: 10 };
    const key = (st: UiState, input: string, k: KeyInfo = {}) =>
      reducer(st, { type: 'key', input, key: k, snapshot, events: [], pageSize: 10, page });
    assert.deepEqual(key(s, 'n').browse.from, { kind: 'offset', offset: 50n });
    assert.deepEqual(key(s, 'b').browse.from, { kind: 'offset', offset: 30n });
    assert.deepEqual(key(s, 'g').browse.from, { kind: 'start' });
    s = key(key(key(key(s, 'o'), '4'), '2'), '', { return: true });
    assert.deepEqual(s.browse.from, { kind: 'offset', offset: 42n });
    s = key(s, '', { return: true });
    assert.equal(s.browse.detail, true, 'enter: the record in full');
    assert.equal(key(s, 'v').browse.view, 'text');
    s = key(s, '', { escape: true });
    assert.equal(s.browse.detail, false);
    s = key(s, '', { escape: true });
    assert.deepEqual([s.topic, s.partition], ['orders', null]);
  });

  test('actions: D asks, y runs, anything else cancels; --read-only refuses', () => {
    let s = press(initialState, 'D');
    assert.deepEqual(s.confirm, { pending: { kind: 'delete-topic', topic: 'orders' }, question: null });
    s = press(s, 'y');
    assert.ok(s.confirm, 'no answer before the question is asked');
    s = reducer(s, { type: 'planned', question: 'delete topic orders?' });
    const yes = press(s, 'y');
    assert.deepEqual(yes.run?.pending, { kind: 'delete-topic', topic: 'orders' });
    const no = press(s, 'n');
    assert.deepEqual([no.confirm, no.run, no.notice?.text], [null, null, 'cancelled: nothing was changed']);
    // T on a partition: a prompt for the offset (enter: the log end), then the question.
    s = press(initialState, { return: true }, 'T', '5', { return: true });
    assert.deepEqual(s.confirm?.pending, { kind: 'trim', topic: 'orders', partition: 0, offset: 5n });
    s = press(initialState, '2', 'R', { return: true });
    assert.deepEqual(s.confirm?.pending, { kind: 'reset', group: 'billing', to: 'latest' });
    const ro = { ...initialState, readOnly: true };
    for (const k of ['D', 'T', 'R']) {
      const after = press(k === 'T' ? press(ro, { return: true }) : k === 'R' ? press(ro, '2') : ro, k);
      assert.deepEqual([after.confirm, after.prompt], [null, null], k);
      assert.match(after.notice?.text ?? '', /^read-only/, k);
    }
  });
});

describe('kstream top layout (issue 21)', () => {
  const col = (title: string, priority: number, natural: number, kind: 'fixed' | 'name' | 'spark' = 'fixed') => ({
    title,
    priority,
    natural,
    kind,
    max: kind === 'spark' ? 60 : undefined,
  });
  test('columns by priority; names cut before numbers go; sparklines no wider than their history', () => {
    const cols = [
      col('TOPIC', 0, 30, 'name'),
      col('RF', 9, 2),
      col('MSG/S', 1, 6),
      col('LAG', 2, 5),
      col('RATE', 10, 4, 'spark'),
    ];
    assert.deepEqual(layout(cols, 200), [30, 2, 6, 5, 60], 'wide: everything, the sparkline at most 60');
    assert.deepEqual(layout(cols, 40), [15, 2, 6, 5, 8], 'each at its minimum, then the rest to the name');
    assert.deepEqual(layout(cols, 30), [14, 2, 6, 5, 0], 'the sparkline goes first, then RF');
    assert.deepEqual(layout(cols, 25), [12, 0, 6, 5, 0], 'MSG/S and LAG kept, the name cut');
  });

  test('the footer keeps ? help and q quit at any width', () => {
    for (const width of [20, 40, 59, 79, 200]) {
      const shown = fitParts(footerParts(initialState), width, ' · ').map((p) => p.text);
      assert.ok(shown.includes('? help') && shown.includes('q quit'), `${width}: ${shown}`);
      if (width >= 79)
        assert.ok(shown.includes('tab/1-4 screens') && shown.includes('enter open'), `${width}: ${shown}`);
    }
  });
});

describe('kstream top key bursts', () => {
  test('plain keys read together are split into one key each', () => {
    assert.deepEqual(splitKeys('1\r', {}), [
      { input: '1', key: {} },
      { input: '', key: { return: true } },
    ]);
    assert.deepEqual(
      splitKeys('a\tb\u007F', {}).map((k) => k.input || Object.keys(k.key)[0]),
      ['a', 'tab', 'b', 'backspace'],
    );
    assert.deepEqual(splitKeys('q', {}), [{ input: 'q', key: {} }]);
    assert.deepEqual(splitKeys('\u001B[B', { downArrow: true }), [{ input: '\u001B[B', key: { downArrow: true } }]);
    // `1` then enter in one read: the topics screen, then drilled into the first topic.
    let s: UiState = { ...initialState, screen: 'groups' };
    for (const k of splitKeys('1\r', {})) s = reducer(s, { type: 'key', ...k, snapshot, events: [], pageSize: 10 });
    assert.equal(s.screen, 'topics');
    assert.equal(s.topic, 'orders');
  });
});

describe('kstream top event log padding', () => {
  let id = 0;
  const next = () => ++id;
  const ev = (text: string): LogLine => ({ id: next(), at: 1, level: 'info', text });

  test('rows: a fifth of the terminal, 1 to 8', () => {
    assert.equal(eventLogRows(10), 2);
    assert.equal(eventLogRows(4), 1);
    assert.equal(eventLogRows(30), 6);
    assert.equal(eventLogRows(100), 8);
  });

  test('blank lines, the title, then the newest events, exactly `rows` lines', () => {
    const few = padLog([ev('a')], 4, next);
    assert.deepEqual(
      few.map((l) => l.text),
      ['', '', few[2]!.text, 'a'],
    );
    assert.match(few[2]!.text, /^events \(newest last\)/);
    const many = padLog(['a', 'b', 'c', 'd', 'e'].map(ev), 3, next);
    assert.deepEqual(
      many.map((l) => l.text),
      ['c', 'd', 'e'],
    );
    // Padding from an earlier screenful is dropped, not kept as events.
    assert.deepEqual(
      padLog(few, 2, next).map((l) => l.text),
      [few[2]!.text, 'a'],
    );
  });
});
