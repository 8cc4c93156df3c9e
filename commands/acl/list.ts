import { Flags } from '@oclif/core';
import { listOf, resourceFlags } from '../../src/cli/acl-flags.js';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import type { AclRow } from '../../src/services/acls.js';

export const ACL_COLUMNS: Column<AclRow>[] = [
  { header: 'principal', get: (r) => r.principal },
  { header: 'host', get: (r) => r.host },
  { header: 'operation', get: (r) => r.operation },
  { header: 'permission', get: (r) => r.permission },
  { header: 'resource type', get: (r) => r.resourceType },
  { header: 'resource name', get: (r) => r.resourceName },
  { header: 'pattern type', get: (r) => r.patternType },
];

export default class AclList extends ClientCommand {
  static override summary = 'List ACLs (DescribeAcls), as kafka-acls --list: works on Kafka too.';
  static override description =
    'Without a resource: every ACL. --resource-pattern-type (default any) narrows by pattern; match lists ' +
    'every ACL that applies to the named resource (literal, * and prefixed).';
  static override examples = [
    '<%= config.bin %> acl list',
    '<%= config.bin %> acl list --topic orders --resource-pattern-type match',
    '<%= config.bin %> acl list --principal User:app -o json',
  ];
  static override flags = {
    ...resourceFlags,
    principal: Flags.string({ description: 'only ACLs of this principal', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AclList);
    const { filtersOf, parseOperation, parsePatternType, resourcesOf } = await import('../../src/services/acls.js');
    let filters: ReturnType<typeof filtersOf>;
    try {
      filters = filtersOf(
        resourcesOf(flags),
        parsePatternType(flags['resource-pattern-type'] ?? 'any'),
        listOf(flags.principal),
        listOf(flags.host),
        listOf(flags.operation).map(parseOperation),
        1,
      );
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE);
    }
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { listAcls } = await import('../../src/services/acls.js');
    const rows = await withAdmin(conn, (admin) => listAcls(admin, filters));
    this.out(await renderList(rows, ACL_COLUMNS, this.format(flags)));
  }
}
