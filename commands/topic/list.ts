import { Flags } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import type { TopicSummary } from '../../src/services/topics.js';

const COLUMNS: Column<TopicSummary>[] = [
  { header: 'name', get: (t) => t.name },
  { header: 'partitions', get: (t) => t.partitions },
  { header: 'replicas', get: (t) => t.replicas },
  { header: 'internal', get: (t) => t.internal, wide: true },
];

export default class TopicList extends ClientCommand {
  static override summary = 'List topics with their partition and replica counts.';
  static override description = 'Internal topics (such as __consumer_offsets) are hidden unless --all is given.';
  static override examples = [
    '<%= config.bin %> topic list',
    '<%= config.bin %> topic list --all -o wide',
    '<%= config.bin %> topic list -o json -b broker1:9092',
  ];
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'include internal topics' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TopicList);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { listTopics } = await import('../../src/services/topics.js');
    const topics = await withAdmin(conn, (admin) => listTopics(admin, { all: flags.all }));
    this.out(await renderList(topics, COLUMNS, this.format(flags)));
  }
}
