/** Keys → UI state, through the reducer (pure): screens, moves, filter prompt, quit and refresh as state. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventLogRows, type LogLine, padLog } from '../../src/tui/hooks/use-event-log.js';
import { type KeyInfo, splitKeys } from '../../src/tui/state/keys.js';
import { initialState, reducer, type UiState } from '../../src/tui/state/reducer.js';
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
