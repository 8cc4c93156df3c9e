import { Flags } from '@oclif/core';
import { listOf, resourceFlags } from '../../src/cli/acl-flags.js';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class AclCreate extends ClientCommand {
  static override summary = 'Create ACLs (CreateAcls), as kafka-acls --add: works on Kafka too.';
  static override description =
    'One ACL per principal, host, operation and resource. Prints a row per ACL with OK or its error, and ' +
    'exits non-zero if any failed.';
  static override examples = [
    '<%= config.bin %> acl create --allow-principal User:app --operation write --topic orders',
    '<%= config.bin %> acl create --allow-principal User:reader --operation read --topic orders --group readers',
    '<%= config.bin %> acl create --allow-principal User:etl --operation read --topic app- --resource-pattern-type prefixed',
  ];
  static override flags = {
    ...resourceFlags,
    'allow-principal': Flags.string({ description: 'principal allowed (User:name)', multiple: true }),
    'deny-principal': Flags.string({ description: 'principal denied (User:name)', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AclCreate);
    const { bindingsOf, parseOperation, parsePatternType, resourcesOf } = await import('../../src/services/acls.js');
    let spec: ReturnType<typeof bindingsOf>;
    try {
      const resources = resourcesOf(flags);
      if (resources.length === 0) throw new Error('name a resource: --topic, --group, --transactional-id or --cluster');
      const allow = listOf(flags['allow-principal']);
      const deny = listOf(flags['deny-principal']);
      if (allow.length + deny.length === 0) throw new Error('name a principal: --allow-principal or --deny-principal');
      const operations = listOf(flags.operation).map(parseOperation);
      if (operations.length === 0) throw new Error('name an operation: --operation read|write|…|all');
      const patternType = parsePatternType(flags['resource-pattern-type'] ?? 'literal');
      const hosts = listOf(flags.host);
      spec = bindingsOf({
        resources,
        patternType,
        allow,
        deny,
        hosts: hosts.length > 0 ? hosts : ['*'],
        operations,
      });
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE);
    }
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { createAcls } = await import('../../src/services/acls.js');
    const rows = await withAdmin(conn, (admin) => createAcls(admin, spec));
    this.out(await renderList(rows, STATUS_COLUMNS('acl'), this.format(flags)));
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  }
}
