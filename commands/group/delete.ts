import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { confirmOrAbort, dryRunFlag, interactive, yesFlag } from '../../src/cli/confirm.js';
import { type Column, renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';
import type { GroupDeletePlan } from '../../src/services/groups.js';

const PLAN: Column<GroupDeletePlan>[] = [
  { header: 'group', get: (r) => r.name },
  { header: 'state', get: (r) => r.state },
  { header: 'members', get: (r) => r.members },
  { header: 'committed', get: (r) => `${r.partitions} partition${r.partitions === 1 ? '' : 's'}` },
  { header: 'status', get: (r) => r.status },
];

export default class GroupDelete extends ClientCommand {
  static override summary = 'Delete consumer groups (and their committed offsets).';
  static override description =
    `Only groups without active members can be deleted. Prints a row per group with OK or its error; exits
non-zero if any failed. --dry-run prints what would be deleted (each group's state and the partitions it has
committed offsets for) and changes nothing. On a terminal it shows that and asks first (--yes does not ask);
without a terminal (scripts) it does not ask.`;
  static override examples = [
    '<%= config.bin %> group delete billing',
    '<%= config.bin %> group delete g1 g2 g3 --dry-run',
    '<%= config.bin %> group delete g1 g2 g3 --yes',
  ];
  static override strict = false;
  static override args = { groups: Args.string({ description: 'group ids', required: true }) };
  static override flags = { 'dry-run': dryRunFlag, yes: yesFlag };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(GroupDelete);
    const conn = await this.connection(flags);
    const groups = argv as string[];
    const format = this.format(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { deleteGroups, planDeleteGroups } = await import('../../src/services/groups.js');
    if (flags['dry-run'] || (!flags.yes && interactive())) {
      const plan = await withAdmin(conn, (admin) => planDeleteGroups(admin, groups));
      if (flags['dry-run']) {
        this.out(await renderList(plan, PLAN, format));
        if (plan.some((r) => !r.ok)) process.exitCode = 1;
        return;
      }
      const doomed = plan.filter((p) => p.ok);
      if (doomed.length > 0) {
        this.out(await renderList(plan, PLAN, 'text'));
        const partitions = doomed.reduce((n, p) => n + p.partitions, 0);
        await confirmOrAbort(
          `delete ${doomed.length === 1 ? 'group' : `${doomed.length} groups`} ${doomed.map((p) => p.name).join(', ')} and the committed offsets of ${partitions} partition${partitions === 1 ? '' : 's'}?`,
          { yes: false, nothing: 'nothing was deleted' },
        );
      }
    }
    const rows = await withAdmin(conn, (admin) => deleteGroups(admin, groups));
    this.out(await renderList(rows, STATUS_COLUMNS('group'), format));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
