import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList, renderStruct, section } from '../../src/cli/output.js';
import type { ClusterInfo } from '../../src/services/cluster.js';

const BROKERS: Column<ClusterInfo['brokers'][number]>[] = [
  { header: 'id', get: (b) => b.nodeId },
  { header: 'host', get: (b) => b.host ?? '-' },
  { header: 'port', get: (b) => b.port ?? '-' },
  // Up in the metadata; NOT READY when its admin listener's /ready says 503 (unreachable or none: "up").
  { header: 'status', get: (b) => (!b.up ? 'DOWN' : b.ready === 'not ready' ? 'NOT READY' : 'up') },
  { header: 'leaders', get: (b) => b.leaders },
  { header: 'replicas', get: (b) => b.replicas },
  { header: 'rack', get: (b) => b.rack, wide: true },
];

const DEGRADED: Column<ClusterInfo['degraded'][number]>[] = [
  { header: 'partition', get: (p) => `${p.topic}/${p.partition}` },
  { header: 'state', get: (p) => p.state },
  { header: 'leader', get: (p) => (p.leader < 0 ? 'none' : p.leader) },
  { header: 'replicas', get: (p) => p.replicas.join(',') },
  { header: 'isr', get: (p) => p.isr.join(',') },
];

export default class ClusterInfoCommand extends ClientCommand {
  static override summary = 'Show brokers, the controller, and topic and partition counts.';
  static override description =
    `Brokers are listed up or DOWN: Kafka's metadata lists live brokers only, so a broker named as a replica
but missing from it is down. Under-replicated partitions have a leader but fewer in-sync replicas than
replicas; offline partitions have no leader. A broker up in the metadata whose admin HTTP listener
(admin.listeners, found through DescribeConfigs) answers 503 on /ready is NOT READY; -o json gives each
reachable node's "ready" state. Both are listed with their replicas and ISR, internal topics'
partitions (__consumer_offsets) included. TOPICS and PARTITIONS count the others, with the internal ones in
parentheses: "6 (+50 internal)" (elect-leaders and health cover all of them).`;
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
            ['brokers', brokerCount(info.brokers)],
            ['topics', withInternal(info.topics, info.internalTopics)],
            ['partitions', withInternal(info.partitions, info.internalPartitions)],
            ['under-replicated', info.underReplicated.length],
            ['offline', info.offline.length],
          ],
          format,
          info,
        ),
        section('brokers', await renderList(info.brokers, BROKERS, format)),
        ...(info.degraded.length > 0
          ? [section('offline and under-replicated partitions', await renderList(info.degraded, DEGRADED, format))]
          : []),
      ].join('\n'),
    );
  }
}

/** "6 (+50 internal)": internal topics (__consumer_offsets) counted apart, as `topic list --all` shows them. */
function withInternal(n: number, internal: number): string | number {
  return internal === 0 ? n : `${n} (+${internal} internal)`;
}

function brokerCount(brokers: ClusterInfo['brokers']): string | number {
  const down = brokers.filter((b) => !b.up).length;
  return down === 0 ? brokers.length : `${brokers.length - down} up, ${down} down`;
}
