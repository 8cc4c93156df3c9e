import { Args, Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { confirmOrAbort, dryRunFlag, interactive, yesFlag } from '../../src/cli/confirm.js';
import { type Column, renderList } from '../../src/cli/output.js';
import { parseTime } from '../../src/cli/time.js';
import type { TrimResult } from '../../src/services/topics.js';

const COLUMNS: Column<TrimResult>[] = [
  { header: 'topic', get: (r) => r.topic },
  { header: 'partition', get: (r) => r.partition },
  { header: 'current', get: (r) => r.current },
  { header: 'new', get: (r) => (r.logStartOffset < 0n ? null : r.logStartOffset) },
  { header: 'deleted', get: (r) => r.deleted },
  { header: 'status', get: (r) => r.status },
];

export default class TopicTrim extends ClientCommand {
  static override summary = "Delete a topic's oldest records (move the log start offset).";
  static override description =
    `Deletes every record before --offset N (an offset past the end trims to the end), or before the first
record written at or after --before-time, on all partitions or those given with --partition (DeleteRecords).

Prints per partition its log start offset before (CURRENT) and after (NEW) and the records deleted; --dry-run
prints that plan (STATUS planned) and changes nothing. On a terminal it shows the plan and asks before
deleting anything (--yes does not ask); without a terminal (scripts) it does not ask.`;
  static override examples = [
    '<%= config.bin %> topic trim orders --offset 1000 --dry-run',
    '<%= config.bin %> topic trim orders --offset 1000 --partition 0 --yes',
    '<%= config.bin %> topic trim orders --before-time 2026-11-25T10:00:00Z',
    '<%= config.bin %> topic trim orders --before-time -24h --partition 0',
  ];
  static override args = { topic: Args.string({ description: 'topic name', required: true }) };
  static override flags = {
    offset: Flags.string({ description: 'delete records before this offset', exclusive: ['before-time'] }),
    'before-time': Flags.string({ description: 'delete records older than this time (ISO 8601, or -10m, -24h)' }),
    partition: Flags.integer({ char: 'p', description: 'only this partition (repeatable)', multiple: true, min: 0 }),
    'dry-run': dryRunFlag,
    yes: yesFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TopicTrim);
    let target: { offset: bigint } | { beforeTime: number };
    if (flags.offset !== undefined) {
      if (!/^\d+$/.test(flags.offset))
        throw new CliError(`invalid --offset ${flags.offset}: expected N >= 0`, EXIT_USAGE);
      target = { offset: BigInt(flags.offset) };
    } else if (flags['before-time'] !== undefined) {
      target = { beforeTime: parseTime(flags['before-time'], '--before-time') };
    } else throw new CliError('give --offset N or --before-time TIME', EXIT_USAGE);
    const conn = await this.connection(flags);
    const format = this.format(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { planTrim, applyTrim } = await import('../../src/services/topics.js');
    // Planned and carried out with two connections: the question in between may wait longer than --timeout.
    const plan = await withAdmin(conn, (admin) => planTrim(admin, args.topic, target, flags.partition));
    if (flags['dry-run']) {
      this.out(await renderList(plan, COLUMNS, format));
      return;
    }
    const deleted = plan.reduce((n, p) => n + p.deleted, 0n);
    if (deleted > 0n && !flags.yes && interactive()) {
      this.out(await renderList(plan, COLUMNS, 'text'));
      const parts = plan.filter((p) => p.deleted > 0n).length;
      await confirmOrAbort(
        `delete ${deleted} record${deleted === 1n ? '' : 's'} from ${parts} partition${parts === 1 ? '' : 's'} of ${args.topic}?`,
        { yes: flags.yes, nothing: 'nothing was deleted' },
      );
    }
    const rows = await withAdmin(conn, (admin) => applyTrim(admin, plan));
    this.out(await renderList(rows, COLUMNS, format));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
