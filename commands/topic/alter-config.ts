import { Args, Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { parseKeyValue } from '../../src/cli/flags.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class TopicAlterConfig extends ClientCommand {
  static override summary = "Set or delete a topic's configs.";
  static override description =
    `Changes only the named configs (IncrementalAlterConfigs): --set gives a value, --delete returns a
config to its default. Other configs set on the topic are kept.`;
  static override examples = [
    '<%= config.bin %> topic alter-config orders --set retention.ms=3600000',
    '<%= config.bin %> topic alter-config orders --set cleanup.policy=compact --delete retention.ms',
  ];
  static override args = { topic: Args.string({ description: 'topic name', required: true }) };
  static override flags = {
    set: Flags.string({ char: 's', description: 'config to set, key=value (repeatable)', multiple: true }),
    delete: Flags.string({ char: 'd', description: 'config to return to its default (repeatable)', multiple: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TopicAlterConfig);
    const set = Object.fromEntries((flags.set ?? []).map((c) => parseKeyValue(c, '--set')));
    const remove = flags.delete ?? [];
    if (Object.keys(set).length === 0 && remove.length === 0)
      throw new CliError('nothing to change: give --set key=value and/or --delete key', EXIT_USAGE);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { alterTopicConfig } = await import('../../src/services/topics.js');
    const row = await withAdmin(conn, (admin) => alterTopicConfig(admin, args.topic, set, remove));
    this.out(await renderList([row], STATUS_COLUMNS('topic'), this.format(flags)));
    if (!row.ok) process.exitCode = 1;
  }
}
