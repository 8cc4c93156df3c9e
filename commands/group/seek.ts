import { Args, Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import { parseTime } from '../../src/cli/time.js';
import type { SeekPlanRow, SeekTo } from '../../src/services/groups.js';

const COLUMNS: Column<SeekPlanRow>[] = [
  { header: 'topic', get: (r) => r.topic },
  { header: 'partition', get: (r) => r.partition },
  { header: 'current', get: (r) => r.current },
  { header: 'new', get: (r) => r.new },
  { header: 'status', get: (r) => r.status },
];

export default class GroupSeek extends ClientCommand {
  static override summary = "Reset a consumer group's committed offsets.";
  static override description =
    `Moves the group's committed offsets for its topics (or --topic) to the earliest or latest offset, an
offset (clamped to the log: STATUS says so), or the first record at or after a time. The group must have no active members:
stop its consumers first. --dry-run prints the plan (CURRENT → NEW per partition) without changing anything.`;
  static override examples = [
    '<%= config.bin %> group seek billing --to earliest --dry-run',
    '<%= config.bin %> group seek billing --to latest --topic orders',
    '<%= config.bin %> group seek billing --to offset 1000',
    '<%= config.bin %> group seek billing --to time 2026-11-25T10:00:00Z',
  ];
  static override args = {
    group: Args.string({ description: 'group id', required: true }),
    value: Args.string({ description: 'the offset (--to offset) or time (--to time)' }),
  };
  static override flags = {
    to: Flags.option({
      description: 'where to',
      options: ['earliest', 'latest', 'offset', 'time'] as const,
      required: true,
    })(),
    topic: Flags.string({ char: 't', description: 'only this topic (repeatable)', multiple: true }),
    'dry-run': Flags.boolean({ description: 'show the plan, change nothing' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(GroupSeek);
    let to: SeekTo;
    if (flags.to === 'offset') {
      if (!args.value) throw new CliError('--to offset needs an offset: --to offset N', EXIT_USAGE);
      if (!/^\d+$/.test(args.value))
        throw new CliError(`invalid offset ${args.value}: expected N >= 0 (--to offset N)`, EXIT_USAGE);
      to = { kind: 'offset', offset: BigInt(args.value) };
    } else if (flags.to === 'time') {
      if (!args.value)
        throw new CliError('--to time needs a time: --to time 2026-11-25T10:00:00Z (or -1h)', EXIT_USAGE);
      to = { kind: 'time', ms: parseTime(args.value, '--to time') };
    } else {
      if (args.value) throw new CliError(`--to ${flags.to} takes no value (got ${args.value})`, EXIT_USAGE);
      to = { kind: flags.to };
    }
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { seekGroup } = await import('../../src/services/groups.js');
    const rows = await withAdmin(conn, (admin) =>
      seekGroup(admin, args.group, to, { topics: flags.topic, dryRun: flags['dry-run'] }),
    );
    this.out(await renderList(rows, COLUMNS, this.format(flags)));
    if (rows.some((r) => !/^(OK|planned)\b/.test(r.status))) process.exitCode = 1;
  }
}
