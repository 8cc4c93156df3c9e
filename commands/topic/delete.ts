import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { confirmOrAbort, dryRunFlag, interactive, yesFlag } from '../../src/cli/confirm.js';
import { type Column, renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';
import type { TopicDeletePlan } from '../../src/services/topics.js';

const PLAN: Column<TopicDeletePlan>[] = [
  { header: 'topic', get: (r) => r.name },
  { header: 'partitions', get: (r) => (r.partitions < 0 ? null : r.partitions) },
  { header: 'records', get: (r) => (r.partitions < 0 ? null : r.records) },
  { header: 'status', get: (r) => r.status },
];

export default class TopicDelete extends ClientCommand {
  static override summary = 'Delete one or more topics.';
  static override description =
    `Prints a row per topic with OK or its error (for example an unknown topic), and exits non-zero if any failed.
--dry-run prints what would be deleted (partitions and records per topic) and changes nothing. On a terminal
it shows that and asks first (--yes does not ask); without a terminal (scripts) it does not ask.`;
  static override examples = [
    '<%= config.bin %> topic delete orders',
    '<%= config.bin %> topic delete a b c --dry-run',
    '<%= config.bin %> topic delete a b c --yes -o json',
  ];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topic names', required: true }) };
  static override flags = { 'dry-run': dryRunFlag, yes: yesFlag };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TopicDelete);
    const conn = await this.connection(flags);
    const names = argv as string[];
    const format = this.format(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { deleteTopics, planDeleteTopics } = await import('../../src/services/topics.js');
    if (flags['dry-run'] || (!flags.yes && interactive())) {
      const plan = await withAdmin(conn, (admin) => planDeleteTopics(admin, names));
      if (flags['dry-run']) {
        this.out(await renderList(plan, PLAN, format));
        if (plan.some((r) => !r.ok)) process.exitCode = 1;
        return;
      }
      const doomed = plan.filter((p) => p.ok);
      if (doomed.length > 0) {
        this.out(await renderList(plan, PLAN, 'text'));
        const records = doomed.reduce((n, p) => n + p.records, 0n);
        const partitions = doomed.reduce((n, p) => n + p.partitions, 0);
        await confirmOrAbort(
          `delete ${doomed.length === 1 ? 'topic' : `${doomed.length} topics`} ${doomed.map((p) => p.name).join(', ')} (${partitions} partition${partitions === 1 ? '' : 's'}, ${records} record${records === 1n ? '' : 's'})?`,
          { yes: false, nothing: 'nothing was deleted' },
        );
      }
    }
    const rows = await withAdmin(conn, (admin) => deleteTopics(admin, names));
    this.out(await renderList(rows, STATUS_COLUMNS('topic'), format));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
