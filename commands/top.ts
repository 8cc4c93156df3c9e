import { Flags } from '@oclif/core';
import { BaseCommand, CliError, EXIT_USAGE } from '../src/cli/base.js';
import { brokersFlag, parseDuration } from '../src/cli/flags.js';

export default class Top extends BaseCommand {
  static override summary = 'Live terminal UI: topics, partitions, consumer groups, brokers.';
  static override description =
    `Shows the cluster live, refreshed every --interval: per partition the leader, replicas, ISR (missing
replicas in red), log start/end and messages/s; per consumer group its state, members, lag per partition,
lag trend, consumption rate and time to catch up; per broker its leaders, replicas and partitions it is out
of ISR for. Problems are coloured. Above it an event log lists what changed between polls (brokers down/up,
new leaders, under-replicated/offline/recovered partitions, group states). When the cluster cannot be
reached the last data stays on screen, marked stale, and top reconnects by itself. Only Kafka APIs are
used: it works against any Kafka-compatible cluster.

Keys: tab or 1-4 switch screens (topics, groups, brokers, events), arrows or j/k move, enter drills in, esc
goes back, / filters, s sorts (name, rate, lag), p pauses, r refreshes, ? shows help, q quits.

Needs an interactive terminal; for scripts use \`kstream cluster info -o json\`.`;

  static override examples = [
    '<%= config.bin %> top',
    '<%= config.bin %> top -b kafka1:9092,kafka2:9092 --interval 2s',
    '<%= config.bin %> top -b kafka.example.com:9092 --interval 5s --timeout 15s',
  ];

  static override flags = {
    brokers: brokersFlag,
    interval: Flags.string({ description: 'refresh interval (500ms, 1s, 5s)', default: '1s' }),
    timeout: Flags.string({
      description: 'give up on a request of a poll after this long (500ms, 5s, 1m); connecting: at most 3s of it',
      default: '5s',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Top);
    // The same duration syntax as --timeout (a unit is required); faster than 100ms would poll the cluster hard.
    const intervalMs = parseDuration(flags.interval, '--interval');
    if (intervalMs < 100)
      throw new CliError(`invalid --interval ${JSON.stringify(flags.interval)}: use at least 100ms`, EXIT_USAGE);
    const timeoutMs = parseDuration(flags.timeout);
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
    await runTop({ brokers: resolveBrokers(flags.brokers), intervalMs, timeoutMs });
  }
}
