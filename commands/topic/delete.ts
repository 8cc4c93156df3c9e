import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class TopicDelete extends ClientCommand {
  static override summary = 'Delete one or more topics.';
  static override description =
    'Prints a row per topic with OK or its error (for example an unknown topic), and exits non-zero if any failed.';
  static override examples = ['<%= config.bin %> topic delete orders', '<%= config.bin %> topic delete a b c -o json'];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topic names', required: true }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TopicDelete);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { deleteTopics } = await import('../../src/services/topics.js');
    const rows = await withAdmin(conn, (admin) => deleteTopics(admin, argv as string[]));
    this.out(await renderList(rows, STATUS_COLUMNS('topic'), this.format(flags)));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
