import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { loginFlags, newPassword, newPasswordFlags } from '../../src/cli/password.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class UserCreate extends ClientCommand {
  static override summary = 'Create a SCRAM user (SCRAM-SHA-256 and SCRAM-SHA-512 unless --mechanism).';
  static override description =
    `The password is salted and hashed here (AlterUserScramCredentials, KIP-554): it never travels to the broker.
It comes from --password-file (alias --new-password-file), --password-stdin or $KSTREAM_USER_PASSWORD, never
from a flag. The command itself logs in with --login-password-file, $KSTREAM_PASSWORD or the profile's password.
An existing user is refused (use set-password). Works on Kafka too.`;
  static override examples = [
    '<%= config.bin %> user create alice --password-file alice.pw',
    '<%= config.bin %> user create alice --password-file alice.pw --profile prod',
    '<%= config.bin %> user create alice --password-file alice.pw --user admin --login-password-file admin.pw',
    'printf %s "$PW" | <%= config.bin %> user create alice --password-stdin --mechanism SCRAM-SHA-512',
  ];
  static override args = { name: Args.string({ description: 'user name', required: true }) };
  static override flags = newPasswordFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserCreate);
    const conn = await this.connection(loginFlags(flags));
    const password = await newPassword(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { setUserPassword, userExists } = await import('../../src/services/users.js');
    const row = await withAdmin(conn, async (admin) => {
      if (await userExists(admin, args.name))
        return { name: args.name, ok: false, status: 'user exists (use set-password)' };
      return setUserPassword(admin, args.name, password, flags.mechanism ? [flags.mechanism] : undefined);
    });
    this.out(await renderList([row], STATUS_COLUMNS('user'), this.format(flags)));
    if (!row.ok) process.exitCode = 1;
  }
}
