/**
 * Events screen: the event log's history (the last MAX_HISTORY events), newest first, filterable, each row
 * coloured by severity — the same lines as the log above the live area, which shows only the last few.
 */
import type { ReactNode } from 'react';
import { type Column, Table } from '../components/table.js';
import { clock } from '../format.js';
import type { LoggedEvent } from '../hooks/use-event-log.js';
import type { UiState } from '../state/reducer.js';
import { visibleEvents } from '../state/select.js';
import { theme } from '../theme.js';

const COLORS = { bad: theme.bad, warn: theme.warn, ok: theme.ok, info: undefined } as const;

const columns: Column<LoggedEvent>[] = [
  { title: 'TIME', priority: 0, cell: (e) => clock(e.at) },
  { title: 'EVENT', priority: 0, kind: 'text', min: 20, cell: (e) => e.text },
];

export function EventsScreen({
  events,
  ui,
  width,
  height,
}: {
  events: readonly LoggedEvent[];
  ui: UiState;
  width: number;
  height: number;
}): ReactNode {
  const rows = visibleEvents(events, ui);
  return (
    <Table
      columns={columns}
      rows={rows}
      rowKey={(e) => String(e.id)}
      selected={Math.min(ui.cursor.events, rows.length - 1)}
      height={Math.max(1, height - 1)}
      width={width}
      rowColor={(e) => COLORS[e.level]}
      empty="(no events yet)"
    />
  );
}
