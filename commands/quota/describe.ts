import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import { entityFlags } from '../../src/cli/quota-flags.js';
import type { FilterPart, QuotaRow } from '../../src/services/quotas.js';

const name = (v: string | null | undefined) => (v === undefined ? '' : (v ?? '<default>'));

export const QUOTA_COLUMNS: Column<QuotaRow>[] = [
  { header: 'user', get: (r) => name(r.user) },
  { header: 'client-id', get: (r) => name(r.clientId) },
  {
    header: 'quotas',
    get: (r) =>
      Object.entries(r.values)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
  },
];

export default class QuotaDescribe extends ClientCommand {
  static override summary =
    'Show client quotas (DescribeClientQuotas), as kafka-configs --describe: works on Kafka too.';
  static override description =
    'Without an entity: every quota. A named entity (--quota-user alice, --client-id app, both, or their defaults) ' +
    'shows that entity alone; --entity-type users without a name shows every entity with a user.';
  static override examples = [
    '<%= config.bin %> quota describe',
    '<%= config.bin %> quota describe --quota-user alice',
    '<%= config.bin %> quota describe --default-user --client-id app -o json',
    '<%= config.bin %> quota describe --entity-type users --entity-name alice',
  ];
  static override flags = { ...entityFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(QuotaDescribe);
    const { partsOf, MATCH_DEFAULT, MATCH_EXACT, MATCH_SPECIFIED } = await import('../../src/services/quotas.js');
    let components: FilterPart[];
    let strict: boolean;
    try {
      const parts = partsOf(flags);
      components = parts.map((p) =>
        p.name === undefined
          ? { entityType: p.entityType, matchType: MATCH_SPECIFIED, match: null }
          : p.name === null
            ? { entityType: p.entityType, matchType: MATCH_DEFAULT, match: null }
            : { entityType: p.entityType, matchType: MATCH_EXACT, match: p.name },
      );
      // A named entity is that entity alone (kafka-configs' containsOnly); a type alone, any entity with it.
      strict = parts.length > 0 && parts.every((p) => p.name !== undefined);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE);
    }
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { describeQuotas } = await import('../../src/services/quotas.js');
    const rows = await withAdmin(conn, (admin) => describeQuotas(admin, components, strict));
    this.out(await renderList(rows, QUOTA_COLUMNS, this.format(flags)));
  }
}
