/**
 * The UI state of `kstream top`: its shape, the actions on it and the view it shows. The reducer
 * (state/reducer.ts), the key map (state/keys.ts) and the selectors (state/select.ts) all build on this module,
 * which imports none of them.
 */

import type { Key } from 'ink';
import type { ClusterEvent } from '../events.js';
import type { Snapshot } from '../types.js';

/** Ink's key flags (all optional, so tests can pass only the ones they press). */
export type KeyInfo = Partial<Key>;
export type ScreenName = 'topics' | 'groups' | 'brokers' | 'events';
export const SCREENS: readonly ScreenName[] = ['topics', 'groups', 'brokers', 'events'];

/** A list the cursor moves in: each screen's list, and the drill-down lists. */
export type ViewName = 'topics' | 'partitions' | 'records' | 'groups' | 'group' | 'brokers' | 'events';

export type SortKey = 'name' | 'rate' | 'lag';
export const SORTS: readonly SortKey[] = ['name', 'rate', 'lag'];

/** Where the record browser's page starts. */
export type BrowseFrom =
  | { kind: 'end' }
  | { kind: 'start' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'time'; ms: number; text: string };

/** How record values are shown: auto picks JSON (pretty), text or hex per record. */
export type ValueView = 'auto' | 'text' | 'json' | 'hex';
export const VALUE_VIEWS: readonly ValueView[] = ['auto', 'text', 'json', 'hex'];

/** A line of text being typed (the footer becomes the prompt). */
export type Prompt =
  | { kind: 'offset'; text: string }
  | { kind: 'time'; text: string }
  | { kind: 'trim'; text: string; topic: string; partition: number }
  | { kind: 'reset'; text: string; group: string };

/** An action on the cluster. */
export type Pending =
  | { kind: 'delete-topic'; topic: string }
  /** offset null: the log end when planned. */
  | { kind: 'trim'; topic: string; partition: number; offset: bigint | null }
  /** to: earliest, latest, an offset or a time, as typed. */
  | { kind: 'reset'; group: string; to: string };

export interface Notice {
  text: string;
  level: 'ok' | 'bad' | 'info';
}

/** The page of records on screen, as the key handler needs it (offsets of its first and last record). */
export interface PageInfo {
  first: bigint | null;
  last: bigint | null;
  low: bigint;
  high: bigint;
  count: number;
}

export interface UiState {
  screen: ScreenName;
  /** Topic drilled into on the topics screen. */
  topic: string | null;
  /** Partition of that topic whose records are browsed. */
  partition: number | null;
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
  browse: { from: BrowseFrom; view: ValueView; detail: boolean; loads: number };
  prompt: Prompt | null;
  /** An action asked for: question null while the app plans it, then `y` runs it. */
  confirm: { pending: Pending; question: string | null } | null;
  /** A confirmed action for the app to run (id: one run per confirmation). */
  run: { pending: Pending; id: number } | null;
  notice: Notice | null;
  readOnly: boolean;
}

export const initialState: UiState = {
  screen: 'topics',
  topic: null,
  partition: null,
  group: null,
  cursor: { topics: 0, partitions: 0, records: 0, groups: 0, group: 0, brokers: 0, events: 0 },
  filter: '',
  filtering: false,
  sort: 'name',
  paused: false,
  help: false,
  quit: false,
  refreshes: 0,
  browse: { from: { kind: 'end' }, view: 'auto', detail: false, loads: 0 },
  prompt: null,
  confirm: null,
  run: null,
  notice: null,
  readOnly: false,
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
      page?: PageInfo | null;
    }
  | { type: 'screen'; screen: ScreenName }
  | { type: 'next-screen' }
  /** Rows are counted on the current state, so keys typed faster than renders still land right. */
  | { type: 'move'; delta: number; snapshot: Snapshot | null; events?: readonly ClusterEvent[]; page?: PageInfo | null }
  /** Drill into the row under the cursor (a topic, a partition's records, a group, a record's details). */
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
  | { type: 'quit' }
  /** The record browser: where the page starts, how values are shown. */
  | { type: 'browse'; from: BrowseFrom }
  | { type: 'value-view' }
  | { type: 'prompt'; prompt: Prompt }
  | { type: 'prompt-input'; text: string }
  | { type: 'prompt-backspace' }
  | { type: 'prompt-done' }
  | { type: 'prompt-cancel' }
  /** An action asked for (D, T, R) and the app's question about it, or why it cannot be done. */
  | { type: 'ask'; pending: Pending }
  | { type: 'planned'; question: string; pending?: Pending }
  | { type: 'answer'; yes: boolean }
  | { type: 'done'; notice: Notice }
  | { type: 'notice'; notice: Notice | null };

export function currentView(s: UiState): ViewName {
  if (s.screen === 'topics') return s.topic === null ? 'topics' : s.partition === null ? 'partitions' : 'records';
  if (s.screen === 'groups') return s.group === null ? 'groups' : 'group';
  return s.screen;
}
