import { type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand, CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { connectionSettings } from '../../src/cli/client-command.js';
import { brokersFlag, timeoutFlag } from '../../src/cli/flags.js';
import { type Column, renderList } from '../../src/cli/output.js';
import { securityFlags } from '../../src/cli/security.js';
import type { BundlePart } from '../../src/services/debug-bundle.js';

const COLUMNS: Column<BundlePart>[] = [
  { header: 'part', get: (p) => p.name },
  { header: 'contents', get: (p) => p.what },
  { header: 'bytes', get: (p) => p.bytes },
  { header: 'status', get: (p) => p.status },
];

export default class DebugBundle extends BaseCommand {
  static override summary = 'Collect a support bundle (.zip): versions, configs, metadata, groups, offsets, logs.';
  static override description =
    `Over Kafka APIs only (works against any Kafka-compatible cluster): kstream/Node/OS versions,
cluster metadata (brokers, controller), topics with partition leaders/replicas/ISR, log start/end offsets per
partition, broker and topic configs, each broker's serve flags (brokers/<id>/serve-flags.json, from its
broker configs), log dirs with the size of every partition replica on every broker (log-dirs.json,
DescribeLogDirs), and consumer groups with lag. With --data-dir (a broker's local data directory) also the
file listing with sizes, checkpoint files, meta.properties, serve.json (how the node was started) and a
*.log server log at its top level; --log-file adds a log from elsewhere (the broker logs to stderr: redirect
it to a file). Config values with a sensitive name (password, secret, credentials, sasl.jaas, a name ending
in key or token) or marked sensitive by the broker are replaced by [REDACTED], as are passwords in URLs and
such name=value pairs in included text files.`;
  static override examples = [
    '<%= config.bin %> debug bundle',
    '<%= config.bin %> debug bundle -o support.zip --data-dir ./kstream-data --log-file broker.log',
  ];
  // -o is the zip here, not the output format.
  static override flags = {
    brokers: brokersFlag,
    timeout: timeoutFlag,
    file: Flags.string({ char: 'o', description: 'the zip to write (default kstream-bundle-<time>.zip)' }),
    'data-dir': Flags.string({
      description: "a broker's data directory on this machine: add its listing and checkpoints",
    }),
    'log-file': Flags.string({ description: 'a server log file to include (its last 4 MB)' }),
    ...securityFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(DebugBundle);
    const { brokers, timeoutMs, tls, sasl } = await connectionSettings(flags);
    const file = flags.file ?? `kstream-bundle-${new Date().toISOString().replace(/[:.]/g, '-')}.zip`;
    // Paths the user gave are checked before minutes of collecting, not reported as a row (or a crash) after.
    checkPath('--data-dir', flags['data-dir'], 'directory');
    checkPath('--log-file', flags['log-file'], 'file');
    const dir = dirname(resolve(file));
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
      throw new CliError(`-o ${file}: no such directory ${dirname(file)}`, EXIT_USAGE);
    const { debugBundle } = await import('../../src/services/debug-bundle.js');
    const { withDeadline, formatMs, errorText } = await import('../../src/services/connect.js');
    let parts: BundlePart[];
    try {
      parts = await withDeadline(
        debugBundle({ brokers, timeoutMs, tls, sasl, file, dataDir: flags['data-dir'], logFile: flags['log-file'] }),
        timeoutMs * 6,
        () => `no answer from ${brokers} within ${formatMs(timeoutMs * 6)} (is a broker running there?)`,
      );
    } catch (e) {
      throw new CliError(`debug bundle failed: ${errorText(e)}`);
    }
    process.stdout.write(await renderList(parts, COLUMNS, 'text'));
    process.stdout.write(`wrote ${file}\n`);
  }
}

/** A usage error (exit 2) unless `path` is an existing file or directory, as `kind` says. */
function checkPath(flag: string, path: string | undefined, kind: 'file' | 'directory'): void {
  if (path === undefined) return;
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    throw new CliError(`${flag} ${path}: no such ${kind}`, EXIT_USAGE);
  }
  if (kind === 'directory' && !st.isDirectory()) throw new CliError(`${flag} ${path}: not a directory`, EXIT_USAGE);
  if (kind === 'file' && st.isDirectory()) throw new CliError(`${flag} ${path}: is a directory`, EXIT_USAGE);
}
