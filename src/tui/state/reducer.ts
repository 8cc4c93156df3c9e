/**
 * The pure reducer of `kstream top`'s UI state (its shape and actions live in state/model.ts, re-exported here):
 * which screen, drill-down (a topic, its partitions, one partition's records), cursor, filter, sort, pause, help,
 * prompts and confirmations of actions. Data lives elsewhere (use-cluster-data, use-records); views are derived
 * by state/select.ts.
 *
 * Actions (delete a topic, trim a partition, reset a group's offsets) go through three states: asked for
 * (`confirm` with no question yet: the app plans it and asks), confirmed with `y` (`run`: the app runs it),
 * done (`notice`). Anything but `y` cancels. With `readOnly` they are refused.
 */

import { keyAction } from './keys.js';
import { type Action, currentView, type Prompt, SCREENS, SORTS, type UiState, VALUE_VIEWS } from './model.js';
import { currentRows } from './select.js';

export * from './model.js';

function withCursor(s: UiState, value: number): UiState {
  return { ...s, cursor: { ...s.cursor, [currentView(s)]: value } };
}

let runs = 0;

const noConfirm = (s: UiState): Omit<UiState, 'confirm'> => {
  const { confirm: _, ...rest } = s;
  return rest;
};

/** `--offset`-like text: N (>= 0). */
function parseOffset(text: string): bigint | null {
  return /^\d+$/.test(text.trim()) ? BigInt(text.trim()) : null;
}

/** A time as people type it: -10m / -2h / -1d, epoch ms, or ISO 8601. */
export function parseTimeText(text: string, now = Date.now()): number | null {
  const t = text.trim();
  const rel = /^-(\d+)(s|m|h|d)$/.exec(t);
  if (rel) return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's']!;
  if (/^\d{10,}$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

function promptDone(s: UiState, p: Prompt): UiState {
  const closed = { ...s, prompt: null };
  const bad = (text: string): UiState => ({ ...closed, notice: { text, level: 'bad' } });
  switch (p.kind) {
    case 'offset': {
      const offset = parseOffset(p.text);
      if (offset === null) return bad(`not an offset: "${p.text}"`);
      return reducer(closed, { type: 'browse', from: { kind: 'offset', offset } });
    }
    case 'time': {
      const ms = parseTimeText(p.text);
      if (ms === null) return bad(`not a time: "${p.text}" (use -10m, -2h, -1d or 2026-11-25T10:00:00Z)`);
      return reducer(closed, { type: 'browse', from: { kind: 'time', ms, text: p.text.trim() } });
    }
    case 'trim': {
      const offset = p.text.trim() === '' ? null : parseOffset(p.text);
      if (p.text.trim() !== '' && offset === null) return bad(`not an offset: "${p.text}"`);
      return reducer(closed, {
        type: 'ask',
        pending: { kind: 'trim', topic: p.topic, partition: p.partition, offset },
      });
    }
    case 'reset': {
      const to = p.text.trim() || 'latest';
      if (!/^(earliest|latest)$/.test(to) && parseOffset(to) === null && parseTimeText(to) === null)
        return bad(`reset to what? "${to}": earliest, latest, an offset or a time (-1h, 2026-11-25T10:00:00Z)`);
      return reducer(closed, { type: 'ask', pending: { kind: 'reset', group: p.group, to } });
    }
  }
}

export function reducer(s: UiState, a: Action): UiState {
  switch (a.type) {
    case 'key': {
      const action = keyAction(s, a.input, a.key, a);
      // A notice stays until the next key.
      const seen = s.notice && !s.confirm ? { ...s, notice: null } : s;
      return action ? reducer(seen, action) : seen;
    }
    case 'screen':
      // Another screen leaves every drill-down: `/ord` then filters that screen's list, not a topic's
      // partitions left behind.
      return s.screen === a.screen && !s.help
        ? s
        : {
            ...s,
            screen: a.screen,
            topic: null,
            partition: null,
            group: null,
            filter: '',
            filtering: false,
            help: false,
          };
    case 'next-screen': {
      const i = SCREENS.indexOf(s.screen);
      return reducer(s, { type: 'screen', screen: SCREENS[(i + 1) % SCREENS.length]! });
    }
    case 'move': {
      const count = currentView(s) === 'records' ? (a.page?.count ?? 0) : currentRows(a.snapshot, s, a.events).count;
      if (count <= 0) return withCursor(s, 0);
      const cur = Math.min(s.cursor[currentView(s)], count - 1);
      return withCursor(s, Math.max(0, Math.min(count - 1, cur + a.delta)));
    }
    case 'enter': {
      const view = currentView(s);
      if (view === 'records') return { ...s, browse: { ...s.browse, detail: !s.browse.detail } };
      const rows = currentRows(a.snapshot, s);
      const name = rows.drill(Math.min(s.cursor[view], rows.count - 1));
      if (name === null) return s;
      if (view === 'topics')
        return { ...s, topic: name, partition: null, filter: '', cursor: { ...s.cursor, partitions: 0 } };
      if (view === 'partitions')
        return {
          ...s,
          partition: Number(name),
          filter: '',
          browse: { ...s.browse, from: { kind: 'end' }, detail: false, loads: s.browse.loads + 1 },
          cursor: { ...s.cursor, records: 0 },
        };
      if (view === 'groups') return { ...s, group: name, filter: '', cursor: { ...s.cursor, group: 0 } };
      return s;
    }
    case 'back':
      if (s.help) return { ...s, help: false };
      if (s.filter !== '') return { ...s, filter: '' };
      if (s.screen === 'topics' && s.partition !== null && s.browse.detail)
        return { ...s, browse: { ...s.browse, detail: false } };
      if (s.screen === 'topics' && s.partition !== null) return { ...s, partition: null };
      if (s.screen === 'topics' && s.topic !== null) return { ...s, topic: null };
      if (s.screen === 'groups' && s.group !== null) return { ...s, group: null };
      return s;
    case 'filter-start':
      return { ...s, filtering: true };
    case 'filter-input':
      return withCursor({ ...s, filter: s.filter + a.text }, 0);
    case 'filter-backspace':
      return withCursor({ ...s, filter: s.filter.slice(0, -1) }, 0);
    case 'filter-done':
      return { ...s, filtering: false };
    case 'filter-cancel':
      return withCursor({ ...s, filtering: false, filter: '' }, 0);
    case 'sort':
      return { ...s, sort: SORTS[(SORTS.indexOf(s.sort) + 1) % SORTS.length]! };
    case 'pause':
      return { ...s, paused: !s.paused };
    case 'help':
      return { ...s, help: !s.help };
    case 'refresh':
      return { ...s, refreshes: s.refreshes + 1 };
    case 'quit':
      return { ...s, quit: true };
    case 'browse':
      return {
        ...s,
        browse: { ...s.browse, from: a.from, detail: false, loads: s.browse.loads + 1 },
        cursor: { ...s.cursor, records: 0 },
      };
    case 'value-view':
      return { ...s, browse: { ...s.browse, view: VALUE_VIEWS[(VALUE_VIEWS.indexOf(s.browse.view) + 1) % 4]! } };
    case 'prompt':
      return { ...s, prompt: a.prompt };
    case 'prompt-input':
      return s.prompt ? { ...s, prompt: { ...s.prompt, text: s.prompt.text + a.text } } : s;
    case 'prompt-backspace':
      return s.prompt ? { ...s, prompt: { ...s.prompt, text: s.prompt.text.slice(0, -1) } } : s;
    case 'prompt-cancel':
      return { ...s, prompt: null };
    case 'prompt-done':
      return s.prompt ? promptDone(s, s.prompt) : s;
    case 'ask':
      if (s.readOnly)
        return { ...s, notice: { text: 'read-only: kstream top was started with --read-only', level: 'bad' } };
      return { ...s, confirm: { pending: a.pending, question: null }, notice: null };
    case 'planned':
      return s.confirm
        ? { confirm: { pending: a.pending ?? s.confirm.pending, question: a.question }, ...noConfirm(s) }
        : s;
    case 'answer':
      if (!s.confirm || s.confirm.question === null) return s;
      if (!a.yes) return { ...s, confirm: null, notice: { text: 'cancelled: nothing was changed', level: 'info' } };
      return { ...s, confirm: null, run: { pending: s.confirm.pending, id: ++runs } };
    case 'done':
      return { ...s, run: null, confirm: null, notice: a.notice, refreshes: s.refreshes + 1 };
    case 'notice':
      return { ...s, notice: a.notice };
  }
}
