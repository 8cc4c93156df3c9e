/**
 * Asking before destructive commands (topic trim / delete, group delete): only when a person is there (stdin
 * and stderr are terminals), and never with --yes. Scripts (no terminal) are not asked, as with kafka-*.sh and
 * rpk; --dry-run prints the plan without asking or changing anything.
 */
import { createInterface } from 'node:readline';
import { Flags } from '@oclif/core';
import { CliError } from './base.js';

export const yesFlag = Flags.boolean({ char: 'y', description: 'do not ask for confirmation on a terminal' });
export const dryRunFlag = Flags.boolean({ description: 'print the plan, change nothing' });

/** Whether a person can answer a question: stdin and stderr are terminals. */
export function interactive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** Asks `question [y/N]` on stderr; true for y / yes. Ctrl-C or Ctrl-D count as no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('SIGINT', () => {
        process.stderr.write('\n');
        resolve('');
      });
      rl.once('close', () => resolve(''));
      rl.question(`${question} [y/N] `, resolve);
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Unless `yes` or no terminal: ask, and throw "aborted: <nothing>" (exit 1) on anything but yes. */
export async function confirmOrAbort(question: string, opts: { yes: boolean; nothing: string }): Promise<void> {
  if (opts.yes || !interactive()) return;
  if (!(await confirm(question))) throw new CliError(`aborted: ${opts.nothing}`);
}
