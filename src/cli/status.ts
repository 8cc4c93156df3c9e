/** Columns of a batch operation's result: one row per item, OK or its error (rpk's TOPIC  STATUS). */
import type { Column } from './output.js';

export interface StatusRow {
  name: string;
  status: string;
}

export function STATUS_COLUMNS(what: string): Column<StatusRow>[] {
  return [
    { header: what, get: (r) => r.name },
    { header: 'status', get: (r) => r.status },
  ];
}
