import { Flags } from '@oclif/core';
import { CliError } from '../../src/cli/base.js';
import { ClientCommand } from '../../src/cli/client-command.js';
import { parseDuration } from '../../src/cli/flags.js';
import { renderList } from '../../src/cli/output.js';
import { STATUS_COLUMNS } from '../../src/cli/status.js';

export default class ClusterReassign extends ClientCommand {
  static override summary = 'Move partitions between brokers online, or drain a broker.';
  static override description =
    `Moves happen online: the new replicas copy the partition while it keeps serving, and once they are
in sync the controller switches leadership if needed and drops the old replicas. Either name one
partition and its new replicas, or --drain a broker to move every replica it holds onto the least-loaded
other brokers (before taking it out of service). --dry-run prints the plan only; --wait follows the moves
until they are done (a progress line on a terminal).`;
  static override examples = [
    '<%= config.bin %> cluster reassign --topic orders --partition 0 --replicas 2,3,4 --wait',
    '<%= config.bin %> cluster reassign --drain 1 --dry-run',
    '<%= config.bin %> cluster reassign --drain 1 --wait',
  ];
  static override flags = {
    topic: Flags.string({ description: 'topic of the partition to move' }),
    partition: Flags.integer({ description: 'partition to move', min: 0 }),
    replicas: Flags.string({
      description: 'new replica broker ids, comma-separated; the first is the preferred leader',
    }),
    drain: Flags.integer({ description: 'move every replica off this broker', min: 0 }),
    'dry-run': Flags.boolean({ description: 'print the plan, change nothing' }),
    wait: Flags.boolean({ description: 'wait until the moves are complete' }),
    'wait-timeout': Flags.string({ description: 'how long --wait waits (30s, 10m, 1h)', default: '10m' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ClusterReassign);
    const waitMs = parseDuration(flags['wait-timeout'], '--wait-timeout');
    const explicit = flags.topic !== undefined || flags.partition !== undefined || flags.replicas !== undefined;
    if (explicit === (flags.drain !== undefined)) {
      throw new CliError('give either --topic/--partition/--replicas or --drain BROKER', 2);
    }
    let replicas: number[] = [];
    if (explicit) {
      if (flags.topic === undefined || flags.partition === undefined || flags.replicas === undefined) {
        throw new CliError('--topic, --partition and --replicas go together', 2);
      }
      replicas = flags.replicas.split(',').map((x) => Number(x.trim()));
      if (replicas.some((x) => !Number.isInteger(x) || x < 0))
        throw new CliError(`--replicas ${flags.replicas}: expected broker ids like 1,2,3`, 2);
    }
    const conn = await this.connection(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const svc = await import('../../src/services/reassign.js');
    const format = this.format(flags);
    await withAdmin(conn, async (admin) => {
      const moves = explicit
        ? await svc.planExplicit(admin, flags.topic as string, flags.partition as number, replicas)
        : await svc.planDrain(admin, flags.drain as number);
      if (moves.length === 0 && flags.drain !== undefined)
        process.stderr.write(`nothing to do: broker ${flags.drain} holds no replicas\n`);
      if (flags['dry-run'] || moves.length === 0) {
        this.out(
          await renderList(
            moves,
            [
              { header: 'partition', get: (m) => `${m.topic}/${m.partition}` },
              { header: 'from', get: (m) => m.from.join(',') },
              { header: 'to', get: (m) => m.to.join(',') },
            ],
            format,
          ),
        );
        return;
      }
      const started = await svc.startMoves(admin, moves);
      this.out(
        await renderList(
          started,
          STATUS_COLUMNS('partition'),
          format,
          started.map(({ started: _, ...row }) => row),
        ),
      );
      const begun = started.filter((s) => s.started).length;
      if (started.some((s) => !s.ok)) process.exitCode = 1;
      // Nothing to wait for when no move started (and never claim "all moves complete" then).
      if (!flags.wait || begun === 0) return;
      const tty = process.stderr.isTTY;
      const left = await svc.waitForMoves(admin, waitMs, (n) => {
        if (tty) process.stderr.write(`\r${n} move${n === 1 ? '' : 's'} in progress   `);
      });
      if (tty) process.stderr.write('\n');
      if (left > 0) throw new CliError(`${left} move(s) still in progress after ${flags['wait-timeout']}`);
      process.stderr.write(
        started.every((s) => s.ok) ? 'all moves complete\n' : `${begun} of ${started.length} moves complete\n`,
      );
    });
  }
}
