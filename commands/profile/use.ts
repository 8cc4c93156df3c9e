import { Args } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';

export default class ProfileUse extends BaseCommand {
  static override summary = 'Put a profile in use: client commands and top take what their flags do not give from it.';
  static override description = '--profile NAME and $KSTREAM_PROFILE pick another one for one command.';
  static override examples = ['<%= config.bin %> profile use prod'];
  static override args = { name: Args.string({ description: 'profile name', required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(ProfileUse);
    const { switchProfile } = await import('../../src/cli/profile-commands.js');
    this.log(switchProfile(args.name));
  }
}
