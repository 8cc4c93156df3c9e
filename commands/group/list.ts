import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import type { GroupSummary } from '../../src/services/groups.js';

const COLUMNS: Column<GroupSummary>[] = [
  { header: 'group', get: (g) => g.group },
  { header: 'state', get: (g) => g.state },
  { header: 'protocol-type', get: (g) => g.protocolType, wide: true },
  { header: 'coordinator', get: (g) => g.coordinator, wide: true },
];

export default class GroupList extends ClientCommand {
  static override summary = 'List consumer groups and their states.';
  static override description =
    `States: Stable (members consuming), PreparingRebalance / CompletingRebalance (members joining or
leaving), Empty (no members; offsets kept), Dead (being removed).`;
  static override examples = ['<%= config.bin %> group list', '<%= config.bin %> group list -o wide'];

  async run(): Promise<void> {
    const { flags } = await this.parse(GroupList);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { listGroups } = await import('../../src/services/groups.js');
    const rows = await withAdmin(conn, (admin) => listGroups(admin));
    this.out(await renderList(rows, COLUMNS, this.format(flags)));
  }
}
