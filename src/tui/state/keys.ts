/**
 * Keys → actions (pure; see screens/help.tsx for the list). Decided on the reducer's current state, not on a
 * rendered one, so keys typed faster than the screen redraws (`/` then `pay` in one burst) still land right:
 * while the `/` prompt is open every printable key goes to the filter.
 */
import type { ClusterEvent } from '../events.js';
import type { Snapshot } from '../types.js';
import { type Action, currentView, type KeyInfo, type PageInfo, type UiState } from './model.js';
import { currentRows } from './select.js';

export type { KeyInfo };

export function keyAction(
  s: UiState,
  input: string,
  key: KeyInfo,
  ctx: { snapshot: Snapshot | null; events: readonly ClusterEvent[]; pageSize: number; page?: PageInfo | null },
): Action | null {
  // A question about an action: y runs it, any other key cancels it (while it is being planned, keys wait).
  if (s.confirm) {
    if (s.confirm.question === null) return key.ctrl && input === 'c' ? { type: 'quit' } : null;
    return { type: 'answer', yes: input === 'y' || input === 'Y' };
  }
  if (s.prompt) {
    if (key.return) return { type: 'prompt-done' };
    if (key.escape) return { type: 'prompt-cancel' };
    if (key.backspace || key.delete) return { type: 'prompt-backspace' };
    if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow)
      return { type: 'prompt-input', text: input };
    return null;
  }
  if (s.filtering) {
    if (key.return) return { type: 'filter-done' };
    if (key.escape) return { type: 'filter-cancel' };
    if (key.backspace || key.delete) return { type: 'filter-backspace' };
    if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow)
      return { type: 'filter-input', text: input };
    return null;
  }
  const move = (delta: number): Action => ({
    type: 'move',
    delta,
    snapshot: ctx.snapshot,
    events: ctx.events,
    page: ctx.page,
  });
  if (input === 'q') return { type: 'quit' };
  const view = currentView(s);
  if (view === 'records') {
    const page = ctx.page;
    if (input === 'n' || key.pageDown || key.rightArrow) {
      if (!page || page.last === null || page.last + 1n >= page.high) return { type: 'browse', from: { kind: 'end' } };
      return { type: 'browse', from: { kind: 'offset', offset: page.last + 1n } };
    }
    if (input === 'b' || key.pageUp || key.leftArrow) {
      if (!page || page.first === null) return { type: 'browse', from: { kind: 'end' } };
      const back = page.first - BigInt(Math.max(1, ctx.pageSize));
      return { type: 'browse', from: back <= page.low ? { kind: 'start' } : { kind: 'offset', offset: back } };
    }
    if (input === 'g') return { type: 'browse', from: { kind: 'start' } };
    if (input === 'G') return { type: 'browse', from: { kind: 'end' } };
    if (input === 'o') return { type: 'prompt', prompt: { kind: 'offset', text: '' } };
    if (input === 't') return { type: 'prompt', prompt: { kind: 'time', text: '' } };
    if (input === 'v') return { type: 'value-view' };
  }
  // Actions: asked for here, planned and confirmed by the app (reducer.ts).
  if (s.readOnly && (input === 'D' || input === 'T' || input === 'R'))
    return { type: 'notice', notice: { text: 'read-only: kstream top was started with --read-only', level: 'bad' } };
  if (input === 'D' && view === 'topics') {
    const topic = currentRows(ctx.snapshot, s).drill(s.cursor.topics);
    return topic === null ? null : { type: 'ask', pending: { kind: 'delete-topic', topic } };
  }
  if (input === 'T' && (view === 'partitions' || view === 'records') && s.topic !== null) {
    const partition =
      view === 'records' ? s.partition : Number(currentRows(ctx.snapshot, s).drill(s.cursor.partitions) ?? Number.NaN);
    if (partition === null || Number.isNaN(partition)) return null;
    return { type: 'prompt', prompt: { kind: 'trim', text: '', topic: s.topic, partition } };
  }
  if (input === 'R' && (view === 'groups' || view === 'group')) {
    const group = view === 'group' ? s.group : currentRows(ctx.snapshot, s).drill(s.cursor.groups);
    return group === null ? null : { type: 'prompt', prompt: { kind: 'reset', text: '', group } };
  }
  if (key.tab) return { type: 'next-screen' };
  if (input === '1') return { type: 'screen', screen: 'topics' };
  if (input === '2') return { type: 'screen', screen: 'groups' };
  if (input === '3') return { type: 'screen', screen: 'brokers' };
  if (input === '4') return { type: 'screen', screen: 'events' };
  if (key.upArrow || input === 'k') return move(-1);
  if (key.downArrow || input === 'j') return move(1);
  if (key.pageUp) return move(-ctx.pageSize);
  if (key.pageDown) return move(ctx.pageSize);
  if (input === 'g') return move(-1e9);
  if (input === 'G') return move(1e9);
  if (key.return) return { type: 'enter', snapshot: ctx.snapshot };
  if (key.escape) return { type: 'back' };
  if (input === '/') return { type: 'filter-start' };
  if (input === 's') return { type: 'sort' };
  if (input === 'p') return { type: 'pause' };
  if (input === 'r') return { type: 'refresh' };
  if (input === '?') return { type: 'help' };
  return null;
}

/**
 * Ink hands a burst of plain keys over as one string ("1\r" when `1` and enter come in one read): split it
 * into one key each, so each is an action. Escape sequences (arrows, …) are already split by Ink.
 */
export function splitKeys(input: string, key: KeyInfo): { input: string; key: KeyInfo }[] {
  if (input.length <= 1 || key.ctrl || key.meta || input.includes('\u001B')) return [{ input, key }];
  return [...input].map((ch) => {
    if (ch === '\r' || ch === '\n') return { input: '', key: { return: true } };
    if (ch === '\t') return { input: '', key: { tab: true } };
    if (ch === '\u007F' || ch === '\b') return { input: '', key: { backspace: true } };
    return { input: ch, key: {} };
  });
}
