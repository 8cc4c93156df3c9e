import { Flags } from '@oclif/core';
import { listOf } from '../../src/cli/acl-flags.js';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { entityFlags } from '../../src/cli/quota-flags.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';
import type { EntityPart } from '../../src/services/quotas.js';

export default class QuotaAlter extends ClientCommand {
  static override summary =
    'Set or remove client quotas (AlterClientQuotas), as kafka-configs --alter: works on Kafka too.';
  static override description =
    'Quotas apply per broker: producer_byte_rate and consumer_byte_rate in bytes per second, request_percentage ' +
    'in percent of one request thread (kstream: its event loop) over the quota window, controller_mutation_rate ' +
    'in partitions created or deleted per second (the last two may be fractional). A client over its quota gets ' +
    'throttle_time_ms in its responses and its connection is muted for that time; a topic creation or deletion ' +
    'over controller_mutation_rate is refused with THROTTLING_QUOTA_EXCEEDED. Prints OK or ' +
    "the broker's error and exits non-zero on an error.";
  static override examples = [
    '<%= config.bin %> quota alter --quota-user alice --add producer_byte_rate=1048576',
    '<%= config.bin %> quota alter --quota-user alice --client-id app --add producer_byte_rate=1048576 --delete consumer_byte_rate',
    '<%= config.bin %> quota alter --default-user --add consumer_byte_rate=10485760',
    '<%= config.bin %> quota alter --entity-type clients --entity-name app --add-config producer_byte_rate=524288',
    '<%= config.bin %> quota alter --default-client-id --add-config request_percentage=25,controller_mutation_rate=10',
  ];
  static override flags = {
    ...entityFlags,
    add: Flags.string({
      description: 'key=value to set (repeat or comma-separate)',
      multiple: true,
      aliases: ['add-config'],
    }),
    delete: Flags.string({
      description: 'key to remove (repeat or comma-separate)',
      multiple: true,
      aliases: ['delete-config'],
    }),
    'validate-only': Flags.boolean({ description: 'let the broker check the change without storing it' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(QuotaAlter);
    const { partsOf, parseAssignments } = await import('../../src/services/quotas.js');
    let entity: EntityPart[];
    let add: Record<string, number>;
    let remove: string[];
    try {
      const parts = partsOf(flags);
      if (parts.length === 0)
        throw new Error(
          'name an entity: --quota-user, --client-id, --default-user, --default-client-id (or --entity-type)',
        );
      if (parts.some((p) => p.name === undefined))
        throw new Error('--entity-type needs --entity-name or --entity-default');
      entity = parts.map((p) => ({ entityType: p.entityType, entityName: p.name ?? null }));
      add = parseAssignments(listOf(flags.add));
      remove = listOf(flags.delete);
      if (Object.keys(add).length + remove.length === 0) throw new Error('nothing to change: give --add or --delete');
      for (const k of remove) if (Object.hasOwn(add, k)) throw new Error(`${k} is both added and deleted`);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE);
    }
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { alterQuotas } = await import('../../src/services/quotas.js');
    const row = await withAdmin(conn, (admin) => alterQuotas(admin, entity, add, remove, flags['validate-only']));
    this.out(await renderList([row], STATUS_COLUMNS('entity'), this.format(flags)));
    if (!row.ok) process.exitCode = 1;
  }
}
