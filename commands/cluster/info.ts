import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList, renderStruct, section } from '../../src/cli/output.js';
import type { ClusterInfo } from '../../src/services/cluster.js';

const BROKERS: Column<ClusterInfo['brokers'][number]>[] = [
  { header: 'id', get: (b) => b.nodeId },
  { header: 'host', get: (b) => b.host },
  { header: 'port', get: (b) => b.port },
  { header: 'rack', get: (b) => b.rack, wide: true },
];

export default class ClusterInfoCommand extends ClientCommand {
  static override summary = 'Show brokers, the controller, and topic and partition counts.';
  static override description =
    'Under-replicated partitions have fewer in-sync replicas than replicas; offline partitions have no leader.';
  static override examples = ['<%= config.bin %> cluster info', '<%= config.bin %> cluster info -o json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(ClusterInfoCommand);
    const conn = await this.connection(flags);
    const format = this.format(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { clusterInfo } = await import('../../src/services/cluster.js');
    const info = await withAdmin(conn, (admin) => clusterInfo(admin));
    if (format === 'json' || format === 'yaml') {
      this.out(await renderStruct([], format, info));
      return;
    }
    this.out(
      [
        await renderStruct(
          [
            ['cluster id', info.clusterId, true],
            ['controller', info.controller],
            ['brokers', info.brokers.length],
            ['topics', info.topics],
            ['partitions', info.partitions],
            ['under-replicated', info.underReplicated.length],
            ['offline', info.offline.length],
          ],
          format,
          info,
        ),
        section('brokers', await renderList(info.brokers, BROKERS, format)),
      ].join('\n'),
    );
  }
}
