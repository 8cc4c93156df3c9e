import { ClientCommand } from '../../src/cli/client-command.js';
import { renderStruct } from '../../src/cli/output.js';

export default class ClusterHealth extends ClientCommand {
  static override summary = 'Check the cluster: exits non-zero when something is wrong.';
  static override description =
    `Healthy means: a controller is elected, no broker named as a replica is down, every partition has a
leader (none offline) and every partition's in-sync replicas are all its replicas (none
under-replicated). Meant for scripts and probes: exit 0 when healthy, 1 otherwise (also when no broker
answers).`;
  static override examples = ['<%= config.bin %> cluster health', '<%= config.bin %> cluster health -o json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(ClusterHealth);
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { clusterHealth } = await import('../../src/services/cluster.js');
    const h = await withAdmin(conn, (admin) => clusterHealth(admin));
    this.out(
      await renderStruct(
        [
          ['healthy', h.healthy],
          ['controller', h.info.controller],
          ['brokers', h.info.brokers.filter((b) => b.up).length],
          ['brokers down', h.info.brokers.filter((b) => !b.up).length],
          ['under-replicated', h.info.underReplicated.length],
          ['offline', h.info.offline.length],
          ...h.problems.map((p): [string, unknown] => ['problem', p]),
        ],
        this.format(flags),
        { healthy: h.healthy, problems: h.problems, ...h.info },
      ),
    );
    if (!h.healthy) process.exitCode = 1;
  }
}
