import { Args } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, renderList, renderStruct, section } from '../../src/cli/output.js';

const PARTITIONS: Column<{ topic: string; partition: number }>[] = [
  { header: 'topic', get: (p) => p.topic },
  { header: 'partition', get: (p) => p.partition },
];

export default class TxnDescribe extends ClientCommand {
  static override summary = "Show a transactional id's state, producer id and epoch, timeout and open transaction.";
  static override description =
    `Asks the id's transaction coordinator (DescribeTransactions, like kafka-transactions.sh describe). For an
open transaction (Ongoing) it shows when it started, how long it has run, and the partitions it writes to: their
last stable offset cannot pass its first record until it commits or aborts, or until the coordinator aborts it
after its timeout (transaction.timeout.ms).`;
  static override examples = [
    '<%= config.bin %> txn describe copier-1',
    '<%= config.bin %> txn describe copier-1 -o json',
  ];
  static override args = { id: Args.string({ description: 'transactional id', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TxnDescribe);
    const conn = await this.connection(flags);
    const format = this.format(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { describeTransaction } = await import('../../src/services/transactions.js');
    const t = await withAdmin(conn, (admin) => describeTransaction(admin, args.id));
    if (format === 'json' || format === 'yaml') {
      this.out(await renderStruct([], format, t));
      return;
    }
    const start = t.startTimeMs === null ? null : new Date(Number(t.startTimeMs)).toISOString();
    this.out(
      [
        await renderStruct(
          [
            ['transactional id', t.transactionalId],
            ['state', t.state],
            ['producer id', t.producerId],
            ['producer epoch', t.producerEpoch],
            ['timeout', `${t.timeoutMs} ms`],
            ['start time', start],
            ['running for', t.durationMs === null ? null : `${t.durationMs} ms`],
            ['coordinator', t.coordinator, true],
          ],
          format,
          t,
        ),
        ...(t.partitions.length ? [section('partitions', await renderList(t.partitions, PARTITIONS, format))] : []),
      ].join('\n'),
    );
  }
}
