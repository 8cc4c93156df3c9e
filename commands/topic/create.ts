import { Args, Flags } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { parseKeyValue } from '../../src/cli/flags.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class TopicCreate extends ClientCommand {
  static override summary = 'Create one or more topics.';
  static override description =
    `Prints a row per topic with OK or the reason it was not created, and exits non-zero if any failed.
Configs use Kafka's names (cleanup.policy, retention.ms, ...); without -p/-r the broker's defaults apply.`;
  static override examples = [
    '<%= config.bin %> topic create orders -p 6',
    '<%= config.bin %> topic create orders payments -p 3 -r 3',
    '<%= config.bin %> topic create users -c cleanup.policy=compact -c retention.ms=86400000',
  ];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topic names', required: true }) };
  static override flags = {
    partitions: Flags.integer({ char: 'p', description: 'number of partitions (default: the broker default)', min: 1 }),
    replicas: Flags.integer({
      char: 'r',
      description: 'replication factor (default: the broker default)',
      min: 1,
      // kafka-topics.sh's name for it.
      aliases: ['replication-factor'],
    }),
    config: Flags.string({ char: 'c', description: 'topic config key=value (repeatable)', multiple: true }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TopicCreate);
    const configs = Object.fromEntries((flags.config ?? []).map((c) => parseKeyValue(c, '--config')));
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { createTopics } = await import('../../src/services/topics.js');
    const rows = await withAdmin(conn, (admin) =>
      createTopics(admin, argv as string[], { partitions: flags.partitions, replicas: flags.replicas, configs }),
    );
    this.out(await renderList(rows, STATUS_COLUMNS('topic'), this.format(flags)));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
