/**
 * Drives the bash completion that `kstream autocomplete` installs, as bash would: a non-interactive bash
 * evaluates the line `kstream autocomplete script bash` prints (what a user appends to ~/.bashrc), finds the
 * function `complete -p kstream` registered, and calls it with COMP_WORDS / COMP_CWORD set for a command line.
 */
import { spawnSync } from 'node:child_process';

export const hasBash = spawnSync('bash', ['--version']).status === 0;

export interface Completion {
  /** What `complete -p kstream` prints once the setup line ran. */
  registration: string;
  /** The completions offered for the last word, sorted, without duplicates. */
  words: string[];
  /** The completions as bash got them (COMPREPLY), duplicates included. */
  offered: string[];
}

/**
 * `setupLine`: the output of `kstream autocomplete script bash`; `line`: the words typed after `kstream`, the
 * last one being completed ('' for a new word).
 */
export function bashComplete(setupLine: string, line: string[]): Completion {
  const words = ['kstream', ...line].map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(' ');
  const script = `${setupLine}
reg=$(complete -p kstream) || exit 3
printf '%s\\n' "$reg"
fn=$(sed -E 's/.* -F ([^ ]+) .*/\\1/' <<<"$reg")
COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}
"$fn" kstream "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`bash exited ${r.status}: ${r.stderr}\n${script}`);
  const [registration = '', ...rest] = r.stdout.split('\n');
  const offered = rest.map((w) => w.trim()).filter((w) => w !== '');
  return { registration, words: [...new Set(offered)].sort(), offered };
}
