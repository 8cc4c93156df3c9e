import { Args } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { outputFlag } from '../../src/cli/flags.js';
import type { OutputFormat } from '../../src/cli/output.js';

export default class ProfileShow extends BaseCommand {
  static override summary = 'Show a profile (default: the one in use), never its password.';
  static override description =
    'The password line says where it comes from: a file, the profile, or $KSTREAM_PASSWORD.';
  static override examples = ['<%= config.bin %> profile show', '<%= config.bin %> profile show prod -o json'];
  static override args = { name: Args.string({ description: 'profile name (default: the one in use)' }) };
  static override flags = { output: outputFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProfileShow);
    const { showProfile } = await import('../../src/cli/profile-commands.js');
    process.stdout.write(await showProfile(args.name, flags.output as OutputFormat));
  }
}
