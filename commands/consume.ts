import { Args, Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../src/cli/base.js';
import { ClientCommand } from '../src/cli/client-command.js';
import { parseTime } from '../src/cli/time.js';

export default class Consume extends ClientCommand {
  static override summary = 'Read records from topics (follows new records until Ctrl-C, like tail -f).';
  static override description =
    `Starts at the end of each partition unless told otherwise: --from-beginning, --offset N (an offset),
--offset -N (the last N records of each partition), or --from-time (ISO time, epoch ms, or -10m / -2h / -1d).
-e exits at the end of every partition, -n after that many records. With --group the records are read as
a member of that consumer group and its offsets are committed (so a second run continues where this one stopped).

Output: each record's value on a line by default; --format with tokens %t topic, %p partition, %o offset,
%k key, %v value, %T timestamp, %h headers (k=v,...), %% and escapes \\n \\t; or -o json, one object per line
({"topic","partition","offset","timestamp","key","value","headers"}, with "encoding": "base64" when the
record holds binary data). --grep keeps records whose key, value or a header (k=v) matches a regex.`;
  static override examples = [
    '<%= config.bin %> consume orders',
    '<%= config.bin %> consume orders --from-beginning -e',
    "<%= config.bin %> consume orders -e --offset -10 --format '%p/%o %k=%v\\n'",
    '<%= config.bin %> consume orders payments --from-time -10m -o json',
    '<%= config.bin %> consume orders --group billing -n 100',
    "<%= config.bin %> consume orders --from-beginning -e --grep 'user-4[0-9]'",
  ];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topics to read', required: true }) };
  static override flags = {
    'from-beginning': Flags.boolean({ description: 'start at the first record', exclusive: ['offset', 'from-time'] }),
    offset: Flags.string({
      description: 'start offset N, -N for the last N records of each partition, or beginning / end',
    }),
    'from-time': Flags.string({
      description: 'start at the first record at or after this time',
      exclusive: ['offset'],
    }),
    partition: Flags.integer({ char: 'p', description: 'only this partition (repeatable)', multiple: true, min: 0 }),
    group: Flags.string({ char: 'g', description: 'consume as this consumer group (offsets are committed)' }),
    count: Flags.integer({ char: 'n', description: 'stop after this many records', min: 0 }),
    exit: Flags.boolean({ char: 'e', description: 'exit at the end of every partition' }),
    format: Flags.string({ char: 'f', description: 'output template, e.g. "%k: %v\\n"' }),
    grep: Flags.string({ description: 'only records whose key, value or a header matches this regex' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Consume);
    // A usage error (exit 2), found before connecting; the service refuses it too.
    if (flags.group !== undefined && flags.partition !== undefined)
      throw new CliError('--partition cannot be used with --group (the group assigns partitions)', EXIT_USAGE);
    const format = this.format(flags);
    if (format === 'wide' || format === 'yaml')
      throw new CliError('consume prints text (see --format) or -o json', EXIT_USAGE);
    if (format === 'json' && flags.format !== undefined)
      throw new CliError('use either --format or -o json, not both', EXIT_USAGE);
    const { compileFormat } = await import('../src/services/record-format.js');
    let formatter: ReturnType<typeof compileFormat>;
    try {
      formatter = compileFormat(flags.format ?? '%v\\n');
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE);
    }
    let grep: RegExp | undefined;
    if (flags.grep !== undefined) {
      try {
        grep = new RegExp(flags.grep);
      } catch (e) {
        throw new CliError(`invalid --grep: ${(e as Error).message}`, EXIT_USAGE);
      }
    }
    let start: import('../src/services/consume.js').StartAt = { kind: 'latest' };
    if (flags['from-beginning']) start = { kind: 'beginning' };
    else if (flags.offset !== undefined) {
      // kcat's (-o beginning|end) and rpk's (-o start|end) words too.
      const word = flags.offset.toLowerCase();
      if (['beginning', 'earliest', 'start', 'oldest'].includes(word)) start = { kind: 'beginning' };
      else if (['end', 'latest', 'newest'].includes(word)) start = { kind: 'latest' };
      else if (/^-?\d+$/.test(flags.offset)) start = { kind: 'offset', offset: BigInt(flags.offset) };
      else throw new CliError(`invalid --offset ${flags.offset}: expected N, -N, beginning or end`, EXIT_USAGE);
    } else if (flags['from-time'] !== undefined)
      start = { kind: 'time', ms: parseTime(flags['from-time'], '--from-time') };

    const conn = await this.connection(flags);
    const { consume, recordJson } = await import('../src/services/consume.js');
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const onStdoutError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') abort.abort(); // the reader went away (| head): stop quietly
    };
    process.stdout.on('error', onStdoutError);
    const write = (b: Buffer | string): void | Promise<void> => {
      if (abort.signal.aborted) return;
      if (!process.stdout.write(b)) return new Promise((res) => process.stdout.once('drain', () => res()));
    };
    try {
      await consume({
        ...conn,
        topics: argv as string[],
        start,
        partitions: flags.partition,
        group: flags.group,
        count: flags.count,
        exitAtEnd: flags.exit,
        grep,
        signal: abort.signal,
        sink: format === 'json' ? (r) => write(`${recordJson(r)}\n`) : (r) => write(formatter(r)),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.off('error', onStdoutError);
    }
  }
}
