import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class GroupDelete extends ClientCommand {
  static override summary = 'Delete consumer groups (and their committed offsets).';
  static override description =
    'Only groups without active members can be deleted. Prints a row per group with OK or its error; exits non-zero if any failed.';
  static override examples = ['<%= config.bin %> group delete billing', '<%= config.bin %> group delete g1 g2 g3'];
  static override strict = false;
  static override args = { groups: Args.string({ description: 'group ids', required: true }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(GroupDelete);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { deleteGroups } = await import('../../src/services/groups.js');
    const rows = await withAdmin(conn, (admin) => deleteGroups(admin, argv as string[]));
    this.out(await renderList(rows, STATUS_COLUMNS('group'), this.format(flags)));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
