import { Args } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { outputFlag } from '../../src/cli/flags.js';
import type { OutputFormat } from '../../src/cli/output.js';

export default class ProfileDelete extends BaseCommand {
  static override summary = 'Delete profiles (a stored password goes with its profile).';
  static override description = 'Prints a row per profile with OK or its error, and exits non-zero if any failed.';
  static override examples = ['<%= config.bin %> profile delete dev'];
  static override strict = false;
  static override args = { names: Args.string({ description: 'profile names', required: true }) };
  static override flags = { output: outputFlag };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ProfileDelete);
    const { deleteProfiles } = await import('../../src/cli/profile-commands.js');
    const { renderList } = await import('../../src/cli/output.js');
    const { STATUS_COLUMNS } = await import('../../src/cli/status.js');
    const rows = deleteProfiles(argv as string[]);
    process.stdout.write(await renderList(rows, STATUS_COLUMNS('profile'), flags.output as OutputFormat));
    if (rows.some((r) => r.status !== 'OK')) process.exitCode = 1;
  }
}
