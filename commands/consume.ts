import { Args, Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../src/cli/base.js';
import { ClientCommand } from '../src/cli/client-command.js';
import { parseTime } from '../src/cli/time.js';
import type { StartAt } from '../src/services/consume.js';

/** kcat's (-o beginning|end) and rpk's (-o start|end) words for the two ends of a partition. */
const BEGINNING = ['beginning', 'earliest', 'start', 'oldest'];
const END = ['end', 'latest', 'newest'];

/**
 * --offset: N, -N, beginning / end, or a range START:END (rpk's -o start:end): END is an offset (the range
 * stops before it) or `end` (the log end, like -e); either side may be left out (`:end`, `10:`, `:20`).
 */
export function parseOffset(text: string): { start: StartAt; stop?: bigint | 'end' } {
  const bad = () =>
    new CliError(
      `invalid --offset ${text}: expected N, -N, beginning, end, or a range START:END (10:20, :end, 10:end)`,
      EXIT_USAGE,
    );
  const one = (word: string): StartAt => {
    const w = word.toLowerCase();
    if (BEGINNING.includes(w)) return { kind: 'beginning' };
    if (END.includes(w)) return { kind: 'latest' };
    if (/^-?\d+$/.test(word)) return { kind: 'offset', offset: BigInt(word) };
    throw bad();
  };
  const colon = text.indexOf(':');
  if (colon < 0) return { start: one(text) };
  const [from, to] = [text.slice(0, colon), text.slice(colon + 1)];
  const start = from === '' ? ({ kind: 'beginning' } as const) : one(from);
  if (to === '') return { start };
  if (END.includes(to.toLowerCase())) return { start, stop: 'end' };
  if (!/^\d+$/.test(to)) throw bad();
  const stop = BigInt(to);
  if (start.kind === 'offset' && start.offset >= 0n && start.offset >= stop)
    throw new CliError(`invalid --offset ${text}: the range is empty (it stops before ${to})`, EXIT_USAGE);
  return { start, stop };
}

/** kafka-console-consumer's print.timestamp / partition / offset / headers / key as a --format template. */
function printTemplate(f: { timestamp: boolean; partition: boolean; offset: boolean; headers: boolean; key: boolean }) {
  const fields: string[] = [];
  if (f.timestamp) fields.push('Timestamp:%T');
  if (f.partition) fields.push('Partition:%p');
  if (f.offset) fields.push('Offset:%o');
  if (f.headers) fields.push('%h');
  if (f.key) fields.push('%k');
  fields.push('%v');
  return `${fields.join('\\t')}\\n`;
}

export default class Consume extends ClientCommand {
  static override summary = 'Read records from topics (follows new records until Ctrl-C, like tail -f).';
  static override description =
    `Starts at the end of each partition unless told otherwise: --from-beginning, --offset N (an offset),
--offset -N (the last N records of each partition), or --from-time (ISO time, epoch ms, or -10m / -2h / -1d).
--offset START:END reads a range and stops (END not included; 10:20, :end = everything there is now, 10:end).
-e exits at the end of every partition, -n (or -c, --max-messages) after that many records.

With --group the records are read as a member of that consumer group and its offsets are committed (so a
second run continues where this one stopped). A group with no committed offsets starts at the end of each
partition, like kafka-console-consumer: it waits for NEW records (on a terminal it says so); add
--from-beginning to read what is there.

--isolation read_committed reads only the records of committed transactions (and every record written outside
a transaction), up to the last stable offset: records of open transactions are waited for, those of aborted
ones skipped, as Kafka's isolation.level=read_committed. The default, read_uncommitted, reads them all.

Output: each record's value on a line by default; --format with tokens %t topic, %p partition, %o offset,
%k key, %v value, %T timestamp, %h headers (k=v,...), %% and escapes \\n \\t; --print-key, --print-partition,
--print-offset, --print-timestamp, --print-headers add those before the value, tab-separated, as
kafka-console-consumer's print.* properties do; or -o json, one object per line
({"topic","partition","offset","timestamp","key","value","headers"}, with "encoding": "base64" when the
record holds binary data). --grep keeps records whose key, value or a header (k=v) matches a regex.`;
  static override examples = [
    '<%= config.bin %> consume orders',
    '<%= config.bin %> consume orders --from-beginning -e',
    "<%= config.bin %> consume orders -e --offset -10 --format '%p/%o %k=%v\\n'",
    '<%= config.bin %> consume orders --offset 100:200 --print-key --print-offset',
    '<%= config.bin %> consume orders payments --from-time -10m -o json',
    '<%= config.bin %> consume orders --group billing -n 100',
    "<%= config.bin %> consume orders --from-beginning -e --grep 'user-4[0-9]'",
    '<%= config.bin %> consume orders --from-beginning -e --isolation read_committed',
  ];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topics to read', required: true }) };
  static override flags = {
    'from-beginning': Flags.boolean({ description: 'start at the first record', exclusive: ['offset', 'from-time'] }),
    offset: Flags.string({
      description:
        'start offset N, -N for the last N records of each partition, beginning / end, or a range START:END (10:20, :end)',
    }),
    'from-time': Flags.string({
      description: 'start at the first record at or after this time',
      exclusive: ['offset'],
    }),
    partition: Flags.integer({ char: 'p', description: 'only this partition (repeatable)', multiple: true, min: 0 }),
    group: Flags.string({ char: 'g', description: 'consume as this consumer group (offsets are committed)' }),
    // -c as kcat has it, --max-messages as kafka-console-consumer has it.
    count: Flags.integer({
      char: 'n',
      charAliases: ['c'],
      aliases: ['max-messages'],
      description: 'stop after this many records (also -c as in kcat, --max-messages as in kafka-console-consumer)',
      min: 0,
    }),
    exit: Flags.boolean({ char: 'e', description: 'exit at the end of every partition' }),
    isolation: Flags.option({
      description:
        'read_committed: only records of committed transactions (up to the last stable offset); read_uncommitted: all',
      options: ['read_uncommitted', 'read_committed'] as const,
      default: 'read_uncommitted' as const,
    })(),
    format: Flags.string({ char: 'f', description: 'output template, e.g. "%k: %v\\n"' }),
    grep: Flags.string({ description: 'only records whose key, value or a header matches this regex' }),
    'print-key': Flags.boolean({
      description: 'print the key before the value (tab-separated)',
      aliases: ['print-keys'],
    }),
    'print-partition': Flags.boolean({ description: 'print Partition:N before the value' }),
    'print-offset': Flags.boolean({ description: 'print Offset:N before the value' }),
    'print-timestamp': Flags.boolean({ description: 'print Timestamp:MS before the value' }),
    'print-headers': Flags.boolean({ description: 'print the headers (k=v,...) before the value' }),
    // Only text and json: -o wide / yaml have no meaning for a stream of records.
    output: Flags.option({
      char: 'o',
      description: 'output format: text (see --format) or json (an object per line)',
      options: ['text', 'json'] as const,
      default: 'text' as const,
      helpGroup: 'OUTPUT',
    })(),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Consume);
    // A usage error (exit 2), found before connecting; the service refuses it too.
    if (flags.group !== undefined && flags.partition !== undefined)
      throw new CliError('--partition cannot be used with --group (the group assigns partitions)', EXIT_USAGE);
    const format = flags.output;
    if (format === 'json' && flags.format !== undefined)
      throw new CliError('use either --format or -o json, not both', EXIT_USAGE);
    const print = {
      key: flags['print-key'],
      partition: flags['print-partition'],
      offset: flags['print-offset'],
      timestamp: flags['print-timestamp'],
      headers: flags['print-headers'],
    };
    const printing = Object.entries(print).filter(([, on]) => on);
    if (printing.length > 0 && (flags.format !== undefined || format === 'json'))
      throw new CliError(
        `--print-${printing[0]![0]} adds to the default text output: not with ${format === 'json' ? '-o json' : '--format'}`,
        EXIT_USAGE,
      );
    const { compileFormat } = await import('../src/services/record-format.js');
    let formatter: ReturnType<typeof compileFormat>;
    try {
      formatter = compileFormat(flags.format ?? (printing.length > 0 ? printTemplate(print) : '%v\\n'));
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
    let start: StartAt = { kind: 'latest' };
    let range: bigint | 'end' | undefined;
    if (flags['from-beginning']) start = { kind: 'beginning' };
    else if (flags.offset !== undefined) ({ start, stop: range } = parseOffset(flags.offset));
    else if (flags['from-time'] !== undefined)
      start = { kind: 'time', ms: parseTime(flags['from-time'], '--from-time') };
    if (range !== undefined && flags.group !== undefined)
      throw new CliError('a range (--offset START:END) cannot be used with --group', EXIT_USAGE);

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
        exitAtEnd: flags.exit || range === 'end',
        stopAt: typeof range === 'bigint' ? range : undefined,
        onGroupStart: process.stderr.isTTY ? (text) => process.stderr.write(`${text}\n`) : undefined,
        grep,
        isolation: flags.isolation,
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
