import { Args, Flags } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class TopicAddPartitions extends ClientCommand {
  static override summary = 'Add partitions to topics.';
  static override description =
    `-p is the number of partitions to ADD (a topic with 3 partitions and -p 2 ends with 5). Partitions
can never be removed. Keys hash over the partition count, so after this the same key may land on a different
partition than before.`;
  static override examples = [
    '<%= config.bin %> topic add-partitions orders -p 3',
    '<%= config.bin %> topic add-partitions orders payments -p 1',
  ];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topic names', required: true }) };
  static override flags = {
    partitions: Flags.integer({ char: 'p', description: 'partitions to add', required: true, min: 1 }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TopicAddPartitions);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { addPartitions } = await import('../../src/services/topics.js');
    const rows = await withAdmin(conn, (admin) => addPartitions(admin, argv as string[], flags.partitions));
    this.out(await renderList(rows, STATUS_COLUMNS('topic'), this.format(flags)));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
