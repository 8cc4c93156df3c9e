/**
 * The header: cluster id, controller, brokers up/down, the bootstrap list and whom top is connected as over
 * which protocol, totals, refresh interval and last update, the screen tabs, and a banner when the cluster cannot be reached (the last data stays on screen, marked stale).
 *
 * Each line keeps what matters when the terminal is narrow (layout.ts fitParts): the problem counts and the
 * brokers before the bootstrap list or the interval. While the cluster is unreachable the broker counts are
 * the last ones seen and say so (not "1 up" in green), and the banner starts with how old the data is, so
 * a long error is what gets cut, not that.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { clock, interval } from '../format.js';
import { fitParts } from '../layout.js';
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
  /** Whom top is connected as and over which protocol: `User:alice · SASL_SSL SCRAM-SHA-512`. */
  identity?: string;
  width: number;
  readOnly?: boolean;
}

const TITLES: Record<ScreenName, string> = { topics: 'Topics', groups: 'Groups', brokers: 'Brokers', events: 'Events' };

interface Piece {
  text: string;
  priority: number;
  node: ReactNode;
}

function Line({ pieces, width, sep = '  ' }: { pieces: Piece[]; width: number; sep?: string }): ReactNode {
  const shown = fitParts(pieces, width, sep);
  return (
    <Text wrap="truncate">
      {shown.map((p, i) => (
        <Text key={p.text}>
          {i > 0 ? sep : ''}
          {p.node}
        </Text>
      ))}
    </Text>
  );
}

function count(label: string, n: number, priority: number, bad?: string): Piece {
  return {
    text: `${label} ${n}`,
    priority,
    node: (
      <Text>
        {label} <Text color={n > 0 && bad ? bad : undefined}>{n}</Text>
      </Text>
    ),
  };
}

export function Header({
  data,
  intervalMs,
  paused,
  screen,
  bootstrap,
  identity,
  width,
  readOnly,
}: HeaderProps): ReactNode {
  const s = data.snapshot;
  const t = s?.totals;
  const stale = data.error !== null;
  const controller = s && s.controllerId >= 0 ? String(s.controllerId) : '-';
  const brokers: Piece = stale
    ? {
        text: `brokers ${t ? `${t.brokersUp} up ${t.brokersDown} down ` : ''}(unreachable)`,
        priority: 0,
        node: (
          <Text>
            brokers <Text color={theme.dim}>{t ? `${t.brokersUp} up ${t.brokersDown} down ` : ''}</Text>
            <Text color={theme.bad} bold>
              (unreachable)
            </Text>
          </Text>
        ),
      }
    : {
        text: `brokers ${t?.brokersUp ?? 0} up ${t?.brokersDown ?? 0} down`,
        priority: 0,
        node: (
          <Text>
            brokers <Text color={theme.ok}>{t?.brokersUp ?? 0} up</Text>{' '}
            <Text color={t && t.brokersDown > 0 ? theme.bad : theme.dim} bold={!!t && t.brokersDown > 0}>
              {t?.brokersDown ?? 0} down
            </Text>
          </Text>
        ),
      };
  const first: Piece[] = [
    {
      text: 'kstream top',
      priority: 3,
      node: (
        <Text bold color={theme.accent}>
          kstream top
        </Text>
      ),
    },
    {
      text: `cluster ${s?.clusterId ?? '?'}`,
      priority: 1,
      node: (
        <Text>
          cluster <Text bold>{s?.clusterId ?? '?'}</Text>
        </Text>
      ),
    },
    {
      text: `controller ${controller}`,
      priority: 2,
      node: (
        <Text>
          controller <Text bold>{controller}</Text>
        </Text>
      ),
    },
    brokers,
    { text: bootstrap, priority: 4, node: <Text color={theme.dim}>{bootstrap}</Text> },
  ];
  // Whom the brokers see: kept before the bootstrap list and the title when the line is cut.
  if (identity !== undefined)
    first.push({ text: identity, priority: 2, node: <Text color={theme.dim}>{identity}</Text> });
  const updated = `${stale ? 'data from' : 'updated'} ${s ? clock(s.at) : 'never'}`;
  const second: Piece[] = [
    count('topics', t?.topics ?? 0, 3),
    count('partitions', t?.partitions ?? 0, 4),
    count('under-replicated', t?.underReplicated ?? 0, 0, theme.warn),
    count('offline', t?.offline ?? 0, 0, theme.bad),
    s?.groupsError
      ? { text: 'groups: unavailable', priority: 5, node: <Text color={theme.warn}>groups: unavailable</Text> }
      : count('groups', t?.groups ?? 0, 5),
    // Only when the cluster answers transactions' requests and some are open (issue 17).
    ...(s?.transactions?.length ? [count('open txns', s.transactions.length, 5, theme.warn)] : []),
    {
      text: `every ${interval(intervalMs)} · ${updated}`,
      priority: 2,
      node: (
        <Text color={stale ? theme.bad : theme.dim}>
          every {interval(intervalMs)} · {updated}
        </Text>
      ),
    },
  ];
  const tabs: Piece[] = SCREENS.map((name, i) => ({
    text: ` ${i + 1} ${TITLES[name]} `,
    priority: 0,
    node: (
      <Text inverse={name === screen} bold={name === screen}>
        {' '}
        {i + 1} {TITLES[name]}{' '}
      </Text>
    ),
  }));
  if (paused)
    tabs.push({
      text: 'PAUSED',
      priority: 0,
      node: (
        <Text color={theme.warn} bold>
          {' '}
          PAUSED
        </Text>
      ),
    });
  if (readOnly) tabs.push({ text: 'read-only', priority: 1, node: <Text color={theme.dim}> read-only</Text> });
  return (
    <Box flexDirection="column">
      <Line pieces={first} width={width} />
      <Line pieces={second} width={width} />
      {stale ? (
        <Text backgroundColor={theme.bad} color="white" bold wrap="truncate">
          {' '}
          UNREACHABLE · {s ? `stale data from ${clock(s.at)}` : 'no data yet'} · retrying every {interval(intervalMs)} ·{' '}
          {data.error}{' '}
        </Text>
      ) : null}
      <Line pieces={tabs} width={width} sep="" />
    </Box>
  );
}
