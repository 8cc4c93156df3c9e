/**
 * Did-you-mean for mistyped commands (`kstream topic lsit` → "topic list"), from the command registry, so it
 * works the same from npm and from the single executable.
 */

/** Edit distance (insert, delete, substitute, swap of neighbours). */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The closest known commands to `typed` (space-separated ids), best first. */
export function suggest(typed: string, commands: string[]): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  return commands
    .map((c) => ({ c, d: distance(typed, c) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .map((x) => x.c);
}

/**
 * null when argv names a command (or a topic, or asks for help); otherwise the one-line error to print,
 * with the closest commands.
 */
export async function unknownCommand(argv: string[]): Promise<string | null> {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  if (words.length === 0 || words[0] === 'help') return null;
  const { COMMANDS } = await import('../../commands/index.js');
  const ids = Object.keys(COMMANDS);
  for (let n = words.length; n >= 1; n--) if (ids.includes(words.slice(0, n).join(':'))) return null;
  const topics = new Set(ids.filter((i) => i.includes(':')).map((i) => i.split(':')[0] as string));
  if (words.length === 1 && topics.has(words[0] as string)) return null;
  const typed = (topics.has(words[0] as string) ? words.slice(0, 2) : words.slice(0, 1)).join(' ');
  const best = suggest(
    typed,
    ids.map((i) => i.replaceAll(':', ' ')),
  );
  if (best.length === 0) return `unknown command "${typed}"; see kstream --help`;
  return `unknown command "${typed}". Did you mean ${best
    .slice(0, 3)
    .map((b) => `"${b}"`)
    .join(' or ')}?`;
}
