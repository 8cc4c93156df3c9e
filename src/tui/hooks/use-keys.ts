/**
 * Keyboard handling: maps keys to reducer actions (see screens/help.tsx for the list). While the `/` prompt
 * is open every printable key goes to the filter.
 */
import { useInput } from 'ink';
import type { Dispatch } from 'react';
import type { Action, UiState } from '../state/reducer.js';
import type { Snapshot } from '../types.js';

export interface KeyHandlers {
  snapshot: Snapshot | null;
  pageSize: number;
  onQuit: () => void;
  onRefresh: () => void;
}

export function useKeys(ui: UiState, dispatch: Dispatch<Action>, h: KeyHandlers): void {
  useInput((input, key) => {
    if (ui.filtering) {
      if (key.return) dispatch({ type: 'filter-done' });
      else if (key.escape) dispatch({ type: 'filter-cancel' });
      else if (key.backspace || key.delete) dispatch({ type: 'filter-backspace' });
      else if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow)
        dispatch({ type: 'filter-input', text: input });
      return;
    }
    const move = (delta: number) => dispatch({ type: 'move', delta, snapshot: h.snapshot });
    if (input === 'q') h.onQuit();
    else if (key.tab) dispatch({ type: 'next-screen' });
    else if (input === '1') dispatch({ type: 'screen', screen: 'topics' });
    else if (input === '2') dispatch({ type: 'screen', screen: 'groups' });
    else if (input === '3') dispatch({ type: 'screen', screen: 'brokers' });
    else if (key.upArrow || input === 'k') move(-1);
    else if (key.downArrow || input === 'j') move(1);
    else if (key.pageUp) move(-h.pageSize);
    else if (key.pageDown) move(h.pageSize);
    else if (input === 'g') move(-1e9);
    else if (input === 'G') move(1e9);
    else if (key.return) dispatch({ type: 'enter', snapshot: h.snapshot });
    else if (key.escape) dispatch({ type: 'back' });
    else if (input === '/') dispatch({ type: 'filter-start' });
    else if (input === 's') dispatch({ type: 'sort' });
    else if (input === 'p') dispatch({ type: 'pause' });
    else if (input === 'r') h.onRefresh();
    else if (input === '?') dispatch({ type: 'help' });
  });
}
