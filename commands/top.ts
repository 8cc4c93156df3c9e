import { Flags } from '@oclif/core';
import { BaseCommand, CliError, EXIT_USAGE } from '../src/cli/base.js';
import { brokersFlag, parseDuration } from '../src/cli/flags.js';
import { clientSettings, describeIdentity, securityFlags } from '../src/cli/security.js';

export default class Top extends BaseCommand {
  static override summary = 'Live terminal UI: topics, partitions, consumer groups, brokers.';
  static override description =
    `Shows the cluster live, refreshed every --interval: per partition the leader, replicas, ISR (missing
replicas in red), log start/end, messages/s, bytes/s and size; per consumer group its state, members, lag per
partition, lag trend, consumption rate and time to catch up; per broker its leaders, replicas, disk use and
partitions it is out of ISR for. Problems are coloured. Columns that do not fit the terminal are left out,
least important first. Above it an event log lists what changed between polls (brokers down/up,
new leaders, under-replicated/offline/recovered partitions, group states). When the cluster cannot be
reached the last data stays on screen, marked stale, and top reconnects by itself. Only Kafka APIs are
used: it works against any Kafka-compatible cluster.

Keys: tab or 1-4 switch screens (topics, groups, brokers, events), arrows or j/k move, enter drills in (a
topic, a partition's records, a record, a group), esc goes back, / filters, s sorts (name, rate, lag), p
pauses, r refreshes, ? shows help, q quits. The record browser pages with n/b, goes to an offset (o) or a time
(t), and shows values as JSON (pretty), text or hex (v). Actions ask first and are refused with --read-only:
D deletes a topic, T trims a partition, R resets a group's offsets.

The header says whom top is connected as and over which protocol (User:alice · SASL_SSL SCRAM-SHA-512). A login
the broker refuses ends top at once with one line (no retry loop).

Needs an interactive terminal; for scripts use \`kstream cluster info -o json\`.`;

  static override examples = [
    '<%= config.bin %> top',
    '<%= config.bin %> top -b kafka1:9092,kafka2:9092 --interval 2s',
    '<%= config.bin %> top -b kafka.example.com:9092 --interval 5s --timeout 15s',
    '<%= config.bin %> top --read-only',
    '<%= config.bin %> top --profile prod',
  ];

  static override flags = {
    brokers: brokersFlag,
    interval: Flags.string({ description: 'refresh interval (500ms, 1s, 5s)', default: '1s' }),
    timeout: Flags.string({
      description: 'give up on a request of a poll after this long (500ms, 5s, 1m); connecting: at most 3s of it',
      default: '5s',
    }),
    'read-only': Flags.boolean({ description: 'watch only: no actions (delete a topic, trim, reset offsets)' }),
    ...securityFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Top);
    // The same duration syntax as --timeout (a unit is required); faster than 100ms would poll the cluster hard.
    const intervalMs = parseDuration(flags.interval, '--interval');
    if (intervalMs < 100)
      throw new CliError(`invalid --interval ${JSON.stringify(flags.interval)}: use at least 100ms`, EXIT_USAGE);
    const timeoutMs = parseDuration(flags.timeout);
    const { brokers, security } = clientSettings(flags);
    if (!process.stdout.isTTY || !process.stdin.isTTY)
      throw new CliError(
        'top needs an interactive terminal (stdin and stdout a TTY); for scripts use `kstream cluster info -o json`',
        EXIT_USAGE,
      );
    const { resolveBrokers } = await import('../src/client/brokers.js');
    // Ink renders only a final frame when it believes it runs in CI (is-in-ci reads CI at import). We know we
    // have an interactive terminal here, so a CI variable in the environment must not turn the live view off.
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    // Ink and React load only here: ~0.5 s that no other command should pay.
    const { runTop } = await import('../src/tui/run.js');
    await runTop({
      brokers: resolveBrokers(brokers),
      intervalMs,
      timeoutMs,
      readOnly: flags['read-only'],
      security,
      identity: describeIdentity(security),
    });
  }
}
