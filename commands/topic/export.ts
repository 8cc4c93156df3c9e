import { Args, Flags } from '@oclif/core';
import { BaseCommand, CliError } from '../../src/cli/base.js';
import { connectionSettings } from '../../src/cli/client-command.js';
import { brokersFlag, timeoutFlag } from '../../src/cli/flags.js';
import { formatBytes } from '../../src/cli/output.js';
import { securityFlags } from '../../src/cli/security.js';

export default class TopicExport extends BaseCommand {
  static override summary = 'Export topics (records, configs, partition count) to a portable .tar.gz archive.';
  static override description =
    `Streams every partition into the archive with bounded memory: manifest.json (format, kstream
version, per topic its partition count, the configs set on it, and per partition the record count, offsets
and a sha256 of its records file), then one binary-safe records file per partition (key, value, headers,
timestamp, offset). The archive is written under a temporary name and renamed when complete. --from-time /
--to-time export only records with from <= timestamp < to. Restore with "kstream topic import".`;
  static override examples = [
    '<%= config.bin %> topic export orders -o orders.tar.gz',
    '<%= config.bin %> topic export orders payments -o backup.tar.gz --from-time -1d',
    '<%= config.bin %> topic export orders -o window.tar.gz --from-time 2026-11-25T10:00Z --to-time 2026-11-25T11:00Z',
  ];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topic names', required: true }) };
  // -o is the archive here, not the output format (so not a ClientCommand).
  static override flags = {
    brokers: brokersFlag,
    timeout: timeoutFlag,
    file: Flags.string({ char: 'o', description: 'the archive to write (.tar.gz)', required: true }),
    'from-time': Flags.string({ description: 'only records with a timestamp at or after this (ISO, epoch ms, -2h)' }),
    'to-time': Flags.string({ description: 'only records with a timestamp before this (ISO, epoch ms, -10m)' }),
    ...securityFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TopicExport);
    const conn = await connectionSettings(flags);
    const { parseTime } = await import('../../src/cli/time.js');
    const fromTime = flags['from-time'] === undefined ? undefined : parseTime(flags['from-time'], '--from-time');
    const toTime = flags['to-time'] === undefined ? undefined : parseTime(flags['to-time'], '--to-time');
    const { exportTopics } = await import('../../src/services/topic-export.js');
    const tty = process.stderr.isTTY;
    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
    try {
      const s = await exportTopics({
        ...conn,
        topics: [...new Set(argv as string[])],
        file: flags.file,
        fromTime,
        toTime,
        progress: tty
          ? (records, bytes, where) =>
              process.stderr.write(`\r\x1b[Kexporting ${where}: ${records} records, ${mb(bytes)}`)
          : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      for (const t of s.manifest.topics) {
        const n = t.files.reduce((a, f) => a + f.records, 0);
        const plural = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
        process.stdout.write(`${t.name}: ${plural(n, 'record')} from ${plural(t.partitions, 'partition')}\n`);
      }
      process.stdout.write(`wrote ${s.file} (${formatBytes(s.bytes)})\n`);
    } catch (e) {
      if (tty) process.stderr.write('\r\x1b[K');
      const { errorText } = await import('../../src/services/connect.js');
      throw new CliError(`export failed: ${errorText(e)}`);
    }
  }
}
