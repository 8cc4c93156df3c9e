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
  const argv = opts.argv ?? process.argv.slice(2);
  if (argv[0] === '--version') {
    process.stdout.write(`${versionLine()}\n`);
    return;
  }
  const unknown = await unknownCommand(argv);
  if (unknown) {
    process.stderr.write(`kstream: ${unknown}\n`);
    process.exitCode = 2;
    return;
  }
  await execute({ args: argv, dir: opts.dir, loadOptions: opts.loadOptions });
}
