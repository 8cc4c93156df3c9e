/** The `?` screen: every key. */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { theme } from '../theme.js';

export const KEYS: [string, string][] = [
  ['tab, 1-4', 'switch screen: topics, groups, brokers, events (leaves any drill-in)'],
  ['↑ ↓, j k', 'move'],
  ['pgup pgdn', 'move a page'],
  ['g G', 'first / last row'],
  ['enter', 'drill in: a topic (partitions), a partition (its records), a record, a group'],
  ['esc', 'back / clear the filter / close help'],
  ['/', 'filter the list (enter applies, esc clears)'],
  ['s', 'sort: name → rate → lag'],
  ['p', 'pause / resume refreshing'],
  ['r', 'refresh now'],
  ['?', 'this help'],
  ['q, ctrl-c', 'quit'],
];

/** The record browser's keys and the actions (asked for, then confirmed with y). */
export const MORE_KEYS: [string, string][] = [
  ['n b, pgdn pgup', 'records: newer / older page; g G first / last page'],
  ['o t', 'records: go to an offset / a time (-10m, ISO)'],
  ['v', 'records: values as auto (JSON pretty, text or hex) → text → json → hex'],
  ['D', 'delete the topic under the cursor (asks first)'],
  ['T', 'trim a partition: delete the records before an offset (asks first)'],
  ['R', "reset a group's offsets: earliest, latest, an offset or a time (asks first)"],
];

export function HelpScreen({ readOnly = false }: { readOnly?: boolean }): ReactNode {
  const keys = [...KEYS, ...MORE_KEYS.filter(([k]) => !readOnly || !['D', 'T', 'R'].includes(k))];
  return (
    <Box flexDirection="column" overflow="hidden">
      {keys.map(([k, what]) => (
        <Text key={k}>
          <Text color={theme.accent}>{k.padEnd(14)}</Text> {what}
        </Text>
      ))}
      <Text color={theme.dim}>
        msg/s are offset deltas between polls, bytes/s and sizes the leader replicas' bytes on disk (DescribeLogDirs);
        lag is log end minus committed offset; consumed/s is measured between the group's commits over the last minute,
        catch-up = lag ÷ (consumed/s − produced/s), "steady" when the group keeps pace ("-" until 20 s of commits are
        seen). The lines above the header log what changed between polls.{readOnly ? ' Read-only: no actions.' : ''}
      </Text>
    </Box>
  );
}
