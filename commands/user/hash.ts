import { Args } from '@oclif/core';
import { BaseCommand, CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { newPassword, newPasswordFlags } from '../../src/cli/password.js';

const { mechanism: _mechanism, ...passwordFlags } = newPasswordFlags;

export default class UserHash extends BaseCommand {
  static override summary = "Print a line for a broker's sasl.plain.users.file: NAME:HASH (salted scrypt).";
  static override description =
    `SASL PLAIN users can live in a file on each broker instead of (or before) the SCRAM credentials of the cluster:
set sasl.plain.users.file in the broker's config and add the lines this command prints. The broker checks a
user of the file against the file alone, and reads the file again when it changes. The password comes from
--password-file, --password-stdin or $KSTREAM_USER_PASSWORD, never from a flag; only its salted hash is printed.
Needs no broker.`;
  static override examples = [
    '<%= config.bin %> user hash alice --password-file alice.pw >> plain-users',
    'printf %s "$PW" | <%= config.bin %> user hash bob --password-stdin >> plain-users',
  ];
  static override args = { name: Args.string({ description: 'user name', required: true }) };
  static override flags = passwordFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserHash);
    // The file's lines are trimmed, `#` starts a comment: such a name could not be read back.
    const name = args.name;
    if (name === '' || name.trim() !== name || name.startsWith('#') || /[\r\n]/.test(name))
      throw new CliError(`invalid user name ${JSON.stringify(name)} for a users file`, EXIT_USAGE);
    const password = await newPassword(flags);
    const { hashPlainPassword } = await import('../../src/broker/sasl.js');
    this.log(`${name}:${await hashPlainPassword(password)}`);
  }
}
