import { BaseCommand } from '../../src/cli/base.js';
import { outputFlag } from '../../src/cli/flags.js';
import type { OutputFormat } from '../../src/cli/output.js';

export default class ProfileList extends BaseCommand {
  static override summary = 'List profiles; * marks the one in use.';
  static override description = 'Passwords are never shown: -o wide says where each comes from.';
  static override examples = ['<%= config.bin %> profile list', '<%= config.bin %> profile list -o json'];
  static override flags = { output: outputFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(ProfileList);
    const { listProfiles } = await import('../../src/cli/profile-commands.js');
    process.stdout.write(await listProfiles(flags.output as OutputFormat));
  }
}
