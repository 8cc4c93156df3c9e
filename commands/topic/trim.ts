import { Args, Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import { parseTime } from '../../src/cli/time.js';
import type { TrimResult } from '../../src/services/topics.js';

const COLUMNS: Column<TrimResult>[] = [
  { header: 'partition', get: (r) => r.partition },
  { header: 'log-start', get: (r) => (r.ok ? r.logStartOffset : null) },
  { header: 'status', get: (r) => r.status },
];

export default class TopicTrim extends ClientCommand {
  static override summary = "Delete a topic's oldest records (move the log start offset).";
  static override description =
    `Deletes every record before --offset N (an offset past the end trims to the end), or before the first
record written at or after --before-time, on all partitions or those given with --partition (DeleteRecords).
Prints each partition's new log start offset.`;
  static override examples = [
    '<%= config.bin %> topic trim orders --offset 1000',
    '<%= config.bin %> topic trim orders --before-time 2026-11-25T10:00:00Z',
    '<%= config.bin %> topic trim orders --before-time -24h --partition 0',
  ];
  static override args = { topic: Args.string({ description: 'topic name', required: true }) };
  static override flags = {
    offset: Flags.string({ description: 'delete records before this offset', exclusive: ['before-time'] }),
    'before-time': Flags.string({ description: 'delete records older than this time (ISO 8601, or -10m, -24h)' }),
    partition: Flags.integer({ char: 'p', description: 'only this partition (repeatable)', multiple: true, min: 0 }),
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
    const { withAdmin } = await import('../../src/services/connect.js');
    const { trimTopic } = await import('../../src/services/topics.js');
    const rows = await withAdmin(conn, (admin) => trimTopic(admin, args.topic, target, flags.partition));
    this.out(await renderList(rows, COLUMNS, this.format(flags)));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
