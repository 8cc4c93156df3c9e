/**
 * The base of every command that talks to a cluster: the shared flags (-b, -o, --timeout), client options
 * built from them, printing through src/cli/output, and a deadline so an unreachable broker fails with one
 * clear line instead of hanging.
 */
import type { Interfaces } from '@oclif/core';
import { BaseCommand, CliError } from './base.js';
import { clientFlags, parseDuration } from './flags.js';
import type { OutputFormat } from './output.js';
import { clientSettings, type Security, type SecurityFlags } from './security.js';

export interface ConnectionSettings extends Security {
  brokers: string;
  timeoutMs: number;
}

/**
 * Bootstrap list, timeout, TLS and SASL from the flags and the profile (brokers: -b, then $KSTREAM_BROKERS, then
 * the profile's, then the default); a malformed list is a usage error. Also for commands with their own output
 * flags (export, debug bundle, bench).
 */
export async function connectionSettings(
  flags: { brokers?: string; timeout: string } & SecurityFlags,
): Promise<ConnectionSettings> {
  const { resolveBrokers, parseBrokers } = await import('../client/brokers.js');
  const timeoutMs = parseDuration(flags.timeout);
  const settings = clientSettings(flags);
  const brokers = resolveBrokers(settings.brokers);
  try {
    parseBrokers(brokers);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  return { brokers, timeoutMs, ...settings.security };
}

export abstract class ClientCommand extends BaseCommand {
  static override baseFlags = clientFlags;

  /** Bootstrap list and timeout from the parsed flags (brokers: flag, then $KSTREAM_BROKERS, then default). */
  protected connection(flags: Interfaces.InferredFlags<typeof clientFlags>): Promise<ConnectionSettings> {
    return connectionSettings(flags);
  }

  /** Write rendered output to stdout as is. */
  protected out(text: string): void {
    process.stdout.write(text);
  }

  protected format(flags: { output: string }): OutputFormat {
    return flags.output as OutputFormat;
  }
}
