import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class UserDelete extends ClientCommand {
  static override summary = 'Delete SCRAM users (every mechanism of each).';
  static override description = 'Prints a row per user with OK or its error, and exits non-zero if any failed.';
  static override examples = ['<%= config.bin %> user delete alice bob'];
  static override strict = false;
  static override args = { users: Args.string({ description: 'user names', required: true }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(UserDelete);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { deleteUsers } = await import('../../src/services/users.js');
    const rows = await withAdmin(conn, (admin) => deleteUsers(admin, argv as string[]));
    this.out(await renderList(rows, STATUS_COLUMNS('user'), this.format(flags)));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
