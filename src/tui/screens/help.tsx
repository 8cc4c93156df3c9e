/** The `?` screen: every key. */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { theme } from '../theme.js';

export const KEYS: [string, string][] = [
  ['tab, 1-4', 'switch screen: topics, groups, brokers, events'],
  ['↑ ↓, j k', 'move'],
  ['pgup pgdn', 'move a page'],
  ['g G', 'first / last row'],
  ['enter', 'drill into the topic (partitions) or group'],
  ['esc', 'back / clear the filter / close help'],
  ['/', 'filter the list (enter applies, esc clears)'],
  ['s', 'sort: name → rate → lag'],
  ['p', 'pause / resume refreshing'],
  ['r', 'refresh now'],
  ['?', 'this help'],
  ['q, ctrl-c', 'quit'],
];

export function HelpScreen(): ReactNode {
  return (
    <Box flexDirection="column" overflow="hidden">
      {KEYS.map(([k, what]) => (
        <Text key={k}>
          <Text color={theme.accent}>{k.padEnd(12)}</Text> {what}
        </Text>
      ))}
      <Text color={theme.dim}>
        msg/s are offset deltas between polls; lag is log end minus committed offset; consumed/s and catch-up use the
        last 10 polls: catch-up = lag ÷ (consumed/s − produced/s), "steady" when the group keeps pace. The lines above
        the header log what changed between polls: brokers, leaders, partition health, group states.
      </Text>
    </Box>
  );
}
