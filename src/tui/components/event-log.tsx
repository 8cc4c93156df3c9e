/**
 * The event log: cluster events in `<Static>` above the live area, one line each with the poll time, coloured
 * by severity. Lines are printed once and scroll up as new ones arrive (see hooks/use-event-log.ts).
 */
import { Box, Static, Text } from 'ink';
import type { ReactNode } from 'react';
import { clock } from '../format.js';
import type { LogLine } from '../hooks/use-event-log.js';
import { theme } from '../theme.js';

const COLORS = { bad: theme.bad, warn: theme.warn, ok: theme.ok, info: undefined, title: theme.dim } as const;

export function EventLine({ line }: { line: LogLine }): ReactNode {
  return (
    <Text wrap="truncate" color={COLORS[line.level]} bold={line.level === 'bad'}>
      {line.at === null ? line.text || ' ' : `${clock(line.at)}  ${line.text}`}
    </Text>
  );
}

export function EventLog({ lines, epoch, width }: { lines: LogLine[]; epoch: number; width: number }): ReactNode {
  return (
    <Static key={epoch} items={lines} style={{ width }}>
      {(line) => (
        <Box key={line.id} width={width}>
          <EventLine line={line} />
        </Box>
      )}
    </Static>
  );
}
