import { Args, Flags } from '@oclif/core';
import { CliError } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import type { ImportRow } from '../../src/services/topic-import.js';

const COLUMNS: Column<ImportRow>[] = [
  { header: 'topic', get: (r) => r.topic },
  { header: 'partition', get: (r) => r.partition },
  { header: 'records', get: (r) => r.records },
  { header: 'status', get: (r) => r.status },
];

export default class TopicImport extends ClientCommand {
  static override summary = 'Restore topics from an archive written by "kstream topic export".';
  static override description =
    `First verifies the whole archive (manifest, every records file complete, its sha256 and record
count) without touching the cluster; a damaged archive fails and imports nothing, unless --partial is given:
then the intact partitions are imported and the others listed as skipped, and a topic with no intact
partition is not created at all (listed too). Then creates each topic with the
same partition count and configs (an existing topic is only accepted when it is empty and has the same
partition count) and produces every record to its original partition with its key, value, headers and
timestamp. Offsets start again at the new topic's log end.`;
  static override examples = [
    '<%= config.bin %> topic import orders.tar.gz',
    '<%= config.bin %> topic import orders.tar.gz --to-topic orders-restored',
    '<%= config.bin %> topic import damaged.tar.gz --partial',
  ];
  static override args = { file: Args.string({ description: 'the archive (.tar.gz)', required: true }) };
  static override flags = {
    'to-topic': Flags.string({ description: 'import into this topic (an archive of one topic only)' }),
    partial: Flags.boolean({ description: 'import the intact partitions of a damaged archive, skip the rest' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TopicImport);
    const conn = await this.connection(flags);
    const { importArchive } = await import('../../src/services/topic-import.js');
    const tty = process.stderr.isTTY;
    let rows: ImportRow[];
    try {
      rows = await importArchive({
        ...conn,
        file: args.file,
        toTopic: flags['to-topic'],
        partial: flags.partial,
        progress: tty ? (n, where) => process.stderr.write(`\r\x1b[Kimporting ${where}: ${n} records`) : undefined,
      });
    } catch (e) {
      const { errorText } = await import('../../src/services/connect.js');
      throw new CliError(`import failed: ${errorText(e)}`);
    } finally {
      if (tty) process.stderr.write('\r\x1b[K');
    }
    this.out(await renderList(rows, COLUMNS, this.format(flags)));
    const skipped = rows.filter((r) => r.status !== 'OK');
    if (skipped.length) {
      process.stderr.write(
        `kstream: skipped ${skipped.length} damaged partition(s): ${skipped.map((r) => `${r.topic}/${r.partition}`).join(', ')}\n`,
      );
      const topics = [...new Set(rows.filter((r) => r.topicSkipped).map((r) => r.topic))];
      if (topics.length) process.stderr.write(`kstream: not created (no intact partition): ${topics.join(', ')}\n`);
      process.exitCode = 1;
    }
  }
}
