/**
 * The base of every kstream command: errors become ONE line on stderr (`kstream: <message>`) and a non-zero
 * exit code, never a stack trace or a wrapped box. Logic throws; only this class decides the exit.
 */
import { Command } from '@oclif/core';

/** An error meant for the user: its message is printed as is, with this exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes: 1 runtime failure, 2 usage (bad flags or arguments). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Print an error as ONE line on stderr (`kstream: <message>`) and set the exit code: 2 for usage errors (oclif
 * reports flag/argument parse problems with exit 2; their text is kept but on one line), the CliError's own
 * code, else 1. Shared by BaseCommand and the plugin commands we register (src/cli/autocomplete.ts).
 */
export function reportError(err: Error & { exitCode?: number; oclif?: { exit?: number } }): void {
  let code = EXIT_FAILURE;
  if (err instanceof CliError) code = err.exitCode;
  else if (err.oclif?.exit !== undefined) code = err.oclif.exit;
  const message = (err.message || String(err)).replace(/\s*\n\s*/g, ' ').trim();
  if (process.env.KSTREAM_DEBUG) process.stderr.write(`${err.stack ?? message}\n`);
  process.stderr.write(`kstream: ${message}\n`);
  process.exitCode = code;
}

export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    reportError(err);
  }
}
