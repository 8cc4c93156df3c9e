/**
 * The UI state of `kstream top` and its pure reducer: which screen, drill-down, cursor, filter, sort,
 * pause, help. Data lives elsewhere (use-cluster-data); views are derived by state/select.ts.
 */

import type { ClusterEvent } from '../events.js';
import type { Snapshot } from '../types.js';
import { type KeyInfo, keyAction } from './keys.js';
import { currentRows } from './select.js';

export type ScreenName = 'topics' | 'groups' | 'brokers' | 'events';
export const SCREENS: readonly ScreenName[] = ['topics', 'groups', 'brokers', 'events'];

/** A list the cursor moves in: each screen's list, and the two drill-down lists. */
export type ViewName = 'topics' | 'partitions' | 'groups' | 'group' | 'brokers' | 'events';

export type SortKey = 'name' | 'rate' | 'lag';
export const SORTS: readonly SortKey[] = ['name', 'rate', 'lag'];

export interface UiState {
  screen: ScreenName;
  /** Topic drilled into on the topics screen. */
  topic: string | null;
  /** Group drilled into on the groups screen. */
  group: string | null;
  cursor: Record<ViewName, number>;
  filter: string;
  /** The `/` prompt is open (keys go to the filter). */
  filtering: boolean;
  sort: SortKey;
  paused: boolean;
  help: boolean;
  /** `q` was pressed: the app exits. */
  quit: boolean;
  /** Incremented by `r`: the app polls at once when it changes. */
  refreshes: number;
}

export const initialState: UiState = {
  screen: 'topics',
  topic: null,
  group: null,
  cursor: { topics: 0, partitions: 0, groups: 0, group: 0, brokers: 0, events: 0 },
  filter: '',
  filtering: false,
  sort: 'name',
  paused: false,
  help: false,
  quit: false,
  refreshes: 0,
};

export type Action =
  /** A key press, mapped to one of the other actions on the current state (state/keys.ts). */
  | {
      type: 'key';
      input: string;
      key: KeyInfo;
      snapshot: Snapshot | null;
      events: readonly ClusterEvent[];
      pageSize: number;
    }
  | { type: 'screen'; screen: ScreenName }
  | { type: 'next-screen' }
  /** Rows are counted on the current state, so keys typed faster than renders still land right. */
  | { type: 'move'; delta: number; snapshot: Snapshot | null; events?: readonly ClusterEvent[] }
  /** Drill into the row under the cursor (a topic or a group). */
  | { type: 'enter'; snapshot: Snapshot | null }
  | { type: 'back' }
  | { type: 'filter-start' }
  | { type: 'filter-input'; text: string }
  | { type: 'filter-backspace' }
  | { type: 'filter-done' }
  | { type: 'filter-cancel' }
  | { type: 'sort' }
  | { type: 'pause' }
  | { type: 'help' }
  | { type: 'refresh' }
  | { type: 'quit' };

export function currentView(s: UiState): ViewName {
  if (s.screen === 'topics') return s.topic === null ? 'topics' : 'partitions';
  if (s.screen === 'groups') return s.group === null ? 'groups' : 'group';
  return s.screen;
}

function withCursor(s: UiState, value: number): UiState {
  return { ...s, cursor: { ...s.cursor, [currentView(s)]: value } };
}

export function reducer(s: UiState, a: Action): UiState {
  switch (a.type) {
    case 'key': {
      const action = keyAction(s, a.input, a.key, a);
      return action ? reducer(s, action) : s;
    }
    case 'screen':
      return s.screen === a.screen && !s.help
        ? s
        : { ...s, screen: a.screen, filter: '', filtering: false, help: false };
    case 'next-screen': {
      const i = SCREENS.indexOf(s.screen);
      return reducer(s, { type: 'screen', screen: SCREENS[(i + 1) % SCREENS.length]! });
    }
    case 'move': {
      const count = currentRows(a.snapshot, s, a.events).count;
      if (count <= 0) return withCursor(s, 0);
      const cur = Math.min(s.cursor[currentView(s)], count - 1);
      return withCursor(s, Math.max(0, Math.min(count - 1, cur + a.delta)));
    }
    case 'enter': {
      const rows = currentRows(a.snapshot, s);
      const view = currentView(s);
      const name = rows.drill(Math.min(s.cursor[view], rows.count - 1));
      if (name === null) return s;
      if (view === 'topics') return { ...s, topic: name, filter: '', cursor: { ...s.cursor, partitions: 0 } };
      if (view === 'groups') return { ...s, group: name, filter: '', cursor: { ...s.cursor, group: 0 } };
      return s;
    }
    case 'back':
      if (s.help) return { ...s, help: false };
      if (s.filter !== '') return { ...s, filter: '' };
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
  }
}
