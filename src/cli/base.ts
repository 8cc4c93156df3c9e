/**
 * The base of every kstream command: errors become ONE line on stderr (`kstream: <message>`) and a non-zero
 * exit code, never a stack trace or a wrapped box. Logic throws; only this class decides the exit.
 */
import { Command, type Interfaces } from '@oclif/core';
import { suggest } from './suggest.js';

type Output = Record<string, unknown>;

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
  let text = err.message || String(err);
  // Kafka errors (a numeric protocol code) lose their name ("NETWORK_EXCEPTION: "): the rest says it for a user.
  if (typeof (err as { code?: unknown }).code === 'number') text = text.replace(/^[A-Z_]+: /, '');
  const message = usageText(text, err)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  if (process.env.KSTREAM_DEBUG) process.stderr.write(`${err.stack ?? message}\n`);
  process.stderr.write(`kstream: ${message}\n`);
  process.exitCode = code;
}

const SEE_HELP = /\s*See more help with --help\s*$/;

/**
 * oclif's flag and argument errors end in "See more help with --help" and some start with a heading that
 * reads badly on one line ("Parsing --rate", "The following error occurred:", "Missing 1 required arg:" and
 * a note about multiple-value flags that were not even given). Give them the shape of our own one-liners.
 * Other messages are returned as they are.
 */
function usageText(message: string, err: object): string {
  if (!SEE_HELP.test(message)) return message;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: oclif dims constraint messages with ANSI codes.
  let m = message.replace(SEE_HELP, '').replace(/\u001b\[[0-9;]*m/g, '');
  const parsing = /^Parsing (--[\w-]+)\s+/.exec(m);
  if (parsing) m = `invalid ${parsing[1]}: ${lowerFirst(m.slice(parsing[0].length))}`;
  m = m.replace(/^The following errors? occurred:\s*/, '');
  const missing = (err as { args?: unknown }).args;
  if (/^Missing \d+ required args?\b/.test(m) && Array.isArray(missing)) {
    const args = missing as { name?: string; description?: string }[];
    const named = args.map((a) => `${(a.name ?? '').toUpperCase()}${a.description ? `: ${a.description}` : ''}`);
    m = `missing argument${args.length === 1 ? '' : 's'} ${named.join(', ')}`;
  }
  // oclif names a missing flag without its dashes ("Missing required flag to").
  m = m.replace(
    /^Missing required flags? ([\w-]+(?:, [\w-]+)*)/,
    (_, names: string) =>
      `missing required flag ${names
        .split(', ')
        .map((n) => `--${n}`)
        .join(', ')}`,
  );
  // -f was produce's --file; like kcat's and rpk's -f (and consume's) it is the format now.
  const asFile = /^Expected --format=(.+) to be one of: text, json\b/.exec(m);
  if (asFile) m += `; -f is the input format here, to read a file use --file ${asFile[1]}`;
  // kcat's and rpk's -o is the start offset; here it is the output format.
  const asOffset = /^Expected --output=(beginning|end|start|earliest|latest|oldest|newest|-?\d+) to be/.exec(m);
  if (asOffset) m += `; -o is the output format here, for a start offset use --offset ${asOffset[1]}`;
  const unknown = unknownFlag(m, err);
  if (unknown) m = unknown;
  return `${m.trim()} (see --help)`;
}

/** "Nonexistent flag: --formt" → "unknown flag --formt. Did you mean --format?" (the closest flags). */
function unknownFlag(m: string, err: object): string | null {
  const given = /^Nonexistent flags?: (.+)$/.exec(m);
  if (!given) return null;
  const typed = (given[1] as string).split(', ');
  const known = Object.keys((err as { parse?: { input?: { flags?: object } } }).parse?.input?.flags ?? {});
  const text = `unknown flag${typed.length === 1 ? '' : 's'} ${typed.join(', ')}`;
  if (typed.length !== 1) return text;
  const best = suggest((typed[0] as string).replace(/^-+/, '').replace(/=.*$/, ''), known);
  return best.length === 0
    ? text
    : `${text}. Did you mean ${best
        .slice(0, 2)
        .map((f) => `--${f}`)
        .join(' or ')}?`;
}

function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

export abstract class BaseCommand extends Command {
  /**
   * oclif fills a missing argument from piped stdin (`seq 3 | kstream produce` became topic "1 2 3", and
   * `kstream group seek g --to offset` would swallow a pipe); kstream's arguments only ever come from argv,
   * and stdin stays the data `produce` reads.
   */
  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    for (const arg of Object.values(options?.args ?? {})) arg.ignoreStdin = true;
    return super.parse(options, argv);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    reportError(err);
  }
}
