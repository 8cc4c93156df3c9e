/**
 * The bottom line: the `/` filter prompt while typing, otherwise the active filter, sort and the keys of the
 * current view. The keys that fit are shown, least useful dropped first (layout.ts fitParts); `? help` and
 * `q quit` always stay, whatever the width.
 */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import { fitParts, type Part } from '../layout.js';
import { currentView, type UiState } from '../state/reducer.js';
import { theme } from '../theme.js';

/** The footer's parts for a state (exported for tests): keys by priority, 0 = always shown. */
export function footerParts(ui: UiState, readOnly = false): Part[] {
  const view = currentView(ui);
  const parts: Part[] = [];
  if (ui.filter) parts.push({ text: `filter "${ui.filter}"`, priority: 0 });
  if (view === 'records') {
    parts.push(
      { text: 'n/pgdn newer', priority: 1 },
      { text: 'b/pgup older', priority: 1 },
      { text: 'o offset', priority: 2 },
      { text: 't time', priority: 2 },
      { text: 'v view', priority: 3 },
      { text: 'enter record', priority: 3 },
      { text: 'esc back', priority: 1 },
    );
  } else {
    parts.push({ text: `sort: ${ui.sort}`, priority: 4 });
    parts.push({ text: 'tab/1-4 screens', priority: 2 });
    parts.push({ text: '↑↓ move', priority: 5 });
    if (view === 'topics' || view === 'groups') parts.push({ text: 'enter open', priority: 1 });
    if (view === 'partitions') parts.push({ text: 'enter records', priority: 1 });
    if (view !== 'topics' && view !== 'groups' && view !== 'brokers' && view !== 'events')
      parts.push({ text: 'esc back', priority: 1 });
    parts.push({ text: '/ filter', priority: 3 });
    if (!readOnly) {
      if (view === 'topics') parts.push({ text: 'D delete', priority: 6 });
      if (view === 'partitions') parts.push({ text: 'T trim', priority: 6 });
      if (view === 'groups' || view === 'group') parts.push({ text: 'R reset offsets', priority: 6 });
    }
    parts.push({ text: 's sort', priority: 7 });
    parts.push({ text: 'p pause', priority: 7 });
    parts.push({ text: 'r refresh', priority: 8 });
  }
  parts.push({ text: '? help', priority: 0 }, { text: 'q quit', priority: 0 });
  return parts;
}

export function Footer({ ui, width, readOnly }: { ui: UiState; width: number; readOnly?: boolean }): ReactNode {
  if (ui.filtering) {
    return (
      <Text wrap="truncate">
        <Text color={theme.accent}>/</Text>
        {ui.filter}
        <Text inverse> </Text>
        <Text color={theme.dim}> enter: apply · esc: clear</Text>
      </Text>
    );
  }
  const shown = fitParts(footerParts(ui, readOnly), width, ' · ');
  return (
    <Text color={theme.dim} wrap="truncate">
      {shown.map((p, i) => (
        <Text key={p.text} color={p.text.startsWith('filter "') ? theme.warn : undefined}>
          {i > 0 ? ' · ' : ''}
          {p.text}
        </Text>
      ))}
    </Text>
  );
}
