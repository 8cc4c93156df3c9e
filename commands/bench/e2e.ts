import { Flags } from '@oclif/core';
import { BaseCommand, CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { connectionSettings } from '../../src/cli/client-command.js';
import { common, producing, producingOptions } from '../../src/loadgen/flags.js';
import { tuneHeap } from '../../src/util/heap.js';

export default class BenchE2e extends BaseCommand {
  static override summary = 'End-to-end latency: produce → consume, at a fixed rate.';
  static override description =
    `A producer sends --records records at --throughput records/s (every millisecond, the records due by then),
each stamped with its send time; a consumer in the same process reads them and records produce→consume
latency. Prints the percentiles (ms).
The clock starts once the consumer's first fetch was answered; with --warmup-records N the first N records
are timed apart (a cold process: JIT, first allocations) and left out of the percentiles.`;
  static override examples = ['<%= config.bin %> bench e2e --throughput 100000 --records 1000000'];
  static override flags = {
    ...common,
    ...producing,
    records: Flags.integer({ char: 'n', description: 'number of records', default: 500_000, min: 1 }),
    'linger-ms': Flags.integer({
      description: 'how long a batch waits for more records (linger.ms)',
      default: 0,
      min: 0,
      aliases: ['linger'],
    }),
    'batch-size': Flags.integer({ description: 'producer batch size in bytes', default: 65_536, min: 1 }),
    throughput: Flags.integer({ description: 'records/s (-1: unlimited)', default: 100_000 }),
    'warmup-records': Flags.integer({
      description: 'first records whose latency is reported apart (warm-up), not in the percentiles',
      default: 0,
      min: 0,
    }),
  };

  async run(): Promise<void> {
    tuneHeap();
    const { flags } = await this.parse(BenchE2e);
    if (flags['record-size'] < 8) throw new CliError('--record-size must be at least 8 for e2e', EXIT_USAGE);
    const options = {
      ...producingOptions(flags),
      warmupRecords: flags['warmup-records'],
    };
    const connection = await connectionSettings(flags);
    const { runE2eBench } = await import('../../src/loadgen/e2e.js');
    const { formatText } = await import('../../src/loadgen/common.js');
    const result = await runE2eBench({ ...connection, ...options });
    this.log(flags.output === 'json' ? JSON.stringify(result) : formatText(result));
    if (result.consumed !== undefined && result.consumed < result.records) process.exitCode = 1;
  }
}
