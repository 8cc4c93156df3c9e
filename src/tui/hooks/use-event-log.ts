/**
 * The event log's lines: cluster events derived from each new snapshot (diffSnapshots) and from the cluster
 * becoming unreachable / reachable, appended for the `<Static>` log above the live area (components/
 * event-log.tsx).
 *
 * `<Static>` prints each item once and never again, so the log starts with `rows` lines (a title and blank
 * padding): the live area is then pinned to the bottom of the screen from the first frame, and each new event
 * scrolls the log up by one line. After a terminal resize the screen is cleared and a new `<Static>` (a new
 * `epoch`) prints the last `rows` lines again for the new size; the same happens, without clearing, when
 * the list grows past MAX_LINES, so the list stays bounded however long top runs.
 */
import { useStdout } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { type ClusterEvent, connectivityEvents, diffSnapshots, type EventLevel } from '../events.js';
import type { ClusterData, Snapshot } from '../types.js';

export interface LogLine {
  id: number;
  /** null: the title or padding. */
  at: number | null;
  level: EventLevel | 'title';
  text: string;
}

export interface LoggedEvent extends ClusterEvent {
  id: number;
}

/** Events kept for the Events screen. */
export const MAX_HISTORY = 500;
/** Lines kept before the log is started again from its last screenful. */
export const MAX_LINES = 1000;
const CLEAR_SCREEN = '\u001B[2J\u001B[H';
/** A resize redraws once no resize event came for this long (a window dragged sends many). */
const RESIZE_SETTLE_MS = 100;

/** How many terminal rows the event log takes above the live area. */
export function eventLogRows(terminalRows: number): number {
  return Math.max(1, Math.min(8, Math.floor(terminalRows / 5)));
}

export function padLog(lines: readonly LogLine[], rows: number, nextId: () => number): LogLine[] {
  const real = lines.filter((l) => l.at !== null).slice(-rows);
  const pad: LogLine[] = [];
  // Blank lines, then the title just above the newest events (it scrolls away as events arrive).
  while (pad.length + real.length < rows - 1) pad.push({ id: nextId(), at: null, level: 'title', text: '' });
  if (real.length < rows)
    pad.push({
      id: nextId(),
      at: null,
      level: 'title',
      text: 'events (newest last): brokers down/up, leaders, under-replicated/offline partitions, groups',
    });
  return [...pad, ...real];
}

export function useEventLog(data: ClusterData): {
  lines: LogLine[];
  epoch: number;
  rows: number;
  history: LoggedEvent[];
} {
  const { stdout } = useStdout();
  const counter = useRef(0);
  const nextId = () => ++counter.current;
  const rowsNow = () => eventLogRows(stdout.rows || 40);
  const [log, setLog] = useState(() => ({
    lines: padLog([], rowsNow(), nextId),
    epoch: 0,
    rows: rowsNow(),
    history: [] as LoggedEvent[],
  }));
  const prevSnapshot = useRef<Snapshot | null>(null);
  const prevError = useRef<string | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: derived only when the snapshot or error changes
  useEffect(() => {
    const events: ClusterEvent[] = [];
    if (data.error !== prevError.current) {
      events.push(...connectivityEvents(prevError.current, data.error, data.lastAttempt ?? Date.now()));
      prevError.current = data.error;
    }
    if (data.snapshot && data.snapshot !== prevSnapshot.current) {
      events.push(...diffSnapshots(prevSnapshot.current, data.snapshot));
      prevSnapshot.current = data.snapshot;
    }
    if (events.length === 0) return;
    const added = events.map((e) => ({ id: nextId(), ...e }));
    setLog((l) => {
      const lines = [...l.lines, ...added];
      const history = [...l.history, ...added].slice(-MAX_HISTORY);
      return lines.length > MAX_LINES
        ? { lines: padLog(lines, l.rows, nextId), epoch: l.epoch + 1, rows: l.rows, history }
        : { ...l, lines, history };
    });
  }, [data.snapshot, data.error]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `rowsNow` and `nextId` only read refs and stdout
  useEffect(() => {
    // Once the terminal has settled at its new size: clear it, and a new <Static> prints the log's last lines
    // from the top; Ink's render of it (immediate, as <Static> changed) then puts the live area below them,
    // ending on the last row. (Ink's own redraw on a shrink reprints every static line ever written and
    // leaves the live area one row off; this one comes after it and wins.)
    let timer: NodeJS.Timeout | undefined;
    const redraw = () => {
      stdout.write(CLEAR_SCREEN);
      const rows = rowsNow();
      setLog((l) => ({ ...l, lines: padLog(l.lines, rows, nextId), epoch: l.epoch + 1, rows }));
    };
    const onResize = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(redraw, RESIZE_SETTLE_MS);
    };
    stdout.on('resize', onResize);
    return () => {
      if (timer) clearTimeout(timer);
      stdout.off('resize', onResize);
    };
  }, [stdout]);

  return log;
}
