import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import type { UserRow } from '../../src/services/users.js';

const COLUMNS: Column<UserRow>[] = [
  { header: 'user', get: (r) => r.name },
  { header: 'mechanisms', get: (r) => r.mechanisms },
];

export default class UserList extends ClientCommand {
  static override summary = 'List SCRAM users and their mechanisms (DescribeUserScramCredentials).';
  static override examples = ['<%= config.bin %> user list', '<%= config.bin %> user list -o json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(UserList);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { listUsers } = await import('../../src/services/users.js');
    const rows = await withAdmin(conn, (admin) => listUsers(admin));
    this.out(await renderList(rows, COLUMNS, this.format(flags)));
  }
}
