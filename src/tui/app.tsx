/**
 * `kstream top`: the event log (scrolling above), the header, the current screen (topics/partitions/records,
 * groups/group, brokers, events, help) and the footer, sized to the terminal. State: UI in a pure reducer
 * (state/reducer.ts), cluster data in useClusterData, a record page in useRecords; actions on the cluster are
 * planned, asked and run here through `actions`.
 */
import { Box, Text, useApp } from 'ink';
import { type ReactNode, useEffect, useReducer } from 'react';
import type { TopActions } from './actions.js';
import { EventLog } from './components/event-log.js';
import { Footer } from './components/footer.js';
import { Header } from './components/header.js';
import { type ClusterSource, useClusterData } from './hooks/use-cluster-data.js';
import { useEventLog } from './hooks/use-event-log.js';
import { useKeys } from './hooks/use-keys.js';
import { useRecords } from './hooks/use-records.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { BrokersScreen } from './screens/brokers.js';
import { EventsScreen } from './screens/events.js';
import { GroupsScreen } from './screens/groups.js';
import { HelpScreen } from './screens/help.js';
import { RecordsScreen } from './screens/records.js';
import { TopicsScreen } from './screens/topics.js';
import { currentView, initialState, type PageInfo, reducer, type UiState } from './state/reducer.js';
import { theme } from './theme.js';

export interface AppProps {
  source: ClusterSource;
  intervalMs: number;
  /** Shown in the header. */
  bootstrap: string;
  /** Whom top is connected as and over which protocol, shown in the header (User:alice · SASL_SSL SCRAM-SHA-512). */
  identity?: string;
  initial?: Partial<UiState>;
  /** Record pages and actions on the cluster (none: browsing and actions say they are unavailable). */
  actions?: TopActions;
  /** `--read-only`: actions are refused. */
  readOnly?: boolean;
}

const PROMPTS: Record<NonNullable<UiState['prompt']>['kind'], (p: NonNullable<UiState['prompt']>) => string> = {
  offset: () => 'go to offset: ',
  time: () => 'go to time (-10m, -2h, 2026-11-25T10:00:00Z): ',
  trim: (p) =>
    p.kind === 'trim' ? `trim ${p.topic}-${p.partition}: delete the records before offset (enter: the log end): ` : '',
  reset: (p) =>
    p.kind === 'reset' ? `reset ${p.group}'s offsets to (earliest, latest, an offset, -1h; enter: latest): ` : '',
};

/** The bottom line: a question, a prompt, a notice, or the keys. */
function Bottom({ ui, width, readOnly }: { ui: UiState; width: number; readOnly: boolean }): ReactNode {
  if (ui.confirm)
    return (
      <Text wrap="truncate" color={theme.warn} bold>
        {ui.confirm.question === null ? 'checking what it would do…' : `[y/N] ${ui.confirm.question}`}
      </Text>
    );
  if (ui.run) return <Text color={theme.warn}>working…</Text>;
  if (ui.prompt)
    return (
      <Text wrap="truncate">
        <Text color={theme.accent}>{PROMPTS[ui.prompt.kind](ui.prompt)}</Text>
        {ui.prompt.text}
        <Text inverse> </Text>
        <Text color={theme.dim}> esc: cancel</Text>
      </Text>
    );
  if (ui.notice)
    return (
      <Text
        wrap="truncate"
        color={ui.notice.level === 'bad' ? theme.bad : ui.notice.level === 'ok' ? theme.ok : undefined}
      >
        {ui.notice.text}
      </Text>
    );
  return <Footer ui={ui} width={width} readOnly={readOnly} />;
}

export function App({
  source,
  intervalMs,
  bootstrap,
  identity,
  initial,
  actions,
  readOnly = false,
}: AppProps): ReactNode {
  const [ui, dispatch] = useReducer(reducer, { ...initialState, readOnly, ...initial });
  const { data, refresh } = useClusterData(source, intervalMs, ui.paused);
  const { columns, rows } = useTerminalSize();
  const log = useEventLog(data);
  const { exit } = useApp();
  // The event log's rows, header (3 lines + banner), footer, and one spare row so Ink never has to clear the
  // whole screen: the live area then ends on the last row, and each new event scrolls the log above it.
  const height = Math.max(3, rows - log.rows - 1 - (data.error ? 4 : 3) - 1);
  const width = columns - 1;
  const browsing = currentView(ui) === 'records';
  const records = useRecords(actions, ui, Math.max(1, height - 3));
  const page: PageInfo | null = records.page
    ? {
        first: records.page.records[0]?.offset ?? null,
        last: records.page.records[records.page.records.length - 1]?.offset ?? null,
        low: records.page.low,
        high: records.page.high,
        count: records.page.records.length,
      }
    : null;
  useKeys(dispatch, {
    snapshot: data.snapshot,
    events: log.history,
    pageSize: browsing ? Math.max(1, height - 3) : height - 2,
    page,
  });
  useEffect(() => {
    if (ui.quit) exit();
  }, [ui.quit, exit]);
  useEffect(() => {
    if (ui.refreshes > 0) refresh();
  }, [ui.refreshes, refresh]);
  // An action asked for: plan it and ask (or say why not).
  const asked = ui.confirm?.question === null ? ui.confirm.pending : null;
  useEffect(() => {
    if (!asked) return;
    if (!actions) {
      dispatch({ type: 'done', notice: { text: 'actions are not available here', level: 'bad' } });
      return;
    }
    actions.plan(asked).then(
      ({ question, pending }) => dispatch({ type: 'planned', question, pending }),
      (e: unknown) =>
        dispatch({ type: 'done', notice: { text: e instanceof Error ? e.message : String(e), level: 'bad' } }),
    );
  }, [asked, actions]);
  // Confirmed: run it, then say how it went (and poll at once).
  const run = ui.run;
  useEffect(() => {
    if (!run || !actions) return;
    actions.run(run.pending).then(
      (notice) => dispatch({ type: 'done', notice }),
      (e: unknown) =>
        dispatch({ type: 'done', notice: { text: e instanceof Error ? e.message : String(e), level: 'bad' } }),
    );
  }, [run, actions]);
  const screen = { snapshot: data.snapshot, ui, width, height };
  let body: ReactNode;
  if (ui.help) body = <HelpScreen readOnly={readOnly} />;
  else if (browsing) body = <RecordsScreen ui={ui} data={records} width={width} height={height} />;
  else if (ui.screen === 'topics') body = <TopicsScreen {...screen} />;
  else if (ui.screen === 'groups') body = <GroupsScreen {...screen} />;
  else if (ui.screen === 'brokers') body = <BrokersScreen {...screen} />;
  else body = <EventsScreen events={log.history} ui={ui} width={width} height={height} />;
  return (
    <Box flexDirection="column" width={columns}>
      <EventLog lines={log.lines} epoch={log.epoch} width={columns} />
      <Header
        data={data}
        intervalMs={intervalMs}
        paused={ui.paused}
        screen={ui.screen}
        bootstrap={bootstrap}
        identity={identity}
        width={width}
        readOnly={readOnly}
      />
      <Box flexDirection="column" height={height} overflow="hidden">
        {body}
      </Box>
      <Bottom ui={ui} width={width} readOnly={readOnly} />
    </Box>
  );
}
