import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { loginFlags, newPassword, newPasswordFlags } from '../../src/cli/password.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class UserSetPassword extends ClientCommand {
  static override summary = "Set a SCRAM user's password (SCRAM-SHA-256 and SCRAM-SHA-512 unless --mechanism).";
  static override description =
    `Replaces the user's credentials (or creates them). The password comes from --password-file (alias
--new-password-file), --password-stdin or $KSTREAM_USER_PASSWORD and is salted and hashed here. The command
itself logs in with --login-password-file, $KSTREAM_PASSWORD or the profile's password.`;
  static override examples = ['<%= config.bin %> user set-password alice --password-file alice.pw'];
  static override args = { name: Args.string({ description: 'user name', required: true }) };
  static override flags = newPasswordFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(UserSetPassword);
    const conn = await this.connection(loginFlags(flags));
    const password = await newPassword(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { setUserPassword } = await import('../../src/services/users.js');
    const row = await withAdmin(conn, (admin) =>
      setUserPassword(admin, args.name, password, flags.mechanism ? [flags.mechanism] : undefined),
    );
    this.out(await renderList([row], STATUS_COLUMNS('user'), this.format(flags)));
    if (!row.ok) process.exitCode = 1;
  }
}
