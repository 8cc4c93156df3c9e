import { Flags } from '@oclif/core';
import { listOf, resourceFlags } from '../../src/cli/acl-flags.js';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { ACL_COLUMNS } from './list.js';

export default class AclDelete extends ClientCommand {
  static override summary = 'Delete ACLs (DeleteAcls), as kafka-acls --remove: works on Kafka too.';
  static override description =
    'Deletes the ACLs of the named resources (pattern type default literal) that match the principals, hosts ' +
    'and operations given (all when not given), and prints the ACLs deleted.';
  static override examples = [
    '<%= config.bin %> acl delete --topic orders --allow-principal User:app --operation write',
    '<%= config.bin %> acl delete --topic app- --resource-pattern-type prefixed',
  ];
  static override flags = {
    ...resourceFlags,
    'allow-principal': Flags.string({ description: 'only ALLOW ACLs of this principal', multiple: true }),
    'deny-principal': Flags.string({ description: 'only DENY ACLs of this principal', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AclDelete);
    const { filtersOf, parseOperation, parsePatternType, resourcesOf } = await import('../../src/services/acls.js');
    let filters: ReturnType<typeof filtersOf>;
    try {
      const resources = resourcesOf(flags);
      if (resources.length === 0) throw new Error('name a resource: --topic, --group, --transactional-id or --cluster');
      const patternType = parsePatternType(flags['resource-pattern-type'] ?? 'literal');
      const hosts = listOf(flags.host);
      const ops = listOf(flags.operation).map(parseOperation);
      const allow = listOf(flags['allow-principal']);
      const deny = listOf(flags['deny-principal']);
      filters =
        allow.length + deny.length === 0
          ? filtersOf(resources, patternType, [], hosts, ops, 1)
          : [
              ...(allow.length > 0 ? filtersOf(resources, patternType, allow, hosts, ops, 3) : []),
              ...(deny.length > 0 ? filtersOf(resources, patternType, deny, hosts, ops, 2) : []),
            ];
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE);
    }
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { deleteAcls } = await import('../../src/services/acls.js');
    const { rows, errors } = await withAdmin(conn, (admin) => deleteAcls(admin, filters));
    if (errors.length > 0) throw new CliError(errors[0] as string);
    this.out(await renderList(rows, ACL_COLUMNS, this.format(flags)));
  }
}
