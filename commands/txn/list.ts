import { Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList } from '../../src/cli/output.js';
import type { TransactionSummary } from '../../src/services/transactions.js';

const COLUMNS: Column<TransactionSummary>[] = [
  { header: 'transactional-id', get: (t) => t.transactionalId },
  { header: 'state', get: (t) => t.state },
  { header: 'producer-id', get: (t) => t.producerId },
  { header: 'coordinator', get: (t) => t.coordinator, wide: true },
];

export default class TxnList extends ClientCommand {
  static override summary = 'List transactional producers and the state of their transactions.';
  static override description = `Every broker is asked for the transactional ids it coordinates (ListTransactions, like
kafka-transactions.sh list). States: Empty (no transaction yet), Ongoing (open: its records are held back from
read_committed consumers), PrepareCommit / PrepareAbort (ending: markers being written), CompleteCommit /
CompleteAbort (ended), Dead (expired), PrepareEpochFence (a newer instance is fencing it).
--state and --producer-id filter (both repeatable); kstream txn describe ID shows one in full.`;
  static override examples = [
    '<%= config.bin %> txn list',
    '<%= config.bin %> txn list --state Ongoing -o wide',
    '<%= config.bin %> txn list --producer-id 4000 -o json',
  ];
  static override flags = {
    state: Flags.string({ description: 'only transactions in this state (repeatable), e.g. Ongoing', multiple: true }),
    'producer-id': Flags.string({ description: 'only this producer id (repeatable)', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TxnList);
    const { TRANSACTION_STATES } = await import('../../src/client/admin.js');
    const states = flags.state?.map((s) => {
      const known = TRANSACTION_STATES.find((k) => k.toLowerCase() === s.toLowerCase());
      if (!known) throw new CliError(`unknown --state ${s} (one of ${TRANSACTION_STATES.join(', ')})`, EXIT_USAGE);
      return known;
    });
    const producerIds = flags['producer-id']?.map((p) => {
      if (!/^\d+$/.test(p) || BigInt(p) > 0x7fffffffffffffffn)
        throw new CliError(`invalid --producer-id ${p}: expected a producer id (a number >= 0)`, EXIT_USAGE);
      return BigInt(p);
    });
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { listTransactions } = await import('../../src/services/transactions.js');
    const rows = await withAdmin(conn, (admin) =>
      listTransactions(admin, { ...(states ? { states } : {}), ...(producerIds ? { producerIds } : {}) }),
    );
    this.out(await renderList(rows, COLUMNS, this.format(flags)));
  }
}
