import { Args, Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../src/cli/base.js';
import { ClientCommand } from '../src/cli/client-command.js';
import { acksFlag, parseAcks, parseKeyValue } from '../src/cli/flags.js';
import { formatBytes, serialize } from '../src/cli/output.js';

export default class Produce extends ClientCommand {
  static override summary = 'Write records to a topic, one per line of stdin or --file.';
  static override description =
    `Each line is a record's value; with --key-delimiter the text before the first delimiter is the key.
Keys choose the partition like every Kafka client (murmur2), unless --partition is given.

--format json reads one JSON object per line:
  {"key": "k1", "value": "v1", "headers": [{"key": "h", "value": "x"}], "partition": 0, "timestamp": 1764064800000}
with "encoding": "base64" when key, value and header values are base64 (binary data). The whole input is
checked before anything is sent: a bad line is reported with its number and nothing is written.

--transactional-id ID writes the records in a transaction of that id (KIP-98): read_committed consumers see
them only once it commits, at the end of the input, or every --txn-size N records (one transaction each).
A failure aborts the open transaction. It needs --acks all and idempotence (the defaults); a second producer
with the same id fences this one.

--rate N sends at most N records per second (e.g. a steady load for a consumer or the TUI to watch); it applies
to --file and --format json input too (JSON input is still checked in full first).

A summary (records, bytes, partitions, time) goes to stderr at the end; on a terminal a progress line too.
Typed on a terminal (no --file, stdin not redirected), each line is prompted with "> " and sent as it is
entered; Ctrl-D finishes.
The topic must exist (kstream topic create).`;
  static override examples = [
    'echo hello | <%= config.bin %> produce orders',
    '<%= config.bin %> produce orders --file orders.txt --key-delimiter : --compression zstd',
    '<%= config.bin %> produce orders -H source=cli -H trace=1 --acks 1 < lines.txt',
    '<%= config.bin %> consume orders -o json -e | <%= config.bin %> produce orders-copy --format json',
    'seq 1000 | <%= config.bin %> produce orders --rate 100',
    'seq 1000 | <%= config.bin %> produce orders --transactional-id loader-1 --txn-size 100',
  ];
  static override args = { topic: Args.string({ description: 'topic to write to', required: true }) };
  static override flags = {
    file: Flags.string({ description: 'read records from this file instead of stdin' }),
    // -f is the format, as in consume, kcat and rpk.
    format: Flags.option({
      char: 'f',
      description: 'input format: text (a record per line) or json (an object per line)',
      options: ['text', 'json'] as const,
      default: 'text',
    })(),
    'key-delimiter': Flags.string({ char: 'K', description: 'split each line into key and value at this string' }),
    partition: Flags.integer({ char: 'p', description: 'write every record to this partition', min: 0 }),
    header: Flags.string({
      char: 'H',
      description: 'header key=value added to every record (repeatable)',
      multiple: true,
    }),
    acks: acksFlag('all'),
    compression: Flags.option({
      char: 'z',
      description: 'compression codec',
      options: ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const,
      default: 'none',
    })(),
    'linger-ms': Flags.integer({
      description: 'how long a batch waits for more records (linger.ms)',
      default: 5,
      min: 0,
      aliases: ['linger'],
    }),
    idempotence: Flags.boolean({
      description:
        'idempotent produce (a retried batch is never stored twice; needs --acks all); --no-idempotence turns it off',
      default: true,
      allowNo: true,
    }),
    'transactional-id': Flags.string({
      description: 'write in transactions of this transactional id (committed at the end, or per --txn-size)',
    }),
    'txn-size': Flags.integer({
      description: 'records per transaction (with --transactional-id); default: one transaction for the whole input',
      min: 1,
      dependsOn: ['transactional-id'],
    }),
    rate: Flags.custom<number>({
      description: 'send at most this many records per second (decimals allowed: 0.5 = one every 2 s)',
      helpValue: 'N',
      parse: async (text) => {
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
          throw new CliError(`Expected a positive number of records per second but received: ${text}`, EXIT_USAGE);
        return n;
      },
    })(),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Produce);
    const conn = await this.connection(flags);
    const headers = (flags.header ?? []).map((h) => {
      const [key, value] = parseKeyValue(h, '--header');
      return { key, value };
    });
    const transactionalId = flags['transactional-id'];
    if (transactionalId !== undefined) {
      if (transactionalId === '') throw new CliError('--transactional-id must not be empty', EXIT_USAGE);
      if (!flags.idempotence)
        throw new CliError('--transactional-id needs idempotence: drop --no-idempotence', EXIT_USAGE);
      if (parseAcks(flags.acks) !== -1)
        throw new CliError(`--transactional-id needs --acks all (got --acks ${flags.acks})`, EXIT_USAGE);
    }
    if (flags.format === 'json' && flags['key-delimiter'] !== undefined)
      throw new CliError('--key-delimiter applies to text input only (JSON lines carry their key)', EXIT_USAGE);
    const { createReadStream } = await import('node:fs');
    const { access, stat } = await import('node:fs/promises');
    if (flags.file) {
      await access(flags.file).catch(() => {
        throw new CliError(`cannot read --file ${flags.file}: no such file or not readable`);
      });
      // Was "EISDIR: illegal operation on a directory, read", after connecting.
      if ((await stat(flags.file)).isDirectory())
        throw new CliError(`cannot read --file ${flags.file}: it is a directory`);
    }
    const input = flags.file ? createReadStream(flags.file) : process.stdin;
    const { produce } = await import('../src/services/produce.js');
    // A person typing records (stdin a terminal): a prompt per line, like kafka-console-producer's ">", and no
    // progress line, which would share the line being typed.
    const typing = !flags.file && flags.format === 'text' && process.stdin.isTTY === true;
    const tty = process.stderr.isTTY === true && !typing;
    const prompt = () => process.stderr.write('> ');
    if (typing) {
      const key = flags['key-delimiter'] === undefined ? '' : ` (key${flags['key-delimiter']}value)`;
      process.stderr.write(`type records for ${args.topic}, one per line${key}; Ctrl-D to finish, Ctrl-C to abort\n`);
    }
    const line = (s: { records: number; bytes: number; partitions: number[]; elapsedMs: number }) =>
      `${s.records} record${s.records === 1 ? '' : 's'}, ${formatBytes(s.bytes)}, ${s.partitions.length} partition${s.partitions.length === 1 ? '' : 's'}, ${(s.elapsedMs / 1000).toFixed(2)}s`;
    const summary = await produce({
      ...conn,
      topic: args.topic,
      input,
      format: flags.format,
      keyDelimiter: flags['key-delimiter'],
      partition: flags.partition,
      headers,
      acks: parseAcks(flags.acks),
      compression: flags.compression,
      lingerMs: flags['linger-ms'],
      idempotence: flags.idempotence,
      ...(transactionalId !== undefined ? { transactionalId, txnSize: flags['txn-size'] } : {}),
      rate: flags.rate,
      onProgress: tty ? (p) => process.stderr.write(`\r\u001b[2Kproducing: ${line(p)}`) : undefined,
      onLine: typing ? prompt : undefined,
      onConnected: typing ? prompt : undefined,
    });
    // The progress line, or the prompt left after Ctrl-D.
    if (tty || typing) process.stderr.write('\r\u001b[2K');
    const format = this.format(flags);
    // -o json / yaml: the summary as data on stdout, for scripts (it used to be ignored: the text line either way).
    if (format === 'json' || format === 'yaml') {
      this.out(
        await serialize(
          {
            topic: args.topic,
            records: summary.records,
            bytes: summary.bytes,
            partitions: summary.partitions,
            elapsedMs: Math.round(summary.elapsedMs),
            ...(summary.transactions !== undefined ? { transactions: summary.transactions } : {}),
          },
          format,
        ),
      );
    } else {
      const txns =
        summary.transactions === undefined
          ? ''
          : ` in ${summary.transactions} transaction${summary.transactions === 1 ? '' : 's'}`;
      process.stderr.write(`produced ${line(summary)} to ${args.topic}${txns}\n`);
    }
  }
}
