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

/** Length of the longest common subsequence: how many of the typed letters `b` has, in order. */
export function common(a: string, b: string): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const row = [0];
    for (let j = 1; j <= b.length; j++)
      row[j] = a[i - 1] === b[j - 1] ? (prev[j - 1] as number) + 1 : Math.max(prev[j] as number, row[j - 1] as number);
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * The closest known words to `typed` (commands, flags), best first. Ties in edit distance go to the word that
 * keeps more of the typed letters in order: `topc` is a letter short of `topic` (all four typed letters are
 * in it) and a letter too many for `top` (three of them), so `topic` comes first.
 */
export function suggest(typed: string, commands: string[]): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  return commands
    .map((c) => ({ c, d: distance(typed, c), k: common(typed, c) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || y.k - x.k || x.c.localeCompare(y.c))
    .map((x) => x.c);
}

/**
 * null when argv names a command (or a topic, or asks for help); otherwise the one-line error to print,
 * with the closest commands. `commandIds` gives the registry's ids (`topic:create`, …) when asked: the entry
 * (main.ts) loads the registry, so this module, which every command reaches through base.ts, does not import
 * the commands back.
 */
export async function unknownCommand(argv: string[], commandIds: () => Promise<string[]>): Promise<string | null> {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  if (words.length === 0 || words[0] === 'help') return null;
  const ids = await commandIds();
  for (let n = words.length; n >= 1; n--) if (ids.includes(words.slice(0, n).join(':'))) return null;
  const topics = new Set(ids.filter((i) => i.includes(':')).map((i) => i.split(':')[0] as string));
  if (words.length === 1 && topics.has(words[0] as string)) return null;
  const inTopic = topics.has(words[0] as string);
  const typed = (inTopic ? words.slice(0, 2) : words.slice(0, 1)).join(' ');
  // A first word is compared with first words (commands and topics such as `topic`), a topic's subcommand with
  // that topic's commands.
  const candidates = inTopic
    ? ids.filter((i) => i.startsWith(`${words[0]}:`)).map((i) => i.replaceAll(':', ' '))
    : [...new Set(ids.map((i) => i.split(':')[0] as string))].filter((w) => w !== 'help');
  const best = suggest(typed, candidates);
  if (best.length === 0) return `unknown command "${typed}"; see kstream --help`;
  return `unknown command "${typed}". Did you mean ${best
    .slice(0, 3)
    .map((b) => `"${b}"`)
    .join(' or ')}?`;
}
