import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList, renderStruct, section } from '../../src/cli/output.js';
import type { MemberDetail, PartitionLag } from '../../src/services/groups.js';

const PARTITIONS: Column<PartitionLag>[] = [
  { header: 'topic', get: (p) => p.topic },
  { header: 'partition', get: (p) => p.partition },
  { header: 'committed', get: (p) => p.committed },
  { header: 'log-end', get: (p) => p.logEnd },
  { header: 'lag', get: (p) => p.lag },
  { header: 'member', get: (p) => p.memberId, wide: true },
];
const MEMBERS: Column<MemberDetail>[] = [
  { header: 'member', get: (m) => m.memberId },
  { header: 'client-id', get: (m) => m.clientId },
  { header: 'host', get: (m) => m.host },
  { header: 'partitions', get: (m) => m.partitions },
];

export default class GroupDescribe extends ClientCommand {
  static override summary = "Show a consumer group's state, members and lag.";
  static override description =
    `Lag is how far the group is behind: the partition's log end offset minus the group's committed offset
("-" when nothing is committed). TOTAL LAG sums it over all partitions ("-" when nothing is committed at all).`;
  static override examples = [
    '<%= config.bin %> group describe billing',
    '<%= config.bin %> group describe billing -o json',
  ];
  static override args = { group: Args.string({ description: 'group id', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(GroupDescribe);
    const conn = await this.connection(flags);
    const format = this.format(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { describeGroup } = await import('../../src/services/groups.js');
    const g = await withAdmin(conn, (admin) => describeGroup(admin, args.group));
    if (format === 'json' || format === 'yaml') {
      this.out(await renderStruct([], format, g));
      return;
    }
    this.out(
      [
        await renderStruct(
          [
            ['group', g.group],
            ['state', g.state],
            ['protocol', g.protocol || null, true],
            ['coordinator', g.coordinator, true],
            ['members', g.members.length],
            ['total lag', g.totalLag],
          ],
          format,
          g,
        ),
        ...(g.members.length ? [section('members', await renderList(g.members, MEMBERS, format))] : []),
        section('partitions', await renderList(g.partitions, PARTITIONS, format)),
      ].join('\n'),
    );
  }
}
