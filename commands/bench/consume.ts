import { Flags } from '@oclif/core';
import { BaseCommand, CliError } from '../../src/cli/base.js';
import { connectionSettings } from '../../src/cli/client-command.js';
import { common } from '../../src/loadgen/flags.js';
import { tuneHeap } from '../../src/util/heap.js';

export default class BenchConsume extends BaseCommand {
  static override summary = 'Consumer throughput: read a topic from the beginning as fast as possible.';
  static override description =
    `Reads --records records of --topic from the beginning of every partition (no consumer group) and prints
records/s and MB/s. Stops early at the end of the topic if it holds fewer records (then "endOfTopic" is true).
Fill the topic first, e.g. with "kstream bench produce".`;
  static override examples = ['<%= config.bin %> bench consume --topic kstream-bench --records 1000000 -o json'];
  static override flags = {
    ...common,
    'fetch-bytes': Flags.integer({ description: 'bytes per partition per fetch', default: 4 * 1024 * 1024, min: 1024 }),
  };

  async run(): Promise<void> {
    tuneHeap();
    const { flags } = await this.parse(BenchConsume);
    const connection = await connectionSettings(flags);
    const { runConsumeBench } = await import('../../src/loadgen/consume.js');
    const { formatText } = await import('../../src/loadgen/common.js');
    const result = await runConsumeBench({
      ...connection,
      topic: flags.topic,
      records: flags.records,
      fetchBytes: flags['fetch-bytes'],
      progress: flags.output === 'text',
    }).catch((e: unknown) => {
      // Was "topic x: This server does not host this topic-partition." (UNKNOWN_TOPIC_OR_PARTITION).
      if ((e as { code?: unknown }).code === 3)
        throw new CliError(
          `topic ${flags.topic} does not exist (fill one with: kstream bench produce --topic ${flags.topic})`,
        );
      throw e;
    });
    if (flags.output === 'json') this.log(JSON.stringify(result));
    else {
      this.log(formatText(result));
      if (result.endOfTopic) this.log(`(end of topic reached after ${result.records} of ${flags.records} records)`);
    }
  }
}
