/** Colours of `kstream top` in one place (Ink colour names). */
export const theme = {
  accent: 'cyan',
  ok: 'green',
  warn: 'yellow',
  bad: 'red',
  dim: 'gray',
  spark: 'blue',
  selectedBg: 'blue',
} as const;
