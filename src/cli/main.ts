/**
 * The CLI's entry, shared by bin/run.js (npm / development) and the single executable's bundle
 * (src/sea/main.ts), so both behave the same. It answers `--version` itself (oclif's own prints only its user
 * agent, without the commit) and hands everything else to oclif.
 */
import { execute, type Interfaces } from '@oclif/core';
import { versionLine } from './build-info.js';
import { unknownCommand } from './suggest.js';

export interface CliOptions {
  /** Arguments after the executable (default: process.argv.slice(2)). */
  argv?: string[];
  /** A file or file URL inside the package whose package.json holds the oclif config (npm / development). */
  dir?: string;
  /** An explicit oclif configuration (the single executable: an in-memory package.json). */
  loadOptions?: Interfaces.LoadOptions;
}

export async function runCli(opts: CliOptions): Promise<void> {
  const argv = helpWords(opts.argv ?? process.argv.slice(2));
  if (argv[0] === '--version' || argv[0] === '-v' || (argv[0] === 'version' && argv.length === 1)) {
    process.stdout.write(`${versionLine()}\n`);
    return;
  }
  // oclif's answer to `kstream --foo` is " ›   Error: command --foo not found".
  if (argv[0]?.startsWith('-') && argv[0] !== '--help') {
    process.stderr.write(`kstream: unknown flag ${argv[0]}; see kstream --help\n`);
    process.exitCode = 2;
    return;
  }
  const unknown = await unknownCommand(argv, async () =>
    Object.keys((await import('../../commands/index.js')).COMMANDS),
  );
  if (unknown) {
    process.stderr.write(`kstream: ${unknown}\n`);
    process.exitCode = 2;
    return;
  }
  await execute({ args: argv, dir: opts.dir, loadOptions: opts.loadOptions });
}

/**
 * The ways people ask for help that oclif alone does not know (no help plugin is loaded): `kstream help`,
 * `kstream help topic create` and a trailing `-h` (`kstream topic create -h`) mean `--help`. Only a LAST `-h`:
 * elsewhere it could be a flag's value.
 */
function helpWords(argv: string[]): string[] {
  if (argv[0] === 'help') return [...argv.slice(1), '--help'];
  if (argv.length > 0 && argv[argv.length - 1] === '-h') return [...argv.slice(0, -1), '--help'];
  return argv;
}
