import { Args, Flags } from '@oclif/core';
import { CliError } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class ClusterElectLeaders extends ClientCommand {
  static override summary = 'Elect partition leaders: back to the preferred replica, or unclean.';
  static override description =
    `Preferred (default): each partition's leadership goes back to its first replica if that replica is
in sync, e.g. after a broker restarted. Unclean: a partition with no live leader elects any live replica,
losing what only the old ISR had; use it only to bring an offline partition back. Without partitions,
every partition of the cluster. Prints a row per partition: elected, not needed, or the error; over the
whole cluster the text table leaves out the "not needed" ones and one line on stderr counts them.`;
  static override examples = [
    '<%= config.bin %> cluster elect-leaders',
    '<%= config.bin %> cluster elect-leaders orders/0 orders/1',
    '<%= config.bin %> cluster elect-leaders --type unclean orders/3',
  ];
  static override strict = false;
  static override args = { partitions: Args.string({ description: 'TOPIC/PARTITION, several allowed' }) };
  static override flags = {
    type: Flags.string({
      description: 'preferred or unclean',
      options: ['preferred', 'unclean'],
      default: 'preferred',
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ClusterElectLeaders);
    const partitions = (argv as string[]).map((a) => {
      const m = /^(.+)\/(\d+)$/.exec(a);
      if (!m) throw new CliError(`${a}: expected TOPIC/PARTITION, e.g. orders/0`, 2);
      return { topic: m[1] as string, partition: Number(m[2]) };
    });
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { electLeaders } = await import('../../src/services/reassign.js');
    const rows = await withAdmin(conn, (admin) =>
      electLeaders(admin, flags.type as 'preferred' | 'unclean', partitions.length > 0 ? partitions : null),
    );
    const format = this.format(flags);
    // Over the whole cluster most rows say "not needed" (a row per __consumer_offsets partition too): a table
    // lists the others and one line counts those. Named partitions, json and yaml keep every row.
    const all = partitions.length > 0 || format === 'json' || format === 'yaml';
    const shown = all ? rows : rows.filter((r) => r.status !== 'not needed');
    if (shown.length > 0 || all) this.out(await renderList(shown, STATUS_COLUMNS('partition'), format));
    const skipped = rows.filter((r) => !shown.includes(r));
    if (skipped.length > 0) {
      // Over the whole cluster the count includes internal topics' partitions, which cluster info counts apart.
      const internal = skipped.filter((r) => r.name.startsWith('__')).length;
      const n = skipped.length;
      process.stderr.write(
        `${n} partition${n === 1 ? '' : 's'}${internal > 0 ? ` (${internal} of internal topics)` : ''} ${flags.type === 'unclean' ? 'already have a leader' : 'already led by their preferred replica'} (not needed)\n`,
      );
    }
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
