/**
 * Keyboard input → the reducer. The mapping (state/keys.ts) runs inside the reducer on its current state;
 * quitting and refreshing are state changes the app acts on (ui.quit, ui.refreshes).
 */
import { useInput } from 'ink';
import { type Dispatch, useRef } from 'react';
import type { ClusterEvent } from '../events.js';
import { splitKeys } from '../state/keys.js';
import type { Action, PageInfo } from '../state/reducer.js';
import type { Snapshot } from '../types.js';

export function useKeys(
  dispatch: Dispatch<Action>,
  ctx: { snapshot: Snapshot | null; events: readonly ClusterEvent[]; pageSize: number; page?: PageInfo | null },
): void {
  // Ink attaches the handler in an effect, after the frame is drawn: read the latest values through a ref.
  const latest = useRef(ctx);
  latest.current = ctx;
  useInput((input, key) => {
    for (const k of splitKeys(input, key)) dispatch({ type: 'key', ...k, ...latest.current });
  });
}
