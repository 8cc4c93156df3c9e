/**
 * `kstream top`: the event log (scrolling above), the header, the current screen (topics/partitions,
 * groups/group, brokers, events, help) and the footer, sized to the terminal. State: UI in a pure reducer (state/reducer.ts), data in useClusterData.
 */
import { Box, useApp } from 'ink';
import { type ReactNode, useEffect, useReducer } from 'react';
import { EventLog } from './components/event-log.js';
import { Footer } from './components/footer.js';
import { Header } from './components/header.js';
import { type ClusterSource, useClusterData } from './hooks/use-cluster-data.js';
import { useEventLog } from './hooks/use-event-log.js';
import { useKeys } from './hooks/use-keys.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { BrokersScreen } from './screens/brokers.js';
import { EventsScreen } from './screens/events.js';
import { GroupsScreen } from './screens/groups.js';
import { HelpScreen } from './screens/help.js';
import { TopicsScreen } from './screens/topics.js';
import { initialState, reducer, type UiState } from './state/reducer.js';

export interface AppProps {
  source: ClusterSource;
  intervalMs: number;
  /** Shown in the header. */
  bootstrap: string;
  initial?: Partial<UiState>;
}

export function App({ source, intervalMs, bootstrap, initial }: AppProps): ReactNode {
  const [ui, dispatch] = useReducer(reducer, { ...initialState, ...initial });
  const { data, refresh } = useClusterData(source, intervalMs, ui.paused);
  const { columns, rows } = useTerminalSize();
  const log = useEventLog(data);
  const { exit } = useApp();
  // The event log's rows, header (3 lines + banner), footer, and one spare row so Ink never has to clear the
  // whole screen: the live area then ends on the last row, and each new event scrolls the log above it.
  const height = Math.max(3, rows - log.rows - 1 - (data.error ? 4 : 3) - 1);
  useKeys(dispatch, { snapshot: data.snapshot, events: log.history, pageSize: height - 2 });
  useEffect(() => {
    if (ui.quit) exit();
  }, [ui.quit, exit]);
  useEffect(() => {
    if (ui.refreshes > 0) refresh();
  }, [ui.refreshes, refresh]);
  const screen = { snapshot: data.snapshot, ui, width: columns - 1, height };
  let body: ReactNode;
  if (ui.help) body = <HelpScreen />;
  else if (ui.screen === 'topics') body = <TopicsScreen {...screen} />;
  else if (ui.screen === 'groups') body = <GroupsScreen {...screen} />;
  else if (ui.screen === 'brokers') body = <BrokersScreen {...screen} />;
  else body = <EventsScreen events={log.history} ui={ui} width={screen.width} height={height} />;
  return (
    <Box flexDirection="column" width={columns}>
      <EventLog lines={log.lines} epoch={log.epoch} width={columns} />
      <Header data={data} intervalMs={intervalMs} paused={ui.paused} screen={ui.screen} bootstrap={bootstrap} />
      <Box flexDirection="column" height={height} overflow="hidden">
        {body}
      </Box>
      <Footer ui={ui} />
    </Box>
  );
}
