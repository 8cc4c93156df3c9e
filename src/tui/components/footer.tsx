/** The bottom line: the `/` filter prompt while typing, otherwise the active filter, sort and key hints. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { UiState } from '../state/reducer.js';
import { theme } from '../theme.js';

export function Footer({ ui }: { ui: UiState }): ReactNode {
  if (ui.filtering) {
    return (
      <Text>
        <Text color={theme.accent}>/</Text>
        {ui.filter}
        <Text inverse> </Text>
        <Text color={theme.dim}> enter: apply · esc: clear</Text>
      </Text>
    );
  }
  return (
    <Text color={theme.dim} wrap="truncate">
      {ui.filter ? <Text color={theme.warn}>filter "{ui.filter}" · </Text> : null}
      sort: {ui.sort} · tab/1-4 screens · ↑↓/jk move · enter drill in · esc back · / filter · s sort · p pause · r
      refresh · ? help · q quit
    </Text>
  );
}
