/** A sparkline of recent values (rate, lag) as block characters, scaled to the window's maximum. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import { sparkline } from '../format.js';
import { theme } from '../theme.js';

export function Sparkline({
  values,
  width,
  color,
}: {
  values: readonly number[];
  width: number;
  color?: string;
}): ReactNode {
  return <Text color={color ?? theme.spark}>{sparkline(values, width)}</Text>;
}
