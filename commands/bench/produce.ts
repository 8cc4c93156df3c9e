import { Flags } from '@oclif/core';
import { BaseCommand, CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { connectionSettings } from '../../src/cli/client-command.js';
import { common, producing, producingOptions } from '../../src/loadgen/flags.js';
import { tuneHeap } from '../../src/util/heap.js';

export default class BenchProduce extends BaseCommand {
  static override summary = 'Producer throughput and latency (like kafka-producer-perf-test).';
  static override description =
    `Sends --records records of --record-size bytes to --topic (created with --partitions if missing)
from --producers producer instances, as fast as possible or capped by --throughput, and prints records/s, MB/s
and send→acknowledged latency percentiles. A live progress line is drawn on a TTY; -o json prints one JSON object.`;
  static override examples = [
    '<%= config.bin %> bench produce --records 1000000 --record-size 100 --acks 1',
    '<%= config.bin %> bench produce -n 200000 --acks all --compression lz4 -o json',
    '<%= config.bin %> bench produce -n 1000000 --transactional-id bench --txn-size 1000',
  ];
  static override flags = {
    ...common,
    ...producing,
    producers: Flags.integer({ description: 'concurrent producer instances', default: 1, min: 1, max: 64 }),
    // As kafka-producer-perf-test's --transactional-id: each producer instance i uses ID-i.
    'transactional-id': Flags.string({
      description: 'send in transactions (KIP-98) of --txn-size records; producer instance i uses ID-i',
    }),
    'txn-size': Flags.integer({
      description: 'records per transaction (with --transactional-id)',
      default: 1000,
      min: 1,
    }),
  };

  async run(): Promise<void> {
    tuneHeap();
    const { flags } = await this.parse(BenchProduce);
    const transactionalId = flags['transactional-id'];
    if (transactionalId !== undefined) {
      if (transactionalId === '') throw new CliError('--transactional-id must not be empty', EXIT_USAGE);
      if (!flags.idempotence)
        throw new CliError('--transactional-id needs idempotence: drop --no-idempotence', EXIT_USAGE);
      if (flags.acks !== 'all' && flags.acks !== '-1')
        throw new CliError(`--transactional-id needs --acks all (got --acks ${flags.acks})`, EXIT_USAGE);
    }
    const options = {
      ...producingOptions(flags),
      producers: flags.producers,
      ...(transactionalId !== undefined ? { transactionalId, txnSize: flags['txn-size'] } : {}),
    };
    const connection = await connectionSettings(flags);
    const { runProduceBench } = await import('../../src/loadgen/produce.js');
    const { formatText } = await import('../../src/loadgen/common.js');
    const result = await runProduceBench({ ...connection, ...options });
    this.log(flags.output === 'json' ? JSON.stringify(result) : formatText(result));
  }
}
