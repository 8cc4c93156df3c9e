/**
 * The header: cluster id, controller, brokers up/down, totals, refresh interval and last update, the screen
 * tabs, and a banner when the cluster cannot be reached (the last data stays on screen, marked stale).
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { clock, interval } from '../format.js';
import type { ScreenName } from '../state/reducer.js';
import { SCREENS } from '../state/reducer.js';
import { theme } from '../theme.js';
import type { ClusterData } from '../types.js';

export interface HeaderProps {
  data: ClusterData;
  intervalMs: number;
  paused: boolean;
  screen: ScreenName;
  bootstrap: string;
}

const TITLES: Record<ScreenName, string> = { topics: 'Topics', groups: 'Groups', brokers: 'Brokers', events: 'Events' };

function Count({ label, n, bad }: { label: string; n: number; bad?: string }): ReactNode {
  return (
    <Text>
      {label} <Text color={n > 0 && bad ? bad : undefined}>{n}</Text>
      {'  '}
    </Text>
  );
}

export function Header({ data, intervalMs, paused, screen, bootstrap }: HeaderProps): ReactNode {
  const s = data.snapshot;
  const t = s?.totals;
  const stale = data.error !== null;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold color={theme.accent}>
          kstream top
        </Text>
        {'  '}cluster <Text bold>{s?.clusterId ?? '?'}</Text>
        {'  '}controller <Text bold>{s && s.controllerId >= 0 ? s.controllerId : '-'}</Text>
        {'  '}brokers <Text color={theme.ok}>{t?.brokersUp ?? 0} up</Text>{' '}
        <Text color={t && t.brokersDown > 0 ? theme.bad : theme.dim} bold={!!t && t.brokersDown > 0}>
          {t?.brokersDown ?? 0} down
        </Text>
        {'  '}
        <Text color={theme.dim}>{bootstrap}</Text>
      </Text>
      <Text wrap="truncate">
        <Count label="topics" n={t?.topics ?? 0} />
        <Count label="partitions" n={t?.partitions ?? 0} />
        <Count label="under-replicated" n={t?.underReplicated ?? 0} bad={theme.warn} />
        <Count label="offline" n={t?.offline ?? 0} bad={theme.bad} />
        {s?.groupsError ? (
          <Text color={theme.warn}>groups: unavailable </Text>
        ) : (
          <Count label="groups" n={t?.groups ?? 0} />
        )}
        <Text color={theme.dim}>
          every {interval(intervalMs)} · updated {s ? clock(s.at) : 'never'}
        </Text>
      </Text>
      {stale ? (
        <Text backgroundColor={theme.bad} color="white" bold wrap="truncate">
          {' '}
          CLUSTER UNREACHABLE: {data.error} — {s ? `showing stale data from ${clock(s.at)}` : 'no data yet'}, retrying
          every {interval(intervalMs)}{' '}
        </Text>
      ) : null}
      <Text>
        {SCREENS.map((name, i) => (
          <Text key={name} inverse={name === screen} bold={name === screen}>
            {' '}
            {i + 1} {TITLES[name]}{' '}
          </Text>
        ))}
        {paused ? (
          <Text color={theme.warn} bold>
            {'  '}PAUSED
          </Text>
        ) : null}
      </Text>
    </Box>
  );
}
